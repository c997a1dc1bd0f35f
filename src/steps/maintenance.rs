//! The maintenance jobs on the access node, when the plan asks for them
//! (`[maintenance] jobs = true`; crate::maintenance): per job its procedure
//! (created or replaced) and its schedule (added, or put back on the
//! plan's), each statement a no-op where it already holds; then a check on
//! the access node that every job is scheduled as the plan says with
//! tsmn's procedure. Already done, and skipped, when the facts show both.

use super::{step, step_id, Action, Ctx, Phase, Statement, Step, StepState};
use crate::maintenance::{self as m, Job, State, SCHEMA};
use crate::quote::sql::{dollar, literal};

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    if !plan.maintenance.jobs {
        return;
    }
    let (an, db) = (plan.access_node.name.as_str(), plan.database.as_str());
    let version = super::bootstrap::version(ctx);
    let version = version.as_deref();
    let facts = ctx
        .an_database()
        .filter(|d| d.maintenance.read)
        .map(|d| &d.maintenance);
    // Without the cluster's extension nothing here can run: as its step.
    let blocked = out
        .iter()
        .find(|s| s.id == step_id(an, Phase::Cluster, "extension"))
        .and_then(|s| match &s.state {
            StepState::Blocked { why } => Some(why.clone()),
            _ => None,
        });
    for job in Job::ALL {
        let every = job.every_text(plan);
        let name = literal(job.procedure());
        let seconds = job.every_seconds(plan);
        let statements = vec![
            Statement::plain(job.create_sql(version)),
            Statement::generator(format!(
                "SELECT {} WHERE NOT EXISTS (SELECT FROM timescaledb_information.jobs WHERE proc_schema = {} AND proc_name = {name})",
                literal(&m::add_job_sql(plan, job)),
                literal(SCHEMA)
            )),
            Statement::generator(format!(
                "SELECT format('SELECT alter_job(%s, schedule_interval => interval %L, scheduled => true)', job_id, '{seconds} seconds') \
                 FROM timescaledb_information.jobs WHERE proc_schema = {} AND proc_name = {name} \
                 AND (schedule_interval <> interval '{seconds} seconds' OR NOT scheduled)",
                literal(SCHEMA)
            )),
        ];
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("maintenance-{}", job.key()),
            format!(
                "Background job on the access node: {} every {every}",
                job.does()
            ),
            format!(
                "{} (TimescaleDB's multi-node maintenance; the plan's [maintenance] jobs = true). The procedure {} is created or replaced; the job added, or put back on the plan's schedule",
                job.why(),
                job.qualified()
            ),
            Action::Sql {
                database: db.to_string(),
                statements,
            },
        );
        if let Some(State::Ok { job_id }) = facts.map(|f| m::state(plan, f, job, version)) {
            s.state = StepState::Done {
                why: format!(
                    "job {job_id} runs {} every {every}, as tsmn writes it",
                    job.qualified()
                ),
            };
        }
        if let (Some(why), StepState::Todo) = (&blocked, &s.state) {
            s.state = StepState::Blocked { why: why.clone() };
        }
        out.push(s);
    }
    out.push(verify(ctx, version));
}

/// Done means checked on the access node: each job scheduled on the
/// plan's interval, running tsmn's procedure.
fn verify(ctx: &Ctx, version: Option<&str>) -> Step {
    let plan = ctx.plan;
    let checks: Vec<String> = Job::ALL
        .iter()
        .map(|&job| {
            let seconds = job.every_seconds(plan);
            let q = literal(&job.qualified());
            format!(
                "
  IF NOT EXISTS (SELECT FROM timescaledb_information.jobs WHERE proc_schema = {schema} AND proc_name = {name}
                 AND scheduled AND schedule_interval = interval '{seconds} seconds') THEN
    bad := bad || format('no job runs %s every %s', {q}, {every});
  END IF;
  IF md5(coalesce((SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure({signature})), '')) <> {md5} THEN
    bad := bad || format('%s is not tsmn''s procedure', {q});
  END IF;",
                schema = literal(SCHEMA),
                name = literal(job.procedure()),
                every = literal(job.every_text(plan)),
                signature = literal(&format!("{}(integer,jsonb)", job.qualified())),
                md5 = literal(&job.body_md5(version)),
            )
        })
        .collect();
    let body = format!(
        "
DECLARE
  bad text[] := '{{}}';
BEGIN{}
  IF cardinality(bad) > 0 THEN
    RAISE EXCEPTION 'maintenance jobs not in place: %', array_to_string(bad, '; ')
      USING HINT = 'tsmn check names each with its fix; tsmn apply puts them in place';
  END IF;
END
",
        checks.concat()
    );
    step(
        &plan.access_node.name,
        Phase::Verify,
        "maintenance-jobs",
        "The maintenance jobs are scheduled on the access node",
        "done means checked on the access node: each job is in timescaledb_information.jobs on the plan's schedule, running tsmn's procedure",
        Action::Sql {
            database: plan.database.clone(),
            statements: vec![Statement::plain(format!(
                "DO {}",
                dollar("tsmn_maintenance", &body)
            ))],
        },
    )
}
