//! What keeps a migration resumable when tsmn is killed (`kill -9`) at any
//! moment, beyond the per-part transactions with their record
//! (`journal`):
//!
//! * a killed tsmn leaves its `psql` restore running (an orphan, its
//!   transaction open), and the server ends a killed session's open
//!   transaction only when it next reads from it: each restore script
//!   takes a transaction-level advisory lock first, and a new run waits
//!   for that lock before it reads what is done, so it never reads the
//!   record while an earlier run's transaction can still commit;
//! * the end is ordered so that no moment leaves the target looking like
//!   a foreign database: the target records `verified` (with the run's
//!   other marks), then the journal says finished, then tsmn's record on
//!   the target is dropped. Killed before the journal line, a re-run finds
//!   the record and goes through verification again; killed after it, a
//!   re-run says there is nothing to do and drops the record left behind.

use super::connect::{sql_error, Reach, TargetAddr};
use super::MigrateError;
use tokio_postgres::Client;

/// The advisory lock every restore script and every run's start take on
/// the target database (an arbitrary key: "tsmn" in ASCII).
pub const LOCK_KEY: i64 = 0x7473_6d6e;

/// PURE: the first statement of a restore script (psql -1: held until it
/// commits or rolls back).
pub fn restore_lock_sql() -> String {
    format!("SELECT pg_catalog.pg_advisory_xact_lock({LOCK_KEY});\n")
}

/// PURE: the same lock shared, for the parts of one step restored side by
/// side (post-data's index groups): they do not wait for each other, and
/// an earlier run's start still waits for them all.
pub fn restore_lock_shared_sql() -> String {
    format!("SELECT pg_catalog.pg_advisory_xact_lock_shared({LOCK_KEY});\n")
}

/// Wait until no earlier run's restore transaction is open on the target.
pub async fn wait_for_earlier_run(
    target: &Client,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), MigrateError> {
    let free: bool = target
        .query_one(
            &format!("SELECT pg_catalog.pg_try_advisory_lock({LOCK_KEY})"),
            &[],
        )
        .await
        .map_err(|e| sql_error(shown, "taking tsmn's migration lock", &e))?
        .get(0);
    if !free {
        say("waiting for an earlier run's restore (a psql session left by a killed tsmn) to end on the target");
        target
            .batch_execute(&format!("SELECT pg_catalog.pg_advisory_lock({LOCK_KEY})"))
            .await
            .map_err(|e| sql_error(shown, "waiting for tsmn's migration lock", &e))?;
    }
    target
        .batch_execute(&format!("SELECT pg_catalog.pg_advisory_unlock({LOCK_KEY})"))
        .await
        .map_err(|e| sql_error(shown, "releasing tsmn's migration lock", &e))
}

/// The target's mark of a verified migration.
pub const VERIFIED: &str = "verified";

/// PURE: the statement that records the migration as verified (again, on
/// a re-run that found it so).
pub fn verified_sql() -> String {
    format!(
        "{} ON CONFLICT (item) DO NOTHING",
        super::journal::mark_sql(VERIFIED, None, None)
    )
}

/// The end of a verified run: the journal says finished (the target
/// recorded `verified` before), then tsmn's record on the target goes; a
/// record that stays is a warning (the next run drops it).
pub async fn finish(
    reach: &Reach,
    t: &TargetAddr,
    journal: &std::path::Path,
    warnings: &mut Vec<String>,
) {
    super::journal::record(
        journal,
        serde_json::json!({ "run": "finished", "ok": true }),
    );
    if let Err(e) = tidy(reach, t).await {
        warnings.push(format!(
            "{e}: tsmn's record (schema tsmn_migrate) stays on the target; the next tsmn migrate drops it, or DROP SCHEMA tsmn_migrate CASCADE"
        ));
    }
}

/// Drop tsmn's record on the target once the journal says the migration
/// is finished; only a record that says `verified` (Ok(false): none).
pub async fn tidy(reach: &Reach, t: &TargetAddr) -> Result<bool, MigrateError> {
    let shown = t.shown();
    let c = reach.target(t, &t.database).await?;
    let verified = super::journal::done_items(&c)
        .await
        .map_err(|e| sql_error(&shown, "reading tsmn's record", &e))?
        .contains(VERIFIED);
    if !verified {
        return Ok(false);
    }
    c.batch_execute("DROP SCHEMA IF EXISTS tsmn_migrate CASCADE")
        .await
        .map_err(|e| sql_error(&shown, "removing tsmn's record", &e))?;
    Ok(true)
}
