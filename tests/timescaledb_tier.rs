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
