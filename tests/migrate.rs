//! `tsmn migrate` on real servers (TimescaleDB tier): a 1 + 2 node cluster
//! with two distributed hypertables (one with a space dimension, one with a
//! compressed range) and a regular table with a sequence, moved onto a
//! fresh server; counts and checksums by the test's own SQL on both sides;
//! the target then updates to TimescaleDB 2.14.2 (when installed); and the
//! targets tsmn must refuse before it copies anything. Kills and resumes:
//! tests/migrate_resume.rs.

mod support;

use support::{metrics, timescaledb_tier, tsmn, Running, TestCluster};

/// The rows, and a checksum of them, of each table, by the test's own SQL.
fn tallies(c: &TestCluster, db: &str) -> Vec<String> {
    ["metrics", "readings", "notes"]
        .iter()
        .map(|t| {
            c.sql(
                db,
                &format!(
                    "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || coalesce(sum(hashtext(x::text)::int8), 0) FROM {t} x"
                ),
            )
            .join(",")
        })
        .collect()
}

fn to(c: &TestCluster, db: &str) -> String {
    format!(
        "host={} port={} dbname={db}",
        c.cluster.socket_dir().display(),
        c.cluster.port
    )
}

fn migrate(
    r: &Running,
    target: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let mut cmd = tsmn();
    cmd.args(["migrate", "--plan"])
        .arg(&r.path)
        .args(["--to", target])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run tsmn migrate");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The source: `metrics` (space dimension, 2 data nodes), `readings`
/// (compressed range), `notes` (a regular table with a sequence), both
/// with an enum column.
fn source() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-20");
    for s in [
        // An enum column in a distributed hypertable and in a table: its
        // hash is its label's OID, different on each server, so the
        // verification must hash it by its text.
        "CREATE TYPE mood AS ENUM ('ok', 'bad')",
        "CALL distributed_exec($$CREATE TYPE mood AS ENUM ('ok', 'bad')$$)",
        "CREATE TABLE readings (ts timestamptz NOT NULL, sensor text, v numeric, m mood DEFAULT 'ok')",
        "SELECT create_distributed_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO readings SELECT '2024-01-01'::timestamptz + i * INTERVAL '5 minutes', 's' || (i % 5), i / 7.0 FROM generate_series(1, 12000) i",
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor', timescaledb.compress_orderby = 'ts DESC')",
        "SELECT count(compress_chunk(c)) FROM show_chunks('readings', older_than => '2024-01-22'::timestamptz) c",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text, m mood)",
        "INSERT INTO notes (body, m) SELECT 'note ' || i, (ARRAY['ok', 'bad'])[i % 2 + 1]::mood FROM generate_series(1, 50) i",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

fn compressed(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SELECT count(*) FILTER (WHERE is_compressed) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'",
    )
    .join("")
}

#[test]
fn migrates_verifies_resumes_and_updates_past_2_13() {
    if !timescaledb_tier("migrates_verifies_resumes_and_updates_past_2_13") {
        return;
    }
    let r = source();
    let target = TestCluster::named("target");
    let before = tallies(&r.an, "tsdb");
    assert_ne!(
        compressed(&r.an, "tsdb"),
        "0",
        "the source has compressed chunks"
    );

    // The preflight: read-only, nothing blocks.
    let (code, out) = migrate(&r, &to(&target, "single"), &["--check"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("hypertable public.metrics (distributed)")
            && out.contains("device space, 2 partitions"),
        "{out}"
    );
    assert!(
        out.contains("3 compressed") || out.contains("compressed"),
        "{out}"
    );
    assert!(out.contains("Nothing blocks the migration"), "{out}");
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'single'"
        ),
        ["0"],
        "--check created nothing"
    );

    // The migration.
    let (code, out) = migrate(&r, &to(&target, "single"), &["--yes"], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Verified"), "{out}");
    assert_eq!(tallies(&target, "single"), before, "{out}");
    assert_eq!(tallies(&r.an, "tsdb"), before, "the source is unchanged");
    assert_ne!(
        compressed(&target, "single"),
        "0",
        "compressed again on the target: {out}"
    );
    assert_eq!(
        target.sql("single", "SELECT nextval('notes_id_seq')"),
        ["51"]
    );
    assert_eq!(
        target.sql("single", "SELECT count(*) FROM timescaledb_information.dimensions WHERE hypertable_name = 'metrics'"),
        ["1"],
        "the space dimension is dropped by default"
    );
    assert_eq!(
        target.sql("single", "SELECT to_regclass('tsmn_migrate.done') IS NULL"),
        ["t"]
    );
    // Run again: nothing to do.
    let (code, again) = migrate(&r, &to(&target, "single"), &["--yes"], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("nothing to do"), "{again}");

    update_past_2_13(&target, &before);
}

/// Past 2.13: the target is no longer multi-node, so the 2.14 update
/// script accepts it (when 2.14.2 is installed).
fn update_past_2_13(target: &TestCluster, before: &[String]) {
    // Past 2.13: the target is no longer multi-node (a fresh session, psql -X).
    let has_2142 = target.sql(
        "postgres",
        "SELECT count(*) FROM pg_available_extension_versions WHERE name = 'timescaledb' AND version = '2.14.2'",
    ) == ["1"];
    if has_2142 {
        target.sql("single", "ALTER EXTENSION timescaledb UPDATE TO '2.14.2'");
        assert_eq!(
            target.sql(
                "single",
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ),
            ["2.14.2"]
        );
        assert_eq!(tallies(target, "single"), before, "unchanged by the update");
    } else {
        support::skipped(
            "migrates_verifies_resumes_and_updates_past_2_13 (the 2.14.2 update)",
            "TimescaleDB 2.14.2 is not installed beside 2.13.1",
        );
    }
}

#[test]
fn refuses_bad_targets_before_copying() {
    if !timescaledb_tier("refuses_bad_targets_before_copying") {
        return;
    }
    let r = source();
    // The access node's own database: a multi-node member.
    let (code, out) = migrate(&r, &to(&r.an, "tsdb"), &["--yes"], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("part of a multi-node installation (dist_uuid") && out.contains("fix:"),
        "{out}"
    );
    assert!(out.contains("nothing was copied"), "{out}");
    assert_eq!(
        r.an.sql("tsdb", "SELECT to_regclass('tsmn_migrate.done') IS NULL"),
        ["t"]
    );

    // A name collision.
    let target = TestCluster::named("target");
    target.sql("postgres", "CREATE DATABASE taken");
    target.sql("taken", "CREATE EXTENSION timescaledb");
    target.sql("taken", "CREATE TABLE metrics (x int)");
    let (code, out) = migrate(&r, &to(&target, "taken"), &["--yes"], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("already has tables, views, sequences or types of the same names: \"public\".\"metrics\""),
        "{out}"
    );
    assert_eq!(
        target.sql(
            "taken",
            "SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'tsmn_migrate')"
        ),
        ["1"],
        "nothing copied: {out}"
    );
    let (code, out) = migrate(&r, &to(&target, "taken"), &["--check", "--json"], &[]);
    assert_eq!(code, Some(1), "{out}");
    let doc: serde_json::Value = serde_json::from_str(
        out.lines()
            .take_while(|l| !l.starts_with("reading"))
            .collect::<Vec<_>>()
            .join("\n")
            .trim(),
    )
    .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["schema"], "tsmn-migrate-check/1", "{out}");

    // A server that does not load TimescaleDB.
    let bare = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "bare".into(),
        settings: vec![("shared_preload_libraries".into(), String::new())],
        ..Default::default()
    });
    let (code, out) = migrate(&r, &to(&bare, "tsdb"), &["--check"], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("does not load timescaledb (shared_preload_libraries)"),
        "{out}"
    );
    // A server without TimescaleDB installed at all, a data node's
    // database, a full disk and a data node down: tests/migrate_bad_input.rs.

    // No password in argv: refused as usage.
    let (code, out) = migrate(
        &r,
        "postgresql://postgres:hunter2@127.0.0.1/x",
        &["--check"],
        &[],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
    // Without --yes and without a terminal: refused, nothing copied.
    let (code, out) = migrate(&r, &to(&target, "fresh"), &[], &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("add --yes"), "{out}");
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'fresh'"
        ),
        ["0"]
    );
}
