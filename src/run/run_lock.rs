//! ASYNC: the run's lock on the access node, one per cluster: an advisory
//! lock keyed by the cluster database's name, held by a session of tsmn's
//! in the `postgres` database for as long as the run lasts. flow/lock.rs
//! takes it before anything changes; the restart gate takes it again once
//! it restarted the access node (the restart ended the session that held
//! it, and a run without it would let another start beside it); status
//! asks whether a run holds it (a write pause without one was left by a
//! killed run).

use super::session::{describe, Sessions};
use super::RunOptions;

/// The lock's key, of the SQL expression `database` (the cluster
/// database's name): `$1` for a query given the name, a column for one
/// that reads it from a catalog.
pub fn key_sql(database: &str) -> String {
    format!("hashtext('tsmn apply ' || {database})")
}

/// Take the lock again on a session kept for the rest of the run, after
/// the access node restarted. Err: another run took it meanwhile.
pub async fn retake(o: &RunOptions<'_>, sessions: &Sessions<'_>) -> Result<(), String> {
    let an = &o.plan.access_node.name;
    let client = sessions
        .get(an, "postgres")
        .await
        .map_err(|e| format!("taking the run's lock on {an} again: {e}"))?;
    let sql = format!("SELECT pg_try_advisory_lock({})", key_sql("$1"));
    // The killed session's lock goes with its backend, which may linger a
    // moment after the restart: asked again for up to two seconds.
    for attempt in 0..20 {
        let got: bool = client
            .query_one(&sql, &[&o.plan.database])
            .await
            .map_err(|e| format!("taking the run's lock on {an} again: {}", describe(&e)))?
            .get(0);
        if got {
            return Ok(());
        }
        if attempt < 19 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Err(format!(
        "another tsmn run took the cluster's lock on {an} while tsmn restarted it: this run stops here (what it changed stays; the journal has it); run {} again once the other has finished",
        o.kind.command()
    ))
}
