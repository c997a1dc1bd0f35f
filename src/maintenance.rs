//! PURE: the background jobs tsmn keeps on the access node when the plan
//! asks for them (`[maintenance] jobs = true`), as TimescaleDB's multi-node
//! maintenance page recommends: one that heals two-phase transactions left
//! prepared on the data nodes (`remote_txn_heal_data_node` for each data
//! node), and one that runs ANALYZE on every distributed hypertable
//! (autovacuum does not gather their statistics on the access node). Each
//! is a procedure tsmn creates in the cluster database (schema `public`)
//! and schedules with `add_job`; what the probe reads of them, and the
//! rules check and the steps share.
//!
//! Learned on the real engine (2.13.1, PostgreSQL 15.20):
//! * `remote_txn_heal_data_node` refuses to run in a subtransaction
//!   (`PreventInTransactionBlock`): the procedure has no EXCEPTION block.
//! * A distributed ANALYZE that failed inside an EXCEPTION block, followed
//!   by another one in the same transaction, crashes the access node's
//!   backend (signal 11, the whole server restarts): the procedure never
//!   catches; it asks each data node first (`ping_data_node`, which
//!   answers false rather than raising) and leaves out what would fail,
//!   then raises an error naming it. Any other failure ends the run: each
//!   hypertable is committed as it is done, in a random order, so that one
//!   that always fails cannot keep the same others from ever being done.
//! * `CALL run_job(id)` runs the procedure in the caller's session and
//!   records nothing in `job_stats`; only the scheduler does.
//! * The scheduler records every run that completes as failed with
//!   [`MISRECORDED`]: TimescaleDB commits the run, then drops a portal it
//!   never started, which this PostgreSQL refuses. The run's work is done.

use crate::plan::{interval_seconds, Plan};
use serde::Serialize;

/// The schema of tsmn's procedures.
pub const SCHEMA: &str = "public";

/// The error TimescaleDB's scheduler records for a run that completed
/// (see the module's notes): not a failure of the job.
pub const MISRECORDED: &str = "cannot drop portal \"\" while it is being set up";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Heal,
    Analyze,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::Heal, Job::Analyze];

    /// The procedure's name (in [`SCHEMA`]).
    pub fn procedure(self) -> &'static str {
        match self {
            Job::Heal => "tsmn_heal_data_nodes",
            Job::Analyze => "tsmn_analyze_distributed_hypertables",
        }
    }

    /// `public.<procedure>`, as add_job takes it and jobs list it.
    pub fn qualified(self) -> String {
        format!("{SCHEMA}.{}", self.procedure())
    }

    /// The step id's tail and a short name.
    pub fn key(self) -> &'static str {
        match self {
            Job::Heal => "heal",
            Job::Analyze => "analyze",
        }
    }

    /// What it does, for titles and findings.
    pub fn does(self) -> &'static str {
        match self {
            Job::Heal => "heals the two-phase transactions left prepared on the data nodes",
            Job::Analyze => "runs ANALYZE on every distributed hypertable",
        }
    }

    /// Why a cluster needs it.
    pub fn why(self) -> &'static str {
        match self {
            Job::Heal => "a transaction the access node prepared on a data node and never finished (the access node went away between PREPARE and COMMIT) holds its locks until it is resolved, and the access node's remote_txn records grow; TimescaleDB resolves them only when remote_txn_heal_data_node is called",
            Job::Analyze => "autovacuum does not gather the statistics of distributed hypertables on the access node: without ANALYZE its query plans work from stale or no statistics",
        }
    }

    /// The plan's schedule, as written there.
    pub fn every_text(self, plan: &Plan) -> &str {
        match self {
            Job::Heal => &plan.maintenance.heal_every,
            Job::Analyze => &plan.maintenance.analyze_every,
        }
    }

    /// The plan's schedule in seconds (a plan that validated has one).
    pub fn every_seconds(self, plan: &Plan) -> i64 {
        interval_seconds(self.every_text(plan)).unwrap_or(match self {
            Job::Heal => 300,
            Job::Analyze => 43200,
        })
    }

    /// The procedure's body (what pg_proc.prosrc holds), for the access
    /// node's TimescaleDB version: where its functions live, and whether
    /// ping_data_node takes a timeout (2.11 on).
    pub fn body(self, version: Option<&str>) -> String {
        let schema = crate::timescale::functions_schema(version);
        let with_timeout = version
            .and_then(crate::timescale::parse_version)
            .is_none_or(|(major, minor, _)| major > 2 || minor >= 11);
        let ping = |node: &str| {
            if with_timeout {
                format!("coalesce({schema}.ping_data_node({node}, interval '10 seconds'), false)")
            } else {
                format!("coalesce({schema}.ping_data_node({node}), false)")
            }
        };
        match self {
            Job::Heal => format!(
                "
-- tsmn: heals the two-phase transactions left prepared on each data node
-- (TimescaleDB's multi-node maintenance). A data node that does not answer
-- is left for the next run and named in the error.
DECLARE
  s record;
  unreachable text[] := '{{}}';
BEGIN
  FOR s IN SELECT fs.oid, fs.srvname FROM pg_foreign_server fs
           JOIN pg_foreign_data_wrapper w ON w.oid = fs.srvfdw
           WHERE w.fdwname = 'timescaledb_fdw' ORDER BY fs.srvname LOOP
    IF {ping} THEN
      PERFORM {schema}.remote_txn_heal_data_node(s.oid);
    ELSE
      unreachable := unreachable || s.srvname::text;
    END IF;
  END LOOP;
  IF cardinality(unreachable) > 0 THEN
    RAISE EXCEPTION 'not healed: % did not answer', array_to_string(unreachable, ', ');
  END IF;
END
",
                ping = ping("s.srvname")
            ),
            Job::Analyze => format!(
                "
-- tsmn: ANALYZE of every distributed hypertable (autovacuum does not gather
-- their statistics on the access node). One whose data nodes do not all
-- answer is left for the next run and named in the error. Each is committed
-- as it is done, and they come in a new order at each run: an ANALYZE that
-- fails ends the run (catching it can crash the backend), so it keeps what
-- was done and holds up a different share of the others each time.
DECLARE
  h record;
  down text[];
  skipped text[] := '{{}}';
BEGIN
  FOR h IN SELECT format('%I.%I', hypertable_schema, hypertable_name) AS name, data_nodes
           FROM timescaledb_information.hypertables WHERE is_distributed ORDER BY random() LOOP
    down := ARRAY(SELECT n FROM unnest(h.data_nodes) AS n WHERE NOT {ping});
    IF cardinality(down) = 0 THEN
      EXECUTE 'ANALYZE ' || h.name;
      COMMIT;
    ELSE
      skipped := skipped || format('%s (%s did not answer)', h.name, array_to_string(down, ', '));
    END IF;
  END LOOP;
  IF cardinality(skipped) > 0 THEN
    RAISE EXCEPTION 'not analyzed: %', array_to_string(skipped, '; ');
  END IF;
END
",
                ping = ping("n")
            ),
        }
    }

    /// md5 of the body, as `md5(prosrc)` gives it on the server.
    pub fn body_md5(self, version: Option<&str>) -> String {
        use md5::{Digest, Md5};
        Md5::digest(self.body(version).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The statement that creates (or replaces) the procedure.
    pub fn create_sql(self, version: Option<&str>) -> String {
        format!(
            "CREATE OR REPLACE PROCEDURE {}(job_id integer, config jsonb) LANGUAGE plpgsql AS {}",
            self.qualified(),
            crate::quote::sql::dollar("tsmn", &self.body(version))
        )
    }
}

/// What the probe reads of tsmn's jobs on the access node (cluster database).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceFacts {
    /// The jobs could be read (false: nothing is known of them).
    pub read: bool,
    /// tsmn's procedures that exist: (name, md5 of their body).
    pub procedures: Vec<(String, String)>,
    /// The jobs that run one of them.
    pub jobs: Vec<JobFacts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JobFacts {
    pub job_id: i64,
    /// The procedure it runs (in [`SCHEMA`]).
    pub procedure: String,
    pub every_seconds: i64,
    pub scheduled: bool,
    /// `Success`, `Failed`; None before its first run.
    pub last_run_status: Option<String>,
    /// Its last recorded error (job_errors), when there is one.
    pub last_error: Option<String>,
    pub total_runs: i64,
    pub total_failures: i64,
}

impl MaintenanceFacts {
    /// The job running `job`'s procedure (the oldest, when there are several).
    pub fn job(&self, job: Job) -> Option<&JobFacts> {
        self.jobs
            .iter()
            .filter(|j| j.procedure == job.procedure())
            .min_by_key(|j| j.job_id)
    }

    /// The md5 of the body of `job`'s procedure, when it exists.
    pub fn procedure_md5(&self, job: Job) -> Option<&str> {
        self.procedures
            .iter()
            .find(|(n, _)| n == job.procedure())
            .map(|(_, m)| m.as_str())
    }
}

/// What tsmn makes of one job on the access node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No job runs the procedure.
    Missing { procedure_ok: bool },
    /// It runs, but not as the plan says: its schedule, paused, or the
    /// procedure is not tsmn's (edited, or an older one).
    Differs {
        job_id: i64,
        why: Vec<String>,
        procedure_ok: bool,
    },
    /// As the plan says.
    Ok { job_id: i64 },
}

/// PURE: `job` on the access node against the plan.
pub fn state(plan: &Plan, facts: &MaintenanceFacts, job: Job, version: Option<&str>) -> State {
    let procedure_ok = facts.procedure_md5(job) == Some(job.body_md5(version).as_str());
    let Some(j) = facts.job(job) else {
        return State::Missing { procedure_ok };
    };
    let mut why = Vec::new();
    let want = job.every_seconds(plan);
    if j.every_seconds != want {
        why.push(format!(
            "it runs every {}, the plan says {}",
            crate::timescale::age(j.every_seconds),
            job.every_text(plan)
        ));
    }
    if !j.scheduled {
        why.push("it is paused (scheduled = false)".into());
    }
    if !procedure_ok {
        why.push(format!(
            "{} is not tsmn's procedure as this version writes it (edited, or written by an older tsmn)",
            job.qualified()
        ));
    }
    if why.is_empty() {
        State::Ok { job_id: j.job_id }
    } else {
        State::Differs {
            job_id: j.job_id,
            why,
            procedure_ok,
        }
    }
}

/// The job's last run failed for a reason of its own (None: it did not,
/// or the only error is the engine's [`MISRECORDED`]).
pub fn failure(j: &JobFacts) -> Option<&str> {
    if j.last_run_status.as_deref() != Some("Failed") {
        return None;
    }
    match j.last_error.as_deref() {
        Some(e) if e == MISRECORDED => None,
        Some(e) => Some(e),
        None => Some("(no error recorded)"),
    }
}

/// `add_job` for `job` on the plan's schedule.
pub fn add_job_sql(plan: &Plan, job: Job) -> String {
    format!(
        "SELECT add_job({}, interval '{} seconds')",
        crate::quote::sql::literal(&job.qualified()),
        job.every_seconds(plan)
    )
}

/// `alter_job` putting job `id` back on the plan's schedule, running.
pub fn alter_job_sql(plan: &Plan, job: Job, id: i64) -> String {
    format!(
        "SELECT alter_job({id}, schedule_interval => interval '{} seconds', scheduled => true)",
        job.every_seconds(plan)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut p = crate::plan::new_plan();
        p.maintenance.jobs = true;
        p
    }

    fn facts(version: Option<&str>, every: i64) -> MaintenanceFacts {
        MaintenanceFacts {
            read: true,
            procedures: vec![(Job::Heal.procedure().into(), Job::Heal.body_md5(version))],
            jobs: vec![JobFacts {
                job_id: 1000,
                procedure: Job::Heal.procedure().into(),
                every_seconds: every,
                scheduled: true,
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_job_as_the_plan_says_is_ok_and_others_say_why() {
        let v = Some("2.13.1");
        assert_eq!(
            state(&plan(), &facts(v, 300), Job::Heal, v),
            State::Ok { job_id: 1000 }
        );
        match state(&plan(), &facts(v, 600), Job::Heal, v) {
            State::Differs { why, .. } => assert!(why[0].contains("every 10 min"), "{why:?}"),
            s => panic!("{s:?}"),
        }
        // Written for 2.11's schema: not the procedure 2.13 gets.
        assert!(matches!(
            state(&plan(), &facts(Some("2.11.0"), 300), Job::Heal, v),
            State::Differs {
                procedure_ok: false,
                ..
            }
        ));
        assert_eq!(
            state(&plan(), &facts(v, 300), Job::Analyze, v),
            State::Missing {
                procedure_ok: false
            }
        );
    }

    #[test]
    fn bodies_follow_the_version() {
        let b = Job::Heal.body(Some("2.13.1"));
        assert!(b.contains("_timescaledb_functions.remote_txn_heal_data_node(s.oid)"));
        assert!(b.contains("ping_data_node(s.srvname, interval '10 seconds')"));
        assert!(!b.contains("EXCEPTION WHEN"), "no subtransaction: {b}");
        let old = Job::Analyze.body(Some("2.10.1"));
        assert!(
            old.contains("_timescaledb_internal.ping_data_node(n)"),
            "{old}"
        );
        let c = Job::Analyze.create_sql(None);
        assert!(c.starts_with(
            "CREATE OR REPLACE PROCEDURE public.tsmn_analyze_distributed_hypertables(job_id integer, config jsonb) LANGUAGE plpgsql AS $tsmn$"
        ));
    }

    #[test]
    fn the_engines_misrecord_is_not_a_failure() {
        let mut j = JobFacts {
            last_run_status: Some("Failed".into()),
            last_error: Some(MISRECORDED.into()),
            ..Default::default()
        };
        assert_eq!(failure(&j), None);
        j.last_error = Some("not healed: dn2 did not answer".into());
        assert_eq!(failure(&j), Some("not healed: dn2 did not answer"));
        j.last_run_status = Some("Success".into());
        assert_eq!(failure(&j), None);
    }
}
