//! `tsmn rebalance` on real servers (TimescaleDB tier, trust mode): after
//! a grow, the moves run; the spread before and after is printed and what
//! the servers hold afterwards is what the plan said; every row and its
//! checksum stay; nothing of the engine's copy, no write pause and no
//! half-copied chunk is left on any node; a run killed during a move
//! resumes with the same moves (here two at a time) and finishes clean.
mod support;
use support::moves::{
    assert_killed_with_the_pause_held, assert_no_stray_chunk, assert_nothing_left,
};
use support::*;

/// Rows and a checksum of `metrics`, read through the access node.
fn fingerprint(an: &TestCluster) -> Vec<String> {
    support::moves::fingerprint(an, &["metrics"])
}

/// A grown cluster: an, dn1 and dn2 applied with rows in `metrics` (two
/// months: chunks on dn1 and dn2 only), then dn3 added by apply. The plan
/// file of the grown cluster and the new data node.
fn grown() -> (Running, TestCluster, std::path::PathBuf) {
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-03-01");
    let dn3 = TestCluster::named("dn3");
    let plan = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster, &r.dn2.cluster, &dn3.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(r.path.parent().expect("plan dir"), &plan);
    let (code, text) = apply_file(&path, &[], &[]);
    assert_eq!(code, Some(0), "grow: {text}");
    (r, dn3, path)
}

/// Chunks of `metrics` per data node, as the access node places them.
fn chunks_per_node(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT n || '=' || count(*) FROM timescaledb_information.chunks, unnest(data_nodes) n \
         WHERE hypertable_name = 'metrics' GROUP BY n ORDER BY n",
    )
}

/// `tsmn rebalance --check --json`: the plan document.
fn planned(path: &std::path::Path) -> serde_json::Value {
    let out = tsmn()
        .args(["rebalance", "--check", "--json", "--plan"])
        .arg(path)
        .output()
        .expect("run tsmn rebalance --check");
    assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// `tsmn rebalance --check`, refused (exit 1): what it said on stderr.
fn refused_check(path: &std::path::Path) -> String {
    let out = tsmn()
        .args(["rebalance", "--check", "--plan"])
        .arg(path)
        .output()
        .expect("run tsmn rebalance --check");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{err}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

/// The chunks per node the plan's `after` says, as `chunks_per_node` lists.
fn planned_chunks(doc: &serde_json::Value) -> Vec<String> {
    let h = &doc["hypertables"][0];
    assert_eq!(h["name"], "public.metrics", "{doc}");
    let mut out: Vec<String> = h["after"]
        .as_array()
        .expect("after")
        .iter()
        .map(|s| format!("{}={}", s["data_node"].as_str().unwrap_or("?"), s["chunks"]))
        .collect();
    out.sort();
    out
}

fn assert_clean(r: &Running, dn3: &TestCluster) {
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2, dn3]);
    assert_no_stray_chunk(&r.an, &[("dn1", &r.dn1), ("dn2", &r.dn2), ("dn3", dn3)]);
}

#[test]
fn rebalance_after_a_grow_moves_what_the_plan_says_and_keeps_every_row() {
    if !timescaledb_tier("rebalance_after_a_grow_moves_what_the_plan_says_and_keeps_every_row") {
        return;
    }
    let (r, dn3, path) = grown();
    let doc = planned(&path);
    let moves = doc["moves"].as_u64().expect("moves");
    assert!(moves >= 2, "dn3 takes a share: {doc}");
    let h = &doc["hypertables"][0];
    assert!(
        h["spread_after"].as_i64() < h["spread_before"].as_i64(),
        "{doc}"
    );
    assert!(!chunks_per_node(&r.an).iter().any(|c| c.starts_with("dn3")));
    let before = fingerprint(&r.an);
    // Without restarts it stops at the gate, naming the command that ran.
    let (code, text) = run_yes("rebalance", &path, &["--restart", "never"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("then run tsmn rebalance again") && !text.contains("tsmn apply again"),
        "{text}"
    );
    let started = std::time::Instant::now();
    // The run restarts the access node at its gate (its settings), which
    // ends the session that holds the run's lock: while its first move
    // holds its write pause (here for 3 s), the lock is held again, and
    // status calls the pause a move under way.
    let first = format!(
        "move-{}@copy",
        doc["hypertables"][0]["moves"][0]["chunk"]
            .as_str()
            .expect("a move")
    );
    let run = {
        let path = path.clone();
        std::thread::spawn(move || {
            run_yes(
                "rebalance",
                &path,
                &[],
                &[("TSMN_TEST_HOLD_DURING", first.as_str())],
            )
        })
    };
    let paused = (0..600).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        support::try_sql_on(
            &r.an.cluster,
            "postgres",
            "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'tsmn_drain_%'",
        )
        .is_ok_and(|n| n == ["1"])
    });
    assert!(paused, "the first move's pause");
    assert_eq!(
        r.an.sql(
            "postgres",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::int4 = hashtext('tsmn apply tsdb')"
        ),
        ["1"],
        "the run's lock, taken again after the access node's restart"
    );
    let (_, during) = support::status::status(&r, &[], &[]);
    assert!(
        support::status::codes_on(&during, "an").contains(&"write_pause_held".to_string()),
        "{during:#}"
    );
    let (code, text) = run.join().expect("the run");
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("planned") && text.contains(" now"), "{text}");
    assert!(
        text.contains("rows of public.metrics:") && text.contains("unchanged"),
        "{text}"
    );
    assert_eq!(
        text.matches(" now (rows:checksum ").count() as u64,
        moves,
        "{text}"
    );
    assert_eq!(chunks_per_node(&r.an), planned_chunks(&doc), "{text}");
    assert_eq!(fingerprint(&r.an), before, "every row, same checksum");
    assert_clean(&r, &dn3);
    eprintln!("rebalanced {moves} move(s) in {took:?}\n{text}");
    // A run that finished keeps no plan to resume.
    assert!(
        !path
            .with_extension("toml.tsmn")
            .join("rebalance.json")
            .exists()
            // The run stopped at the restart gate above is the one resumed.
            && text.contains("resuming"),
        "{text}"
    );
    // undo takes the rebalance back, not the grow before it: the settings
    // it changed are named with their old values, its moves stay.
    let (code, undone) = run_yes("undo", &path, &[], &[]);
    assert_eq!(code, Some(0), "{undone}");
    assert!(
        undone.contains("stays: dn3: wal_level") && undone.contains("moved stay where they are"),
        "{undone}"
    );
    assert!(!undone.contains("would lose"), "{undone}");
    assert_eq!(chunks_per_node(&r.an), planned_chunks(&doc), "{undone}");
    assert_eq!(fingerprint(&r.an), before);
}

#[test]
fn a_rebalance_killed_during_a_move_resumes_two_at_a_time_and_leaves_nothing() {
    if !timescaledb_tier(
        "a_rebalance_killed_during_a_move_resumes_two_at_a_time_and_leaves_nothing",
    ) {
        return;
    }
    let (r, dn3, path) = grown();
    let doc = planned(&path);
    assert!(doc["moves"].as_u64() >= Some(3), "{doc}");
    let before = fingerprint(&r.an);
    let (code, text) = run_yes(
        "rebalance",
        &path,
        &[],
        &[("TSMN_TEST_KILL_DURING", "@copy")],
    );
    // Killed with the copy done and its write pause held.
    assert_killed_with_the_pause_held(code, &text, &r.an);
    assert_eq!(fingerprint(&r.an), before);
    // --check says, in its document too, that the next run resumes those
    // moves rather than plan anew.
    let pending = planned(&path);
    assert!(
        pending["unfinished_run"]["moves"].as_u64() >= Some(3)
            && pending["unfinished_run"]["resumed_by"]
                .as_str()
                .is_some_and(|c| c.starts_with("tsmn rebalance --plan")),
        "{pending}"
    );
    // A writer waits behind the pause for the chunk being moved: the resume
    // compares the copies before it lets the row in (released first, the
    // row would land in one copy and the copies would differ).
    let start = r.an.sql(
        "tsdb",
        "SELECT (c.range_start + interval '1 minute')::text FROM pg_prepared_xacts p \
         JOIN _timescaledb_catalog.chunk k ON k.id = substr(p.gid, 12)::int \
         JOIN timescaledb_information.chunks c ON c.chunk_name = k.table_name \
         WHERE p.gid LIKE 'tsmn_drain_%'",
    );
    assert_eq!(start.len(), 1, "one pause held: {start:?}");
    let an = r.an.cluster.clone();
    let writer = std::thread::spawn(move || {
        support::sql_on(
            &an,
            "tsdb",
            &format!("INSERT INTO metrics VALUES ('{}', 99, 99)", start[0]),
        )
    });
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO metrics%'";
    let blocked = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        r.an.sql("tsdb", waiting) == ["1"]
    });
    assert!(blocked, "the writer waits for the pause");
    let (code, text) = run_yes("rebalance", &path, &["--parallel", "2"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("resuming the rebalance"), "{text}");
    assert!(
        text.contains("compared after the killed run: equal")
            && text.contains("released write pause tsmn_drain_"),
        "{text}"
    );
    writer
        .join()
        .expect("the writer's row went in once the pause was released");
    assert_eq!(
        r.an.sql("tsdb", "DELETE FROM metrics WHERE device = 99 RETURNING 1"),
        ["1"],
        "the row written meanwhile is there, once"
    );
    assert_eq!(chunks_per_node(&r.an), planned_chunks(&doc), "{text}");
    assert_eq!(fingerprint(&r.an), before, "every row, same checksum");
    assert_clean(&r, &dn3);
    // Two moves at once needed the workers raised on the data nodes.
    assert_eq!(
        dn3.sql("postgres", "SHOW max_logical_replication_workers"),
        ["6"]
    );
}

/// tsmn rebalance reads less than check (the access node's catalog and each
/// data node's chunk sizes, not every server's facts and links): the bytes
/// it plans with are still the engine's own (chunks_detailed_size through
/// the access node), compressed chunks included; a data node that does not
/// answer is still named, with why, by the plan and by a run before
/// anything changes; here the new one, after it took its share.
#[test]
fn plans_with_the_engines_bytes_and_names_a_data_node_that_does_not_answer() {
    if !timescaledb_tier("plans_with_the_engines_bytes_and_names_a_data_node_that_does_not_answer")
    {
        return;
    }
    let (r, dn3, path) = grown();
    // Every chunk compressed: dn1 and dn2 each number their compressed
    // chunks on their own, so the names clash once both send copies to dn3.
    compress_some(&r.an, "metrics", 100);
    // As if dn3 had been attached by hand after compression was turned on
    // (attach_data_node does not carry the settings, timescaledb #6041):
    // without them the engine could not copy a compressed chunk there. The
    // plan says so before anything changes, with a fix that, run as
    // written, clears it.
    r.an.sql(
        "tsdb",
        "CALL distributed_exec('ALTER TABLE metrics SET (timescaledb.compress = false)', node_list => '{dn3}')",
    );
    let err = refused_check(&path);
    let fix = err
        .split("fix: on the access node, in the cluster database: ")
        .nth(1)
        .and_then(|f| f.split(" (tsmn check").next())
        .unwrap_or_else(|| panic!("the fix: {err}"));
    assert!(
        err.contains("dn3 lacks public.metrics's compression settings"),
        "{err}"
    );
    r.an.sql("tsdb", fix);
    let engine = r.an.sql(
        "tsdb",
        "SELECT node_name || '=' || sum(total_bytes) FROM chunks_detailed_size('metrics') GROUP BY node_name ORDER BY node_name",
    );
    let doc = planned(&path);
    let mut read: Vec<String> = doc["hypertables"][0]["before"]
        .as_array()
        .expect("before")
        .iter()
        .filter(|s| s["chunks"].as_i64() > Some(0))
        .map(|s| format!("{}={}", s["data_node"].as_str().unwrap_or("?"), s["bytes"]))
        .collect();
    read.sort();
    assert_eq!(read, engine, "{doc}");
    // The moves run: no two copies bring one compressed chunk's name to dn3
    // (the engine's copy would fail: relation "compress_hyper_..." already
    // exists), and every row stays.
    let rows = fingerprint(&r.an);
    let (code, text) = run_yes("rebalance", &path, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(fingerprint(&r.an), rows, "{text}");
    assert!(
        chunks_per_node(&r.an).iter().any(|c| c.starts_with("dn3=")),
        "dn3 took chunks: {text}"
    );
    // (Rows are not read once dn3 is down: it holds chunks now.)
    let before = chunks_per_node(&r.an);
    // A plan that does not list dn3, which is attached: no move is
    // planned to a node no run can reach.
    let elsewhere = own_dir();
    let without = write_plan(
        elsewhere.path(),
        &plan_for(
            &r.an.cluster,
            &[&r.dn1.cluster, &r.dn2.cluster],
            tsmn::plan::AuthMode::Trust,
        ),
    );
    let err = refused_check(&without);
    assert!(
        err.contains("dn3 is a data node attached to the cluster on an but not in the plan")
            && err.contains("--remove-data-nodes"),
        "{err}"
    );
    dn3.cluster.stop(true).expect("stop dn3");
    let err = refused_check(&path);
    assert!(
        err.contains("did not answer: dn3 (") && !err.contains("dn1 (") && err.contains("fix:"),
        "{err}"
    );
    let (code, text) = run_yes("rebalance", &path, &[], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("did not answer: dn3 ("), "{text}");
    assert_eq!(chunks_per_node(&r.an), before, "nothing moved");
}
