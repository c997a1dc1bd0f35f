//! What moving chunks (drain, rebalance) must leave on every node.

use super::TestCluster;

/// Nothing of the engine's chunk copy and no tsmn write pause is left:
/// no subscription, publication, replication slot or prepared transaction.
pub fn assert_nothing_left(nodes: &[&TestCluster]) {
    for n in nodes {
        assert_eq!(
            n.sql(
                "tsdb",
                "SELECT (SELECT count(*) FROM pg_subscription) || '/' || (SELECT count(*) FROM pg_publication) \
                 || '/' || (SELECT count(*) FROM pg_replication_slots) || '/' || (SELECT count(*) FROM pg_prepared_xacts)"
            ),
            ["0/0/0/0"],
            "{}: subscriptions/publications/slots/prepared transactions left",
            n.cluster.name
        );
    }
}

/// No half-copied chunk: each data node holds exactly the chunk tables
/// the access node's catalog places on it.
pub fn assert_no_stray_chunk(an: &TestCluster, data_nodes: &[(&str, &TestCluster)]) {
    for (name, dn) in data_nodes {
        let placed = an.sql(
            "tsdb",
            &format!(
                "SELECT coalesce(string_agg(c.table_name, ',' ORDER BY c.table_name), '') FROM _timescaledb_catalog.chunk_data_node d \
                 JOIN _timescaledb_catalog.chunk c ON c.id = d.chunk_id WHERE d.node_name = '{name}' AND NOT c.dropped"
            ),
        );
        let held = dn.sql(
            "tsdb",
            "SELECT coalesce(string_agg(c.relname, ',' ORDER BY c.relname), '') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = '_timescaledb_internal' AND c.relname LIKE '%_chunk' AND c.relkind = 'r'",
        );
        assert_eq!(
            held, placed,
            "{name}: chunk tables it holds vs the access node's catalog"
        );
    }
}

/// A run killed (`TSMN_TEST_KILL_DURING=@copy`) right after a move's copy:
/// no exit code, and its write pause still held on the access node.
pub fn assert_killed_with_the_pause_held(code: Option<i32>, text: &str, an: &TestCluster) {
    assert_eq!(code, None, "killed: {text}");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'tsmn_drain_%'"
        ),
        ["1"],
        "the write pause is held"
    );
}

/// A second hypertable beside `metrics` (text values and an enum column,
/// from 2026-02-01 to `to`, hourly, 4 devices): a drain moves the only
/// copies of both. An enum hashes its label's OID, which differs between
/// data nodes (made so here: a type of three labels is created on the
/// first data node only, before the enum), so the moves compare these
/// chunks by each row's text (`metrics` by the values' own hashes): both
/// ways of the comparison run in every drain test.
pub fn events(an: &TestCluster, to: &str) {
    let first = an.sql(
        "tsdb",
        "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1 LIMIT 1",
    );
    for q in [
        format!(
            "CALL distributed_exec($$CREATE TYPE spacer AS ENUM ('a', 'b', 'c')$$, node_list => ARRAY['{}'])",
            first[0]
        ),
        "CREATE TYPE mood AS ENUM ('calm', 'busy')".to_string(),
        "CALL distributed_exec($$CREATE TYPE mood AS ENUM ('calm', 'busy')$$)".to_string(),
        "CREATE TABLE events (time timestamptz NOT NULL, device int, v text, mood mood)".to_string(),
        "SELECT create_distributed_hypertable('events', 'time', 'device')".to_string(),
        format!("INSERT INTO events SELECT t, d, md5(t::text), (CASE WHEN d % 2 = 0 THEN 'calm' ELSE 'busy' END)::mood FROM generate_series('2026-02-01'::timestamptz, '{to}', '1 hour') t, generate_series(1, 4) d"),
    ] {
        an.sql("tsdb", &q);
    }
}

/// Rows and a checksum of each of `tables` (`rows:sum/rows:sum`), read
/// through the access node: what a move must leave as it was.
pub fn fingerprint(an: &TestCluster, tables: &[&str]) -> Vec<String> {
    let parts: Vec<String> = tables
        .iter()
        .map(|t| {
            format!("(SELECT count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM {t} t)")
        })
        .collect();
    an.sql("tsdb", &format!("SELECT {}", parts.join(" || '/' || ")))
}

/// Each chunk of `table` with its data nodes, as the access node's catalog
/// has them (`chunk:dn1,dn2`).
pub fn places(an: &TestCluster, table: &str) -> Vec<String> {
    an.sql(
        "tsdb",
        &format!(
            "SELECT chunk_name || ':' || array_to_string(ARRAY(SELECT unnest(data_nodes) ORDER BY 1), ',') \
             FROM timescaledb_information.chunks WHERE hypertable_name = '{table}' ORDER BY 1"
        ),
    )
}

/// The rows of one chunk and their checksum, read on a data node itself.
pub fn rows_on(dn: &TestCluster, chunk: &str) -> Vec<String> {
    dn.sql(
        "tsdb",
        &format!("SELECT count(*) || ':' || coalesce(sum(hashtextextended(c::text, 0)), 0) FROM _timescaledb_internal.{chunk} c"),
    )
}
