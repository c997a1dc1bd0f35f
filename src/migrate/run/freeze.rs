//! ASYNC: the online migration's part of the run (see `online.rs` for how
//! changes are recognised and how the writes are frozen): the copy while
//! the applications write, the freeze (asked first), then in the freeze
//! the cluster read again and the slices that changed emptied for the copy
//! to fill; at the end, proof that nothing changed in the freeze.

use super::super::connect::sql_error;
use super::super::source::{self, Source};
use super::super::{catalog, journal, online, MigrateError};
use super::{MigrateReport, Online, Run};
use std::collections::BTreeSet;
use tokio_postgres::Client;

impl Run<'_> {
    /// Up to the freeze (unless an earlier run froze already), then the
    /// freeze made sure of: the cluster as it is in the freeze, and the
    /// parts done once the changed slices are emptied.
    pub(super) async fn online(
        &self,
        online: &Online,
        target: &mut Client,
        done: BTreeSet<String>,
        report: &mut MigrateReport,
        restore_post: &(dyn Fn(&BTreeSet<String>) -> Result<(), MigrateError> + Sync),
    ) -> Result<(Source, BTreeSet<String>), MigrateError> {
        let (db, an) = (&self.s.database, &self.reach.plan.access_node.name);
        if done.contains("freeze") {
            (self.say)("the writes were frozen by an earlier run: going on in the freeze");
        } else {
            let held = online::held_back(self.s);
            (self.say)(&format!(
                "copying while the applications write: all but {} part(s) (each hypertable's newest time slice, the access node's tables)",
                held.len()
            ));
            self.copy(&done, report, &held).await?;
            restore_post(&done)?;
            let question = format!(
                "Freeze the writes to {db} on {an} now? Its sessions are ended, new ones are read-only, its job scheduler stops. The freeze lasts until the applications use the target (tsmn migrate --abandon lifts it). [y/N] "
            );
            if !(online.ask)(&question) {
                return Err(MigrateError::Failed(
                    "the writes were not frozen, so the migration cannot finish\n    fix: run tsmn migrate --online again when the applications can pause: what was copied stays recorded and is copied again only where it changed".into(),
                ));
            }
        }
        // Again on a re-run: a server restarted since starts its scheduler,
        // and a session may have come back.
        online::freeze(self.reach, self.s).await?;
        if !done.contains("freeze") {
            let at =
                (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
            let mark = journal::mark_sql("freeze", None, Some(&at));
            target
                .batch_execute(&mark)
                .await
                .map_err(|e| sql_error(&self.shown, "recording the freeze", &e))?;
            journal::record(self.path, serde_json::json!({ "done": "freeze" }));
            (self.say)(&format!(
                "writes to {db} frozen: copying the rest (tsmn migrate --abandon lifts the freeze)"
            ));
        }
        let (mut s, c) = source::read(self.reach).await?;
        catalog::extras(&c, &mut s)
            .await
            .map_err(|e| sql_error(an, "reading the aggregates, jobs and sequences", &e))?;
        drop(c);
        let copied = online::recorded(target)
            .await
            .map_err(|e| sql_error(&self.shown, "reading tsmn's record", &e))?;
        let changed = online::changed(self.reach, &s, &copied).await?;
        report.changed_in_freeze = changed.len();
        if !changed.is_empty() {
            target
                .batch_execute(&online::empty_slices_sql(self.s, &s, &changed))
                .await
                .map_err(|e| sql_error(&self.shown, "emptying the slices that changed", &e))?;
            (self.say)(&format!(
                "{} chunk(s) changed after their copy: their time slices are copied again",
                changed.len()
            ));
        }
        let done = journal::done_items(target)
            .await
            .map_err(|e| sql_error(&self.shown, "reading tsmn's record", &e))?;
        Ok((s, done))
    }

    /// Proof that no write reached the source in the freeze (every chunk's
    /// counter as at its copy), and the freeze's length so far.
    pub(super) async fn unchanged_in_freeze(
        &self,
        target: &Client,
        report: &mut MigrateReport,
    ) -> Result<(), MigrateError> {
        let copied = online::recorded(target)
            .await
            .map_err(|e| sql_error(&self.shown, "reading tsmn's record", &e))?;
        let changed = online::changed(self.reach, self.s, &copied).await?;
        if !changed.is_empty() {
            return Err(MigrateError::Failed(format!(
                "the source changed during the freeze: {}\n    fix: something still writes (a session connected to a data node directly, or one that turned read-only off): stop it, then run tsmn migrate --online again (what changed is copied again)",
                changed.join(", ")
            )));
        }
        let at: Option<String> = target
            .query_opt(
                "SELECT note FROM tsmn_migrate.done WHERE item = 'freeze'",
                &[],
            )
            .await
            .map_err(|e| sql_error(&self.shown, "reading tsmn's record", &e))?
            .and_then(|r| r.get(0));
        // Milliseconds since the Unix epoch, as recorded.
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        report.freeze_seconds = at
            .and_then(|a| a.parse::<i128>().ok())
            .map(|a| (now - a) as f64 / 1000.0);
        Ok(())
    }
}
