//! `tsmn migrate --online` on real servers (TimescaleDB tier), in a real
//! pseudo-terminal: a writer keeps inserting through the access node (into
//! an old slice and the newest) from before the migration starts until the
//! freeze ends its session; while
//! tsmn asks before freezing (everything but the newest slice copied by
//! then), the test inserts into, updates and deletes from old chunks that
//! were already copied. After the freeze: every acknowledged write is on
//! the target, the test's own counts and checksums are equal on both
//! sides, exactly the slices that changed are copied again (an unchanged
//! one is not), tsmn says how long the freeze lasts, the source refuses writes, and `--abandon` lifts the freeze.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use support::tmux::Tmux;
use support::{metrics, timescaledb_tier, tsmn, Running, TestCluster};

/// Rows and a checksum of `metrics`, by the test's own SQL.
fn tally(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || coalesce(sum(hashtext(x::text)::int8), 0) FROM metrics x",
    )
    .join("")
}

/// Inserts one row at a time through the access node (device 100, value =
/// its number) until a statement fails (the freeze ends the session, or
/// makes new ones read-only); the number acknowledged.
fn writer(
    r: &Running,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    let cfg = r.an.cluster.pg_config("tsdb");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let Ok((client, conn)) = cfg.connect(tokio_postgres::NoTls).await else {
                return;
            };
            tokio::spawn(conn);
            let mut i: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                // An old slice (copied while writing) and the newest one
                // (held back for the freeze), in turn.
                let day = if i.is_multiple_of(2) { 2 } else { 20 };
                let sql = format!(
                    "INSERT INTO metrics VALUES ('2024-01-{day:02} 00:30:00+00'::timestamptz + {i} * interval '1 second', 100, {i})"
                );
                if client.simple_query(&sql).await.is_err() {
                    return;
                }
                acked.store(i, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
    })
}

/// The freeze is said as the freeze (its setting, how to lift it, what it
/// does not stop), never suggested for the target.
fn freeze_said(end: &str) {
    assert!(
        !end.contains("WARNING database setting default_transaction_read_only")
            && !end.contains("ALTER DATABASE \"moved\" SET"),
        "{end}"
    );
    assert!(
        end.contains("default_transaction_read_only = on, left on the source on purpose")
            && end.contains("--abandon")
            && end.contains("SET TRANSACTION READ WRITE"),
        "{end}"
    );
}

#[test]
fn online_copies_while_writing_then_freezes_and_loses_no_acknowledged_write() {
    if !timescaledb_tier("migrate_online") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-21");
    let target = TestCluster::named("target");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let w = writer(&r, stop.clone(), acked.clone());
    while acked.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let to = format!(
        "host={} port={} dbname=moved",
        target.cluster.socket_dir().display(),
        target.cluster.port
    );
    let cmd = format!(
        "{} migrate --plan {} --to '{to}' --online 2>&1; echo tsmn-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_tsmn"),
        r.path.display()
    );
    let t = Tmux::start(&cmd, 200, 60);
    t.wait_for("while the applications write");
    t.keys(&["y", "Enter"]);
    t.wait_for("Freeze the writes to tsdb");
    let before_freeze = acked.load(Ordering::SeqCst);
    // Copied already (only the newest slice waits): changed now, after
    // their copy, by an insert, an update and a delete.
    for sql in [
        "INSERT INTO metrics VALUES ('2024-01-02 10:10:10+00', 7, -1)",
        "UPDATE metrics SET value = -2 WHERE time = '2024-01-05 05:00:00+00' AND device = 3",
        "DELETE FROM metrics WHERE time = '2024-01-08 08:00:00+00' AND device = 5",
    ] {
        r.an.sql("tsdb", sql);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        acked.load(Ordering::SeqCst) > before_freeze,
        "the writer kept writing while tsmn asked"
    );
    t.keys(&["y", "Enter"]);
    let end = t.wait_for("tsmn-exited-");
    stop.store(true, Ordering::SeqCst);
    w.join().expect("writer");
    assert!(end.contains("tsmn-exited-0"), "{end}");
    assert!(end.contains("writes frozen for"), "{end}");
    let again: u32 = end
        .split("copied in the freeze, ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of parts copied again: {end}"));
    // 7-day slices from Thursdays: the writer's old slice (from 2023-12-28)
    // and the one the test changed (from 2024-01-04) are copied again, two
    // chunks each (two space partitions), with the newest slice held back;
    // the slice from 2024-01-11, unchanged, is not.
    assert!(
        (2..=4).contains(&again),
        "the chunks changed after their copy: {end}"
    );
    assert!(end.contains(": 6 part(s) copied in the freeze"), "{end}");
    freeze_said(&end);
    // Every acknowledged write is on the target, and nothing else differs.
    let n = acked.load(Ordering::SeqCst);
    assert!(n > before_freeze, "{n}");
    let on_target = target.sql(
        "moved",
        &format!("SELECT count(*) FROM metrics WHERE device = 100 AND value <= {n}"),
    );
    assert_eq!(
        on_target,
        [n.to_string()],
        "acknowledged writes on the target"
    );
    assert_eq!(tally(&target, "moved"), tally(&r.an, "tsdb"));
    assert_eq!(
        target.sql(
            "moved",
            "SELECT value FROM metrics WHERE time = '2024-01-05 05:00:00+00' AND device = 3"
        ),
        ["-2"]
    );
    // The source is frozen: a write is refused; --abandon lifts it.
    let out = std::process::Command::new("psql")
        .args(["-X", "-U", "postgres", "-h"])
        .arg(r.an.cluster.socket_dir())
        .args(["-p", &r.an.cluster.port.to_string(), "-d", "tsdb", "-c"])
        .arg("INSERT INTO metrics VALUES (now(), 1, 1)")
        .output()
        .expect("psql");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("read-only transaction"),
        "{out:?}"
    );
    let out = tsmn()
        .args(["migrate", "--plan"])
        .arg(&r.path)
        .args(["--to", &to, "--abandon", "--yes"])
        .output()
        .expect("tsmn migrate --abandon");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    r.an.sql("tsdb", "INSERT INTO metrics VALUES (now(), 1, 1)");
    let jobs = r.an.sql(
        "tsdb",
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'TimescaleDB Background Worker Scheduler%' AND datname = 'tsdb'",
    );
    assert_ne!(jobs, ["0"], "the job scheduler runs again");
}
