//! `tsmn migrate` killed with SIGKILL from outside at six moments, each
//! found by watching the target, the journal or tsmn's output (no hook
//! in tsmn), then run again (TimescaleDB tier): during the schema's
//! restore, in the middle of a chunk's COPY, between chunks, inside a
//! continuous aggregate's transaction as its refresh state is written,
//! while the jobs are recreated, and during verification. After every
//! kill, each table on the target holds exactly the rows of the parts
//! tsmn's record there names (nothing half copied, nothing the record
//! does not know); at the end every table's count and checksum, the
//! aggregate's rows and the jobs equal the source's, and one more run
//! says there is nothing to do.

mod support;

use std::time::Duration;
use support::migrate::{
    chunks_by_table, journal_lines, nothing_half_copied, poll, tally, to, tsmn_waiting, Holder, Run,
};
use support::{metrics, timescaledb_tier, Running, TestCluster};

const TABLES: [&str; 5] = ["metrics", "readings", "bulk", "notes", "events"];
/// The big chunk of `bulk`: long enough a COPY to be killed in.
const BIG: i64 = 600_000;

/// The source: `metrics` (space dimension) with an aggregate `daily`
/// and invalidations pending on the data nodes, `readings` (a compressed
/// range), `bulk` (one chunk of 600,000 rows, then 20 chunks of one
/// row), `events` (replication factor 2), `notes` (a table with a
/// sequence), policies and a job.
fn source() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-20");
    for s in [
        "CREATE TABLE readings (ts timestamptz NOT NULL, sensor text, v numeric)",
        "SELECT create_distributed_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO readings SELECT '2024-01-01'::timestamptz + i * INTERVAL '5 minutes', 's' || (i % 5), i / 7.0 FROM generate_series(1, 12000) i",
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor', timescaledb.compress_orderby = 'ts DESC')",
        "SELECT count(compress_chunk(c)) FROM show_chunks('readings', older_than => '2024-01-22'::timestamptz) c",
        "CREATE TABLE bulk (ts timestamptz NOT NULL, k int, v float8)",
        "SELECT create_distributed_hypertable('bulk', 'ts', chunk_time_interval => INTERVAL '1 day')",
        &format!("INSERT INTO bulk SELECT '2024-02-01'::timestamptz + i * INTERVAL '125 ms', i % 100, i FROM generate_series(1, {BIG}) i"),
        "INSERT INTO bulk SELECT '2024-02-02'::timestamptz + i * INTERVAL '1 day', i, i FROM generate_series(0, 19) i",
        "CREATE TABLE events (ts timestamptz NOT NULL, k int, v float8)",
        "SELECT create_distributed_hypertable('events', 'ts', replication_factor => 2, chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO events SELECT '2024-01-01'::timestamptz + i * INTERVAL '10 minutes', i % 3, i FROM generate_series(1, 3000) i",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 50) i",
        "CREATE MATERIALIZED VIEW daily WITH (timescaledb.continuous) AS \
         SELECT time_bucket('1 day', time) AS bucket, device, count(*) AS n, avg(value) AS avg_v FROM metrics GROUP BY 1, 2 WITH NO DATA",
        "CALL refresh_continuous_aggregate('daily', NULL, NULL)",
        // Pending invalidations, logged on the data nodes.
        "INSERT INTO metrics VALUES ('2024-01-10 00:30+00', 1, 5), ('2024-01-12 00:30+00', 2, 6)",
        "SELECT add_continuous_aggregate_policy('daily', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour', initial_start => '2100-01-01'::timestamptz)",
        "SELECT add_compression_policy('readings', compress_after => INTERVAL '30 days', schedule_interval => INTERVAL '6 hours', initial_start => '2100-01-01'::timestamptz)",
        "CREATE PROCEDURE public.tick(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN NULL; END $$",
        "SELECT add_job('public.tick', INTERVAL '2 hours', config => '{\"k\": 1}', initial_start => '2100-01-01'::timestamptz)",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

/// Every table's count and checksum, the aggregate's rows, the jobs.
fn everything(c: &TestCluster, db: &str) -> Vec<String> {
    let mut all: Vec<String> = TABLES.iter().map(|t| tally(c, db, t)).collect();
    all.extend(c.sql(
        db,
        "SET TimeZone = 'UTC'; SELECT bucket || ' ' || device || ' ' || n || ' ' || avg_v FROM daily ORDER BY bucket, device",
    ));
    all.extend(c.sql(
        db,
        "SELECT concat_ws(' ', proc_name, schedule_interval, scheduled, initial_start, config - 'hypertable_id' - 'mat_hypertable_id') \
         FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY proc_name",
    ));
    all
}

/// The target's sessions and who blocks whom, for a failing assertion.
fn activity(target: &TestCluster) -> String {
    target
        .sql(
            "resumed",
            "SELECT concat_ws(' | ', pid, application_name, state, wait_event_type, wait_event, backend_xid, pg_blocking_pids(pid)::text, \
             (SELECT string_agg(l.locktype || ' ' || coalesce(l.relation::regclass::text, '') || ' ' || l.mode, '; ') FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted), \
             left(query, 80)) FROM pg_stat_activity a WHERE datname = 'resumed'",
        )
        .join("\n")
}

fn not_finished(r: &Running, when: &str) {
    let last = journal_lines(&r.path)
        .into_iter()
        .rev()
        .find(|l| l.contains("\"run\""));
    assert!(
        !last.is_some_and(|l| l.contains("\"finished\"") && l.contains("\"ok\":true")),
        "{when}: the journal must not say finished"
    );
}

fn copied_lines(r: &Running) -> usize {
    journal_lines(&r.path)
        .iter()
        .filter(|l| l.contains("\"copied\""))
        .count()
}

const LIMIT: Duration = Duration::from_secs(60);

/// The source, the target and what the kills saw.
struct Lab {
    r: Running,
    target: TestCluster,
    dest: String,
    parts: Vec<(String, Vec<String>)>,
    all_parts: usize,
    timings: Vec<(&'static str, Duration)>,
}

impl Lab {
    fn start(&self) -> Run {
        Run::start(&self.r.path, &self.dest, &["--yes"])
    }

    fn count(&self, sql: &str) -> String {
        self.target.sql("resumed", sql).join("")
    }

    /// A run killed while one of its sessions waits for the lock `lock`
    /// this test holds, in a statement that contains `at`; the parts
    /// recorded afterwards.
    fn killed_at_lock(&mut self, point: &'static str, lock: &str, at: &str) -> usize {
        let hold = Holder::take(&self.target, "resumed", lock);
        let run = self.start();
        let waiting = poll(LIMIT, || tsmn_waiting(&self.target, "resumed", &hold))
            .unwrap_or_else(|| panic!("{point}: tsmn never waited for {lock}"));
        assert!(
            waiting.contains(at),
            "{point}: {waiting}\n{}",
            activity(&self.target)
        );
        self.timings.push((point, run.started.elapsed()));
        let _ = run.kill9();
        hold.release();
        self.after(point)
    }

    /// What must hold after any kill; the parts recorded.
    fn after(&self, point: &str) -> usize {
        not_finished(&self.r, point);
        nothing_half_copied(&self.target, "resumed", &self.parts, point)
    }

    /// Second: in the middle of the 600,000-row chunk's COPY: under way for
    /// 100 ms, rows written (a transaction id), not committed.
    /// (TimescaleDB's COPY into a hypertable does not report progress in
    /// pg_stat_progress_copy.)
    fn killed_mid_copy(&mut self) -> usize {
        let run = self.start();
        let seen = poll(LIMIT, || {
            self.target
                .sql("resumed", "SELECT (extract(epoch FROM now() - query_start) * 1000)::int8 FROM pg_stat_activity \
                     WHERE application_name = 'tsmn migrate' AND state = 'active' AND query LIKE 'COPY \"public\".\"bulk\"%' \
                     AND backend_xid IS NOT NULL AND now() - query_start > INTERVAL '100 ms'")
                .into_iter()
                .next()
        })
        .expect("the big chunk's COPY is seen under way");
        self.timings.push(("mid-COPY", run.started.elapsed()));
        let _ = run.kill9();
        eprintln!("killed after the big chunk's COPY ran {seen} ms");
        let n = self.after("killed mid-COPY");
        assert!(n < self.all_parts, "{n} of {}", self.all_parts);
        assert_eq!(
            self.count("SELECT count(*) FROM bulk WHERE ts < '2024-02-02'"),
            "0",
            "none of the big chunk's rows committed"
        );
        n
    }

    /// Third: between chunks, two more parts committed and journaled.
    fn killed_between_chunks(&mut self, before: usize) {
        let seen = copied_lines(&self.r);
        let mut run = self.start();
        assert!(
            run.wait_for(LIMIT, |_| copied_lines(&self.r) >= seen + 2),
            "two more parts: {}",
            run.output()
        );
        self.timings.push(("between chunks", run.started.elapsed()));
        let out = run.kill9();
        let n = self.after("killed between chunks");
        assert!(
            n > before && n < self.all_parts,
            "between chunks: {before} -> {n} of {}: {out}",
            self.all_parts
        );
    }

    /// Sixth: during verification, right after tsmn says the sequences are
    /// set (then it verifies, ANALYZE beside it).
    fn killed_in_verification(&mut self) {
        let mut run = self.start();
        assert!(
            run.wait_for(LIMIT, |o| o.contains("sequence(s) set to the source")),
            "{}",
            run.output()
        );
        self.timings.push(("verification", run.started.elapsed()));
        let out = run.kill9();
        self.after("killed in verification");
        assert_eq!(
            self.count("SELECT count(*) FROM tsmn_migrate.done WHERE item = 'verified'"),
            "0",
            "killed before verification ended: {out}"
        );
    }
}

#[test]
fn killed_at_six_moments_resumes_without_a_duplicate_or_a_gap() {
    if !timescaledb_tier("killed_at_six_moments_resumes_without_a_duplicate_or_a_gap") {
        return;
    }
    let r = source();
    let before = everything(&r.an, "tsdb");
    let parts = chunks_by_table(&r.an, &TABLES, &["notes"]);
    let target = TestCluster::named("target");
    // The target's database exists, empty, so that a test session can
    // hold locks in it before tsmn comes.
    target.sql("postgres", "CREATE DATABASE resumed");
    target.sql("resumed", "CREATE EXTENSION timescaledb");
    let mut lab = Lab {
        dest: to(&target, "resumed"),
        all_parts: parts.iter().map(|(_, i)| i.len()).sum(),
        parts,
        r,
        target,
        timings: Vec::new(),
    };
    // 1. During the schema's restore: its transaction has made the tables
    // and waits to make the hypertables.
    let n = lab.killed_at_lock(
        "schema restore",
        "LOCK TABLE _timescaledb_catalog.hypertable IN EXCLUSIVE MODE",
        "create_hypertable",
    );
    assert_eq!(n, 0, "no row before the schema");
    let n = lab.killed_mid_copy();
    lab.killed_between_chunks(n);
    // 4. Inside the aggregate's transaction: created, its rows in, its
    // refresh state being written.
    let n = lab.killed_at_lock(
        "aggregate state",
        "LOCK TABLE _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log IN EXCLUSIVE MODE",
        "continuous_aggs_watermark",
    );
    assert_eq!(n, lab.all_parts);
    let aggregates = "SELECT count(*) FROM tsmn_migrate.done WHERE item LIKE 'aggregate %'";
    assert_eq!(lab.count(aggregates), "0", "its transaction rolled back");
    // 5. While the jobs are recreated.
    lab.killed_at_lock(
        "jobs",
        "LOCK TABLE _timescaledb_config.bgw_job IN EXCLUSIVE MODE",
        "alter_job",
    );
    assert_eq!(lab.count(aggregates), "1");
    lab.killed_in_verification();
    let Lab {
        r, target, timings, ..
    } = lab;
    let dest = to(&target, "resumed");

    // The last run finishes; everything equals the source.
    let (code, out) = Run::start(&r.path, &dest, &["--yes"]).finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already copied by an earlier run"), "{out}");
    assert_eq!(everything(&target, "resumed"), before, "{out}");
    assert_eq!(everything(&r.an, "tsdb"), before, "the source is unchanged");
    assert_eq!(
        target.sql("resumed", "SELECT nextval('notes_id_seq')"),
        ["51"]
    );
    assert_eq!(
        target.sql("resumed", "SELECT to_regclass('tsmn_migrate.done') IS NULL"),
        ["t"]
    );
    let (code, again) = Run::start(&r.path, &dest, &["--yes"]).finish();
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("nothing to do"), "{again}");
    for (point, t) in timings {
        eprintln!("killed at {point}: {} ms after the start", t.as_millis());
    }
}
