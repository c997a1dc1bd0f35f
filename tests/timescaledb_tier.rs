//! TimescaleDB tier: runs where the extension is installed for the server,
//! and reports itself skipped, with the reason, everywhere else.

mod support;

use support::*;

#[test]
fn sandbox_nodes_preload_timescaledb_and_create_the_extension() {
    if !timescaledb_tier("sandbox_nodes_preload_timescaledb_and_create_the_extension") {
        return;
    }
    let c = TestCluster::named("ts");
    assert_eq!(
        c.sql("postgres", "SHOW shared_preload_libraries"),
        ["timescaledb"]
    );
    c.sql("postgres", "CREATE EXTENSION IF NOT EXISTS timescaledb");
    let v = c.sql(
        "postgres",
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
    );
    assert_eq!(v.len(), 1);
}

#[test]
fn sandbox_nodes_never_run_telemetry() {
    if !timescaledb_tier("sandbox_nodes_never_run_telemetry") {
        return;
    }
    let c = TestCluster::named("ts");
    c.sql("postgres", "CREATE DATABASE tsdb");
    c.sql("tsdb", "CREATE EXTENSION timescaledb");
    // Builds with telemetry know the setting; the sandbox turned it off.
    // Builds without it keep the sandbox's line as a placeholder: off too.
    assert_eq!(
        c.sql(
            "tsdb",
            "SELECT coalesce(current_setting('timescaledb.telemetry_level', true), 'absent')"
        ),
        ["off"]
    );
    // A telemetry job may exist only where the level keeps it from sending.
    let jobs = c.sql(
        "tsdb",
        "SELECT count(*) FROM _timescaledb_config.bgw_job WHERE proc_name = 'policy_telemetry'",
    );
    let level_known = c.sql(
        "tsdb",
        "SELECT count(*) FROM pg_settings WHERE name = 'timescaledb.telemetry_level' AND vartype = 'enum'",
    );
    assert!(
        jobs == ["0"] || level_known == ["1"],
        "a telemetry job exists (jobs {jobs:?}) on a build whose level cannot be turned off"
    );
}

/// tsmn creates each data node's database and extension itself (all at
/// once), as add_data_node's bootstrap would: the access node database's
/// collation and ctype (here not the server default), the same version,
/// the superuser as owner; add_data_node then accepts them, and a
/// distributed hypertable spreads its rows over both.
#[test]
fn data_nodes_get_the_access_node_database_locale_and_version() {
    if !timescaledb_tier("data_nodes_get_the_access_node_database_locale_and_version") {
        return;
    }
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    an.sql(
        "postgres",
        "CREATE DATABASE tsdb TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'",
    );
    let dir = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dn1.cluster, &dn2.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(dir.path(), &plan);
    let preview = tsmn()
        .args(["preview", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&preview.stdout).to_string();
    assert!(
        shown.contains("LC_COLLATE %L LC_CTYPE %L TEMPLATE template0")
            && shown.contains("'UTF8', 'C', 'C', 'postgres'")
            && shown.contains("bootstrap => false"),
        "{shown}"
    );
    let out = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("[dn1] dn1/cluster/database: done"), "{text}");
    let an_version = an.sql(
        "tsdb",
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
    );
    for dn in [&dn1, &dn2] {
        assert_eq!(
            dn.sql(
                "postgres",
                "SELECT datcollate || '/' || datctype || '/' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'tsdb'"
            ),
            ["C/C/postgres"]
        );
        assert_eq!(
            dn.sql(
                "tsdb",
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ),
            an_version
        );
        // Marked as a data node of this access node.
        assert_eq!(
            dn.sql(
                "tsdb",
                "SELECT count(*) FROM _timescaledb_catalog.metadata WHERE key = 'dist_uuid'"
            ),
            ["1"]
        );
    }
    an.sql(
        "tsdb",
        "CREATE TABLE m (t timestamptz NOT NULL, d int, v int)",
    );
    an.sql(
        "tsdb",
        "SELECT create_distributed_hypertable('m', 't', 'd')",
    );
    an.sql(
        "tsdb",
        "INSERT INTO m SELECT now() - i * interval '1 day', i, i FROM generate_series(1, 60) i",
    );
    assert_eq!(an.sql("tsdb", "SELECT count(*) FROM m"), ["60"]);
    let holders = an.sql(
        "tsdb",
        "SELECT count(DISTINCT n) FROM timescaledb_information.chunks, unnest(data_nodes) n",
    );
    assert_eq!(holders, ["2"], "chunks on both data nodes");
}
