//! PURE: what must agree between the access node and each data node of a
//! running cluster, as the probe reads it on each, and the SQL that puts
//! a data node back in line from the access node (`distributed_exec`).
//!
//! TimescaleDB forwards a distributed hypertable's own DDL to its data
//! nodes, but nothing else: a type, a function, an enum label added on the
//! access node, or compression settings changed on one data node by hand
//! (or never carried to a data node attached later, timescaledb #6041),
//! stay different until someone notices. Inserts then fail on one data node
//! (`invalid input value for enum`), or compress differently there.

use crate::quote::sql::{dollar, literal};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObjectFacts {
    /// Access node: its distributed hypertables; data node: its hypertables
    /// (a distributed hypertable's member has the same name).
    pub hypertables: Vec<HypertableSettings>,
    /// Access node: the types the distributed hypertables' columns depend
    /// on (element, base, attribute and range subtypes too) outside the
    /// system schemas; data node: every type outside the system schemas
    /// and outside extensions.
    pub types: Vec<TypeObject>,
    /// Access node: the functions the distributed hypertables' column
    /// defaults call, outside the system schemas; data node: every function
    /// outside the system schemas and outside extensions.
    pub functions: Vec<FunctionObject>,
    /// Extensions installed in the database: (name, version).
    pub extensions: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HypertableSettings {
    pub schema: String,
    pub table: String,
    pub compression_enabled: bool,
    /// Column names, quoted where SQL needs it, in order.
    pub segmentby: Vec<String>,
    /// `column ASC|DESC NULLS FIRST|LAST`, in order.
    pub orderby: Vec<String>,
}

impl HypertableSettings {
    /// `schema.table`, as people read it.
    pub fn name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    pub fn same_compression(&self, other: &HypertableSettings) -> bool {
        self.compression_enabled == other.compression_enabled
            && (!self.compression_enabled
                || (self.segmentby == other.segmentby && self.orderby == other.orderby))
    }

    /// The settings in words.
    pub fn compression(&self) -> String {
        if !self.compression_enabled {
            return "compression off".into();
        }
        format!(
            "compression on, segmentby ({}), orderby ({})",
            self.segmentby.join(", "),
            self.orderby.join(", ")
        )
    }

    /// The statement that gives a hypertable of this name these settings.
    pub fn alter_sql(&self) -> String {
        let table = format!(
            "{}.{}",
            crate::quote::sql::ident(&self.schema),
            crate::quote::sql::ident(&self.table)
        );
        if !self.compression_enabled {
            return format!("ALTER TABLE {table} SET (timescaledb.compress = false)");
        }
        format!(
            "ALTER TABLE {table} SET (timescaledb.compress, timescaledb.compress_segmentby = {}, timescaledb.compress_orderby = {})",
            literal(&self.segmentby.join(", ")),
            literal(&self.orderby.join(", "))
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeObject {
    pub schema: String,
    pub name: String,
    /// `enum`, `domain`, `composite`, `range`, `base`, ...
    pub kind: String,
    /// The same text on every node for the same type (labels, base type
    /// and constraints, attributes, subtype).
    pub definition: String,
    /// An enum's labels, in order.
    pub labels: Vec<String>,
    /// The extension it belongs to, when it does.
    pub extension: Option<String>,
    /// Access node: the distributed hypertables (`schema.table`) using it.
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionObject {
    pub schema: String,
    pub name: String,
    /// Its identity arguments (`pg_get_function_identity_arguments`).
    pub args: String,
    /// md5 of `pg_get_functiondef`: the same on every node for the same
    /// function.
    pub definition_md5: String,
    /// Access node: `pg_get_functiondef` (CREATE OR REPLACE FUNCTION ...).
    pub create: Option<String>,
    pub extension: Option<String>,
    pub used_by: Vec<String>,
}

impl TypeObject {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The statement that creates it as it is here (None for kinds tsmn
    /// does not write: base and multirange types).
    pub fn create_sql(&self) -> Option<String> {
        let name = format!(
            "{}.{}",
            crate::quote::sql::ident(&self.schema),
            crate::quote::sql::ident(&self.name)
        );
        let d = &self.definition;
        Some(match self.kind.as_str() {
            "enum" => format!("CREATE TYPE {name} AS ENUM ({d})"),
            "domain" => format!("CREATE DOMAIN {name} AS {d}"),
            "composite" => format!("CREATE TYPE {name} AS ({d})"),
            "range" => format!("CREATE TYPE {name} AS RANGE ({d})"),
            _ => return None,
        })
    }
}

impl FunctionObject {
    pub fn signature(&self) -> String {
        format!("{}.{}({})", self.schema, self.name, self.args)
    }
}

/// `CALL distributed_exec(...)` of `sql` on the data node `node` alone:
/// run on the access node, in the cluster database (one statement per
/// call: the engine refuses two).
/// PURE: why a chunk of `access` (the hypertable's settings on the access
/// node) cannot be moved or copied to `node`, whose member hypertable has
/// `here` (None: not read there): a data node without the settings of a
/// hypertable that compresses cannot take its compressed chunks (the
/// engine's copy fails: relation "compress_hyper_..." does not exist), and
/// attach_data_node does not carry them (timescaledb #6041). None when
/// nothing stands in the way. The fix is check's for
/// compression_settings_differ.
pub fn compression_gap(
    access: &HypertableSettings,
    node: &str,
    here: Option<&HypertableSettings>,
) -> Option<String> {
    if !access.compression_enabled || here.is_some_and(|h| h.same_compression(access)) {
        return None;
    }
    Some(format!(
        "{node} lacks {}'s compression settings ({} there, {} on the access node: attach_data_node does not carry them, timescaledb #6041), so the engine's copy of a compressed chunk to it fails\n    fix: on the access node, in the cluster database: {} (tsmn check reports it as compression_settings_differ)",
        access.name(),
        here.map_or_else(|| "none".to_string(), HypertableSettings::compression),
        access.compression(),
        distributed_exec(&access.alter_sql(), node)
    ))
}

pub fn distributed_exec(sql: &str, node: &str) -> String {
    format!(
        "CALL distributed_exec({}, node_list => {})",
        dollar("tsmn", sql),
        literal(&format!(
            "{{\"{}\"}}",
            node.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    )
}

/// The labels an enum on a data node lacks, each with where it goes, when
/// the data node's labels are the access node's with some left out (same
/// order): `ALTER TYPE ... ADD VALUE` statements then put them in. None
/// when it has labels of its own or another order (adding cannot fix that).
pub fn enum_additions(t: &TypeObject, theirs: &[String]) -> Option<Vec<String>> {
    let mut at = 0;
    for l in theirs {
        at += t.labels[at..].iter().position(|x| x == l)? + 1;
    }
    let qualified = format!(
        "{}.{}",
        crate::quote::sql::ident(&t.schema),
        crate::quote::sql::ident(&t.name)
    );
    let mut out = Vec::new();
    for (i, l) in t.labels.iter().enumerate() {
        if theirs.contains(l) {
            continue;
        }
        let place = match i.checked_sub(1).and_then(|p| t.labels.get(p)) {
            Some(prev) => format!(" AFTER {}", literal(prev)),
            // The first label: before the data node's first (every
            // label after it is added in order, after its predecessor).
            None => match theirs.first() {
                Some(next) => format!(" BEFORE {}", literal(next)),
                None => String::new(),
            },
        };
        out.push(format!(
            "ALTER TYPE {qualified} ADD VALUE IF NOT EXISTS {}{place}",
            literal(l)
        ));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_runs_on_one_data_node() {
        assert_eq!(
            distributed_exec("CREATE TYPE a AS ENUM ('x')", "dn\"1"),
            "CALL distributed_exec($tsmn$CREATE TYPE a AS ENUM ('x')$tsmn$, node_list => E'{\"dn\\\\\"1\"}')"
        );
        assert_eq!(
            distributed_exec("SELECT 1", "dn1"),
            "CALL distributed_exec($tsmn$SELECT 1$tsmn$, node_list => '{\"dn1\"}')"
        );
    }

    #[test]
    fn a_destination_without_the_settings_of_a_compressing_hypertable_is_named_with_the_fix() {
        let on = |seg: &[&str]| HypertableSettings {
            schema: "public".into(),
            table: "metrics".into(),
            compression_enabled: true,
            segmentby: seg.iter().map(|s| s.to_string()).collect(),
            orderby: vec!["time DESC NULLS FIRST".into()],
        };
        let off = HypertableSettings {
            compression_enabled: false,
            ..on(&[])
        };
        let access = on(&["device"]);
        assert_eq!(
            compression_gap(&access, "dn3", Some(&on(&["device"]))),
            None
        );
        assert_eq!(
            compression_gap(&off, "dn3", None),
            None,
            "nothing compresses"
        );
        let missing = compression_gap(&access, "dn3", Some(&off)).expect("a gap");
        assert!(
            missing.starts_with(
                "dn3 lacks public.metrics's compression settings (compression off there"
            ) && missing.contains(&distributed_exec(&access.alter_sql(), "dn3")),
            "{missing}"
        );
        let other = compression_gap(&access, "dn3", Some(&on(&["site"]))).expect("a gap");
        assert!(other.contains("segmentby (site)"), "{other}");
        assert!(compression_gap(&access, "dn3", None).is_some_and(|g| g.contains("(none there")));
    }

    #[test]
    fn compression_is_written_back_as_the_access_node_has_it() {
        let h = HypertableSettings {
            schema: "public".into(),
            table: "metrics".into(),
            compression_enabled: true,
            segmentby: vec!["device".into(), "\"Site\"".into()],
            orderby: vec!["\"time\" DESC NULLS FIRST".into()],
        };
        assert_eq!(
            h.alter_sql(),
            "ALTER TABLE \"public\".\"metrics\" SET (timescaledb.compress, timescaledb.compress_segmentby = 'device, \"Site\"', timescaledb.compress_orderby = '\"time\" DESC NULLS FIRST')"
        );
        let mut off = h.clone();
        off.compression_enabled = false;
        assert!(!h.same_compression(&off));
        assert!(off
            .alter_sql()
            .ends_with("SET (timescaledb.compress = false)"));
        let mut other = off.clone();
        other.segmentby.clear();
        assert!(off.same_compression(&other), "off is off, whatever is left");
    }

    #[test]
    fn enum_labels_left_out_are_added_in_place() {
        let t = TypeObject {
            schema: "public".into(),
            name: "mood".into(),
            labels: vec!["sad".into(), "ok".into(), "happy".into()],
            ..Default::default()
        };
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            enum_additions(&t, &v(&["sad", "ok"])).unwrap(),
            ["ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'happy' AFTER 'ok'"]
        );
        assert_eq!(
            enum_additions(&t, &v(&["happy"])).unwrap(),
            [
                "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'sad' BEFORE 'happy'",
                "ALTER TYPE \"public\".\"mood\" ADD VALUE IF NOT EXISTS 'ok' AFTER 'sad'"
            ]
        );
        assert_eq!(
            enum_additions(&t, &v(&["ok", "sad"])),
            None,
            "another order"
        );
        assert_eq!(
            enum_additions(&t, &v(&["sad", "meh"])),
            None,
            "a label of its own"
        );
    }
}
