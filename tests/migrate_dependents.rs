//! `tsmn migrate` carries what needs the continuous aggregates and what
//! is set on the roles (TimescaleDB tier). A view over an aggregate, a
//! view over that view (with a comment, a grant and a column grant), a
//! function with an SQL body over it, and a materialized view over the
//! aggregate with an index: pg_dump puts them in pre-data, before the
//! aggregates exist, so tsmn restores them after the aggregates; each is
//! on the target and returns the source's rows, the materialized view
//! populated, also when tsmn is killed at that restore and run again.
//! A table that needs an aggregate (a default calling such a function)
//! is a blocker. Role settings (`ALTER ROLE ... SET`, for every database
//! and in the migrated one) come with the roles tsmn creates, and the
//! database's own (`ALTER DATABASE ... SET`) at the end; multi-node's own
//! settings stay behind, each named.

mod support;

use std::time::Duration;
use support::migrate::{migrate, to, Run};
use support::{metrics, timescaledb_tier, Running, TestCluster};

const READS: [&str; 7] = [
    "SELECT obj_description('daily'::regclass) || ' ' || col_description('daily'::regclass, 3) || ' ' || has_column_privilege('app', 'daily', 'n', 'SELECT')",
    "SELECT week || ' ' || n FROM weekly_total ORDER BY week",
    "SELECT bucket || ' ' || device || ' ' || n FROM daily_busy ORDER BY bucket, device",
    "SELECT c FROM daily_busy_count",
    "SELECT busy_n()",
    "SELECT bucket || ' ' || device || ' ' || n FROM daily_snapshot ORDER BY bucket, device",
    "SELECT obj_description('daily_busy'::regclass) || ' ' || has_table_privilege('app', 'daily_busy', 'SELECT') \
     || ' ' || has_column_privilege('app', 'daily_busy_count', 'c', 'SELECT') || ' ' || has_function_privilege('app', 'busy_n()', 'EXECUTE')",
];

fn reads(c: &TestCluster, db: &str) -> Vec<Vec<String>> {
    READS
        .iter()
        .map(|q| c.sql(db, &format!("SET TimeZone = 'UTC'; {q}")))
        .collect()
}

fn source() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-10");
    for s in [
        "CREATE ROLE app",
        "CREATE SCHEMA \"App Data\"",
        "ALTER ROLE app SET search_path = \"App Data\", public",
        "ALTER ROLE app SET statement_timeout = '5min'",
        "ALTER ROLE app IN DATABASE tsdb SET work_mem = '12MB'",
        // Another database's setting stays there.
        "ALTER ROLE app IN DATABASE postgres SET work_mem = '99MB'",
        // Multi-node's own settings stay behind, named; the database's own
        // settings come.
        "ALTER ROLE app SET timescaledb.enable_remote_explain = on",
        "ALTER DATABASE tsdb SET statement_timeout = '10min'",
        "ALTER DATABASE tsdb SET timescaledb.remote_data_fetcher = 'auto'",
        "CREATE MATERIALIZED VIEW daily WITH (timescaledb.continuous) AS \
         SELECT time_bucket('1 day', time) AS bucket, device, count(*) AS n, avg(value) AS avg_v FROM metrics GROUP BY 1, 2 WITH NO DATA",
        "CALL refresh_continuous_aggregate('daily', NULL, NULL)",
        "COMMENT ON VIEW daily IS 'per day'",
        "COMMENT ON COLUMN daily.n IS 'readings'",
        "GRANT SELECT (n) ON daily TO app",
        "CREATE VIEW daily_busy AS SELECT bucket, device, n FROM daily WHERE device < 4",
        "COMMENT ON VIEW daily_busy IS 'busy devices'",
        "GRANT SELECT ON daily_busy TO app",
        "CREATE VIEW daily_busy_count AS SELECT count(*) AS c FROM daily_busy",
        "GRANT SELECT (c) ON daily_busy_count TO app",
        "CREATE FUNCTION busy_n() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(n) FROM daily_busy; END",
        "GRANT EXECUTE ON FUNCTION busy_n() TO app",
        "CREATE MATERIALIZED VIEW weekly WITH (timescaledb.continuous) AS \
         SELECT time_bucket('7 days', bucket) AS week, device, sum(n) AS n FROM daily GROUP BY 1, 2 WITH NO DATA",
        "CALL refresh_continuous_aggregate('weekly', NULL, NULL)",
        "CREATE VIEW weekly_total AS SELECT week, sum(n) AS n FROM weekly GROUP BY week",
        "CREATE MATERIALIZED VIEW daily_snapshot AS SELECT * FROM daily",
        "CREATE INDEX ON daily_snapshot (bucket)",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

#[test]
fn views_over_aggregates_and_role_settings_come() {
    if !timescaledb_tier("views_over_aggregates_and_role_settings_come") {
        return;
    }
    let r = source();
    let before = reads(&r.an, "tsdb");
    let count = READS
        .iter()
        .position(|q| q.contains("daily_busy_count"))
        .unwrap();
    assert_eq!(before[count], ["30"], "3 busy devices over 10 days");
    let target = TestCluster::named("target");
    let (code, out) = migrate(&r.path, &to(&target, "single"), &["--check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("over the continuous aggregates (restored after them): ")
            && out.contains("materialized view public.daily_snapshot"),
        "{out}"
    );
    let (code, out) = migrate(&r.path, &to(&target, "single"), &["--yes"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("restored after the continuous aggregates: ")
            && out.contains("view public.daily_busy,")
            && out.contains("function public.busy_n"),
        "{out}"
    );
    eprintln!(
        "{}",
        out.lines()
            .filter(|l| l.contains("after the continuous aggregates"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(reads(&target, "single"), before, "{out}");
    assert_eq!(
        target.sql(
            "single",
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'daily_snapshot'"
        ),
        ["1"]
    );
    assert_eq!(reads(&r.an, "tsdb"), before, "the source is unchanged");

    role_settings_came(&r, &target, &out);
    killed_then_again(&r, &target, &before);
    a_table_over_an_aggregate_is_refused(&r, &target);
}

/// The role's settings: for every database and in the migrated one; a
/// login with them sees them.
fn role_settings_came(r: &Running, target: &TestCluster, out: &str) {
    assert!(
        out.contains("roles: 1 created on the target (app) with 3 setting(s)"),
        "{out}"
    );
    let mut source = role_settings(&r.an, "tsdb");
    source.retain(|s| !s.contains("timescaledb."));
    assert_eq!(role_settings(target, "single"), source);
    for left in [
        "WARNING role app: timescaledb.enable_remote_explain = on not set on the target (a multi-node setting",
        "WARNING database setting timescaledb.remote_data_fetcher = auto not set on the target (a multi-node setting",
        "1 database setting(s) (ALTER DATABASE ... SET) set on the target as on the source",
    ] {
        assert!(out.contains(left), "{left}: {out}");
    }
    assert_eq!(
        target.sql(
            "single",
            "SELECT array_to_string(setconfig, ' ') FROM pg_db_role_setting \
             WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = 'single')"
        ),
        ["statement_timeout=10min"]
    );
    assert_eq!(
        role_settings(target, "single"),
        [
            "every database: search_path=\"App Data\", public",
            "every database: statement_timeout=5min",
            "this database: work_mem=12MB",
        ]
    );
    let (ok, got, err) = support::psql(
        &format!(
            "host={} port={} user=app dbname=single",
            target.cluster.socket_dir().display(),
            target.cluster.port
        ),
        "SELECT current_setting('search_path') || ' ' || current_setting('work_mem') || ' ' || current_setting('statement_timeout')",
        &[],
    );
    assert!(!ok, "app cannot log in: {got}{err}");
    target.sql("postgres", "ALTER ROLE app LOGIN");
    let (ok, got, err) = support::psql(
        &format!(
            "host={} port={} user=app dbname=single",
            target.cluster.socket_dir().display(),
            target.cluster.port
        ),
        "SELECT current_setting('search_path') || ' ' || current_setting('work_mem') || ' ' || current_setting('statement_timeout')",
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(got, "\"App Data\", public 12MB 5min");
}

/// Killed (kill -9) once the aggregates are made, at the restore of what
/// needs them: the same command goes on.
fn killed_then_again(r: &Running, target: &TestCluster, before: &[Vec<String>]) {
    let mut run = Run::start(&r.path, &to(target, "killed"), &["--yes"]);
    assert!(
        run.wait_for(Duration::from_secs(120), |o| o
            .contains("continuous aggregate public.weekly:")),
        "{}",
        run.output()
    );
    let out = run.kill9();
    // Where it landed (the late restore is psql's, and may end after the kill).
    eprintln!(
        "killed {} the late restore was said",
        if out.contains("restored after the continuous aggregates") {
            "after"
        } else {
            "before"
        }
    );
    let (code, out) = migrate(&r.path, &to(target, "killed"), &["--yes"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(reads(target, "killed"), before, "{out}");
}

/// A table whose default calls a function over an aggregate would be
/// made before the aggregate: refused before anything is copied.
fn a_table_over_an_aggregate_is_refused(r: &Running, target: &TestCluster) {
    r.an.sql(
        "tsdb",
        "CREATE TABLE counts (at timestamptz, n bigint DEFAULT busy_n())",
    );
    let (code, out) = migrate(&r.path, &to(target, "refused"), &["--check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("BLOCKER default value for public.counts.n depends on a continuous aggregate")
            && out.contains("fix: on the source, make it independent of the aggregate"),
        "{out}"
    );
}

/// The settings of role app in `db`'s server for every database and for `db`.
fn role_settings(c: &TestCluster, db: &str) -> Vec<String> {
    c.sql(
        db,
        "SELECT CASE WHEN s.setdatabase = 0 THEN 'every database' ELSE 'this database' END || ': ' || x \
         FROM pg_db_role_setting s, unnest(s.setconfig) x \
         WHERE s.setrole = 'app'::regrole AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) ORDER BY 1",
    )
}
