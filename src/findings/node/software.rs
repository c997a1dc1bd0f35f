//! What runs on the node: a PostgreSQL version multi-node supports, and a
//! TimescaleDB with multi-node, preloaded, under its community licence.

use crate::facts::{NodeFacts, ServerFacts};
use crate::findings::{Finding, Fix, Severity::*, Then};
use crate::quote::sql::literal;
use crate::timescale::{has_multinode, parse_version, pg_majors_for, MULTINODE_PG_MAJORS};

pub(super) fn versions(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let major = s.version_num / 10000;
    let ts = s.timescaledb_version();
    let window = ts
        .as_deref()
        .and_then(pg_majors_for)
        .filter(|_| ts.as_deref().and_then(has_multinode) == Some(true));
    let window = window.unwrap_or(MULTINODE_PG_MAJORS);
    if !window.contains(&major) {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "pg_version",
            format!("PostgreSQL {} is outside {}-{}, the versions multi-node supports{}", s.version, window.start(), window.end(), ts.map(|v| format!(" with TimescaleDB {v}")).unwrap_or_default()),
            "TimescaleDB 2.13 refuses every multi-node call on PostgreSQL 16 and later, and older releases do not build for newer PostgreSQL",
            Fix::manual(format!("run this node on PostgreSQL {}-{} with TimescaleDB 2.13.x (the same on every node)", window.start(), window.end())),
        ));
    }
}

pub(super) fn timescaledb(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let major = s.version_num / 10000;
    let installed = s.database.as_ref().and_then(|d| d.timescaledb.as_deref());
    if s.timescaledb_available.is_empty() && installed.is_none() {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "timescaledb_missing",
            "TimescaleDB is not installed for this PostgreSQL",
            "the cluster phase (CREATE EXTENSION, add_data_node) needs the same TimescaleDB on every node; settings and authentication can be prepared without it",
            Fix::manual(format!("install TimescaleDB 2.13.x for PostgreSQL {major} on {} (Timescale's package timescaledb-2-postgresql-{major}), the same version as on the other nodes", n.name)),
        ));
        return;
    }
    let newest = installed
        .or(s.timescaledb_available.last().map(String::as_str))
        .unwrap_or_default();
    let usable = match installed {
        Some(v) => has_multinode(v) == Some(true),
        None => s.timescaledb_to_create().is_some(),
    };
    if !usable {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "multinode_removed",
            format!("TimescaleDB {newest} has no multi-node: it was removed in 2.14.0"),
            "add_data_node, distributed hypertables and distributed_exec do not exist from 2.14 on, and a 2.13 cluster cannot be upgraded to 2.14 in place",
            Fix::manual("either install TimescaleDB 2.13.x on PostgreSQL 13-15 on every node (multi-node is end-of-life and deprecated), or use single-node TimescaleDB (Timescale published a guide to migrate from multi-node)"),
        ));
        return;
    }
    if let Some(v) = installed {
        if parse_version(v).is_some_and(|(_, minor, _)| minor == 13) {
            out.push(Finding::new(
                Note,
                &n.name,
                "multinode_deprecated",
                format!("TimescaleDB {v}: multi-node is deprecated and prints a WARNING on every call"),
                "2.13 is the last release with multi-node; the warnings are normal output, not failures",
                Fix::nothing("nothing to do now; plan a move to single-node TimescaleDB for the long run"),
            ));
        }
    }
    let preload = s.setting("shared_preload_libraries").unwrap_or_default();
    if !preload
        .split(',')
        .any(|l| l.trim().trim_matches('"') == "timescaledb")
    {
        // One literal per library: one literal 'a,b' would name a single
        // library "a,b", and the server would not start.
        let new: Vec<String> = preload
            .split(',')
            .map(|l| l.trim().trim_matches('"'))
            .filter(|l| !l.is_empty())
            .chain(["timescaledb"])
            .map(literal)
            .collect();
        out.push(Finding::new(
            Blocker,
            &n.name,
            "not_preloaded",
            format!("shared_preload_libraries is '{preload}', without timescaledb"),
            "without it CREATE EXTENSION fails with `extension \"timescaledb\" must be preloaded`",
            Fix::sql(
                &n.name,
                format!(
                    "ALTER SYSTEM SET shared_preload_libraries = {}",
                    new.join(", ")
                ),
                Then::Restart,
            )
            .or_apply(),
        ));
    }
    if s.setting("timescaledb.license") == Some("apache") {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "apache_license",
            "timescaledb.license is 'apache'",
            "multi-node is community-licensed: under 'apache' add_data_node fails with `not supported under the current \"apache\" license`",
            Fix::manual(format!("install the community (TSL) TimescaleDB package on {} and set timescaledb.license = 'timescale'", n.name)),
        ));
    }
}
