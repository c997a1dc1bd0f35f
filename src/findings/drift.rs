//! Drift in a running cluster (crate::drift): what a data node has
//! otherwise than the access node, for the distributed hypertables it
//! holds a share of. Each finding is filed under the data node and names
//! the object; its fix is SQL run on the access node, in the cluster
//! database, that puts the data node in line (`distributed_exec` on that
//! data node alone).

use super::{Finding, Fix, Severity::*, Then};
use crate::drift::{distributed_exec, enum_additions, ObjectFacts};
use crate::facts::{Facts, NodeRole};
use crate::plan::Plan;
use crate::quote::sql::{ident, literal};

pub fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    let Some(an_db) = facts.running_cluster() else {
        return;
    };
    let Some(ours) = &an_db.objects else { return };
    for n in facts.nodes.iter().filter(|n| n.role == NodeRole::Data) {
        if !an_db.data_nodes.contains(&n.name) {
            continue;
        }
        let Some(theirs) = n
            .server
            .as_ref()
            .and_then(|s| s.database.as_ref())
            .and_then(|d| d.objects.as_ref())
        else {
            continue;
        };
        let attached: Vec<String> = an_db
            .distributed_hypertables
            .iter()
            .filter(|h| h.data_nodes.contains(&n.name))
            .map(|h| format!("{}.{}", h.schema, h.table))
            .collect();
        let on = Node {
            plan,
            name: &n.name,
            attached: &attached,
        };
        on.compression(ours, theirs, out);
        on.types(ours, theirs, out);
        on.functions(ours, theirs, out);
        on.extensions(ours, theirs, out);
    }
}

/// One data node of the cluster and the distributed hypertables it holds.
struct Node<'a> {
    plan: &'a Plan,
    name: &'a str,
    attached: &'a [String],
}

impl Node<'_> {
    /// SQL on the access node, in the cluster database.
    fn fix(&self, statements: &[String]) -> Fix {
        Fix::Sql {
            node: self.plan.access_node.name.clone(),
            database: self.plan.database.clone(),
            sql: statements
                .iter()
                .map(|s| distributed_exec(s, self.name))
                .collect::<Vec<_>>()
                .join("; "),
            then: Then::Nothing,
        }
    }

    fn uses(&self, used_by: &[String]) -> Vec<String> {
        used_by
            .iter()
            .filter(|h| self.attached.contains(h))
            .cloned()
            .collect()
    }

    fn compression(&self, ours: &ObjectFacts, theirs: &ObjectFacts, out: &mut Vec<Finding>) {
        for h in ours
            .hypertables
            .iter()
            .filter(|h| self.attached.contains(&h.name()))
        {
            let Some(t) = theirs
                .hypertables
                .iter()
                .find(|t| t.schema == h.schema && t.table == h.table)
            else {
                continue;
            };
            if h.same_compression(t) {
                continue;
            }
            out.push(Finding::new(
                Warning,
                self.name,
                "compression_settings_differ",
                format!(
                    "{}: {} here, {} on the access node",
                    h.name(),
                    t.compression(),
                    h.compression()
                ),
                "the access node compresses each chunk on the data node that holds it, with that data node's settings: this one compresses differently (or not at all, or refuses), and attach_data_node does not carry the settings to a new data node (timescaledb #6041). Settings cannot change while the data node holds compressed chunks of it: decompress them first",
                self.fix(&[h.alter_sql()]),
            ));
        }
    }

    fn types(&self, ours: &ObjectFacts, theirs: &ObjectFacts, out: &mut Vec<Finding>) {
        for t in &ours.types {
            let users = self.uses(&t.used_by);
            if users.is_empty() || t.extension.is_some() {
                continue;
            }
            let here = theirs
                .types
                .iter()
                .find(|x| x.schema == t.schema && x.name == t.name);
            let manual = |what: &str| {
                Fix::manual(format!(
                    "make {} on {} the same as on the access node ({}: {}), by hand: {what}",
                    t.qualified(),
                    self.name,
                    t.kind,
                    t.definition
                ))
            };
            match here {
                None => out.push(Finding::new(
                    Warning,
                    self.name,
                    "type_missing_on_data_node",
                    format!(
                        "type {} ({}) does not exist here; {} use it",
                        t.qualified(),
                        t.kind,
                        users.join(", ")
                    ),
                    "the data node's share of a distributed hypertable is created with the access node's column types: attaching this data node, and chunks of it created here, fail without the type",
                    match t.create_sql() {
                        Some(create) => self.fix(&with_schema(&t.schema, create)),
                        None => manual("tsmn does not write this kind of type"),
                    },
                )),
                Some(h) if h.kind != t.kind || h.definition != t.definition => {
                    let additions = (t.kind == "enum" && h.kind == "enum")
                        .then(|| enum_additions(t, &h.labels))
                        .flatten();
                    out.push(Finding::new(
                        Warning,
                        self.name,
                        "type_differs_on_data_node",
                        format!(
                            "type {} is {} ({}) here, {} ({}) on the access node; {} use it",
                            t.qualified(),
                            h.kind,
                            h.definition,
                            t.kind,
                            t.definition,
                            users.join(", ")
                        ),
                        if t.kind == "enum" {
                            "a value the access node accepts fails on this data node (`invalid input value for enum`): ALTER TYPE is not forwarded to the data nodes"
                        } else {
                            "rows the access node accepts may fail or read differently on this data node: the type's DDL is not forwarded to the data nodes"
                        },
                        match additions {
                            Some(stmts) if !stmts.is_empty() => self.fix(&stmts),
                            _ => manual("its labels, attributes or constraints cannot be changed in place safely while columns use it"),
                        },
                    ));
                }
                Some(_) => {}
            }
        }
    }

    fn functions(&self, ours: &ObjectFacts, theirs: &ObjectFacts, out: &mut Vec<Finding>) {
        for f in &ours.functions {
            let users = self.uses(&f.used_by);
            if users.is_empty() || f.extension.is_some() {
                continue;
            }
            let here = theirs
                .functions
                .iter()
                .find(|x| x.schema == f.schema && x.name == f.name && x.args == f.args);
            let (code, what) = match here {
                None => (
                    "function_missing_on_data_node",
                    format!(
                        "function {} does not exist here; the column defaults of {} call it",
                        f.signature(),
                        users.join(", ")
                    ),
                ),
                Some(h) if h.definition_md5 != f.definition_md5 => (
                    "function_differs_on_data_node",
                    format!(
                        "function {} is defined otherwise here than on the access node; the column defaults of {} call it",
                        f.signature(),
                        users.join(", ")
                    ),
                ),
                Some(_) => continue,
            };
            out.push(Finding::new(
                Warning,
                self.name,
                code,
                what,
                "the data node's share of a distributed hypertable carries the access node's column defaults: without the same function there, attaching the data node fails and a default computed on the data node differs; CREATE FUNCTION is not forwarded to the data nodes",
                match &f.create {
                    Some(create) => self.fix(&with_schema(&f.schema, create.trim_end().to_string())),
                    None => Fix::manual(format!(
                        "create {} on {} as the access node has it",
                        f.signature(),
                        self.name
                    )),
                },
            ));
        }
    }

    /// Extensions whose types or functions the hypertables use.
    fn extensions(&self, ours: &ObjectFacts, theirs: &ObjectFacts, out: &mut Vec<Finding>) {
        let mut needed: Vec<(&str, Vec<String>)> = Vec::new();
        let used = ours
            .types
            .iter()
            .map(|t| (&t.extension, &t.used_by))
            .chain(ours.functions.iter().map(|f| (&f.extension, &f.used_by)));
        for (ext, used_by) in used {
            let Some(ext) = ext.as_deref().filter(|e| *e != "timescaledb") else {
                continue;
            };
            let users = self.uses(used_by);
            if users.is_empty() {
                continue;
            }
            match needed.iter_mut().find(|(e, _)| *e == ext) {
                Some((_, u)) => u.extend(users),
                None => needed.push((ext, users)),
            }
        }
        for (ext, mut users) in needed {
            users.sort();
            users.dedup();
            let Some((_, version)) = ours.extensions.iter().find(|(e, _)| e == ext) else {
                continue;
            };
            let here = theirs.extensions.iter().find(|(e, _)| e == ext);
            let (code, what, sql) = match here {
                None => (
                    "extension_missing_on_data_node",
                    format!(
                        "extension {ext} is not installed here; {} use its types or functions",
                        users.join(", ")
                    ),
                    format!(
                        "CREATE EXTENSION IF NOT EXISTS {} VERSION {}",
                        ident(ext),
                        literal(version)
                    ),
                ),
                Some((_, v)) if v != version => (
                    "extension_version_differs",
                    format!(
                        "extension {ext} is version {v} here, {version} on the access node; {} use it",
                        users.join(", ")
                    ),
                    format!("ALTER EXTENSION {} UPDATE TO {}", ident(ext), literal(version)),
                ),
                Some(_) => continue,
            };
            out.push(Finding::new(
                Warning,
                self.name,
                code,
                what,
                "the data node's share of a distributed hypertable needs the same types and functions as the access node's; extensions are not forwarded to the data nodes (the extension's files must be installed on the data node's server)",
                self.fix(&[sql]),
            ));
        }
    }
}

/// `create`, preceded by the schema's creation outside `public` (the
/// object may be the first of its schema there).
fn with_schema(schema: &str, create: String) -> Vec<String> {
    if schema == "public" {
        vec![create]
    } else {
        vec![
            format!("CREATE SCHEMA IF NOT EXISTS {}", ident(schema)),
            create,
        ]
    }
}
