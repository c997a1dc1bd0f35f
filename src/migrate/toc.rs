//! PURE: pg_restore's table of contents of the access node's schema,
//! split for the target. Commented out everywhere: what would keep the
//! target multi-node (the extension, created on the target first; the
//! data nodes' foreign servers and their user mappings; the engine's
//! triggers; anything in TimescaleDB's schemas) and the continuous
//! aggregates' views with their grants (each aggregate is created again
//! by `caggs`, grants too, and its view reads a materialization
//! hypertable the dump does not hold). Held out of the main list and
//! restored late, once the aggregates exist: the aggregates' comments and
//! column grants, whatever depends on an aggregate (views, materialized
//! views, functions with SQL bodies, and their indexes, triggers, rules,
//! grants and comments: `Dependent`, read on the source), and every
//! materialized view's refresh, so that it reads the rows as the
//! migration leaves them.

use super::source::Dependent;
use super::QualifiedName;

/// TimescaleDB's schemas, never dumped (`pg_dump --exclude-schema`).
pub const EXCLUDED_SCHEMAS: [&str; 4] = [
    "_timescaledb*",
    "timescaledb_information",
    "timescaledb_experimental",
    "tsmn_migrate",
];

/// Triggers TimescaleDB makes itself on a hypertable (create_hypertable
/// makes them again on the target).
const ENGINE_TRIGGERS: [&str; 2] = ["ts_insert_blocker", "ts_cagg_invalidation_trigger"];

/// The two lists for `pg_restore --use-list`: `main` (pre-data and
/// post-data, restored around the rows) and `late` (restored after the
/// continuous aggregates). Each is the whole table of contents with what
/// it does not restore commented out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toc {
    pub main: String,
    pub late: String,
}

/// What the source's dump holds beside the tables, for the filter.
pub struct Known<'a> {
    pub data_nodes: &'a [String],
    pub caggs: &'a [QualifiedName],
    pub dependents: &'a [Dependent],
}

/// The table of contents split (see the module's doc).
pub fn filter(list: &str, k: &Known<'_>) -> Toc {
    let (mut main, mut late) = (Vec::new(), Vec::new());
    for line in list.lines() {
        if line.starts_with(';') || line.trim().is_empty() {
            main.push(line.to_string());
            late.push(line.to_string());
        } else if skip_entry(line, k.data_nodes) || cagg_entry(line, k.caggs) {
            main.push(format!(";tsmn skips: {line}"));
            late.push(format!(";tsmn skips: {line}"));
        } else if held(line, k.dependents, k.caggs) {
            main.push(format!(";tsmn restores late: {line}"));
            late.push(line.to_string());
        } else {
            main.push(line.to_string());
            late.push(format!(";tsmn restored earlier: {line}"));
        }
    }
    Toc {
        main: main.join("\n") + "\n",
        late: late.join("\n") + "\n",
    }
}

/// The words of an entry after its dump id: catalog id, object id, kind
/// (one or more words), schema ('-' when none), name, owner.
fn words(line: &str) -> Option<Vec<&str>> {
    line.split_once("; ")
        .map(|(_, rest)| rest.split_whitespace().collect())
}

fn skip_entry(line: &str, data_nodes: &[String]) -> bool {
    // "215; 1259 16390 TABLE public metrics postgres"
    let Some(all) = words(line) else {
        return false;
    };
    let words = &all[all.len().min(2)..];
    let text = words.join(" ");
    let starts = |p: &str| text.starts_with(p);
    if starts("EXTENSION - timescaledb") || starts("COMMENT - EXTENSION timescaledb") {
        return true;
    }
    if data_nodes.iter().any(|n| {
        text.starts_with(&format!("SERVER - {n} "))
            || text == format!("SERVER - {n}")
            || (starts("USER MAPPING") && text.contains(&format!(" SERVER {n} ")))
            || (starts("USER MAPPING") && text.ends_with(&format!(" SERVER {n}")))
    }) {
        return true;
    }
    if starts("TRIGGER ") && ENGINE_TRIGGERS.iter().any(|t| words.get(3) == Some(t)) {
        return true;
    }
    let schema = if starts("USER MAPPING") || starts("FOREIGN TABLE") || starts("DEFAULT ACL") {
        words.get(2)
    } else {
        words.get(1)
    };
    schema.is_some_and(|s| s.starts_with("_timescaledb") || s.starts_with("timescaledb_"))
}

/// An aggregate's view and its grants: "217; 1259 16500 VIEW public
/// daily postgres", "4001; 0 0 ACL public TABLE daily postgres".
fn cagg_entry(line: &str, caggs: &[QualifiedName]) -> bool {
    let Some(all) = words(line) else {
        return false;
    };
    let w = &all[all.len().min(2)..];
    let is = |schema: Option<&&str>, name: Option<&&str>| {
        caggs
            .iter()
            .any(|c| schema == Some(&c.schema.as_str()) && name == Some(&c.name.as_str()))
    };
    match (w.first(), w.get(2)) {
        (Some(&"VIEW"), _) => is(w.get(1), w.get(2)),
        // Its grants come with it (`caggs`); its comments and column
        // grants are restored late (`held`).
        (Some(&"ACL"), Some(&"TABLE")) => is(w.get(1), w.get(3)),
        _ => false,
    }
}

/// Whether the entry is restored late: an object that depends on an
/// aggregate (by its catalog and object ids), the data of such a
/// materialized view (object id alone), a grant, comment or security
/// label naming one or an aggregate (no ids: by schema and name, a column
/// or a function's arguments after it), or any materialized view's
/// refresh. Holding too much only delays it; holding too little fails
/// the restore.
fn held(line: &str, deps: &[Dependent], caggs: &[QualifiedName]) -> bool {
    let Some(w) = words(line) else {
        return false;
    };
    let (Some(class), Some(obj)) = (
        w.first().and_then(|x| x.parse::<u32>().ok()),
        w.get(1).and_then(|x| x.parse::<u32>().ok()),
    ) else {
        return false;
    };
    let text = w[2..].join(" ");
    if text.starts_with("MATERIALIZED VIEW DATA ") {
        return true;
    }
    if obj != 0 {
        return deps
            .iter()
            .any(|d| d.objid == obj && (d.classid == class || class == 0));
    }
    let kind_words = if text.starts_with("SECURITY LABEL ") {
        2
    } else if text.starts_with("COMMENT ") || text.starts_with("ACL ") {
        1
    } else {
        return false;
    };
    let Some(schema) = w.get(2 + kind_words) else {
        return false;
    };
    // The object's description, without the owner at the end.
    let start = (3 + kind_words).min(w.len());
    let rest = &w[start..w.len().saturating_sub(1).max(start)];
    let hay = format!(" {} ", rest.join(" "));
    deps.iter()
        .map(|d| &d.name)
        .chain(caggs)
        .filter(|name| name.schema == *schema)
        .any(|name| {
            let n = &name.name;
            hay.contains(&format!(" {n} "))
                || hay.contains(&format!(" {n}."))
                || hay.contains(&format!(" {n}("))
        })
}

/// PURE: a restore script as pg_restore writes it (each entry under a
/// `-- Name: ...; Type: ...` comment), split: its header (the session
/// settings before the first entry), its `INDEX` entries, and the other
/// entries (constraints, triggers, comments, grants...) in their order.
pub fn split_indexes(script: &str) -> (String, Vec<String>, String) {
    const MARK: &str = "--\n-- Name: ";
    let Some(first) = script.find(MARK) else {
        return (script.to_string(), Vec::new(), String::new());
    };
    let (header, mut body) = script.split_at(first);
    let (mut indexes, mut rest) = (Vec::new(), String::new());
    while !body.is_empty() {
        let next = body[MARK.len()..]
            .find(MARK)
            .map_or(body.len(), |i| i + MARK.len());
        let (entry, tail) = body.split_at(next);
        let kind = entry.lines().nth(1).unwrap_or_default();
        if kind.contains("; Type: INDEX; ") {
            indexes.push(entry.to_string());
        } else {
            rest.push_str(entry);
        }
        body = tail;
    }
    (header.to_string(), indexes, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "; Archive created\n\
        3; 3079 16385 EXTENSION - timescaledb \n\
        4567; 0 0 COMMENT - EXTENSION timescaledb \n\
        5000; 1417 16999 SERVER - dn1 postgres\n\
        5001; 1418 17000 USER MAPPING - USER MAPPING postgres SERVER dn1 postgres\n\
        215; 1259 16390 TABLE public metrics postgres\n\
        216; 1259 16391 TABLE public dn1_notes postgres\n\
        300; 2620 17001 TRIGGER public metrics ts_insert_blocker postgres\n\
        301; 2620 17002 TRIGGER public metrics audit postgres\n\
        302; 1259 17003 TABLE _timescaledb_internal _hyper_1_1_chunk postgres\n\
        303; 1259 17010 VIEW public daily postgres\n\
        304; 0 0 ACL public TABLE daily postgres\n\
        320; 0 0 COMMENT public VIEW daily postgres\n\
        321; 0 0 ACL public COLUMN daily.n postgres\n\
        305; 1259 17011 VIEW public daily_report postgres\n\
        306; 0 0 COMMENT public COLUMN daily_report.n postgres\n\
        307; 0 0 ACL public TABLE daily_reports postgres\n\
        308; 1255 17020 FUNCTION public busy_n() postgres\n\
        309; 0 0 ACL public FUNCTION busy_n() postgres\n\
        310; 1259 17030 MATERIALIZED VIEW public snap postgres\n\
        311; 1259 17031 INDEX public snap_idx postgres\n\
        312; 0 17030 MATERIALIZED VIEW DATA public snap postgres\n\
        313; 0 17040 MATERIALIZED VIEW DATA public other postgres\n";

    fn dep(classid: u32, objid: u32, name: &str) -> Dependent {
        Dependent {
            classid,
            objid,
            kind: "view".into(),
            name: QualifiedName::new("public", name),
        }
    }

    fn kept(list: &str) -> Vec<&str> {
        list.lines().filter(|l| !l.starts_with(';')).collect()
    }

    #[test]
    fn the_toc_loses_what_keeps_multi_node_and_holds_what_needs_an_aggregate() {
        let deps = [
            dep(1259, 17011, "daily_report"),
            dep(1255, 17020, "busy_n"),
            dep(1259, 17030, "snap"),
            dep(1259, 17031, "snap_idx"),
        ];
        let toc = filter(
            LIST,
            &Known {
                data_nodes: &["dn1".into()],
                caggs: &[QualifiedName::new("public", "daily")],
                dependents: &deps,
            },
        );
        assert_eq!(
            kept(&toc.main),
            [
                "215; 1259 16390 TABLE public metrics postgres",
                "216; 1259 16391 TABLE public dn1_notes postgres",
                "301; 2620 17002 TRIGGER public metrics audit postgres",
                "307; 0 0 ACL public TABLE daily_reports postgres",
            ]
        );
        assert_eq!(
            kept(&toc.late),
            [
                "320; 0 0 COMMENT public VIEW daily postgres",
                "321; 0 0 ACL public COLUMN daily.n postgres",
                "305; 1259 17011 VIEW public daily_report postgres",
                "306; 0 0 COMMENT public COLUMN daily_report.n postgres",
                "308; 1255 17020 FUNCTION public busy_n() postgres",
                "309; 0 0 ACL public FUNCTION busy_n() postgres",
                "310; 1259 17030 MATERIALIZED VIEW public snap postgres",
                "311; 1259 17031 INDEX public snap_idx postgres",
                "312; 0 17030 MATERIALIZED VIEW DATA public snap postgres",
                "313; 0 17040 MATERIALIZED VIEW DATA public other postgres",
            ]
        );
        let none = filter(
            LIST,
            &Known {
                data_nodes: &["dn1".into()],
                caggs: &[QualifiedName::new("public", "daily")],
                dependents: &[],
            },
        );
        assert!(kept(&none.main).contains(&"305; 1259 17011 VIEW public daily_report postgres"));
        assert_eq!(
            kept(&none.late),
            [
                "320; 0 0 COMMENT public VIEW daily postgres",
                "321; 0 0 ACL public COLUMN daily.n postgres",
                "312; 0 17030 MATERIALIZED VIEW DATA public snap postgres",
                "313; 0 17040 MATERIALIZED VIEW DATA public other postgres",
            ]
        );
    }

    #[test]
    fn post_data_split_into_its_indexes_and_the_rest() {
        let script = "SET x = 1;\n\n--\n-- Name: a_idx; Type: INDEX; Schema: public; Owner: u\n--\n\nCREATE INDEX a_idx ON public.a (t);\n\n\
            --\n-- Name: a a_pkey; Type: CONSTRAINT; Schema: public; Owner: u\n--\n\nALTER TABLE ONLY public.a ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n\n\
            --\n-- Name: b_idx; Type: INDEX; Schema: public; Owner: u\n--\n\nCREATE INDEX b_idx ON public.b (t);\n";
        let (header, indexes, rest) = split_indexes(script);
        assert_eq!(header, "SET x = 1;\n\n");
        assert_eq!(indexes.len(), 2);
        assert!(indexes[0].contains("CREATE INDEX a_idx") && !indexes[0].contains("a_pkey"));
        assert!(indexes[1].contains("CREATE INDEX b_idx"));
        assert!(
            rest.starts_with("--\n-- Name: a a_pkey; Type: CONSTRAINT")
                && !rest.contains("CREATE INDEX")
        );
        assert_eq!(
            header.len() + indexes[0].len() + indexes[1].len() + rest.len(),
            script.len()
        );
        assert_eq!(
            split_indexes("SET x = 1;\n"),
            ("SET x = 1;\n".into(), vec![], String::new())
        );
    }
}
