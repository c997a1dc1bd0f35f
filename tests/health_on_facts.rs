//! check's findings on a running cluster's health, on hand-made facts:
//! the states the real-server tests (tests/status/codes.rs) cannot make
//! or do not reach: a chunk copy that needs wal_level = logical, a
//! hypertable with no data node to take a copy, a remote_txn backlog of
//! 10,000 records, a filesystem nearly full; and the line between a
//! user's failing job (here) and tsmn's own (the maintenance findings).

use tsmn::facts::*;
use tsmn::findings::{findings, Finding, Fix, Severity};
use tsmn::plan::{parse_plan, Plan};

fn plan() -> Plan {
    parse_plan(
        "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n[[data_nodes]]\nname = \"dn2\"\nhost = \"10.0.0.12\"\n",
        "p",
    )
    .unwrap()
}

fn server(wal_level: &str, db: Option<DatabaseFacts>) -> ServerFacts {
    let mut s = ServerFacts {
        database: db,
        ..Default::default()
    };
    s.settings.insert(
        "wal_level".into(),
        Setting {
            value: wal_level.into(),
            source: "configuration file".into(),
            pending_restart: false,
        },
    );
    s
}

fn node(name: &str, role: NodeRole, server: ServerFacts) -> NodeFacts {
    NodeFacts {
        name: name.into(),
        role,
        address: "x".into(),
        connection: Connection::Connected { tls: false },
        server: Some(server),
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    }
}

/// `r2` with replication factor 2 on dn1 and dn2; one chunk on dn1 only.
fn cluster(wal_level: &str, attached: &[&str]) -> (Facts, DatabaseFacts) {
    let db = DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        data_nodes: vec!["dn1".into(), "dn2".into()],
        distributed_hypertables: vec![DistributedHypertable {
            schema: "public".into(),
            table: "r2".into(),
            data_nodes: attached.iter().map(|s| s.to_string()).collect(),
            replication_factor: 2,
        }],
        chunk_places: vec![
            ChunkPlace {
                hypertable: "public.r2".into(),
                hypertable_name: ("public".into(), "r2".into()),
                chunk: "_timescaledb_internal._dist_hyper_2_7_chunk".into(),
                data_nodes: vec!["dn1".into()],
                bytes: vec![],
                ..Default::default()
            },
            ChunkPlace {
                hypertable: "public.r2".into(),
                hypertable_name: ("public".into(), "r2".into()),
                chunk: "_timescaledb_internal._dist_hyper_2_8_chunk".into(),
                data_nodes: vec!["dn1".into(), "dn2".into()],
                bytes: vec![],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let facts = Facts {
        nodes: vec![
            node("an", NodeRole::Access, server("replica", Some(db.clone()))),
            node("dn1", NodeRole::Data, server(wal_level, None)),
            node("dn2", NodeRole::Data, server(wal_level, None)),
        ],
    };
    (facts, db)
}

fn with_code<'f>(found: &'f [Finding], code: &str) -> Vec<&'f Finding> {
    found.iter().filter(|f| f.code == code).collect()
}

#[test]
fn a_chunk_short_of_copies_is_copied_by_the_engine_where_it_can_be() {
    let (facts, _) = cluster("logical", &["dn1", "dn2"]);
    let found = findings(&plan(), &facts);
    let short = with_code(&found, "chunks_under_replicated");
    assert_eq!(short.len(), 1, "{found:#?}");
    assert_eq!(short[0].severity, Severity::Warning);
    assert_eq!(
        short[0].what,
        "public.r2: 1 chunk(s) have fewer than 2 copies (its replication factor)"
    );
    match short[0].remedy.first() {
        Fix::Sql {
            node,
            database,
            sql,
            ..
        } => {
            assert_eq!((node.as_str(), database.as_str()), ("an", "tsdb"));
            assert_eq!(
                sql,
                "DO $tsmn$ BEGIN\n  CALL timescaledb_experimental.copy_chunk(chunk => '_timescaledb_internal._dist_hyper_2_7_chunk', source_node => 'dn1', destination_node => 'dn2');\nEND $tsmn$;"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_logical_wal_the_fix_says_so_first_and_without_a_node_to_copy_to_it_gives_the_choices() {
    let (facts, _) = cluster("replica", &["dn1", "dn2"]);
    let found = findings(&plan(), &facts);
    let fix = &with_code(&found, "chunks_under_replicated")[0].fix;
    assert!(fix.contains("wal_level = logical on dn1, dn2"), "{fix}");
    assert!(
        fix.contains("copy_chunk(chunk => '_timescaledb_internal._dist_hyper_2_7_chunk'"),
        "{fix}"
    );

    // A prepared transaction on the source: the copy would wait for it.
    let (mut facts, _) = cluster("logical", &["dn1", "dn2"]);
    if let Some(s) = facts.nodes[1].server.as_mut() {
        s.database = Some(DatabaseFacts {
            name: "tsdb".into(),
            prepared: vec![PreparedXact {
                gid: "app-1".into(),
                database: "tsdb".into(),
                age_seconds: 5,
            }],
            ..Default::default()
        });
    }
    let found = findings(&plan(), &facts);
    let fix = &with_code(&found, "chunks_under_replicated")[0].fix;
    assert!(
        fix.starts_with("first resolve the prepared transactions on dn1"),
        "{fix}"
    );

    let (facts, _) = cluster("logical", &["dn1"]);
    let found = findings(&plan(), &facts);
    let fix = &with_code(&found, "chunks_under_replicated")[0].fix;
    assert!(
        fix.contains("attach_data_node") && fix.contains("set_replication_factor('public.r2'"),
        "{fix}"
    );
}

#[test]
fn a_remote_txn_backlog_from_ten_thousand_records_is_healed() {
    let (mut facts, mut db) = cluster("logical", &["dn1", "dn2"]);
    db.chunk_places.clear();
    for (n, expected) in [(9_999, 0), (10_000, 1)] {
        db.remote_txn_backlog = Some(n);
        facts.nodes[0] = node("an", NodeRole::Access, server("replica", Some(db.clone())));
        let found = findings(&plan(), &facts);
        let backlog = with_code(&found, "remote_txn_backlog");
        assert_eq!(backlog.len(), expected, "{n}: {found:#?}");
        if let Some(f) = backlog.first() {
            assert!(
                f.fix
                    .contains("_timescaledb_functions.remote_txn_heal_data_node(fs.oid)"),
                "{}",
                f.fix
            );
            assert!(f.fix.contains("[maintenance] jobs = true"), "{}", f.fix);
        }
    }
}

#[test]
fn a_users_failing_job_is_reported_and_tsmns_own_are_left_to_the_maintenance_findings() {
    let (mut facts, mut db) = cluster("logical", &["dn1", "dn2"]);
    db.chunk_places.clear();
    let job = |id: i64, proc_name: &str| FailedJob {
        job_id: id,
        proc_name: proc_name.into(),
        hypertable: None,
        total_failures: 3,
        next_start: Some("2026-12-06 20:00:00+00".into()),
        last_error: Some("division by zero".into()),
    };
    db.failed_jobs = vec![
        job(1000, "boom"),
        job(1001, tsmn::maintenance::Job::ALL[0].procedure()),
    ];
    facts.nodes[0] = node("an", NodeRole::Access, server("replica", Some(db)));
    let found = findings(&plan(), &facts);
    let failed = with_code(&found, "job_failed");
    assert_eq!(failed.len(), 1, "{found:#?}");
    assert!(
        failed[0]
            .what
            .starts_with("job 1000 (boom) failed on its last run: division by zero"),
        "{}",
        failed[0].what
    );
    assert!(
        failed[0]
            .fix
            .contains("SELECT alter_job(1000, next_start => now())"),
        "{}",
        failed[0].fix
    );
    assert!(
        with_code(&found, "maintenance_job_failed").is_empty(),
        "{found:#?}"
    );
}

#[test]
fn a_filesystem_under_ten_percent_free_is_a_warning() {
    let (mut facts, _) = cluster("logical", &["dn1", "dn2"]);
    let disk = |free: i64| Disk {
        data_directory: "/var/lib/postgresql/15/main".into(),
        total_bytes: 100 * 1024 * 1024 * 1024,
        free_bytes: free * 1024 * 1024 * 1024,
    };
    for (free, expected) in [(10, 0), (9, 1)] {
        if let Some(s) = facts.nodes[1].server.as_mut() {
            s.disk = Some(disk(free));
        }
        let found = findings(&plan(), &facts);
        let low = with_code(&found, "disk_space_low");
        assert_eq!(low.len(), expected, "{free} GiB free: {found:#?}");
        if let Some(f) = low.first() {
            assert_eq!(f.node, "dn1");
            assert_eq!(
                f.what,
                "9.0 GB free of 100.0 GB under /var/lib/postgresql/15/main (less than 10%)"
            );
        }
    }
}

#[test]
fn prepared_transactions_not_timescaledbs_are_reported_after_a_minute_with_both_ways_out() {
    let (mut facts, mut db) = cluster("logical", &["dn1", "dn2"]);
    db.chunk_places.clear();
    let xact = |gid: &str, database: &str, age: i64| PreparedXact {
        gid: gid.into(),
        database: database.into(),
        age_seconds: age,
    };
    let mut dn1 = DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        ..Default::default()
    };
    for (prepared, expected) in [
        (vec![xact("app-1", "tsdb", 30)], 0),
        (
            vec![xact("app-1", "tsdb", 120), xact("ts-1-9-1-10", "tsdb", 120)],
            1,
        ),
        (vec![xact("ts-1-9-1-10", "other", 120)], 1),
    ] {
        dn1.prepared = prepared;
        facts.nodes[1] = node("dn1", NodeRole::Data, server("replica", Some(dn1.clone())));
        let found = findings(&plan(), &facts);
        let other = with_code(&found, "prepared_transactions_other");
        assert_eq!(other.len(), expected, "{:?}: {found:#?}", dn1.prepared);
        if let Some(f) = other.first() {
            assert!(
                f.fix.contains("COMMIT PREPARED") && f.fix.contains("ROLLBACK PREPARED"),
                "{}",
                f.fix
            );
        }
    }
    let _ = db;
}

#[test]
fn copies_are_spread_over_the_nodes_that_hold_the_fewest_chunks() {
    let (mut facts, mut db) = cluster("logical", &["dn1", "dn2", "dn3"]);
    db.chunk_places = (0..4)
        .map(|i| ChunkPlace {
            hypertable: "public.r2".into(),
            hypertable_name: ("public".into(), "r2".into()),
            chunk: format!("_timescaledb_internal.c{i}"),
            data_nodes: vec!["dn1".into()],
            ..Default::default()
        })
        .collect();
    facts.nodes[0] = node("an", NodeRole::Access, server("replica", Some(db)));
    facts
        .nodes
        .push(node("dn3", NodeRole::Data, server("logical", None)));
    let found = findings(&plan(), &facts);
    let fix = &with_code(&found, "chunks_under_replicated")[0].fix;
    let to = |dn: &str| fix.matches(&format!("destination_node => '{dn}'")).count();
    assert_eq!((to("dn2"), to("dn3")), (2, 2), "{fix}");
}
