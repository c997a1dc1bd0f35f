//! Two-phase transactions the access node left prepared on a data node
//! (TimescaleDB tier): check reports them with their age, apply resolves
//! them with the engine's own healing function and checks on the data node
//! that none is left, and the fix check prints clears its finding as
//! written. A distributed hypertable keeps its rows throughout.

mod support;

use std::time::Duration;
use support::*;

/// A transaction prepared on `dn` under a TimescaleDB gid (ts-1-xid-server-user,
/// tsl/src/remote/txn_id.c) for an access-node transaction that ended
/// without committing it: what an access node that died between PREPARE
/// and COMMIT PREPARED leaves. (A future xid would count as still running
/// there, and the engine rightly leaves such a one alone.)
fn leave_prepared(an: &TestCluster, dn: &TestCluster) -> String {
    let xid: u64 = an.sql("tsdb", "SELECT txid_current()")[0].parse().unwrap();
    let gid = format!("ts-1-{xid}-16384-10");
    dn.sql("tsdb", "CREATE TABLE IF NOT EXISTS stuck (x bigint)");
    dn.sql(
        "tsdb",
        &format!("BEGIN; INSERT INTO stuck VALUES ({xid}); PREPARE TRANSACTION '{gid}'"),
    );
    gid
}

fn prepared_on(dn: &TestCluster) -> Vec<String> {
    dn.sql(
        "tsdb",
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY gid",
    )
}

#[test]
fn left_prepared_transactions_are_reported_and_healed() {
    if !timescaledb_tier("left_prepared_transactions_are_reported_and_healed") {
        return;
    }
    let r = Running::applied(&[]);
    r.an.sql(
        "tsdb",
        "CREATE TABLE m (t timestamptz NOT NULL, dev int, v float8); \
         SELECT create_distributed_hypertable('m', 't', 'dev'); \
         INSERT INTO m SELECT now() - i * interval '1 min', i % 8, i FROM generate_series(1, 500) i",
    );
    let rows = || r.an.sql("tsdb", "SELECT count(*) FROM m");
    assert_eq!(rows(), ["500"]);

    let gid = leave_prepared(&r.an, &r.dn1);
    let (_, found) = check(&r.plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "prepared_transactions_left");
    assert!(
        f.what.contains("1 two-phase transaction") && f.what.contains(&gid),
        "{f:?}"
    );
    assert!(
        f.fix.contains("remote_txn_heal_data_node") && f.fix.contains("tsmn apply does this"),
        "{f:?}"
    );
    assert!(!has_finding(&found, "dn2", "prepared_transactions_left"));

    // Preview shows the healing before anything runs.
    let out = tsmn()
        .args(["preview", "--plan"])
        .arg(&r.path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Resolve the two-phase transactions left prepared on dn1")
            && text.contains("_timescaledb_functions.remote_txn_heal_data_node(oid) FROM pg_foreign_server WHERE srvname = 'dn1'"),
        "{text}"
    );

    let out = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&r.path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("an/cluster/heal-dn1: done"), "{text}");
    assert!(
        text.contains("dn1/verify/prepared-resolved: verified"),
        "{text}"
    );
    assert!(prepared_on(&r.dn1).is_empty(), "healed on the data node");
    // The access node never committed it: rolled back, its row never there.
    assert_eq!(r.dn1.sql("tsdb", "SELECT count(*) FROM stuck"), ["0"]);
    assert_eq!(rows(), ["500"], "the distributed hypertable kept its rows");

    // The fix as check prints it, executed as written, clears the finding.
    leave_prepared(&r.an, &r.dn2);
    let (_, found) = check(&r.plan, Duration::from_secs(5));
    let f = finding(&found, "dn2", "prepared_transactions_left");
    let nodes = support::fixes::Nodes::new(
        vec![("an", &r.an), ("dn1", &r.dn1), ("dn2", &r.dn2)],
        &r.path,
    );
    support::fixes::execute(f, &nodes);
    let (_, found) = check(&r.plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "dn2", "prepared_transactions_left"),
        "{found:#?}"
    );
    assert!(prepared_on(&r.dn2).is_empty());

    // Nothing left: a further apply has nothing to heal.
    let out = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&r.path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("heal-"), "{text}");
    assert_eq!(rows(), ["500"]);
}
