//! A verification mismatch is copied again, then reported if it persists
//! (TimescaleDB tier). tsmn is held after the copy, before verification
//! (a lock this test holds on the target's job catalog: tsmn waits for it
//! to recreate the jobs), and the target is damaged meanwhile: a row of
//! a hypertable changed, a row of a compressed range deleted, a row of a
//! table that a foreign key references deleted. Verification finds each
//! range and the table, copies them again and says so; every count and
//! checksum then equals the source's, the compressed range is compressed
//! again. Then a damage that comes back (a trigger on the target that
//! changes every row written into one chunk, made to fire always: the
//! engine refuses ALTER TABLE on a chunk, so by its catalog row): copied again once, still
//! different, reported with the range and a fix, exit 1; without the
//! trigger, a re-run verifies, copies it again and finishes. The same for
//! a continuous aggregate's materialized rows: a row changed is copied
//! again (the aggregate equal to the source's after), a change that
//! comes back is reported with a fix, and a re-run without it finishes.

mod support;

use std::time::Duration;
use support::migrate::{poll, tally, to, tsmn_waiting, Holder, Run};
use support::{metrics, timescaledb_tier, Running, TestCluster};

const TABLES: [&str; 4] = ["metrics", "readings", "notes", "tags"];

fn source() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-20");
    for s in [
        "CREATE TABLE readings (ts timestamptz NOT NULL, sensor text, v numeric)",
        "SELECT create_distributed_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO readings SELECT '2024-01-01'::timestamptz + i * INTERVAL '5 minutes', 's' || (i % 5), i / 7.0 FROM generate_series(1, 12000) i",
        "ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor', timescaledb.compress_orderby = 'ts DESC')",
        "SELECT count(compress_chunk(c)) FROM show_chunks('readings', older_than => '2024-01-22'::timestamptz) c",
        "SELECT add_compression_policy('readings', compress_after => INTERVAL '30 days', initial_start => '2100-01-01'::timestamptz)",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 50) i",
        "CREATE TABLE tags (note_id int REFERENCES notes (id), tag text)",
        "INSERT INTO tags SELECT i, 'tag' FROM generate_series(1, 50, 3) i",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

fn tallies(c: &TestCluster, db: &str) -> Vec<String> {
    TABLES.iter().map(|t| tally(c, db, t)).collect()
}

fn compressed(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SELECT count(*) FILTER (WHERE is_compressed) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'",
    )
    .join("")
}

/// A migration into `db` held before verification while `damage` runs
/// on the target: exit code and output.
fn damaged_before_verification(
    r: &Running,
    target: &TestCluster,
    db: &str,
    damage: &[&str],
) -> (Option<i32>, String) {
    target.sql("postgres", &format!("CREATE DATABASE {db}"));
    target.sql(db, "CREATE EXTENSION timescaledb");
    let hold = Holder::take(
        target,
        db,
        "LOCK TABLE _timescaledb_config.bgw_job IN EXCLUSIVE MODE",
    );
    let run = Run::start(&r.path, &to(target, db), &["--yes"]);
    let waiting = poll(Duration::from_secs(60), || tsmn_waiting(target, db, &hold))
        .expect("tsmn reaches the jobs, after the copy");
    assert!(
        waiting.contains("alter_job") || waiting.contains("add_continuous_aggregate_policy"),
        "{waiting}"
    );
    for s in damage {
        target.sql(db, s);
    }
    hold.release();
    run.finish()
}

#[test]
fn a_mismatch_is_copied_again_then_reported_if_it_persists() {
    if !timescaledb_tier("a_mismatch_is_copied_again_then_reported_if_it_persists") {
        return;
    }
    let r = source();
    let before = tallies(&r.an, "tsdb");
    let target = TestCluster::named("target");

    let (code, out) = damaged_before_verification(
        &r,
        &target,
        "single",
        &[
            "UPDATE metrics SET value = 99 WHERE time = '2024-01-05 00:00+00' AND device = 3",
            "DELETE FROM readings WHERE ts = '2024-01-02 00:00+00'",
            // Note 50 has no tag; re-copying notes deletes its rows that tags references.
            "DELETE FROM notes WHERE id = 50",
        ],
    );
    assert_eq!(code, Some(0), "{out}");
    let again: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("copied again after a mismatch"))
        .collect();
    assert_eq!(again.len(), 3, "{out}");
    eprintln!("{}", again.join("\n"));
    assert!(
        again.iter().any(|l| l.contains(
            "hypertable public.metrics rows from 2024-01-04 00:00:00+00 to 2024-01-11 00:00:00+00"
        ) && l.ends_with("equal now")),
        "{again:#?}"
    );
    assert!(
        again
            .iter()
            .any(|l| l.contains("hypertable public.readings") && l.ends_with("equal now")),
        "{again:#?}"
    );
    assert!(
        again
            .iter()
            .any(|l| l.contains("table public.notes: source 50 row(s)")
                && l.contains("the target had 49")
                && l.ends_with("equal now")),
        "{again:#?}"
    );
    assert_eq!(tallies(&target, "single"), before, "{out}");
    assert_eq!(compressed(&target, "single"), compressed(&r.an, "tsdb"));

    // A damage that comes back: every row written into one chunk changed.
    let chunk = "(SELECT c FROM show_chunks('metrics') c ORDER BY 1 LIMIT 1)";
    let (code, out) = damaged_before_verification(
        &r,
        &target,
        "stuck",
        &[
            "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.value := NEW.value + 1; RETURN NEW; END $$",
            &format!("DO $$ DECLARE c regclass := {chunk}; BEGIN \
                 EXECUTE format('CREATE TRIGGER bump BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION bump()', c); \
                 UPDATE pg_trigger SET tgenabled = 'A' WHERE tgname = 'bump'; \
                 EXECUTE format('UPDATE %s SET value = value + 1', c); END $$"),
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    eprintln!(
        "{}",
        out.lines()
            .skip_while(|l| !l.contains("verification failed"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.contains("verification failed: the target differs from the source, also after copying the differing parts again once")
            && out.contains("hypertable public.metrics rows from 2023-12-28 00:00:00+00 to 2024-01-04 00:00:00+00")
            && out.contains("STILL DIFFERENT")
            && out.contains("fix: find what changes those rows"),
        "{out}"
    );
    assert_eq!(
        target.sql(
            "stuck",
            "SELECT count(*) FROM tsmn_migrate.done WHERE item = 'verified'"
        ),
        ["0"]
    );
    target.sql(
        "stuck",
        &format!("DO $$ BEGIN EXECUTE format('DROP TRIGGER bump ON %s', {chunk}); END $$"),
    );
    let (code, out) = Run::start(&r.path, &to(&target, "stuck"), &["--yes"]).finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("copied again after a mismatch: hypertable public.metrics"),
        "{out}"
    );
    assert_eq!(tallies(&target, "stuck"), before, "{out}");
    assert_eq!(tallies(&r.an, "tsdb"), before, "the source is unchanged");
}

/// A source with a continuous aggregate and its refresh policy (which
/// does not run during the test).
fn with_aggregate() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-20");
    for s in [
        "CREATE MATERIALIZED VIEW daily WITH (timescaledb.continuous) AS \
         SELECT time_bucket('1 day', time) AS bucket, device, count(*) AS n, sum(value) AS total FROM metrics GROUP BY 1, 2 WITH NO DATA",
        "CALL refresh_continuous_aggregate('daily', NULL, NULL)",
        "SELECT add_continuous_aggregate_policy('daily', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour', initial_start => '2100-01-01'::timestamptz)",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

/// The aggregate's rows as the user reads them.
fn daily(c: &TestCluster, db: &str) -> Vec<String> {
    c.sql(
        db,
        "SET TimeZone = 'UTC'; SELECT bucket || ' ' || device || ' ' || n || ' ' || total FROM daily ORDER BY bucket, device",
    )
}

/// `sql` with `%s` the aggregate's materialization hypertable (on the target).
fn on_mat(sql: &str) -> String {
    format!(
        "DO $$ DECLARE m text; BEGIN \
         SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name) INTO m \
         FROM timescaledb_information.continuous_aggregates WHERE view_name = 'daily'; \
         EXECUTE replace('{}', '%s', m); END $$",
        sql.replace('\'', "''")
    )
}

#[test]
fn an_aggregate_that_differs_is_copied_again_then_reported_if_it_persists() {
    if !timescaledb_tier("an_aggregate_that_differs_is_copied_again_then_reported_if_it_persists") {
        return;
    }
    let r = with_aggregate();
    let before = daily(&r.an, "tsdb");
    assert_eq!(before.len(), 20 * 8, "{before:?}");
    let target = TestCluster::named("target");

    // A row of the materialization changed once: copied again.
    let (code, out) = damaged_before_verification(
        &r,
        &target,
        "single",
        &[&on_mat(
            "UPDATE %s SET n = n + 1 WHERE bucket = '2024-01-05 00:00+00' AND device = 3",
        )],
    );
    assert_eq!(code, Some(0), "{out}");
    let again: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("copied again after a mismatch"))
        .collect();
    eprintln!("{}", again.join("\n"));
    assert_eq!(again.len(), 1, "{out}");
    assert!(
        again[0].contains("aggregate public.daily: source 160 row(s)")
            && again[0].contains("the target had 160")
            && again[0].ends_with("equal now"),
        "{again:#?}"
    );
    assert_eq!(daily(&target, "single"), before, "{out}");
    assert_eq!(
        target.sql(
            "single",
            "SELECT count(*) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ),
        ["1"]
    );

    // A change that comes back: every row written into one chunk of the
    // materialization changed (a trigger made to fire always).
    let (code, out) = damaged_before_verification(
        &r,
        &target,
        "stuck",
        &[
            "CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := NEW.n + 1; RETURN NEW; END $$",
            &on_mat("UPDATE %s SET n = n + 1 WHERE device = 1"),
            "DO $$ DECLARE c regclass := (SELECT c FROM timescaledb_information.continuous_aggregates a, \
               show_chunks(format('%I.%I', a.materialization_hypertable_schema, a.materialization_hypertable_name)) c ORDER BY 1 LIMIT 1); BEGIN \
               EXECUTE format('CREATE TRIGGER bump BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION bump()', c); \
               UPDATE pg_trigger SET tgenabled = 'A' WHERE tgname = 'bump'; END $$",
        ],
    );
    assert_eq!(code, Some(1), "{out}");
    eprintln!(
        "{}",
        out.lines()
            .skip_while(|l| !l.contains("verification failed"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.contains("verification failed: the target differs from the source, also after copying the differing parts again once")
            && out.contains("aggregate public.daily: source 160 row(s)")
            && out.contains("STILL DIFFERENT")
            && out.contains("fix: find what changes those rows"),
        "{out}"
    );
    target.sql(
        "stuck",
        "DO $$ DECLARE t record; BEGIN FOR t IN SELECT tgrelid::regclass AS rel FROM pg_trigger WHERE tgname = 'bump' LOOP \
         EXECUTE format('DROP TRIGGER bump ON %s', t.rel); END LOOP; END $$",
    );
    let (code, out) = Run::start(&r.path, &to(&target, "stuck"), &["--yes"]).finish();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("copied again after a mismatch: aggregate public.daily"),
        "{out}"
    );
    assert_eq!(daily(&target, "stuck"), before, "{out}");
    assert_eq!(daily(&r.an, "tsdb"), before, "the source is unchanged");
}
