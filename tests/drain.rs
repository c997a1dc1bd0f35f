//! `tsmn apply --remove-data-nodes --drain` on real servers (TimescaleDB
//! tier, trust mode): a leaving data node's only copies move first, no row
//! is lost (also rows written during the drain, while its restarts and
//! moves run), nothing of the engine's copy or of a two-phase commit is
//! left on any node, a run killed during a move resumes, a write left
//! prepared by a restart is healed and moves with its chunk, and without
//! --drain the removal is refused.
mod support;
use support::moves::{assert_killed_with_the_pause_held, assert_nothing_left, events};
use support::*;

/// Rows and a checksum of both hypertables, read through the access node
/// (the rows a writer adds during the drain have value >= 1000: left out).
fn fingerprint(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT (SELECT count(*) || ':' || sum(hashtextextended(m::text, 0)) FROM metrics m WHERE value < 1000) \
         || '/' || (SELECT count(*) || ':' || sum(hashtextextended(e::text, 0)) FROM events e)",
    )
}

/// dn2's chunks that exist nowhere else.
fn only_on_dn2(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT chunk_name FROM timescaledb_information.chunks WHERE data_nodes = '{dn2}' ORDER BY 1",
    )
}

fn setup() -> (Running, std::path::PathBuf, Vec<String>, Vec<String>) {
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    events(&r.an, "2026-02-12");
    let moving = only_on_dn2(&r.an);
    assert!(moving.len() >= 4, "dn2 holds only copies: {moving:?}");
    let one = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(r.path.parent().expect("plan dir"), &one);
    let before = fingerprint(&r.an);
    (r, path, moving, before)
}

#[test]
fn drain_moves_only_copies_of_two_hypertables_and_keeps_rows_written_meanwhile() {
    if !timescaledb_tier(
        "drain_moves_only_copies_of_two_hypertables_and_keeps_rows_written_meanwhile",
    ) {
        return;
    }
    let (r, path, moving, before) = setup();
    // A writer inserts into the chunks being moved for the whole drain.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let conn = r.an.cluster.pg_config("tsdb");
    let writer = writer(conn, stop.clone());
    let started = std::time::Instant::now();
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let w = writer.join().expect("writer");
    let (written, errors) = (w.ok, &w.errors);
    assert_eq!(code, Some(0), "{text}");
    // The summary's restart decision for the leaving dn2 is the run's:
    // tsmn restarts it itself (it reaches it where the access node does).
    assert!(
        text.contains("tsmn restarts dn2: ") && !text.contains("tsmn waits for dn2"),
        "{text}"
    );
    for c in &moving {
        assert!(
            text.contains(&format!("{c} on dn1 now")),
            "{c} moved: {text}"
        );
    }
    // Compared both ways: metrics by its values' hashes, events (an enum
    // column: its hash is its OID's, another on each data node) by each
    // row's text (`<rows>:t<sum>`).
    let all = text.matches(" now (rows:checksum ").count();
    let texts = text
        .split(" now (rows:checksum ")
        .skip(1)
        .filter(|rest| {
            rest.split_whitespace()
                .next()
                .is_some_and(|f| f.contains(":t"))
        })
        .count();
    assert!(
        texts > 0 && texts < all,
        "{texts} of {all} moves compared by text: {text}"
    );
    assert!(
        errors.is_empty(),
        "every write went in: {} failed, first {:?}",
        errors.len(),
        errors.first()
    );
    assert!(written > 50, "the writer ran throughout: {written}");
    assert_eq!(fingerprint(&r.an), before, "every row, same checksum");
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(DISTINCT value) FROM metrics WHERE value >= 1000"
        ),
        [written.to_string()],
        "every row written during the drain is there: {}",
        missing(&r, &w)
    );
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT string_agg(node_name, ',') FROM timescaledb_information.data_nodes"
        ),
        ["dn1"]
    );
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2]);
    eprintln!(
        "drained {} chunk(s), {written} rows written meanwhile, in {took:?}",
        moving.len()
    );
    // A second run changes nothing.
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_drain_killed_during_a_move_resumes_and_leaves_nothing_behind() {
    if !timescaledb_tier("a_drain_killed_during_a_move_resumes_and_leaves_nothing_behind") {
        return;
    }
    let (r, path, moving, before) = setup();
    let (code, text) = apply_file(
        &path,
        &["--remove-data-nodes", "--drain"],
        &[("TSMN_TEST_KILL_DURING", "@copy")],
    );
    // Killed with the copy done and the write pause held: both copies are
    // there, dn2 is still a member.
    assert_killed_with_the_pause_held(code, &text, &r.an);
    assert_eq!(fingerprint(&r.an), before);
    assert_eq!(only_on_dn2(&r.an).len(), moving.len() - 1);
    // status asks the server whether a tsmn run holds its lock: none does
    // (killed), so the pause is one left behind, young as it is ...
    let (code, doc) = support::status::status(&r, &[], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert!(
        support::status::codes_on(&doc, "an").contains(&"write_pause_left".to_string()),
        "{doc:#}"
    );
    // ... while a run holds it (here a session of the test's, taking the
    // run's lock as a run does: in the postgres database, flow/lock.rs), it
    // is a move under way, with the hypertable whose writes wait, as the
    // server names the table the pause locks.
    let (rt, run) = support::session(&r.an.cluster, "postgres").expect("a session");
    rt.block_on(run.simple_query("SELECT pg_advisory_lock(hashtext('tsmn apply tsdb'))"))
        .expect("the run's lock");
    let (_, doc) = support::status::status(&r, &[], &[]);
    let note = doc["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == "write_pause_held"))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert!(
        note["what"]
            .as_str()
            .is_some_and(|w| w.contains("writes to ") && w.contains("metrics wait")),
        "{note:#}"
    );
    // The session closes with its runtime, which drives its connection.
    drop(run);
    drop(rt);
    // ... and check says why writes wait, and what ends it.
    let (code, json) = check_json(&path);
    assert_eq!(code, Some(1), "a blocker: {json}");
    assert!(
        json.contains("\"write_pause_left\"") && json.contains("run the same tsmn command again"),
        "{json}"
    );
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("released write pause tsmn_drain_"), "{text}");
    assert!(!check_json(&path).1.contains("write_pause_left"));
    assert_eq!(fingerprint(&r.an), before, "every row, same checksum");
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT string_agg(node_name, ',') FROM timescaledb_information.data_nodes"
        ),
        ["dn1"]
    );
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2]);
}

/// `tsmn check --json`: its exit code and document.
fn check_json(path: &std::path::Path) -> (Option<i32>, String) {
    let out = tsmn()
        .args(["check", "--json", "--plan"])
        .arg(path)
        .output()
        .expect("tsmn check");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
    )
}

/// A writer inserting rows spread over the whole range (so into the chunks
/// being moved) until `stop`, as an application would: it connects again
/// when a server restarts and sends a refused row again. Its count of rows
/// taken and the errors of rows that failed otherwise.
fn writer(
    conn: tokio_postgres::Config,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Written> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // The drain restarts the servers (its settings): a writer
            // connects again and sends the row again, as an
            // application does; any other error is a failed write.
            let connect = || async {
                loop {
                    if let Ok((client, c)) = conn.connect(tokio_postgres::NoTls).await {
                        tokio::spawn(c);
                        return client;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            };
            let mut client = connect().await;
            let mut w = Written::default();
            let mut i = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || i < 50 {
                // Spread over the whole range, so into dn2's chunks too.
                let minutes = (i * 37) % (19 * 24 * 60);
                let sql = format!(
                    "INSERT INTO metrics VALUES ('2026-01-01'::timestamptz + interval '{} minutes', {}, {})",
                    minutes,
                    1 + i % 8,
                    1000 + i
                );
                match client.simple_query(&sql).await {
                    Ok(_) => {
                        w.ok += 1;
                        w.acked.push((1000 + i, minutes));
                        i += 1;
                    }
                    Err(e) if e.is_closed() || e.as_db_error().is_some_and(|d| d.code().code().starts_with("57P")) => {
                        client = connect().await;
                    }
                    // The access node lost or could not reach a data node
                    // the drain's settings were restarting: the statement
                    // failed, so the access node's transaction rolled back
                    // and the row was refused, not taken; sent again.
                    Err(e) if e.as_db_error().is_some_and(data_node_restarting) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        w.errors.push(format!("{e:?}"));
                        i += 1;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            w
        })
    })
}

/// An error of the access node that says a data node went away under the
/// statement: SQLSTATE class 08, or the engine's internal error when the
/// connection closed during its remote COPY of the rows ("could not end
/// remote COPY", XX000, with libpq's "server closed the connection
/// unexpectedly" as detail: tsl/src/remote/dist_copy.c).
fn data_node_restarting(d: &tokio_postgres::error::DbError) -> bool {
    let closed = |t: &str| {
        t.contains("server closed the connection") || t.contains("terminating connection")
    };
    d.code().code().starts_with("08")
        || (d.code().code() == "XX000" && (closed(d.message()) || d.detail().is_some_and(closed)))
}

/// What the writer did: rows taken, errors, (value, minutes after
/// 2026-01-01) of each row acknowledged.
#[derive(Default)]
struct Written {
    ok: i64,
    errors: Vec<String>,
    acked: Vec<(i64, i64)>,
}

/// For a failure: the acknowledged rows the access node does not show, and
/// the transactions left prepared on each node (where such a row waits).
fn missing(r: &Running, w: &Written) -> String {
    let seen: std::collections::HashSet<String> =
        r.an.sql(
            "tsdb",
            "SELECT value::bigint FROM metrics WHERE value >= 1000",
        )
        .into_iter()
        .collect();
    let gone: Vec<String> = w
        .acked
        .iter()
        .filter(|(v, _)| !seen.contains(&v.to_string()))
        .take(10)
        .map(|(v, m)| format!("value {v} at 2026-01-01 + {m} min"))
        .collect();
    let prepared: Vec<String> = [("an", &r.an), ("dn1", &r.dn1), ("dn2", &r.dn2)]
        .iter()
        .map(|(n, c)| {
            let p = c.sql(
                "postgres",
                "SELECT gid || ' (' || database || ')' FROM pg_prepared_xacts",
            );
            format!("{n}: {p:?}")
        })
        .collect();
    format!("not seen: {gone:?}; prepared: {}", prepared.join(", "))
}

/// Without --drain, removing a data node that holds a chunk's only copy is
/// refused, naming --drain, and nothing changes; --drain without
/// --remove-data-nodes is a usage error.
#[test]
fn removing_a_node_that_holds_only_copies_is_refused_without_drain() {
    if !timescaledb_tier("removing_a_node_that_holds_only_copies_is_refused_without_drain") {
        return;
    }
    let (r, path, moving, before) = setup();
    let (code, text) = apply_file(&path, &["--drain"], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("--remove-data-nodes"), "{text}");
    let (code, text) = apply_file(&path, &["--remove-data-nodes"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("holds the only copy") && text.contains("--drain"),
        "{text}"
    );
    assert_eq!(only_on_dn2(&r.an), moving);
    assert_eq!(fingerprint(&r.an), before);
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT string_agg(node_name, ',' ORDER BY node_name) FROM timescaledb_information.data_nodes"
        ),
        ["dn1,dn2"]
    );
}

/// A row in a moving chunk on dn2, written through `dn2` itself and left
/// prepared under `gid` (holding its locks, invisible), as the engine
/// leaves a write whose COMMIT PREPARED did not reach a restarting data
/// node. Returns the row's value.
fn prepare_on_dn2(r: &Running, gid: &str, value: i64) -> String {
    let chunk = r.an.sql(
        "tsdb",
        "SELECT format('%I.%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks \
         WHERE hypertable_name = 'metrics' AND data_nodes = '{dn2}' ORDER BY chunk_name LIMIT 1",
    );
    let chunk = &chunk[0];
    r.dn2.sql(
        "tsdb",
        &format!(
            "BEGIN; INSERT INTO {chunk} SELECT time, device, {value} FROM {chunk} LIMIT 1; PREPARE TRANSACTION '{gid}'"
        ),
    );
    chunk.clone()
}

fn value_count(an: &TestCluster, value: i64) -> Vec<String> {
    an.sql(
        "tsdb",
        &format!("SELECT count(*) FROM metrics WHERE value = {value}"),
    )
}

/// The failure the drain test met (1 run in about 10): a data node's
/// restart for the drain's settings meets a write between the access
/// node's commit and its COMMIT PREPARED; the client is told the row is
/// written, the row stays prepared on the data node. Made here exactly
/// (the access node's remote_txn record, the engine's gid on the data
/// node): the drain heals it before anything moves, and the row moves with
/// its chunk.
#[test]
fn a_write_left_prepared_on_the_source_is_healed_and_moves_with_its_chunk() {
    if !timescaledb_tier("a_write_left_prepared_on_the_source_is_healed_and_moves_with_its_chunk") {
        return;
    }
    let (r, path, _moving, before) = setup();
    // A committed transaction of the access node, as the engine names it.
    let gid = r.an.sql(
        "tsdb",
        "SELECT format('ts-1-%s-%s-%s', pg_current_xact_id()::text::bigint % 4294967296, \
         (SELECT oid FROM pg_foreign_server WHERE srvname = 'dn2'), (SELECT oid FROM pg_roles WHERE rolname = current_user))",
    );
    let gid = &gid[0];
    r.an.sql(
        "tsdb",
        &format!("INSERT INTO _timescaledb_catalog.remote_txn VALUES ('dn2', '{gid}')"),
    );
    prepare_on_dn2(&r, gid, 5000);
    assert_eq!(value_count(&r.an, 5000), ["0"], "prepared: not seen yet");
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("resolved 1 two-phase transaction(s) left prepared on dn2"),
        "{text}"
    );
    assert_eq!(
        value_count(&r.an, 5000),
        ["1"],
        "the acknowledged row moved"
    );
    assert_eq!(fingerprint(&r.an), before, "every other row, same checksum");
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2]);
}

/// A transaction prepared on the source that the engine cannot decide
/// (not its own) may hold rows of the chunk: the move waits for it, then
/// stops with nothing changed, naming it; once it is resolved, the drain
/// goes through with its row.
#[test]
fn a_foreign_prepared_transaction_on_the_source_stops_the_move_with_nothing_changed() {
    if !timescaledb_tier(
        "a_foreign_prepared_transaction_on_the_source_stops_the_move_with_nothing_changed",
    ) {
        return;
    }
    let (r, path, moving, before) = setup();
    prepare_on_dn2(&r, "app_txn_1", 5001);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("was not moved (nothing changed)") && text.contains("app_txn_1 (tsdb)"),
        "{text}"
    );
    assert_eq!(only_on_dn2(&r.an), moving, "nothing moved");
    assert_eq!(fingerprint(&r.an), before);
    assert_eq!(
        r.an.sql("tsdb", "SELECT count(*) FROM pg_prepared_xacts"),
        ["0"],
        "the write pause was released"
    );
    r.dn2.sql("tsdb", "COMMIT PREPARED 'app_txn_1'");
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(value_count(&r.an, 5001), ["1"]);
    assert_eq!(fingerprint(&r.an), before);
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2]);
}
