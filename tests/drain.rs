//! `tsmn apply --remove-data-nodes --drain` on real servers (TimescaleDB
//! tier, trust mode): a leaving data node's only copies move first, no row
//! is lost (also rows written during the drain), nothing of the engine's
//! copy is left on any node, and a run killed during a move resumes.

mod support;
use support::*;

/// Rows of a second hypertable (text values), beside `metrics`.
fn events(an: &TestCluster) {
    an.sql(
        "tsdb",
        "CREATE TABLE events (time timestamptz NOT NULL, device int, v text)",
    );
    an.sql(
        "tsdb",
        "SELECT create_distributed_hypertable('events', 'time', 'device')",
    );
    an.sql("tsdb", "INSERT INTO events SELECT t, d, md5(t::text) FROM generate_series('2026-02-01'::timestamptz, '2026-02-12', '1 hour') t, generate_series(1, 4) d");
}

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

/// Nothing of the engine's chunk copy and no tsmn write pause is left.
fn assert_nothing_left(nodes: &[&TestCluster]) {
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

fn setup() -> (Running, std::path::PathBuf, Vec<String>, Vec<String>) {
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    events(&r.an);
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
#[ignore = "--drain is refused in this version: a row written during a move was lost in 1 of 4 runs of this test (issue 27)"]
fn drain_moves_only_copies_of_two_hypertables_and_keeps_rows_written_meanwhile() {
    if !timescaledb_tier(
        "drain_moves_only_copies_of_two_hypertables_and_keeps_rows_written_meanwhile",
    ) {
        return;
    }
    let (r, path, moving, before) = setup();
    // Without --drain the removal stays refused.
    let (code, text) = apply_file(&path, &["--remove-data-nodes"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("--drain"), "{text}");

    // A writer inserts into the chunks being moved for the whole drain.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let conn = r.an.cluster.pg_config("tsdb");
    let writer = writer(conn, stop.clone());
    let started = std::time::Instant::now();
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (written, errors) = writer.join().expect("writer");
    assert_eq!(code, Some(0), "{text}");
    for c in &moving {
        assert!(
            text.contains(&format!("{c} on dn1 now")),
            "{c} moved: {text}"
        );
    }
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
        "every row written during the drain is there"
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
#[ignore = "--drain is refused in this version: a row written during a move was lost in 1 of 4 runs of this test (issue 27)"]
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
    assert_eq!(code, None, "killed: {text}");
    // Killed with the copy done and the write pause held: both copies are
    // there, dn2 is still a member.
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'tsmn_drain_%'"
        ),
        ["1"]
    );
    assert_eq!(fingerprint(&r.an), before);
    assert_eq!(only_on_dn2(&r.an).len(), moving.len() - 1);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("released write pause tsmn_drain_"), "{text}");
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

/// A writer inserting rows spread over the whole range (so into the chunks
/// being moved) until `stop`, as an application would: it connects again
/// when a server restarts and sends a refused row again. Its count of rows
/// taken and the errors of rows that failed otherwise.
fn writer(
    conn: tokio_postgres::Config,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(i64, Vec<String>)> {
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
            let (mut ok, mut errors) = (0i64, Vec::new());
            let mut i = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || i < 50 {
                // Spread over the whole range, so into dn2's chunks too.
                let sql = format!(
                    "INSERT INTO metrics VALUES ('2026-01-01'::timestamptz + interval '{} minutes', {}, {})",
                    (i * 37) % (19 * 24 * 60),
                    1 + i % 8,
                    1000 + i
                );
                match client.simple_query(&sql).await {
                    Ok(_) => {
                        ok += 1;
                        i += 1;
                    }
                    Err(e) if e.is_closed() || e.as_db_error().is_some_and(|d| d.code().code().starts_with("57P")) => {
                        client = connect().await;
                    }
                    // The access node could not reach a data node the
                    // drain's settings were restarting (SQLSTATE class
                    // 08): the row was refused, not taken; sent again.
                    Err(e) if e.as_db_error().is_some_and(|d| d.code().code().starts_with("08")) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        errors.push(format!("{e:?}"));
                        i += 1;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            (ok, errors)
        })
    })
}

/// Until drain is safe under concurrent writes, `--drain` is refused with
/// the way to do it by hand, and nothing changes.
#[test]
fn drain_is_refused_with_the_way_by_hand() {
    let (an, dn, work, path) = trust_pair();
    let _ = (&an, &dn, &work);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("--drain is not available") && text.contains("move_chunk"),
        "{text}"
    );
}
