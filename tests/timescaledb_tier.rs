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
