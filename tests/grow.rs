//! Growing and shrinking a running cluster (TimescaleDB tier), with a
//! distributed hypertable holding rows before and after: counts equal,
//! nothing lost, a second apply changes nothing.

mod support;

use support::*;
use tsmn::plan::AuthMode;

/// `tsmn apply --yes` on `plan` (written into `work`): exit code and output.
fn apply(work: &std::path::Path, plan: &tsmn::plan::Plan, extra: &[&str]) -> (Option<i32>, String) {
    apply_file(&write_plan(work, plan), extra, &[])
}

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
    let ok = |plan: &tsmn::plan::Plan| {
        let (code, text) = apply(work.path(), plan, &[]);
        assert_eq!(code, Some(0), "{text}");
        text
    };
    ok(&plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Trust,
    ));
    metrics(&an, "2026-01-01", "2026-01-20");
    an.sql(
        "tsdb",
        "CREATE TABLE events (time timestamptz NOT NULL, v int); SELECT create_distributed_hypertable('events', 'time')",
    );
    // metrics compresses: a joining node must get its settings too
    // (attach_data_node does not carry them, timescaledb #6041).
    an.sql(
        "tsdb",
        "ALTER TABLE metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 'time DESC')",
    );
    let before = count(&an);

    let mut plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster, &dns[2].cluster],
        AuthMode::Trust,
    );
    // dn3 joins metrics only (the plan names it; the wizard asks).
    plan.data_nodes[2].hypertables = Some(vec!["public.metrics".into()]);
    let grown = ok(&plan);
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT 'dn3' = ANY (data_nodes) FROM timescaledb_information.hypertables WHERE hypertable_name = 'events'"
        ),
        ["f"],
        "events was not chosen for dn3"
    );
    assert!(grown.contains("[an] an/cluster/add-dn3: done"), "{grown}");
    assert!(
        grown.contains("[an] an/cluster/attach-dn3: done"),
        "{grown}"
    );
    assert_eq!(count(&an), before, "nothing lost");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT 'dn3' = ANY (data_nodes) FROM timescaledb_information.hypertables WHERE hypertable_name = 'metrics'"
        ),
        ["t"]
    );
    metrics(&an, "2026-03-01", "2026-03-20");
    let before_and_march = count(&an);
    assert_ne!(
        an.sql(
            "tsdb",
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND 'dn3' = ANY (data_nodes)"
        ),
        ["0"],
        "new chunks land on the new node"
    );
    compressed_on_the_new_node(&an, &dns[2], &plan, &before_and_march);
    rebalance_says_what_to_move(&work.path().join("plan.toml"));
    let again = ok(&plan);
    assert!(again.contains("nothing changed"), "{again}");
}

/// Shrinking: a data node taken out of the plan is removed only when the
/// operator says so, never while it holds the only copy of a chunk (the
/// chunks are named, with the way out); once it holds none, it is detached
/// and deleted, and a second apply changes nothing.
#[test]
fn a_data_node_taken_out_of_the_plan_is_removed_only_when_nothing_is_lost() {
    if !timescaledb_tier("a_data_node_taken_out_of_the_plan_is_removed_only_when_nothing_is_lost") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let run = |plan: &tsmn::plan::Plan, extra: &[&str]| apply(work.path(), plan, extra);
    let both = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Trust,
    );
    assert_eq!(run(&both, &[]).0, Some(0));
    metrics(&an, "2026-01-01", "2026-01-10");
    let members = || {
        an.sql(
            "tsdb",
            "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1",
        )
    };
    let before = count(&an);

    let one = plan_for(&an.cluster, &[&dns[0].cluster], AuthMode::Trust);
    // check names the member the plan left out, and its only copies.
    let (_, found) = check(&one, std::time::Duration::from_secs(5));
    let f = finding(&found, "an", "member_not_in_plan");
    assert!(
        f.what.contains("dn2") && f.what.contains("the only copy"),
        "{f:?}"
    );
    let (code, text) = run(&one, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("an/cluster/remove-dn2: blocked") && text.contains("holds the only copy of"),
        "{text}"
    );
    assert!(text.contains("_dist_hyper_"), "names the chunks: {text}");
    let (code, text) = run(&one, &["--remove-data-nodes"]);
    assert_eq!(
        code,
        Some(1),
        "the flag does not override losing data: {text}"
    );
    assert!(text.contains("holds the only copy of"), "{text}");
    assert_eq!(count(&an), before, "nothing lost");
    assert_eq!(members(), ["dn1", "dn2"]);

    // With no data left on it: without the flag still refused, with it removed.
    an.sql("tsdb", "DROP TABLE metrics");
    let (code, text) = run(&one, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("--remove-data-nodes"), "{text}");
    let hba = dns[1].cluster.data_dir().join("pg_hba.conf");
    assert!(read(&hba).contains("# BEGIN tsmn"));
    let (code, text) = run(&one, &["--remove-data-nodes"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("an/cluster/remove-dn2: done"), "{text}");
    assert_eq!(members(), ["dn1"]);
    // The removed node no longer admits the access node by tsmn's rule;
    // its file was backed up and the server reads it without error.
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?}:\n{text}"))
    };
    assert!(at("an/cluster/remove-dn2: done") < at("dn2/cluster/hba-removed: done"));
    assert!(!read(&hba).contains("# BEGIN tsmn"), "{}", read(&hba));
    assert_hba_loads(&dns[1]);
    assert!(
        files_below(&dns[1].cluster.data_dir())
            .iter()
            .any(|(rel, _)| rel.starts_with("pg_hba.conf.tsmn-")),
        "backed up"
    );
    let (code, text) = run(&one, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
}

/// Password mode: a data node taken out of the plan stays reachable from
/// the access node while it is still a member (its passfile lines stay:
/// without them every query touching it would fail), and its lines go
/// once it is removed.
#[test]
fn a_member_left_out_of_the_plan_keeps_its_passfile_lines_until_removed() {
    if !timescaledb_tier("a_member_left_out_of_the_plan_keeps_its_passfile_lines_until_removed") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let run = |plan: &tsmn::plan::Plan, extra: &[&str]| {
        apply_file(
            &write_plan(work.path(), plan),
            extra,
            &[("TSMN_ROLE_PW_POSTGRES", "member-pw")],
        )
    };
    let both = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Password,
    );
    let (code, text) = run(&both, &[]);
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-10");
    let before = count(&an);
    let passfile = an.cluster.data_dir().join("passfile");
    let dn2_port = format!(":{}:", dns[1].cluster.port);

    let one = plan_for(&an.cluster, &[&dns[0].cluster], AuthMode::Password);
    let (code, text) = run(&one, &[]);
    assert_eq!(code, Some(1), "the removal is blocked: {text}");
    assert!(
        read(&passfile).contains(&dn2_port),
        "dn2's line stays while it is a member"
    );
    assert_eq!(count(&an), before, "the access node still reaches dn2");

    an.sql("tsdb", "DROP TABLE metrics");
    // dn2 is switched off for good: it leaves the cluster all the same, and
    // its pg_hba.conf is said to need a hand if it comes back.
    dns[1].cluster.stop(false).expect("stop dn2");
    let (code, text) = run(&one, &["--remove-data-nodes"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn2/cluster/hba-removed: skipped") && text.contains("if it comes back"),
        "{text}"
    );
    assert!(
        !read(&passfile).contains(&dn2_port),
        "gone with the member, in the same run: {}",
        read(&passfile)
    );
    let (code, text) = run(&one, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
}

/// A data node whose every chunk has a second copy elsewhere
/// (replication_factor => 2 over three data nodes) is removed with
/// --remove-data-nodes: the engine needs `force` for a node that holds
/// replicated chunks (without it: "still holds data"), and every row is
/// still there, by the access node's count.
#[test]
fn a_data_node_whose_chunks_all_have_a_copy_is_removed() {
    if !timescaledb_tier("a_data_node_whose_chunks_all_have_a_copy_is_removed") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [
        TestCluster::named("dn1"),
        TestCluster::named("dn2"),
        TestCluster::named("dn3"),
    ];
    let work = temp_dir();
    let run = |plan: &tsmn::plan::Plan, extra: &[&str]| apply(work.path(), plan, extra);
    let all = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster, &dns[2].cluster],
        AuthMode::Trust,
    );
    assert_eq!(run(&all, &[]).0, Some(0));
    for (table, rf) in [("metrics", 2), ("events", 2)] {
        an.sql(
            "tsdb",
            &format!("CREATE TABLE {table} (time timestamptz NOT NULL, device int, value float8)"),
        );
        an.sql(
            "tsdb",
            &format!("SELECT create_distributed_hypertable('{table}', 'time', 'device', replication_factor => {rf})"),
        );
        an.sql(
            "tsdb",
            &format!("INSERT INTO {table} SELECT t, d, 1 FROM generate_series('2026-01-01'::timestamptz, '2026-01-20', '1 hour') t, generate_series(1, 8) d"),
        );
    }
    let rows = || {
        an.sql(
            "tsdb",
            "SELECT (SELECT count(*) FROM metrics) || '/' || (SELECT count(*) FROM events)",
        )
    };
    let before = rows();
    let held = an.sql(
        "tsdb",
        "SELECT count(*) FROM _timescaledb_catalog.chunk_data_node WHERE node_name = 'dn3'",
    );
    assert_ne!(held, ["0"], "dn3 holds chunks");
    let two = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Trust,
    );
    // check names the member and the flag; the flag, as its fix says,
    // removes it and the finding goes.
    let (_, found) = check(&two, std::time::Duration::from_secs(5));
    let f = finding(&found, "an", "member_not_in_plan");
    assert!(f.fix.contains("tsmn apply --remove-data-nodes"), "{f:?}");
    let (code, text) = run(&two, &["--remove-data-nodes"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("an/cluster/remove-dn3: done"), "{text}");
    let (_, found) = check(&two, std::time::Duration::from_secs(5));
    assert!(
        !has_finding(&found, "an", "member_not_in_plan"),
        "{found:#?}"
    );
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1"
        ),
        ["dn1", "dn2"]
    );
    assert_eq!(rows(), before, "no row lost");
    let (code, text) = run(&two, &[]);
    assert_eq!(code, Some(0), "{text}");

    // dn3 back in the plan: its database keeps the cluster's id, which
    // add_data_node refuses. check says so with the fix; apply does not
    // send the call; the fix as written lets it join again.
    let (_, found) = check(&all, std::time::Duration::from_secs(5));
    let f = finding(&found, "dn3", "removed_member_database");
    let tsmn::findings::Fix::Sql { sql: drop, .. } = f.remedy.first() else {
        panic!("{f:?}")
    };
    let drop = drop.clone();
    let (code, text) = run(&all, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("removed_member_database") && !text.contains("cannot add \"dn3\""),
        "{text}"
    );
    // The fix as carried.
    dns[2].sql("postgres", &drop);
    let (code, text) = run(&all, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1"
        ),
        ["dn1", "dn2", "dn3"]
    );
    assert_eq!(rows(), before, "no row lost");
}

/// A distributed hypertable an operator placed on some data nodes only
/// (data_nodes => ...) stays so when apply runs again: only a joining data
/// node gets every hypertable. Before, a plain re-run attached the other
/// members to it.
#[test]
fn a_hypertable_placed_on_purpose_keeps_its_place_on_a_rerun() {
    if !timescaledb_tier("a_hypertable_placed_on_purpose_keeps_its_place_on_a_rerun") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Trust,
    );
    assert_eq!(apply(work.path(), &plan, &[]).0, Some(0));
    an.sql(
        "tsdb",
        "CREATE TABLE only1 (time timestamptz NOT NULL, v int); \
         SELECT create_distributed_hypertable('only1', 'time', data_nodes => ARRAY['dn1'])",
    );
    let placed = || {
        an.sql(
            "tsdb",
            "SELECT array_to_string(data_nodes, ',') FROM timescaledb_information.hypertables WHERE hypertable_name = 'only1'",
        )
    };
    assert_eq!(placed(), ["dn1"]);
    let (code, text) = apply(work.path(), &plan, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("nothing changed"), "{text}");
    assert_eq!(placed(), ["dn1"], "{text}");
}

/// A joining node got the hypertable's compression settings: it
/// compresses its chunks, and check finds no drift.
fn compressed_on_the_new_node(
    an: &TestCluster,
    dn3: &TestCluster,
    plan: &tsmn::plan::Plan,
    before_and_march: &[String],
) {
    // dn3 compresses its chunks with the hypertable's settings, and check
    // finds no drift.
    let on_dn3 = "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND 'dn3' = ANY (data_nodes) AND is_compressed";
    assert_eq!(an.sql("tsdb", on_dn3), ["0"]);
    an.sql(
        "tsdb",
        "SELECT compress_chunk(format('%I.%I', chunk_schema, chunk_name)) FROM timescaledb_information.chunks \
         WHERE hypertable_name = 'metrics' AND 'dn3' = ANY (data_nodes)",
    );
    assert_ne!(an.sql("tsdb", on_dn3), ["0"], "dn3 compressed its chunks");
    assert_eq!(
        dn3.sql(
            "tsdb",
            "SELECT attname::text FROM timescaledb_information.compression_settings \
             WHERE hypertable_name = 'metrics' AND segmentby_column_index = 1"
        ),
        ["device"]
    );
    assert_eq!(count(an), *before_and_march, "nothing lost by compressing");
    let (_, found) = check(plan, std::time::Duration::from_secs(5));
    assert!(
        found
            .iter()
            .all(|f| f.code != "compression_settings_differ"),
        "{found:#?}"
    );
}

/// The old chunks stayed where they were: rebalance --check says which to
/// move to dn3 so that each node holds about the same bytes; without
/// --check and without --yes, with no terminal to ask at, it is refused
/// before any change (tests/rebalance.rs runs the moves).
fn rebalance_says_what_to_move(path: &std::path::Path) {
    // The old chunks stayed where they were: rebalance --check says which
    // to move to dn3 so that each node holds about the same bytes.
    let out = tsmn()
        .args(["rebalance", "--check", "--json", "--plan"])
        .arg(path)
        .output()
        .expect("tsmn rebalance");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let metrics = doc["hypertables"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == "public.metrics"))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(
        metrics["spread_after"].as_i64() < metrics["spread_before"].as_i64(),
        "{doc:#}"
    );
    let moves = metrics["moves"].as_array().cloned().unwrap_or_default();
    assert!(!moves.is_empty(), "{doc:#}");
    assert!(moves.iter().all(|m| m["to"] == "dn3"), "{doc:#}");
    let total = |k: &str| -> i64 {
        metrics[k]
            .as_array()
            .map(|s| s.iter().filter_map(|s| s["bytes"].as_i64()).sum())
            .unwrap_or(0)
    };
    assert_eq!(total("before"), total("after"), "bytes moved, not made");
    let without = tsmn()
        .args(["rebalance", "--plan"])
        .arg(path)
        .output()
        .expect("tsmn rebalance");
    assert_eq!(
        without.status.code(),
        Some(2),
        "no terminal to ask at: {}",
        String::from_utf8_lossy(&without.stderr)
    );
    assert!(
        String::from_utf8_lossy(&without.stderr).contains("--yes"),
        "the fix names --yes"
    );
}
