//! ASYNC: a server that crashed while the run went on.
//!
//! Why: when one backend dies (a segfault, an OOM kill), the postmaster
//! ends every session of that server and reinitializes it: the
//! applications' sessions are cut, tsmn's own are reopened by its next
//! step, and the run may still finish and verify. Seen with TimescaleDB
//! 2.13.1: an access node's backend running an INSERT into a distributed
//! hypertable segfaulted while its data nodes restarted (the drain's
//! restart gate; `pg_ctl restart` of the data nodes by hand under the same
//! writes did it too). The operator must hear of it: a run that ends "done"
//! says nothing of a crash it caused.
//!
//! How, in any server language: a reinitialization starts the auxiliary
//! processes again under the same postmaster, so the checkpointer's
//! `backend_start` is then well after `pg_postmaster_start_time()`; a
//! restart (tsmn's or anyone's) starts both together.

use super::session::{describe, Sessions};
use std::time::Duration;

/// The checkpointer's start when the server reinitialized after a crash
/// within the last `$1` seconds (a restart starts the checkpointer with
/// the postmaster; 3 s covers a slow start).
const SQL: &str = "SELECT backend_start::text FROM pg_stat_activity \
     WHERE backend_type = 'checkpointer' \
       AND backend_start > pg_postmaster_start_time() + interval '3 s' \
       AND backend_start > now() - make_interval(secs => $1)";

/// When the server behind `client` reinitialized after a crash within the
/// last `within`, if it did.
pub async fn reinitialized(
    client: &tokio_postgres::Client,
    within: Duration,
) -> Result<Option<String>, String> {
    let row = client
        .query_opt(SQL, &[&within.as_secs_f64()])
        .await
        .map_err(|e| describe(&e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Every node of the run (`nodes`) asked at once, over a session the run
/// has open there, else a new one (a crash ends every session): the
/// warnings to show, one per server that crashed during the run
/// (`within`: its length). A node that cannot be asked is left out: the
/// run's own steps say why.
pub async fn during_run(
    sessions: &Sessions<'_>,
    nodes: &[String],
    within: Duration,
) -> Vec<(String, String)> {
    let asks = nodes.iter().map(|n| async move {
        let c = match sessions.any_open(n) {
            Some(c) => c,
            None => sessions.get(n, "postgres").await.ok()?,
        };
        let at = reinitialized(&c, within).await.ok()??;
        Some((n.clone(), warning(n, &at)))
    });
    futures_util::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Each node of the plan that crashed during the run (`within`: its
/// length), as a warning among the run's notes.
pub async fn report(
    sessions: &Sessions<'_>,
    plan: &crate::plan::Plan,
    within: Duration,
    events: &super::Events,
) {
    let nodes: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    for (node, message) in during_run(sessions, &nodes, within).await {
        let _ = events.send(super::Event::Note { node, message });
    }
}

/// The operator's words for a crash of `node`'s server at `at`.
pub fn warning(node: &str, at: &str) -> String {
    format!(
        "WARNING: {node}'s server crashed during this run and reinitialized itself at {at}: a backend died and every session on {node} was ended (the applications' too); no committed data is lost (crash recovery), and this run's steps were checked after it. Its server log names the process and the statement that failed. With TimescaleDB 2.13, a backend of the access node writing to a distributed hypertable can crash while its data nodes restart: restart data nodes while writes are stopped"
    )
}
