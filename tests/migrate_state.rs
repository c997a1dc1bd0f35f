//! `tsmn migrate` carries what is not rows (TimescaleDB tier): a continuous
//! aggregate whose raw rows retention partly dropped keeps every bucket,
//! also after a refresh over the whole range on the target; rows written
//! through the access node after its last refresh (logged on the data
//! nodes under the access node's id) reach the target's aggregate by the
//! same refresh that brings them into the source's; policies and a
//! user job come with their schedules; the aggregate's own compression
//! comes (its compressed chunks compressed again, its compression policy
//! runs on the target); a chunk replicated on two data nodes whose copies
//! differ is named with its nodes.

mod support;

use support::{metrics, timescaledb_tier, tsmn, Running, TestCluster};

fn to(c: &TestCluster, db: &str) -> String {
    format!(
        "host={} port={} dbname={db}",
        c.cluster.socket_dir().display(),
        c.cluster.port
    )
}

/// `tsmn migrate` from `r` into `target`'s database `single`: its exit
/// code and output.
fn migrate(r: &Running, target: &TestCluster) -> (Option<i32>, String) {
    let o = tsmn()
        .args(["migrate", "--plan"])
        .arg(&r.path)
        .args(["--to", &to(target, "single"), "--yes"])
        .output()
        .expect("run tsmn migrate");
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// The aggregate's rows as the user reads them, in order.
fn daily(c: &TestCluster, db: &str) -> Vec<String> {
    c.sql(
        db,
        "SET TimeZone = 'UTC'; SELECT bucket || ' ' || device || ' ' || n || ' ' || avg_v FROM daily ORDER BY bucket, device",
    )
}

fn old_buckets(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SELECT count(*) FROM daily WHERE bucket < '2024-01-04'::timestamptz",
    )
    .join("")
}

/// The jobs as an operator compares them (ids and hypertable ids aside).
fn jobs(c: &TestCluster, db: &str) -> Vec<String> {
    c.sql(
        db,
        "SELECT concat_ws(' ', proc_name, schedule_interval, max_runtime, max_retries, retry_period, scheduled, fixed_schedule, \
         initial_start, next_start, config - 'hypertable_id' - 'mat_hypertable_id') \
         FROM timescaledb_information.jobs WHERE job_id >= 1000 ORDER BY proc_name",
    )
}

/// The aggregate's compression: enabled, and its chunks compressed of all.
fn daily_compressed(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SELECT a.compression_enabled || ' ' || count(*) FILTER (WHERE ch.is_compressed) || '/' || count(*) \
         FROM timescaledb_information.continuous_aggregates a JOIN timescaledb_information.chunks ch \
         ON ch.hypertable_schema = a.materialization_hypertable_schema AND ch.hypertable_name = a.materialization_hypertable_name \
         WHERE a.view_name = 'daily' GROUP BY a.compression_enabled",
    )
    .join("")
}

fn source() -> Running {
    let r = Running::applied(&[]);
    // A hypertable made and dropped first: `metrics` gets the access node's
    // id 2 while the data nodes know it as their 1 (their invalidation logs
    // use the access node's id).
    for s in [
        "CREATE TABLE gone (t timestamptz NOT NULL)",
        "SELECT create_hypertable('gone', 't')",
        "DROP TABLE gone",
    ] {
        r.an.sql("tsdb", s);
    }
    metrics(&r.an, "2024-01-01", "2024-01-20");
    for s in [
        "CREATE MATERIALIZED VIEW daily WITH (timescaledb.continuous) AS \
         SELECT time_bucket('1 day', time) AS bucket, device, count(*) AS n, avg(value) AS avg_v FROM metrics GROUP BY 1, 2 WITH NO DATA",
        "CALL refresh_continuous_aggregate('daily', NULL, NULL)",
        // Retention: the oldest chunk's raw rows go; its buckets stay in the aggregate.
        "SELECT count(*) FROM drop_chunks('metrics', older_than => '2024-01-04'::timestamptz)",
        "CREATE TABLE events (ts timestamptz NOT NULL, k int, v float8)",
        "SELECT create_distributed_hypertable('events', 'ts', replication_factor => 2, chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO events SELECT '2024-01-01'::timestamptz + i * INTERVAL '10 minutes', i % 3, i FROM generate_series(1, 3000) i",
        "ALTER TABLE events SET (timescaledb.compress)",
        // Policies that do not run during the test (their first start tomorrow).
        "SELECT add_continuous_aggregate_policy('daily', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour', initial_start => '2100-01-01'::timestamptz)",
        "SELECT add_retention_policy('metrics', drop_after => INTERVAL '10 years', schedule_interval => INTERVAL '1 day', initial_start => '2100-01-01'::timestamptz)",
        "SELECT add_compression_policy('events', compress_after => INTERVAL '30 days', schedule_interval => INTERVAL '6 hours', initial_start => '2100-01-01'::timestamptz)",
        // A next start of its own (not its initial start): the target's
        // job starts then too, not at once.
        "SELECT alter_job(job_id, next_start => '2099-06-01 00:00+00') FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'",
        "CREATE PROCEDURE public.tick(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN NULL; END $$",
        "SELECT add_job('public.tick', INTERVAL '2 hours', config => '{\"k\": 1}', initial_start => '2100-01-01'::timestamptz)",
        // The aggregate's own compression: its oldest chunk (the buckets
        // whose raw rows are gone) compressed, and a compression policy.
        "ALTER MATERIALIZED VIEW daily SET (timescaledb.compress = true)",
        "SELECT compress_chunk((SELECT format('%I.%I', c.chunk_schema, c.chunk_name)::regclass FROM timescaledb_information.chunks c \
         JOIN timescaledb_information.continuous_aggregates a ON a.materialization_hypertable_name = c.hypertable_name \
         WHERE a.view_name = 'daily' ORDER BY c.range_start LIMIT 1))",
        "SELECT add_compression_policy('daily', compress_after => INTERVAL '20 days', schedule_interval => INTERVAL '12 hours', initial_start => '2100-01-01'::timestamptz)",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

#[test]
fn aggregates_keep_their_results_jobs_come_and_replicas_are_compared() {
    if !timescaledb_tier("aggregates_keep_their_results_jobs_come_and_replicas_are_compared") {
        return;
    }
    let r = source();
    written_after_the_last_refresh(&r);
    let mut source_daily = daily(&r.an, "tsdb");
    assert_eq!(
        old_buckets(&r.an, "tsdb"),
        "24",
        "the source's aggregate keeps 3 days x 8 devices whose raw rows are gone"
    );
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM metrics WHERE time < '2024-01-04'"
        ),
        ["0"]
    );
    let source_jobs = jobs(&r.an, "tsdb");
    assert_eq!(source_jobs.len(), 5, "{source_jobs:?}");
    let source_compressed = daily_compressed(&r.an, "tsdb");
    assert!(
        source_compressed.starts_with("true 1/"),
        "{source_compressed}"
    );

    // One replica of an events chunk gets a row the other lacks.
    let chunk = r.dn1.sql(
        "tsdb",
        "SELECT format('%I.%I', c.schema_name, c.table_name) FROM _timescaledb_catalog.chunk c \
         JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id WHERE h.table_name = 'events' ORDER BY c.id LIMIT 1",
    )
    .join("");
    r.dn1.sql(
        "tsdb",
        &format!("INSERT INTO {chunk} VALUES ('2024-01-01 00:05+00', 7, 7)"),
    );

    let target = TestCluster::named("target");
    let (code, out) = migrate(&r, &target);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("aggregate  public.daily"), "{out}");
    let warning = out
        .lines()
        .find(|l| l.contains("WARNING chunk") && l.contains("replicas differ"))
        .unwrap_or_else(|| panic!("no divergence reported: {out}"));
    assert!(
        warning.contains("dn1 has") && warning.contains("dn2 has"),
        "{warning}"
    );
    let chunk_name = r.an.sql(
        "tsdb",
        "SELECT chunk_name FROM timescaledb_information.chunks WHERE hypertable_name = 'events' ORDER BY range_start LIMIT 1",
    );
    assert!(warning.contains(&chunk_name.join("")), "{warning}");

    // The aggregate: every bucket, including those whose raw rows are gone.
    assert_eq!(daily(&target, "single"), source_daily, "{out}");
    // Its compression set again, the same chunk compressed.
    assert_eq!(
        daily_compressed(&target, "single"),
        source_compressed,
        "{out}"
    );
    assert_eq!(old_buckets(&target, "single"), "24");
    source_daily = the_same_refresh_on_both(&r, &target, &out);
    // A refresh over the whole range (as a policy would) keeps them.
    target.sql(
        "single",
        "CALL refresh_continuous_aggregate('daily', NULL, NULL)",
    );
    assert_eq!(daily(&target, "single"), source_daily, "after a refresh");
    assert_eq!(old_buckets(&target, "single"), "24");
    // New raw rows reach the aggregate on the target through its refresh.
    target.sql(
        "single",
        "INSERT INTO metrics VALUES ('2024-01-10 00:30+00', 1, 5)",
    );
    target.sql(
        "single",
        "CALL refresh_continuous_aggregate('daily', '2024-01-09', '2024-01-12')",
    );
    assert_eq!(
        target.sql(
            "single",
            "SELECT n FROM daily WHERE bucket = '2024-01-10 00:00+00' AND device = 1"
        ),
        ["25"]
    );
    assert_eq!(old_buckets(&target, "single"), "24");

    jobs_as_on_source(&target, &source_jobs, &out);
    compression_policy_runs(&target);
    // The source was only read.
    assert_eq!(daily(&r.an, "tsdb"), source_daily);
    assert_eq!(jobs(&r.an, "tsdb"), source_jobs);
    assert_eq!(daily_compressed(&r.an, "tsdb"), source_compressed);
}

/// Rows written after the aggregate's last refresh, inside its refresh
/// window, through the access node: the data nodes log them (under the
/// access node's id of `metrics`, 2, while theirs is 1), not yet in the
/// aggregate.
fn written_after_the_last_refresh(r: &Running) {
    r.an.sql(
        "tsdb",
        "INSERT INTO metrics VALUES ('2024-01-14 03:00+00', 99, 7), ('2024-01-14 05:00+00', 2, 9), ('2024-01-15 01:00+00', 3, 4)",
    );
    let logged: usize = [&r.dn1, &r.dn2]
        .iter()
        .map(|dn| {
            dn.sql(
                "tsdb",
                "SELECT count(*) FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log",
            )
            .join("")
            .parse::<usize>()
            .unwrap()
        })
        .sum();
    assert!(logged > 0, "the data nodes logged the new rows");
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT id FROM _timescaledb_catalog.hypertable WHERE table_name = 'metrics'"
        ),
        ["2"]
    );
    assert_eq!(
        r.dn1.sql(
            "tsdb",
            "SELECT id FROM _timescaledb_catalog.hypertable WHERE table_name = 'metrics'"
        ),
        ["1"]
    );
}

/// The report counts the invalidations carried, and the same refresh on
/// both sides brings the rows the data nodes logged into both: the
/// source's aggregate after it.
fn the_same_refresh_on_both(r: &Running, target: &TestCluster, out: &str) -> Vec<String> {
    let carried = out
        .lines()
        .find(|l| l.contains("public.daily") && l.contains("pending invalidation(s) carried"))
        .and_then(|l| l.split(" and ").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no count of invalidations carried: {out}"));
    assert!(carried > 0, "the data nodes' invalidations carried: {out}");
    // The same refresh on both sides brings the new rows into both.
    for (c, db) in [(&r.an, "tsdb"), (target, "single")] {
        c.sql(
            db,
            "CALL refresh_continuous_aggregate('daily', '2024-01-13', '2024-01-16')",
        );
    }
    let source_daily = daily(&r.an, "tsdb");
    assert_eq!(
        daily(target, "single"),
        source_daily,
        "after the same refresh on both"
    );
    assert_eq!(
        target.sql(
            "single",
            "SELECT n || ' ' || avg_v FROM daily WHERE bucket = '2024-01-14 00:00+00' AND device = 99"
        ),
        ["1 7"]
    );
    source_daily
}

/// The jobs, with their schedules, scheduled as on the source, each
/// first starting when its source job would next (not at once).
fn jobs_as_on_source(target: &TestCluster, source_jobs: &[String], out: &str) {
    assert_eq!(jobs(target, "single"), source_jobs, "{out}");
    assert!(
        out.contains("policy_retention\", job ") && out.contains("starts at 2099-06-01"),
        "{out}"
    );
}

/// The aggregate's compression policy works on the target: run now, it
/// compresses every chunk (all older than 20 days), the rows unchanged.
fn compression_policy_runs(target: &TestCluster) {
    let daily_after = daily(target, "single");
    let job = target.sql(
        "single",
        "SELECT j.job_id FROM timescaledb_information.jobs j JOIN timescaledb_information.continuous_aggregates a \
         ON j.hypertable_name = a.materialization_hypertable_name WHERE a.view_name = 'daily' AND j.proc_name = 'policy_compression'",
    );
    assert_eq!(job.len(), 1, "{job:?}");
    target.sql("single", &format!("CALL run_job({})", job[0]));
    let all = daily_compressed(target, "single");
    let (_, counts) = all.split_once(' ').unwrap();
    let (n, of) = counts.split_once('/').unwrap();
    assert_eq!(n, of, "every chunk compressed by the policy: {all}");
    assert_eq!(daily(target, "single"), daily_after);
}
