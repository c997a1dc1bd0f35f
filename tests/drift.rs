//! Drift made by hand on one data node of a running cluster (TimescaleDB
//! tier): different compression settings, an enum label added on the
//! access node only, a function a column default calls redefined on one
//! data node and dropped on the other, a role of the plan dropped. Each is
//! reported by check under the data node that differs, naming the object;
//! its fix, executed as carried (SQL on the access node), clears it, and
//! what the drift broke works again.

mod support;

use std::time::Duration;
use support::fixes::execute;
use support::*;
use tsmn::findings::Finding;

const DRIFT: [&str; 8] = [
    "compression_settings_differ",
    "type_missing_on_data_node",
    "type_differs_on_data_node",
    "function_missing_on_data_node",
    "function_differs_on_data_node",
    "extension_missing_on_data_node",
    "extension_version_differs",
    "role_missing_on_data_node",
];

fn drift(found: &[Finding]) -> Vec<(String, &'static str)> {
    found
        .iter()
        .filter(|f| DRIFT.contains(&f.code))
        .map(|f| (f.node.clone(), f.code))
        .collect()
}

/// DDL on a data node by hand, as an operator would (the engine refuses
/// it there unless told).
fn by_hand(dn: &TestCluster, sql: &str) {
    dn.sql(
        "tsdb",
        &format!("SET timescaledb.enable_client_ddl_on_data_nodes = on; {sql}"),
    );
}

fn compression_on(c: &TestCluster) -> Vec<String> {
    c.sql(
        "tsdb",
        "SELECT attname || ':' || coalesce(segmentby_column_index::text, '') || ':' || coalesce(orderby_column_index::text, '') \
         || ':' || coalesce(orderby_asc::text, '') FROM timescaledb_information.compression_settings \
         WHERE hypertable_name = 'readings' ORDER BY attname",
    )
}

/// check's findings on the cluster, and its drift codes in order.
fn drift_of(c: &Running) -> (Vec<Finding>, Vec<(String, &'static str)>) {
    let (_, found) = check(&c.plan, Duration::from_secs(5));
    let mut codes = drift(&found);
    codes.sort();
    (found, codes)
}

#[test]
fn drift_made_by_hand_on_one_data_node_is_reported_and_its_fix_clears_it() {
    if !timescaledb_tier("drift_made_by_hand_on_one_data_node_is_reported_and_its_fix_clears_it") {
        return;
    }
    let c = Running::applied(&["reader"]);
    // A distributed hypertable whose columns use a type and a default that
    // calls a function, made the documented way (distributed_exec for what
    // the engine does not forward), compressed by device.
    for sql in [
        "CREATE TYPE mood AS ENUM ('sad', 'ok')",
        "CALL distributed_exec($$CREATE TYPE mood AS ENUM ('sad', 'ok')$$)",
        "CREATE FUNCTION site() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 7 $$",
        "CALL distributed_exec($q$CREATE FUNCTION site() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 7 $$$q$)",
        "CREATE TABLE readings (time timestamptz NOT NULL, device int, m mood, site int DEFAULT site())",
        "SELECT create_distributed_hypertable('readings', 'time', 'device')",
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device')",
        "INSERT INTO readings SELECT t, d, 'ok' FROM generate_series(now() - interval '1 day', now(), interval '1 hour') t, generate_series(1, 4) d",
    ] {
        c.an.sql("tsdb", sql);
    }
    assert_eq!(
        drift_of(&c).1,
        vec![],
        "a cluster made the documented way agrees"
    );
    compression_changed_on_one_data_node(&c);
    an_enum_label_added_on_the_access_node_only(&c);
    a_function_redefined_and_one_dropped(&c);
    a_role_dropped(&c);
    let (found, codes) = drift_of(&c);
    assert_eq!(codes, vec![], "every fix held: {found:#?}");
    assert_eq!(
        c.an.sql("tsdb", "SELECT count(*) FROM readings WHERE m = 'happy'"),
        ["1"]
    );
}

fn compression_changed_on_one_data_node(c: &Running) {
    let agreed = compression_on(&c.an);
    assert_eq!(agreed, ["device:1::", "time::1:false"]);
    by_hand(
        &c.dn1,
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = '', timescaledb.compress_orderby = 'time')",
    );
    let (found, codes) = drift_of(c);
    assert_eq!(
        codes,
        vec![("dn1".to_string(), "compression_settings_differ")]
    );
    let f = finding(&found, "dn1", "compression_settings_differ");
    assert!(
        f.what.starts_with(
            "public.readings: compression on, segmentby (), orderby (\"time\" ASC NULLS LAST) here"
        ),
        "{f:?}"
    );
    assert!(f.fix.contains("node_list => '{\"dn1\"}'"), "{f:?}");
    execute(f, &c.nodes());
    assert_eq!(
        compression_on(&c.dn1),
        agreed,
        "dn1 compresses as the access node says"
    );
}

/// Its rows fail on the data nodes until the fix.
fn an_enum_label_added_on_the_access_node_only(c: &Running) {
    c.an.sql("tsdb", "ALTER TYPE mood ADD VALUE 'happy'");
    let insert = "INSERT INTO readings VALUES (now(), 1, 'happy')";
    let conninfo = format!(
        "host={} port={} user=postgres dbname=tsdb",
        c.an.cluster.socket_dir().display(),
        c.an.cluster.port
    );
    let (ok, _, err) = psql(&conninfo, insert, &[]);
    assert!(
        !ok && err.contains("invalid input value for enum public.mood"),
        "{err}"
    );
    let (found, codes) = drift_of(c);
    assert_eq!(
        codes,
        vec![
            ("dn1".to_string(), "type_differs_on_data_node"),
            ("dn2".to_string(), "type_differs_on_data_node")
        ]
    );
    for f in found
        .iter()
        .filter(|f| f.code == "type_differs_on_data_node")
    {
        assert!(f.what.starts_with("type public.mood is enum ('sad', 'ok') here, enum ('sad', 'ok', 'happy') on the access node; public.readings use it"), "{f:?}");
        execute(f, &c.nodes());
    }
    let (ok, _, err) = psql(&conninfo, insert, &[]);
    assert!(ok, "{err}");
}

/// The default's function redefined on dn1, dropped on dn2 (with the
/// default it fed).
fn a_function_redefined_and_one_dropped(c: &Running) {
    by_hand(
        &c.dn1,
        "CREATE OR REPLACE FUNCTION site() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 8 $$",
    );
    c.dn2.sql("tsdb", "DROP FUNCTION site() CASCADE");
    let (found, codes) = drift_of(c);
    assert_eq!(
        codes,
        vec![
            ("dn1".to_string(), "function_differs_on_data_node"),
            ("dn2".to_string(), "function_missing_on_data_node")
        ]
    );
    let missing = finding(&found, "dn2", "function_missing_on_data_node");
    assert!(
        missing.what.starts_with("function public.site() does not exist here; the column defaults of public.readings call it"),
        "{missing:?}"
    );
    execute(
        finding(&found, "dn1", "function_differs_on_data_node"),
        &c.nodes(),
    );
    execute(missing, &c.nodes());
    for dn in [&c.dn1, &c.dn2] {
        assert_eq!(dn.sql("tsdb", "SELECT public.site()"), ["7"]);
    }
}

fn a_role_dropped(c: &Running) {
    c.dn1.sql("tsdb", "DROP ROLE reader");
    let (found, codes) = drift_of(c);
    assert_eq!(
        codes,
        vec![("dn1".to_string(), "role_missing_on_data_node")]
    );
    execute(
        finding(&found, "dn1", "role_missing_on_data_node"),
        &c.nodes(),
    );
    assert_eq!(
        c.dn1.sql(
            "tsdb",
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'reader'"
        ),
        ["t"]
    );
}
