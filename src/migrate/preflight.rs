//! PURE: what stands in the way of a migration, each with its fix, and the
//! preflight report (`tsmn migrate --check`).

pub use super::render::{bytes, interval, render};
use super::source::Source;
use super::target::TargetFacts;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub what: String,
    pub fix: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    pub target: String,
    pub source: Source,
    pub target_facts: TargetFacts,
    pub blockers: Vec<Blocker>,
    pub notes: Vec<String>,
    /// The target holds a migration of this source that did not finish.
    pub resumes: bool,
}

fn blocker(what: String, fix: String) -> Blocker {
    Blocker { what, fix }
}

/// `2.13.1` -> [2, 13, 1], for comparing versions.
fn version_key(v: &str) -> Vec<u32> {
    v.split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// The blockers and notes of migrating `s` into `t` (named `shown`).
/// `unreachable`: data nodes tsmn could not read, with why; `plan_nodes`:
/// the data nodes the plan names.
pub fn assess(
    shown: &str,
    s: Source,
    t: TargetFacts,
    unreachable: &[(String, String)],
    plan_nodes: &[String],
) -> Preflight {
    let resumes = t.migration_of.as_deref() == Some(s.identity.as_str());
    let mut b = target_blockers(shown, &s, &t, resumes);
    b.extend(source_blockers(&s, unreachable, plan_nodes));
    let mut notes = Vec::new();
    let needed = u64::try_from(s.total_bytes).unwrap_or(0);
    match t.free_bytes {
        Some(free) if free < needed => b.push(blocker(
            format!("the target has {} free under {}, the data takes {}", bytes(free), t.data_directory, bytes(needed)),
            "free space on the target (or move its data directory) until it has at least the data's size".into(),
        )),
        Some(free) => notes.push(format!("target free space {} for {} of data", bytes(free), bytes(needed))),
        None => notes.push(format!(
            "tsmn cannot measure the target's free disk (it is not on this host): make sure {} has at least {} free",
            t.data_directory, bytes(needed)
        )),
    }
    for c in s.caggs.iter().filter(|c| c.finalized) {
        notes.push(format!(
            "continuous aggregate {}{}: created again with its materialized rows, watermark and pending invalidations (its buckets whose raw rows retention dropped stay)",
            c.name,
            if c.parent_mat_id.is_some() { " (hierarchical: after its parent)" } else { "" }
        ));
    }
    for j in &s.jobs {
        match super::jobs::create_sql(j, &s) {
            Ok(_) => notes.push(format!(
                "job {} ({}, every {}) is recreated, scheduled once the migration is verified",
                j.id, j.application_name, j.schedule_interval
            )),
            Err(why) => notes.push(format!("{why}: not recreated; add it again on the target")),
        }
    }
    if !t.database_exists {
        notes.push(format!(
            "the target database {} does not exist yet: tsmn creates it",
            shown
        ));
    }
    if resumes {
        notes.push("the target holds an unfinished migration of this cluster: tsmn goes on where it stopped".into());
    }
    Preflight {
        target: shown.into(),
        source: s,
        target_facts: t,
        blockers: b,
        notes,
        resumes,
    }
}

/// What the target is or holds that blocks the migration.
fn target_blockers(shown: &str, s: &Source, t: &TargetFacts, resumes: bool) -> Vec<Blocker> {
    let mut b = Vec::new();
    if !t.superuser {
        b.push(blocker(
            format!("the role tsmn logs in to the target {shown} as is not a superuser"),
            "connect as a superuser (the user in --to, else the plan's superuser): tsmn creates the extension and restores the schema there".into(),
        ));
    }
    match &t.timescaledb_available {
        None => b.push(blocker(
            format!("the target {shown} has no TimescaleDB available (pg_available_extensions lacks timescaledb)"),
            format!("install TimescaleDB {} (or later) for PostgreSQL {} on the target's host", s.timescaledb, t.pg_version),
        )),
        Some(v) if version_key(v) < version_key(&s.timescaledb) => b.push(blocker(
            format!("the target's TimescaleDB default version is {v}, older than the source's {}", s.timescaledb),
            format!("install TimescaleDB {} or later on the target (or make it the default version in timescaledb.control)", s.timescaledb),
        )),
        Some(_) => {}
    }
    if t.timescaledb_available.is_some() && !t.preloaded {
        b.push(blocker(
            format!("the target {shown} does not load timescaledb (shared_preload_libraries)"),
            "set shared_preload_libraries = 'timescaledb' in the target's postgresql.conf and restart it".into(),
        ));
    }
    if t.pg_version_num / 10000 < s.pg_version_num / 10000 {
        b.push(blocker(
            format!(
                "the target runs PostgreSQL {}, older than the source's {}",
                t.pg_version, s.pg_version
            ),
            "use a target with the source's PostgreSQL major version or a later one".into(),
        ));
    }
    if t.dist_uuid {
        b.push(blocker(
            format!("the target database {shown} is part of a multi-node installation (dist_uuid in _timescaledb_catalog.metadata)"),
            "migrate into a new database (e.g. --to 'host=... dbname=tsdb_single'); tsmn creates it when it does not exist".into(),
        ));
    }
    if !t.fdw_servers.is_empty() {
        b.push(blocker(
            format!(
                "the target database {shown} has data nodes (timescaledb_fdw servers {})",
                t.fdw_servers.join(", ")
            ),
            "migrate into a new database that is not an access node".into(),
        ));
    }
    match &t.migration_of {
        Some(other) if other != &s.identity => b.push(blocker(
            format!("the target database {shown} holds tsmn's record of a migration from another cluster ({other})"),
            "migrate into another database, or drop this one if that migration is abandoned".into(),
        )),
        _ => {}
    }
    if !t.collisions.is_empty() && !resumes {
        b.push(blocker(
            format!(
                "the target database {shown} already has tables, views, sequences or types of the same names: {}",
                t.collisions.join(", ")
            ),
            "migrate into a new or empty database, or drop or rename those on the target"
                .into(),
        ));
    }
    b
}

/// What the source holds, or where it cannot be read, that blocks it.
fn source_blockers(
    s: &Source,
    unreachable: &[(String, String)],
    plan_nodes: &[String],
) -> Vec<Blocker> {
    let mut b = Vec::new();
    for c in s.caggs.iter().filter(|c| !c.finalized) {
        b.push(blocker(
            format!("continuous aggregate {} is in the old format (finalized = false), which tsmn does not carry (the source is never written, so tsmn does not convert it)", c.name),
            format!("on the source, CALL cagg_migrate({}); then drop the old aggregate and rename the new one (see TimescaleDB's \"migrate a continuous aggregate to the new form\"), and run tsmn migrate --check again", crate::quote::sql::literal(&c.name.sql())),
        ));
    }
    // A table part of which needs an aggregate: its table is made in
    // pre-data, before the rows; what needs the aggregates comes after them.
    for d in s.cagg_dependents.iter().filter(|d| {
        [
            "table",
            "foreign table",
            "default value",
            "table constraint",
        ]
        .contains(&d.kind.as_str())
    }) {
        b.push(blocker(
            format!("{} depends on a continuous aggregate (a column of its row type, or a default or check that calls a function over it): tsmn makes the tables before the rows, the aggregates after them", d.shown()),
            "on the source, make it independent of the aggregate (e.g. a PL/pgSQL function instead of one with an SQL body, another column type) or drop it, and run tsmn migrate --check again".into(),
        ));
    }
    for dn in &s.data_nodes {
        if !plan_nodes.contains(&dn.name) {
            b.push(blocker(
                format!("data node {} is in the cluster but not in the plan, so tsmn cannot read its chunks", dn.name),
                "add it to the plan (tsmn discover writes the plan of a running cluster)".into(),
            ));
        }
    }
    for (n, why) in unreachable {
        b.push(blocker(
            format!("data node {n} cannot be read: {why}"),
            format!("bring {n} back (tsmn check --plan PLAN says why it fails); nothing is copied while a data node is missing"),
        ));
    }
    let orphans = s
        .chunks
        .iter()
        .filter(|c| {
            c.nodes.is_empty() && s.hypertable(&c.hypertable).is_some_and(|h| h.distributed)
        })
        .count();
    if orphans > 0 {
        b.push(blocker(
            format!("{orphans} chunk(s) of distributed hypertables are on no data node"),
            "repair the cluster first (tsmn check)".into(),
        ));
    }
    b
}

pub fn is_time_type(t: &str) -> bool {
    matches!(
        t,
        "timestamp with time zone" | "timestamp without time zone" | "date"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::{Cagg, DataNode};
    use crate::migrate::QualifiedName;

    fn source() -> Source {
        Source {
            database: "tsdb".into(),
            pg_version: "15.8".into(),
            pg_version_num: 150008,
            timescaledb: "2.13.1".into(),
            identity: "123/tsdb".into(),
            data_nodes: vec![DataNode {
                name: "dn1".into(),
                database: "tsdb".into(),
            }],
            total_bytes: 1000,
            ..Source::default()
        }
    }

    fn target() -> TargetFacts {
        TargetFacts {
            pg_version: "15.8".into(),
            pg_version_num: 150008,
            superuser: true,
            timescaledb_available: Some("2.13.1".into()),
            preloaded: true,
            database_exists: true,
            free_bytes: Some(10_000),
            ..TargetFacts::default()
        }
    }

    #[test]
    fn a_fresh_target_passes() {
        let p = assess("t", source(), target(), &[], &["dn1".into()]);
        assert!(p.blockers.is_empty(), "{:?}", p.blockers);
    }

    #[test]
    fn each_bad_target_is_named_with_a_fix() {
        let cases: Vec<(TargetFacts, &str)> = vec![
            (
                TargetFacts {
                    timescaledb_available: None,
                    ..target()
                },
                "no TimescaleDB available",
            ),
            (
                TargetFacts {
                    timescaledb_available: Some("2.12.0".into()),
                    ..target()
                },
                "older than the source's 2.13.1",
            ),
            (
                TargetFacts {
                    preloaded: false,
                    ..target()
                },
                "shared_preload_libraries",
            ),
            (
                TargetFacts {
                    dist_uuid: true,
                    ..target()
                },
                "dist_uuid",
            ),
            (
                TargetFacts {
                    fdw_servers: vec!["dn1".into()],
                    ..target()
                },
                "timescaledb_fdw",
            ),
            (
                TargetFacts {
                    collisions: vec!["public.metrics".into()],
                    ..target()
                },
                "public.metrics",
            ),
            (
                TargetFacts {
                    free_bytes: Some(10),
                    ..target()
                },
                "free",
            ),
            (
                TargetFacts {
                    superuser: false,
                    ..target()
                },
                "not a superuser",
            ),
            (
                TargetFacts {
                    pg_version_num: 140010,
                    pg_version: "14.10".into(),
                    ..target()
                },
                "older than the source's",
            ),
            (
                TargetFacts {
                    migration_of: Some("9/x".into()),
                    ..target()
                },
                "another cluster",
            ),
        ];
        for (t, says) in cases {
            let p = assess("t", source(), t, &[], &["dn1".into()]);
            assert_eq!(p.blockers.len(), 1, "{says}: {:?}", p.blockers);
            assert!(
                p.blockers[0].what.contains(says),
                "{says}: {:?}",
                p.blockers
            );
            assert!(!p.blockers[0].fix.is_empty());
        }
    }

    #[test]
    fn a_resumed_migration_is_not_a_collision() {
        let t = TargetFacts {
            collisions: vec!["public.metrics".into()],
            migration_of: Some("123/tsdb".into()),
            ..target()
        };
        let p = assess("t", source(), t, &[], &["dn1".into()]);
        assert!(p.blockers.is_empty(), "{:?}", p.blockers);
        assert!(p.resumes);
    }

    #[test]
    fn source_side_blockers() {
        let mut s = source();
        s.caggs.push(Cagg {
            finalized: false,
            ..Cagg::example(
                2,
                1,
                QualifiedName::new("_timescaledb_internal", "_materialized_hypertable_2"),
            )
        });
        let dep = |kind: &str, name: &str| crate::migrate::source::Dependent {
            classid: 1259,
            objid: 1,
            kind: kind.into(),
            name: QualifiedName::new("public", name),
        };
        s.cagg_dependents = vec![dep("view", "busy"), dep("default value", "t")];
        let p = assess("t", s, target(), &[("dn1".into(), "refused".into())], &[]);
        let all: Vec<&str> = p.blockers.iter().map(|b| b.what.as_str()).collect();
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(
            all[1].starts_with("default value public.t depends on a continuous aggregate"),
            "{all:?}"
        );
        let all = [all[0], all[2], all[3]];
        assert!(all[0].contains("public.daily") && all[0].contains("old format"));
        assert!(
            p.blockers[0]
                .fix
                .contains("CALL cagg_migrate('\"public\".\"daily\"')"),
            "{}",
            p.blockers[0].fix
        );
        assert!(all[1].contains("not in the plan"));
        assert!(all[2].contains("dn1 cannot be read: refused"));
        let unmeasured = TargetFacts {
            free_bytes: None,
            ..target()
        };
        let p = assess("t", source(), unmeasured, &[], &["dn1".into()]);
        assert!(
            p.notes.iter().any(|n| n.contains("cannot measure")),
            "{:?}",
            p.notes
        );
    }
}
