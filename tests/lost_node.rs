//! A data node lost for real (stopped) in a running cluster (TimescaleDB
//! tier), with one hypertable kept in two copies (replication factor 2)
//! and one in one: check tells, from the access node's catalog, which of
//! its chunks have another copy and which do not (by hypertable, with the
//! rows the statistics estimate and their ranges); its fix, carried out as
//! written, marks the node unavailable and reads of the copied hypertable
//! work again with every row; once the node is back, check's fix makes it
//! available again and nothing is lost.

mod support;

use std::time::Duration;
use support::fixes::execute;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(3);

fn codes_on(found: &[tsmn::findings::Finding], node: &str) -> Vec<&'static str> {
    found
        .iter()
        .filter(|f| f.node == node)
        .map(|f| f.code)
        .collect()
}

#[test]
fn a_lost_data_node_is_told_from_the_catalog_and_marked_unavailable_as_check_says() {
    if !timescaledb_tier("lost_node") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    r.an.sql(
        "tsdb",
        "CREATE TABLE r2 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r2', 'time', 'device', replication_factor => 2); \
         INSERT INTO r2 SELECT t, d, 1 FROM generate_series('2026-01-01'::timestamptz, '2026-01-20', \
           '1 hour') t, generate_series(1, 4) d",
    );
    r.an.sql("tsdb", "ANALYZE metrics");
    r.an.sql("tsdb", "ANALYZE r2");
    let (metrics_rows, r2_rows) = (count(&r.an), r.an.sql("tsdb", "SELECT count(*) FROM r2"));
    // What the catalog says of dn2, and its own rows of metrics (one copy).
    let catalog = |sql: &str| r.an.sql("tsdb", sql)[0].clone();
    let copied = catalog(
        "SELECT count(*) FROM timescaledb_information.chunks \
         WHERE 'dn2' = ANY (data_nodes) AND cardinality(data_nodes) > 1",
    );
    let only =
        catalog("SELECT count(*) FROM timescaledb_information.chunks WHERE data_nodes = '{dn2}'");
    assert_ne!(copied, "0");
    assert_ne!(only, "0");
    let on_dn2 = r.dn2.sql("tsdb", "SELECT count(*) FROM metrics")[0].clone();

    r.dn2.cluster.stop(true).expect("stop dn2");
    let (_, found) = check(&r.plan, TIMEOUT);
    let still = finding(&found, "dn2", "lost_node_still_used");
    assert!(
        still.what.contains(&format!(
            "{copied} chunk(s) that have another copy: public.r2: {copied} chunk(s)"
        )),
        "{still:#?}"
    );
    let lost = finding(&found, "dn2", "lost_node_only_copies");
    assert!(
        lost.what.contains(&format!(
            "{only} chunk(s) exist only there: public.metrics: {only} chunk(s), about {on_dn2} rows (["
        )),
        "{lost:#?}"
    );
    // Reads of r2 fail while the access node counts on dn2.
    assert!(
        std::panic::catch_unwind(|| r.an.sql("tsdb", "SELECT count(*) FROM r2")).is_err(),
        "r2 read with dn2 down and available"
    );

    execute(still, &r.nodes());
    assert_eq!(
        r.an.sql("tsdb", "SELECT count(*) FROM r2"),
        r2_rows,
        "every row of r2, from the other copies"
    );
    let (_, found) = check(&r.plan, TIMEOUT);
    let codes = codes_on(&found, "dn2");
    assert!(!codes.contains(&"lost_node_still_used"), "{found:#?}");
    assert!(codes.contains(&"lost_node_only_copies"), "{found:#?}");

    r.dn2.cluster.start().expect("start dn2");
    let (_, found) = check(&r.plan, TIMEOUT);
    let marked = finding(&found, "dn2", "node_marked_unavailable");
    execute(marked, &r.nodes());
    let (_, found) = check(&r.plan, TIMEOUT);
    let codes = codes_on(&found, "dn2");
    assert!(
        codes
            .iter()
            .all(|c| !c.starts_with("lost_node") && *c != "node_marked_unavailable"),
        "{found:#?}"
    );
    assert_eq!(count(&r.an), metrics_rows, "nothing lost");
    assert_eq!(r.an.sql("tsdb", "SELECT count(*) FROM r2"), r2_rows);
}

/// A data node stopped for real: tsmn check (the binary, with the links
/// between data nodes) does not report the other data node's link to it
/// as `data_node_link_fails` (whose fix, tsmn apply --data-node-links,
/// refuses while a node cannot be probed); the stopped node's own finding
/// says it, with a note that its links were not tested; and every fix that
/// names a tsmn command names the operator's plan as given.
#[test]
fn a_stopped_data_node_is_not_a_link_problem_and_every_fix_names_the_plan() {
    if !timescaledb_tier("a_stopped_data_node_is_not_a_link_problem") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-10");
    r.dn1.cluster.stop(true).expect("stop dn1");
    let out = tsmn()
        .args(["check", "--json", "--connect-timeout", "3", "--plan"])
        .arg(&r.path)
        .output()
        .expect("tsmn check");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let found = doc["findings"].as_array().expect("findings");
    let on = |node: &str, code: &str| {
        found
            .iter()
            .find(|f| f["node"] == node && f["code"] == code)
    };
    assert!(
        !found.iter().any(|f| f["code"] == "data_node_link_fails"),
        "{found:#?}"
    );
    // dn1's own finding: tsmn cannot connect to it (a blocker on dn1), and
    // the access node's catalog says what it holds.
    assert!(
        found.iter().any(|f| f["node"] == "dn1"
            && f["severity"] == "blocker"
            && f["what"]
                .as_str()
                .is_some_and(|w| w.starts_with("tsmn cannot connect to dn1"))),
        "{found:#?}"
    );
    assert!(on("dn1", "lost_node_only_copies").is_some(), "{found:#?}");
    let note = on("dn1", "data_node_links_not_tested").expect("the links' note");
    assert!(
        note["what"]
            .as_str()
            .is_some_and(|w| w.contains("from dn2 to dn1")),
        "{note:#?}"
    );
    // No fix runs tsmn apply --data-node-links while dn1 is away, and each
    // tsmn command a fix names carries --plan and the plan's path.
    let plan = format!("--plan {}", r.path.display());
    for f in found {
        let fix = f["fix"].as_str().expect("fix");
        assert!(
            !fix.contains("--data-node-links") || fix.starts_with("bring dn1 back first"),
            "{f:#?}"
        );
        for (at, _) in fix
            .match_indices("tsmn apply")
            .chain(fix.match_indices("tsmn check"))
        {
            // "tsmn apply" and "tsmn check" are both 10 characters.
            assert!(
                fix[at + 10..].starts_with(&format!(" {plan}")),
                "a tsmn command without {plan}: {fix}"
            );
        }
    }
    assert!(
        found.iter().any(|f| f["fix"]
            .as_str()
            .is_some_and(|x| x.contains(&format!("tsmn apply {plan}")))),
        "no fix names tsmn apply: {found:#?}"
    );
    // status, with every link tested, says the same: dn1 is down, and no
    // link toward it is a data_node_link_fails.
    let out = tsmn()
        .args(["status", "--links", "all", "--json", "--plan"])
        .arg(&r.path)
        .output()
        .expect("tsmn status");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let problems = doc["findings"].as_array().expect("findings");
    assert!(
        !problems.iter().any(|p| p["code"] == "data_node_link_fails"),
        "{problems:#?}"
    );
    assert!(
        doc["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .any(|n| n["name"] == "dn1" && n["state"] == "down"),
        "{doc:#}"
    );
}
