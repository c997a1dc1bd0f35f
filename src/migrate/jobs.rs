//! Jobs and policies recreated on the target from the source's
//! `_timescaledb_config.bgw_job` (ids from 1000: the engine's own jobs are
//! its business): compression, retention, reorder and refresh policies by
//! their `add_*_policy` function, user-defined jobs by `add_job`; then
//! `alter_job` gives each the source's schedule, limits and config (its
//! hypertable id the target's). Each is created unscheduled, in a
//! transaction with tsmn's record (the new job's id in it), and scheduled
//! as on the source only once the migration is verified: a policy must not
//! compress, drop or refresh while rows are still arriving.

use super::source::Job;
use super::source::Source;
use super::{journal, MigrateError, QualifiedName};
use crate::quote::sql::literal;
use serde_json::Value;
use std::collections::BTreeSet;
use tokio_postgres::Client;

/// PURE: a config value as an `"any"` argument: an interval (time
/// hypertables), an integer (integer ones) or a typed NULL.
fn any_arg(v: Option<&Value>, null_type: &str) -> String {
    match v {
        Some(Value::String(s)) => format!("{}::interval", literal(s)),
        Some(Value::Number(n)) => format!("{n}::bigint"),
        _ => format!("NULL::{null_type}"),
    }
}

/// PURE: where a policy of `j` is added: its hypertable, or the
/// continuous aggregate whose materialization hypertable it is.
fn relation(j: &Job, s: &Source) -> Option<QualifiedName> {
    let h = j.hypertable.as_ref()?;
    Some(
        s.caggs
            .iter()
            .find(|c| &c.mat == h)
            .map_or_else(|| h.clone(), |c| c.name.clone()),
    )
}

/// PURE: the initial start and time zone arguments of `j`.
fn start_args(j: &Job) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(t) = &j.initial_start {
        args.push(format!("initial_start => {}::timestamptz", literal(t)));
    }
    if let Some(tz) = &j.timezone {
        args.push(format!("timezone => {}", literal(tz)));
    }
    args
}

/// PURE: the statement that makes `j` on the target (unscheduled) and
/// returns its new id; Err: why it is not recreated.
pub fn create_sql(j: &Job, s: &Source) -> Result<String, String> {
    let add = add_sql(j, s)?;
    // The target's own config (its hypertable id) with the source's other keys over it.
    let config = match &j.config {
        Some(c) => format!(
            "(SELECT config FROM _timescaledb_config.bgw_job WHERE id = x.j) || ({}::jsonb - 'hypertable_id' - 'mat_hypertable_id')",
            literal(c)
        ),
        None => "NULL".into(),
    };
    // alter_job sets the initial start anew unless given it again.
    let start_again: String = start_args(j).iter().map(|a| format!(", {a}")).collect();
    Ok(format!(
        "SELECT (alter_job(x.j, schedule_interval => {}::interval, max_runtime => {}::interval, max_retries => {}, retry_period => {}::interval, \
         scheduled => false, config => {config}, fixed_schedule => {}{start_again})).job_id FROM (SELECT {add} AS j) x",
        literal(&j.schedule_interval),
        literal(&j.max_runtime),
        j.max_retries,
        literal(&j.retry_period),
        j.fixed_schedule
    ))
}

/// PURE: the call that adds `j` on the target.
fn add_sql(j: &Job, s: &Source) -> Result<String, String> {
    let cfg: Value = j
        .config
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let get = |k: &str| cfg.get(k).filter(|v| !v.is_null());
    let engine = j.proc_schema.starts_with("_timescaledb");
    let start = |args: &mut Vec<String>| args.extend(start_args(j));
    let rel = || {
        relation(j, s)
            .map(|r| literal(&r.sql()))
            .ok_or_else(|| format!("job {} ({}) names no hypertable", j.id, j.application_name))
    };
    let mut args = Vec::new();
    let add = match (engine, j.proc_name.as_str()) {
        (true, "policy_compression") => {
            args.push(rel()?);
            match (get("compress_after"), get("compress_created_before")) {
                (_, Some(Value::String(b))) => args.push(format!(
                    "compress_created_before => {}::interval",
                    literal(b)
                )),
                (a, _) => args.push(format!("compress_after => {}", any_arg(a, "interval"))),
            }
            args.push(format!(
                "schedule_interval => {}::interval",
                literal(&j.schedule_interval)
            ));
            start(&mut args);
            format!("add_compression_policy({})", args.join(", "))
        }
        (true, "policy_retention") => {
            args.push(rel()?);
            match (get("drop_after"), get("drop_created_before")) {
                (_, Some(Value::String(b))) => {
                    args.push(format!("drop_created_before => {}::interval", literal(b)))
                }
                (a, _) => args.push(format!("drop_after => {}", any_arg(a, "interval"))),
            }
            args.push(format!(
                "schedule_interval => {}::interval",
                literal(&j.schedule_interval)
            ));
            start(&mut args);
            format!("add_retention_policy({})", args.join(", "))
        }
        (true, "policy_refresh_continuous_aggregate") => {
            args.push(rel()?);
            let (a, b) = (get("start_offset"), get("end_offset"));
            // Both offsets of one type: the NULL one takes the other's.
            let null_type = if matches!(a.or(b), Some(Value::Number(_))) {
                "bigint"
            } else {
                "interval"
            };
            args.push(format!("start_offset => {}", any_arg(a, null_type)));
            args.push(format!("end_offset => {}", any_arg(b, null_type)));
            args.push(format!(
                "schedule_interval => {}::interval",
                literal(&j.schedule_interval)
            ));
            start(&mut args);
            format!("add_continuous_aggregate_policy({})", args.join(", "))
        }
        (true, "policy_reorder") => {
            args.push(rel()?);
            let Some(Value::String(ix)) = get("index_name") else {
                return Err(format!("reorder job {} has no index_name", j.id));
            };
            args.push(literal(ix));
            start(&mut args);
            format!("add_reorder_policy({})", args.join(", "))
        }
        (true, other) => {
            return Err(format!(
                "job {} ({}) runs the engine's {other}, which tsmn does not know how to add",
                j.id, j.application_name
            ))
        }
        (false, _) => {
            args.push(format!("{}::regproc", literal(&j.proc)));
            args.push(format!("{}::interval", literal(&j.schedule_interval)));
            if let Some(c) = &j.config {
                args.push(format!("config => {}::jsonb", literal(c)));
            }
            args.push("scheduled => false".into());
            if let Some(c) = &j.check {
                args.push(format!("check_config => {}::regproc", literal(c)));
            }
            args.push(format!("fixed_schedule => {}", j.fixed_schedule));
            start(&mut args);
            format!("add_job({})", args.join(", "))
        }
    };
    Ok(add)
}

/// The job made owned by its source owner. add_job makes the caller the
/// owner and the add_*_policy functions the hypertable's owner (2.13.1
/// tsl/src/bgw_policy/job_api.c, compression_api.c ...), and no function
/// changes it afterwards; but the owner is this catalog column and nothing
/// else: the scheduler starts a job as it (src/bgw/scheduler.c,
/// ts_bgw_job_start), DROP ROLE refuses a role that owns a job by it
/// (src/process_utility.c, process_drop_role). So tsmn, a superuser,
/// sets it, in the job's own transaction.
const OWNER_SQL: &str = "UPDATE _timescaledb_config.bgw_job j SET owner = r.oid::regrole \
     FROM pg_catalog.pg_roles r WHERE r.rolname = $1 AND j.id = $2";

fn item(j: &Job) -> String {
    format!("job {}", j.id)
}

/// Every job not recreated yet; what could not be, with why.
pub async fn recreate(
    s: &Source,
    target: &mut Client,
    done: &BTreeSet<String>,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Vec<String>, MigrateError> {
    let mut not = Vec::new();
    let mut made = 0;
    for j in &s.jobs {
        if done.contains(&item(j)) {
            continue;
        }
        let sql = match create_sql(j, s) {
            Ok(sql) => sql,
            Err(why) => {
                not.push(why);
                continue;
            }
        };
        let fail = |e: tokio_postgres::Error| {
            MigrateError::Failed(format!(
                "{shown}: recreating job {} ({}): {}\n    fix: correct the cause (e.g. the job's procedure missing on the target) and run tsmn migrate again",
                j.id,
                j.application_name,
                crate::run::session::describe(&e)
            ))
        };
        let tx = target.transaction().await.map_err(fail)?;
        let id: i32 = tx.query_one(&sql, &[]).await.map_err(fail)?.get(0);
        if tx
            .execute(OWNER_SQL, &[&j.owner, &id])
            .await
            .map_err(fail)?
            == 0
        {
            not.push(format!(
                "the owner of job {} ({}): role {} is missing on the target, so the job is owned by the role tsmn connects as there (fix: create the role, then UPDATE _timescaledb_config.bgw_job SET owner = '{}' WHERE id = {id} as a superuser)",
                j.id, j.application_name, j.owner, j.owner.replace('\'', "''")
            ));
        }
        tx.batch_execute(&journal::mark_sql(&item(j), None, Some(&id.to_string())))
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        made += 1;
    }
    if made > 0 {
        say(&format!(
            "{made} job(s) and policies recreated, unscheduled until the migration is verified"
        ));
    }
    Ok(not)
}

/// After verification: each recreated job scheduled as on the source, and
/// starting when the source's would next (its `next_start`, read now from
/// the source's access node; now when that is past or unknown), not at
/// once: a retention job started at once drops rows the source still
/// holds. One line per job, saying when it starts.
pub async fn schedule(
    reach: &super::connect::Reach,
    s: &Source,
    target: &Client,
    shown: &str,
) -> Result<Vec<String>, MigrateError> {
    let notes = journal::done_notes(target)
        .await
        .map_err(|e| super::connect::sql_error(shown, "reading tsmn's record", &e))?;
    let jobs: Vec<(&Job, i32)> = s
        .jobs
        .iter()
        .filter(|j| j.scheduled)
        .filter_map(|j| Some((j, notes.get(&item(j))?.parse::<i32>().ok()?)))
        .collect();
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let an_name = &reach.plan.access_node.name;
    let an = reach.node(&reach.plan.access_node, &s.database).await?;
    let ids: Vec<i32> = jobs.iter().map(|(j, _)| j.id).collect();
    // Finite only: a job never run has none (-infinity: it starts at once
    // on the source too).
    let next: std::collections::BTreeMap<i32, String> = an
        .query(
            "SELECT job_id, next_start::text FROM timescaledb_information.jobs \
             WHERE job_id = ANY($1) AND isfinite(next_start)",
            &[&ids],
        )
        .await
        .map_err(|e| super::connect::sql_error(an_name, "reading the jobs' next starts", &e))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut said = Vec::new();
    for (j, id) in jobs {
        let from = next.get(&j.id);
        let row = target
            .query_one(
                "SELECT CASE WHEN isfinite(next_start) THEN next_start::text ELSE 'at once' END \
                 FROM alter_job($1, scheduled => true, initial_start => $2::text::timestamptz, \
                 next_start => greatest($3::text::timestamptz, now()))",
                &[&id, &j.initial_start, &from],
            )
            .await
            .map_err(|e| super::connect::sql_error(shown, &format!("scheduling job {id}"), &e))?;
        let at: String = row.get(0);
        said.push(format!(
            "job {id} ({}, job {} on the source) starts {}{}",
            j.proc,
            j.id,
            if at == "at once" { "" } else { "at " },
            at
        ));
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::Cagg;

    fn job(schema: &str, proc: &str, ht: &str, config: &str) -> Job {
        Job {
            id: 1001,
            application_name: "x".into(),
            proc_schema: schema.into(),
            proc_name: proc.into(),
            proc: QualifiedName::new(schema, proc).sql(),
            hypertable: Some(QualifiedName::new("public", ht)),
            schedule_interval: "12:00:00".into(),
            max_runtime: "00:00:00".into(),
            max_retries: -1,
            retry_period: "01:00:00".into(),
            scheduled: true,
            fixed_schedule: true,
            config: Some(config.into()),
            initial_start: None,
            timezone: None,
            check: None,
            owner: "reader".into(),
        }
    }

    #[test]
    fn policies_by_their_functions() {
        let mut s = Source::default();
        let c = job(
            "_timescaledb_functions",
            "policy_compression",
            "m",
            r#"{"hypertable_id": 3, "compress_after": "7 days"}"#,
        );
        let sql = create_sql(&c, &s).unwrap();
        assert!(sql.contains("add_compression_policy('\"public\".\"m\"', compress_after => '7 days'::interval, schedule_interval => '12:00:00'::interval)"), "{sql}");
        assert!(sql.contains("scheduled => false"), "{sql}");
        assert!(sql.contains("- 'hypertable_id'"), "{sql}");
        s.caggs.push(Cagg::example(
            4,
            3,
            QualifiedName::new("public", "_materialized_hypertable_4"),
        ));
        let r = job(
            "_timescaledb_functions",
            "policy_refresh_continuous_aggregate",
            "_materialized_hypertable_4",
            r#"{"end_offset": "01:00:00", "start_offset": null, "mat_hypertable_id": 4}"#,
        );
        let sql = create_sql(&r, &s).unwrap();
        assert!(sql.contains("add_continuous_aggregate_policy('\"public\".\"daily\"', start_offset => NULL::interval, end_offset => '01:00:00'::interval"), "{sql}");
        let i = job(
            "_timescaledb_functions",
            "policy_retention",
            "m",
            r#"{"drop_after": 1000, "hypertable_id": 3}"#,
        );
        assert!(create_sql(&i, &s)
            .unwrap()
            .contains("drop_after => 1000::bigint"));
        let u = job("public", "my job", "m", r#"{"a": 1}"#);
        let sql = create_sql(&u, &s).unwrap();
        assert!(sql.contains("add_job('\"public\".\"my job\"'::regproc, '12:00:00'::interval, config => '{\"a\": 1}'::jsonb, scheduled => false"), "{sql}");
        let e = job(
            "_timescaledb_functions",
            "policy_job_stat_history_retention",
            "m",
            "{}",
        );
        assert!(create_sql(&e, &s).unwrap_err().contains("does not know"));
    }
}
