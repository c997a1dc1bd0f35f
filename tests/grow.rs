//! Growing a running cluster (TimescaleDB tier): a data node added to the
//! plan is added and attached to every distributed hypertable; the rows
//! already there stay (counts equal), new chunks land on the new node too,
//! and a second apply changes nothing.

mod support;

use support::*;
use tsmn::plan::AuthMode;

#[test]
fn a_data_node_added_to_the_plan_gets_a_share_of_every_distributed_hypertable() {
    if !timescaledb_tier(
        "a_data_node_added_to_the_plan_gets_a_share_of_every_distributed_hypertable",
    ) {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [
        TestCluster::named("dn1"),
        TestCluster::named("dn2"),
        TestCluster::named("dn3"),
    ];
    let work = temp_dir();
    let apply = |plan: &tsmn::plan::Plan| {
        let path = write_plan(work.path(), plan);
        let out = tsmn()
            .args(["apply", "--yes", "--plan"])
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        text
    };
    let mut plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Trust,
    );
    apply(&plan);
    an.sql(
        "tsdb",
        "CREATE TABLE metrics (time timestamptz NOT NULL, device int, value float8)",
    );
    an.sql(
        "tsdb",
        "SELECT create_distributed_hypertable('metrics', 'time', 'device')",
    );
    an.sql(
        "tsdb",
        "INSERT INTO metrics SELECT t, d, random() FROM generate_series('2026-01-01'::timestamptz, '2026-01-20', '1 hour') t, generate_series(1, 8) d",
    );
    let count = || an.sql("tsdb", "SELECT count(*) FROM metrics");
    let before = count();

    plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster, &dns[2].cluster],
        AuthMode::Trust,
    );
    let grown = apply(&plan);
    assert!(grown.contains("[an] an/cluster/add-dn3: done"), "{grown}");
    assert!(
        grown.contains("[an] an/cluster/attach-dn3: done"),
        "{grown}"
    );
    assert_eq!(count(), before, "nothing lost");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT 'dn3' = ANY (data_nodes) FROM timescaledb_information.hypertables WHERE hypertable_name = 'metrics'"
        ),
        ["t"]
    );
    an.sql(
        "tsdb",
        "INSERT INTO metrics SELECT t, d, random() FROM generate_series('2026-03-01'::timestamptz, '2026-03-20', '1 hour') t, generate_series(1, 8) d",
    );
    assert_ne!(
        an.sql(
            "tsdb",
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND 'dn3' = ANY (data_nodes)"
        ),
        ["0"],
        "new chunks land on the new node"
    );
    let again = apply(&plan);
    assert!(again.contains("nothing changed"), "{again}");
}
