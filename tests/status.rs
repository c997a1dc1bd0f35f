//! `tsmn status` on a real cluster set up by `tsmn apply` (TimescaleDB
//! tier): healthy, then with what goes wrong in a running cluster made
//! for real: a prepared transaction left behind, a data node stopped, a
//! data node that hangs.

mod support;

#[path = "status/codes.rs"]
mod codes;
#[path = "status/hang.rs"]
mod hang;
#[path = "status/watch.rs"]
mod watch;
#[path = "status/wizard.rs"]
mod wizard;

use serde_json::Value;
use support::status::{codes_on, node, status};
use support::{metrics, timescaledb_tier, tsmn, Running};

/// Chunks per data node of `metrics`, from the access node's catalog.
fn placement_in_catalog(r: &Running) -> Vec<String> {
    r.an.sql(
        "tsdb",
        "SELECT dn || '=' || count(*) FROM timescaledb_information.chunks, unnest(data_nodes) dn \
         WHERE hypertable_name = 'metrics' GROUP BY dn ORDER BY dn",
    )
}

fn placement_shown(doc: &Value) -> Vec<String> {
    let h = doc["hypertables"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == "public.metrics"))
        .unwrap_or_else(|| panic!("no public.metrics: {doc:#}"));
    h["placement"]
        .as_array()
        .expect("placement")
        .iter()
        .map(|p| format!("{}={}", p["data_node"].as_str().unwrap_or("?"), p["chunks"]))
        .collect()
}

#[test]
fn a_healthy_cluster_then_a_prepared_transaction_left_then_a_data_node_stopped() {
    if !timescaledb_tier("status::healthy_then_broken") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-20");
    support::compress_some(&r.an, "metrics", 2);
    healthy(&r);
    prepared_left_on_dn1(&r);
    dn2_stopped(&r);
}

fn healthy(r: &Running) {
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["schema"], "tsmn-status/1");
    for name in ["an", "dn1", "dn2"] {
        let n = node(&doc, name);
        assert_eq!(n["up"], true, "{n:#}");
        assert!(
            n["timescaledb_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("2.")),
            "{n:#}"
        );
        assert!(n["max_connections"].as_i64().unwrap_or(0) > 0, "{n:#}");
        assert!(n["database_bytes"].as_i64().unwrap_or(0) > 0, "{n:#}");
    }
    let links = doc["links"].as_array().expect("links");
    assert_eq!(links.len(), 2, "{doc:#}");
    assert!(
        links
            .iter()
            .all(|l| l["up"] == true && l["rtt_ms"].as_f64().is_some()),
        "{doc:#}"
    );
    // The chunks per data node are the catalog's, and both data nodes hold some.
    let catalog = placement_in_catalog(r);
    assert_eq!(catalog.len(), 2, "{catalog:?}");
    assert_eq!(placement_shown(&doc), catalog, "{doc:#}");
    // The data node's own counters: its chunks and the rows inserted into them.
    let dn1_chunks = r.dn1.sql(
        "tsdb",
        "SELECT count(*) FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h \
         ON h.id = c.hypertable_id WHERE h.table_name = 'metrics' AND NOT c.dropped",
    );
    let counters = &node(&doc, "dn1")["hypertables"][0];
    assert_eq!(counters["hypertable"], "public.metrics", "{doc:#}");
    assert_eq!(counters["chunks"].to_string(), dn1_chunks[0], "{doc:#}");
    // Its bytes are the engine's, compressed chunks included (and the
    // engine's internal hypertable of compressed chunks is not a row).
    assert_eq!(
        node(&doc, "dn1")["hypertables"].as_array().map(Vec::len),
        Some(1),
        "{doc:#}"
    );
    assert_eq!(
        [counters["bytes"].to_string()],
        r.an.sql(
            "tsdb",
            "SELECT sum(total_bytes) FROM chunks_detailed_size('metrics') WHERE node_name = 'dn1'"
        )
        .as_slice(),
        "{doc:#}"
    );
    eprintln!(
        "status snapshot of an + 2 data nodes: {} ms",
        doc["took_ms"]
    );
}

fn prepared_left_on_dn1(r: &Running) {
    // A prepared transaction left behind on dn1: shown once older than
    // the limit (1 s here through the debug builds' hook; 60 s otherwise).
    // One of another application's, and one named as TimescaleDB names
    // its own (the heal resolves those: a code of its own).
    r.dn1.sql(
        "tsdb",
        "BEGIN; CREATE TABLE left_behind (i int); PREPARE TRANSACTION 'tsmn_test_left_behind'",
    );
    r.dn1.sql(
        "tsdb",
        "BEGIN; CREATE TABLE left_by_ts (i int); PREPARE TRANSACTION 'ts-1-999-1-10'",
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "a warning does not fail: {doc:#}");
    assert!(
        codes_on(&doc, "dn1").is_empty(),
        "younger than a minute: {doc:#}"
    );
    let (code, doc) = status(r, &[("TSMN_TEST_PREPARED_AGE_SECS", "1")], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(
        codes_on(&doc, "dn1"),
        ["prepared_transactions_left", "prepared_transactions_other"],
        "{doc:#}"
    );
    let what = |i: usize| {
        doc["findings"][i]["what"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(what(0).contains("ts-1-999-1-10"), "{doc:#}");
    assert!(what(1).contains("tsmn_test_left_behind"), "{doc:#}");
    r.dn1
        .sql("tsdb", "ROLLBACK PREPARED 'tsmn_test_left_behind'");
    r.dn1.sql("tsdb", "ROLLBACK PREPARED 'ts-1-999-1-10'");
}

fn dn2_stopped(r: &Running) {
    // dn2 stopped for real: status fails, names it with check's code, and
    // still reports the others.
    r.dn2.cluster.stop(true).expect("stop dn2");
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(1), "{doc:#}");
    let dn2 = node(&doc, "dn2");
    assert_eq!(dn2["up"], false, "{dn2:#}");
    assert!(
        dn2["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{dn2:#}"
    );
    // tsmn reaches dn2 through its socket (not there: not_running), the
    // access node over TCP (refused).
    assert_eq!(
        codes_on(&doc, "dn2"),
        ["not_running", "access_node_refused"],
        "{doc:#}"
    );
    assert_eq!(node(&doc, "dn1")["up"], true, "{doc:#}");
    assert_eq!(node(&doc, "an")["up"], true, "{doc:#}");
    assert_eq!(
        doc["links"][0]["up"], true,
        "the link to dn1 still works: {doc:#}"
    );
    // The text says the same, with the code.
    let out = tsmn()
        .args(["status", "--plan"])
        .arg(&r.path)
        .output()
        .expect("tsmn status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("BLOCKER dn2 [not_running]"), "{text}");
    assert!(text.contains("2 of 3 node(s) up"), "{text}");
    r.dn2.cluster.start().expect("start dn2 again");
}

/// A data node whose postmaster hangs (SIGSTOP: it accepts nothing): its
/// row waits for the connect timeout, and the others are reported.
#[test]
fn a_data_node_that_hangs_delays_only_its_own_row() {
    if !timescaledb_tier("status::hang") {
        return;
    }
    let r = Running::applied(&[]);
    let pid_file = std::fs::read_to_string(r.dn1.cluster.data_dir().join("postmaster.pid"))
        .expect("postmaster.pid");
    let pid: i32 = pid_file
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("postmaster pid");
    let pid = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let started = std::time::Instant::now();
    let (code, doc) = status(&r, &[], &["--connect-timeout", "2"]);
    let took = started.elapsed();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(node(&doc, "dn1")["up"], false, "{doc:#}");
    assert_eq!(node(&doc, "dn1")["state"], "down", "{doc:#}");
    assert_eq!(codes_on(&doc, "dn1")[0], "timeout", "{doc:#}");
    assert_eq!(node(&doc, "dn2")["up"], true, "{doc:#}");
    assert_eq!(node(&doc, "an")["up"], true, "{doc:#}");
    assert_eq!(doc["links"][1]["up"], true, "{doc:#}");
    // Bounded: the hung node's budget (2 x 2 s), not a wait per node.
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
}

/// The library's watcher: the first snapshot opens the sessions, the
/// next ones reuse them; rates come from the data nodes' counters.
#[test]
fn a_watch_refresh_reuses_its_sessions_and_counts_rows_per_second() {
    if !timescaledb_tier("status::watch_refresh") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-03");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut w =
        tsmn::status::collect::Watcher::new(r.plan.clone(), std::time::Duration::from_secs(5))
            .expect("watcher");
    let first = rt.block_on(w.snapshot());
    assert!(tsmn::status::all_up(&first), "{first:#?}");
    // 8 devices x 49 hours, counted by the servers' statistics (flushed
    // by the backends within a second or so of the insert).
    metrics(&r.an, "2024-01-01", "2024-01-03");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut refreshes = Vec::new();
    let mut last = first.clone();
    for _ in 0..3 {
        let s = rt.block_on(w.snapshot());
        refreshes.push(s.took_ms);
        last = s;
    }
    let rates = tsmn::status::rates(&first, &last);
    let rows: f64 = rates.iter().map(|r| r.rows_per_second).sum();
    let seconds = last.taken_at - first.taken_at;
    let inserted = rows * seconds;
    assert!(
        (inserted - 392.0).abs() < 1.0,
        "rows counted {inserted} over {seconds} s: {rates:?}"
    );
    eprintln!(
        "status: first snapshot {:.1} ms, refreshes {:?} ms",
        first.took_ms, refreshes
    );
    // The sessions were kept: the data node sees the same backend.
    let before = r.dn1.sql(
        "tsdb",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tsmn' AND pid <> pg_backend_pid()",
    );
    let _ = rt.block_on(w.snapshot());
    let after = r.dn1.sql(
        "tsdb",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tsmn' AND pid <> pg_backend_pid()",
    );
    assert_eq!(before, after);
    assert_eq!(before, ["1"], "one session of tsmn on dn1");
    // On the access node: its row's session and one for all its links,
    // whose dblink connections stay open (one per data node).
    let on_an = r.an.sql(
        "tsdb",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tsmn' AND pid <> pg_backend_pid()",
    );
    assert_eq!(on_an, ["2"]);
    let links_on_dn1 = r.dn1.sql(
        "tsdb",
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tsmn (link)'",
    );
    assert_eq!(links_on_dn1, ["1"]);
    // New chunks show in a refresh: the placement is read again when the
    // chunk catalog's counters moved (they reach the statistics within
    // a second), and kept otherwise.
    let total = |s: &tsmn::status::Snapshot| -> i64 {
        s.hypertables
            .iter()
            .flat_map(|h| &h.placement)
            .map(|p| p.chunks)
            .sum()
    };
    let kept = rt.block_on(w.snapshot());
    assert_eq!(total(&kept), total(&first), "{kept:#?}");
    metrics(&r.an, "2024-02-01", "2024-02-10");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let grown = rt.block_on(w.snapshot());
    let in_catalog = r.an.sql(
        "tsdb",
        "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics'",
    );
    assert!(total(&grown) > total(&first), "{grown:#?}");
    assert_eq!(total(&grown).to_string(), in_catalog[0], "{grown:#?}");
    // dn1's bytes: kept sizes for the chunks that took no rows, measured
    // ones for the others; together what the data node measures now.
    let measured = r.dn1.sql(
        "tsdb",
        "SELECT sum(pg_total_relation_size(format('%I.%I', c.schema_name, c.table_name)))::bigint \
         FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id \
         WHERE h.table_name = 'metrics' AND NOT c.dropped",
    );
    let shown = grown
        .nodes
        .iter()
        .find(|n| n.name == "dn1")
        .and_then(|n| n.server.as_ref())
        .map(|sv| sv.counters.iter().map(|c| c.bytes).sum::<i64>());
    assert_eq!(shown.map(|b| b.to_string()), measured.first().cloned());
}
