//! ASYNC: what a running access node shows of its health (check's
//! findings::health): its remote_txn records and the background jobs whose
//! last run failed. The failed jobs' statement is shared with status's
//! one access node statement (status/queries.rs), so both see the same
//! jobs.

use crate::facts::FailedJob;
use tokio_postgres::Client;

/// `_timescaledb_catalog.remote_txn`'s rows: two-phase commits whose
/// outcome the access node keeps until healing clears them.
const REMOTE_TXN_SQL: &str = "SELECT count(*) FROM _timescaledb_catalog.remote_txn";

/// The background jobs whose last run failed, as a JSON list (job_id,
/// proc_name, hypertable, total_failures, next_start, last_error): read
/// by check (FAILED_JOBS_SQL) and inside status's one access node
/// statement (status/queries.rs), so both see the same jobs.
macro_rules! failed_jobs_json {
    () => {
        "(SELECT coalesce(json_agg(json_build_object('job_id', j.job_id, 'proc_name', j.proc_name, \
      'hypertable', CASE WHEN j.hypertable_name IS NULL THEN NULL \
                         ELSE j.hypertable_schema || '.' || j.hypertable_name END, \
      'total_failures', s.total_failures, 'next_start', s.next_start::text, \
      'last_error', (SELECT e.err_message FROM timescaledb_information.job_errors e \
         WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC NULLS LAST LIMIT 1)) \
      ORDER BY j.job_id), '[]') \
    FROM timescaledb_information.jobs j JOIN timescaledb_information.job_stats s USING (job_id) \
    WHERE s.last_run_status = 'Failed')::text"
    };
}
pub(crate) use failed_jobs_json;
const FAILED_JOBS_SQL: &str = concat!("SELECT ", failed_jobs_json!());

/// The remote_txn backlog (None: not read) and the failed jobs. Both are
/// an access node's (a data node's remote_txn is empty, its jobs its
/// own): read wherever they answer.
pub async fn read(client: &Client) -> (Option<i64>, Vec<FailedJob>) {
    let (backlog, failed) = tokio::join!(
        crate::pg::rows(client, REMOTE_TXN_SQL, &[]),
        crate::pg::rows(client, FAILED_JOBS_SQL, &[]),
    );
    let backlog = backlog.ok().and_then(|r| r.first().map(|r| r.get(0)));
    let failed = failed
        .ok()
        .and_then(|r| r.first().map(|r| r.get::<_, String>(0)))
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (backlog, failed)
}
