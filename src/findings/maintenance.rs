//! The maintenance jobs of a running cluster (crate::maintenance): missing
//! or not as the plan says (when the plan asks for them), and failing
//! (whatever the plan says: they are tsmn's).

use super::{Finding, Fix, Severity::*, Then};
use crate::facts::{DatabaseFacts, Facts};
use crate::maintenance::{self as m, Job, JobFacts, State};
use crate::plan::Plan;

pub fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    let Some(db) = running(facts) else {
        return;
    };
    let mut misrecorded = Vec::new();
    for job in Job::ALL {
        if plan.maintenance.jobs {
            as_planned(plan, db, job, out);
        }
        let Some(j) = db.maintenance.job(job) else {
            continue;
        };
        if j.last_run_status.as_deref() == Some("Failed")
            && j.last_error.as_deref() == Some(m::MISRECORDED)
        {
            misrecorded.push(j.job_id.to_string());
        }
        if let Some(error) = m::failure(j) {
            out.push(failed(plan, job, j, error));
        }
    }
    if !misrecorded.is_empty() {
        out.push(Finding::new(
            Note,
            &plan.access_node.name,
            "job_outcome_misrecorded",
            format!(
                "TimescaleDB recorded the last run of job {} as failed with `{}`, after the run completed",
                misrecorded.join(", "),
                m::MISRECORDED
            ),
            "TimescaleDB's scheduler commits a run, then drops a portal it never started, which this PostgreSQL refuses: every job that completes is recorded as failed (its own policies too); the run's work is done and committed",
            Fix::nothing("nothing to do for these runs; a failure of the job itself shows its own error (and `CALL run_job(<id>)` shows it at once)"),
        ));
    }
}

/// SQL on the access node, in the cluster database.
fn in_db(plan: &Plan, sql: String) -> Fix {
    Fix::Sql {
        node: plan.access_node.name.clone(),
        database: plan.database.clone(),
        sql,
        then: Then::Nothing,
    }
}

/// The job missing, or not as the plan says.
fn as_planned(plan: &Plan, db: &DatabaseFacts, job: Job, out: &mut Vec<Finding>) {
    let every = job.every_text(plan);
    let apply = || {
        Fix::apply(format!(
            "creates the procedure {} as tsmn writes it and schedules it every {every} (tsmn preview shows the SQL)",
            job.qualified()
        ))
    };
    let an = &plan.access_node.name;
    match m::state(plan, &db.maintenance, job, db.timescaledb.as_deref()) {
        State::Missing { procedure_ok } => out.push(Finding::new(
            Warning,
            an,
            "maintenance_job_missing",
            format!(
                "no background job on the access node runs {} (it {}); the plan asks for it every {every}",
                job.qualified(),
                job.does()
            ),
            job.why(),
            if procedure_ok {
                in_db(plan, m::add_job_sql(plan, job)).or_apply()
            } else {
                apply()
            },
        )),
        State::Differs {
            job_id,
            why,
            procedure_ok,
        } => out.push(Finding::new(
            Warning,
            an,
            "maintenance_job_differs",
            format!("job {job_id} ({}): {}", job.qualified(), why.join("; ")),
            format!(
                "the plan asks for tsmn's job every {every}: {}",
                job.why()
            ),
            if procedure_ok {
                in_db(plan, m::alter_job_sql(plan, job, job_id)).or_apply()
            } else {
                apply()
            },
        )),
        State::Ok { .. } => {}
    }
}

/// The job's last run failed for a reason of its own.
fn failed(plan: &Plan, job: Job, j: &JobFacts, error: &str) -> Finding {
    Finding::new(
        Warning,
        &plan.access_node.name,
        "maintenance_job_failed",
        format!(
            "job {} ({}, every {}) failed on its last run: {error} ({} failure(s) in {} run(s))",
            j.job_id,
            job.qualified(),
            crate::timescale::age(j.every_seconds),
            j.total_failures,
            j.total_runs
        ),
        format!(
            "until a run succeeds, nothing {}: {}. The fix has the scheduler run it again now; correct what the error names first (a data node that does not answer, say)",
            match job {
                Job::Heal => "heals the prepared transactions",
                Job::Analyze => "analyzes the distributed hypertables",
            },
            job.why()
        ),
        in_db(
            plan,
            format!("SELECT alter_job({}, next_start => now())", j.job_id),
        ),
    )
}

/// The access node's cluster database of a running cluster, with its jobs read.
fn running(facts: &Facts) -> Option<&DatabaseFacts> {
    facts.running_cluster().filter(|d| d.maintenance.read)
}
