//! The maintenance jobs (TimescaleDB tier): `tsmn apply` on a plan that
//! asks for them installs both on the access node and verifies them there;
//! a second apply finds them and changes nothing; run by the scheduler they
//! do their work (a transaction left prepared on a data node is healed, the
//! distributed hypertable's chunks get statistics on the access node); a
//! run that fails (a data node stopped) is reported by check with its error,
//! and its fix, executed as carried, clears it once the data node is back;
//! a job deleted or paused by hand is reported and its fix clears it.

mod support;

use std::time::{Duration, Instant};
use support::fixes::execute;
use support::*;

const HEAL: &str = "tsmn_heal_data_nodes";
const ANALYZE: &str = "tsmn_analyze_distributed_hypertables";

fn job_id(an: &TestCluster, proc_name: &str) -> String {
    let ids = an.sql(
        "tsdb",
        &format!("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = '{proc_name}'"),
    );
    assert_eq!(ids.len(), 1, "one job runs {proc_name}: {ids:?}");
    ids[0].clone()
}

/// The scheduler's record of job `id` (total runs, last status, last
/// error), once no run of it is under way (a run's start is recorded
/// before its worker shows as running: its status is empty then).
fn record(an: &TestCluster, id: &str) -> (i64, String, String) {
    let row = an.sql(
        "tsdb",
        &format!(
            "SELECT concat_ws('|', s.total_runs, coalesce(s.last_run_status, ''), \
               coalesce((SELECT e.err_message FROM timescaledb_information.job_errors e \
                  WHERE e.job_id = s.job_id ORDER BY e.finish_time DESC LIMIT 1), '')) \
             FROM timescaledb_information.job_stats s WHERE s.job_id = {id} AND s.job_status <> 'Running' \
               AND s.last_run_status IS NOT NULL"
        ),
    );
    let row = row.first().cloned().unwrap_or_else(|| "-1||".into());
    let mut parts = row.splitn(3, '|');
    (
        parts.next().unwrap_or("-1").parse().unwrap_or(-1),
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    )
}

/// Has the scheduler run job `id` now and waits until its run is recorded:
/// its record after that run.
fn run_now(an: &TestCluster, id: &str) -> (i64, String, String) {
    let before = wait_for(&format!("job {id} not to be running"), || {
        let r = record(an, id);
        (r.0 >= 0).then_some(r.0)
    });
    an.sql(
        "tsdb",
        &format!("SELECT alter_job({id}, next_start => now())"),
    );
    wait_for(&format!("the scheduler to run job {id}"), || {
        let r = record(an, id);
        (r.0 > before).then_some(r)
    })
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "waited 90 s for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A run the scheduler recorded as completed: a success, or the engine's
/// misrecord of one (tsmn::maintenance::MISRECORDED: the run committed,
/// then TimescaleDB 2.13 fails to drop its portal on this PostgreSQL).
fn assert_completed(r: &(i64, String, String), what: &str) {
    assert!(
        r.1 == "Success" || (r.1 == "Failed" && r.2 == tsmn::maintenance::MISRECORDED),
        "{what}: the run did not complete: {r:?}"
    );
}

#[test]
fn maintenance_jobs_are_installed_run_and_reported() {
    if !timescaledb_tier("maintenance_jobs_are_installed_run_and_reported") {
        return;
    }
    // A plan that asks for the jobs (apply runs in the test).
    let c = Running::planned(|plan| {
        plan.maintenance.jobs = true;
        plan.maintenance.analyze_every = "6 hours".into();
    });
    installed_and_found_again(&c);
    let (heal, analyze) = (job_id(&c.an, HEAL), job_id(&c.an, ANALYZE));
    // add_job runs each at once: that first run is over before the work
    // below is made (it would do the work itself).
    for id in [&heal, &analyze] {
        wait_for(&format!("the first run of job {id}"), || {
            (record(&c.an, id).0 >= 1).then_some(())
        });
    }
    they_do_their_work(&c, &heal, &analyze);
    a_failing_run_is_reported_and_its_fix_clears_it(&c, &heal, &analyze);
    deleted_and_paused_by_hand(&c, &heal, &analyze);
    discover_finds_them(&c);
}

/// A plan discovered from the access node asks for the jobs, on the
/// schedules they run on.
fn discover_finds_them(c: &Running) {
    let work = temp_dir();
    let out = work.path().join("discovered.toml");
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!(
            "host={} port={}",
            c.an.cluster.socket_dir().display(),
            c.an.cluster.port
        ))
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run tsmn discover");
    assert_success(&run);
    let plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert_eq!(
        (
            plan.maintenance.jobs,
            plan.maintenance.heal_every.as_str(),
            plan.maintenance.analyze_every.as_str()
        ),
        (true, "5 minutes", "6 hours"),
        "{}",
        read(&out)
    );
}

fn installed_and_found_again(c: &Running) {
    let (code, text) = apply_file(&c.path, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    for needle in [
        "[an] an/cluster/maintenance-heal: done",
        "[an] an/cluster/maintenance-analyze: done",
        "[an] an/verify/maintenance-jobs: verified",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    assert_eq!(
        c.an.sql(
            "tsdb",
            "SELECT proc_schema || '.' || proc_name || ' ' || schedule_interval || ' ' || scheduled \
             FROM timescaledb_information.jobs WHERE proc_name LIKE 'tsmn%' ORDER BY proc_name"
        ),
        [
            "public.tsmn_analyze_distributed_hypertables 06:00:00 true",
            "public.tsmn_heal_data_nodes 00:05:00 true"
        ]
    );
    // Found again, and left alone.
    let (code, again) = apply_file(&c.path, &[], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(
        again.contains("an/cluster/maintenance-heal: already done")
            && again.contains("an/cluster/maintenance-analyze: already done")
            && again.contains("nothing changed"),
        "{again}"
    );
}

/// Work for them: a distributed hypertable with rows, a transaction the
/// access node left prepared on dn1 (as tests/heal.rs makes one).
fn they_do_their_work(c: &Running, heal: &str, analyze: &str) {
    let an = &c.an;
    metrics(an, "2026-01-01", "2026-01-05");
    let xid: u64 = an.sql("tsdb", "SELECT txid_current()")[0].parse().unwrap();
    let gid = format!("ts-1-{xid}-16384-10");
    c.dn1.sql("tsdb", "CREATE TABLE stuck (x bigint)");
    c.dn1.sql(
        "tsdb",
        &format!("BEGIN; INSERT INTO stuck VALUES (1); PREPARE TRANSACTION '{gid}'"),
    );
    let stats = || {
        an.sql(
            "tsdb",
            "SELECT count(*) FROM pg_stats s JOIN timescaledb_information.chunks c \
             ON s.schemaname = c.chunk_schema AND s.tablename = c.chunk_name WHERE c.hypertable_name = 'metrics'",
        )
    };
    assert_eq!(stats(), ["0"], "no statistics on the access node yet");
    assert_completed(&run_now(an, heal), "heal");
    assert_eq!(
        c.dn1.sql("tsdb", "SELECT count(*) FROM pg_prepared_xacts"),
        ["0"],
        "the job healed the transaction left prepared"
    );
    assert_completed(&run_now(an, analyze), "analyze");
    assert_ne!(stats(), ["0"], "the job analyzed the chunks");
    let (_, found) = check(&c.plan, Duration::from_secs(5));
    for code in [
        "maintenance_job_missing",
        "maintenance_job_differs",
        "maintenance_job_failed",
    ] {
        assert!(!has_finding(&found, "an", code), "{code}: {found:#?}");
    }
}

/// dn2 stopped: each job names it; the access node keeps running (a
/// caught distributed ANALYZE failure followed by another would crash its
/// backend: the procedure never catches). With dn2 back, the fixes as
/// carried clear the findings.
fn a_failing_run_is_reported_and_its_fix_clears_it(c: &Running, heal: &str, analyze: &str) {
    let an = &c.an;
    c.dn2.cluster.stop(true).expect("stop dn2");
    let r = run_now(an, heal);
    assert_eq!(
        (r.1.as_str(), r.2.as_str()),
        ("Failed", "not healed: dn2 did not answer")
    );
    let r = run_now(an, analyze);
    assert_eq!(r.1, "Failed");
    assert!(
        r.2.starts_with("not analyzed: public.metrics (dn2 did not answer)"),
        "{r:?}"
    );
    assert!(up(an));
    let (_, found) = check(&c.plan, Duration::from_secs(5));
    let f = finding(&found, "an", "maintenance_job_failed").clone();
    assert!(
        f.what.starts_with(&format!("job {heal} (public.tsmn_heal_data_nodes, every 5 min) failed on its last run: not healed: dn2 did not answer")),
        "{f:?}"
    );
    assert_eq!(
        f.fix,
        format!("on an, in database tsdb: SELECT alter_job({heal}, next_start => now())")
    );
    c.dn2.cluster.start().expect("start dn2");
    let nodes = c.nodes();
    for f in found.iter().filter(|f| f.code == "maintenance_job_failed") {
        execute(f, &nodes);
    }
    wait_for("the failed runs' findings to clear", || {
        let (_, found) = check(&c.plan, Duration::from_secs(5));
        (!has_finding(&found, "an", "maintenance_job_failed")).then_some(())
    });
    assert_completed(&record(an, heal), "heal after the fix");
    assert_completed(&record(an, analyze), "analyze after the fix");
}

/// Deleted and paused by hand: reported, and the fixes clear them; apply's
/// check holds again.
fn deleted_and_paused_by_hand(c: &Running, heal: &str, analyze: &str) {
    c.an.sql("tsdb", &format!("SELECT delete_job({analyze})"));
    c.an.sql(
        "tsdb",
        &format!("SELECT alter_job({heal}, scheduled => false)"),
    );
    let (_, found) = check(&c.plan, Duration::from_secs(5));
    let missing = finding(&found, "an", "maintenance_job_missing").clone();
    assert!(missing.what.contains(ANALYZE), "{missing:?}");
    assert!(
        missing.fix.starts_with(
            "on an, in database tsdb: SELECT add_job('public.tsmn_analyze_distributed_hypertables', interval '21600 seconds')"
        ),
        "{missing:?}"
    );
    let paused = finding(&found, "an", "maintenance_job_differs").clone();
    assert!(paused.what.contains("paused"), "{paused:?}");
    let nodes = c.nodes();
    execute(&missing, &nodes);
    execute(&paused, &nodes);
    let (_, found) = check(&c.plan, Duration::from_secs(5));
    for code in ["maintenance_job_missing", "maintenance_job_differs"] {
        assert!(!has_finding(&found, "an", code), "{code}: {found:#?}");
    }
    let (code, text) = apply_file(&c.path, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("an/verify/maintenance-jobs: verified"),
        "{text}"
    );
}
