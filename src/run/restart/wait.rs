//! Waiting for nodes to come back from a restart with nothing pending,
//! and telling a node that is back but refuses tsmn's login at once.

use super::pending::{pending_all, settled};
use super::HOW;
use crate::run::session::Sessions;
use crate::run::{Event, Events, Outcome, RunOptions};
use std::time::{Duration, Instant};

/// Wait until every node in `left` answers with nothing pending (those in
/// `remote` are someone else's to restart: progress is reported for them).
/// Some(failure) when one refuses tsmn's login or the wait runs out.
pub(super) async fn wait_back(
    mut left: Vec<String>,
    remote: &[String],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
) -> Option<Outcome> {
    let started = Instant::now();
    loop {
        let asked = pending_all(sessions, &left).await;
        // A node that is back but refuses tsmn's login will not let it in
        // by waiting longer: say so at once.
        if let Some((n, Err(e))) = asked
            .iter()
            .find(|(_, p)| p.as_ref().is_err_and(|e| refuses_login(e)))
        {
            return Some(Outcome::Failed {
                message: format!("{n} is back but refuses tsmn's login: {e}\n    fix: log in to {n} as the plan's superuser the way tsmn does (password, passfile, certificate), then run {} again", o.kind.command()),
            });
        }
        left = asked
            .into_iter()
            .filter(|(_, p)| !settled(p))
            .map(|(n, _)| n)
            .collect();
        if left.is_empty() {
            break;
        }
        if o.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Some(Outcome::Skipped {
                why: format!(
                    "cancelled while waiting for {} to come back",
                    left.join(", ")
                ),
            });
        }
        if started.elapsed() > o.restart_wait {
            return Some(Outcome::Failed { message: format!("{} did not come back with the new settings within {} s: {HOW}; then run {} again", left.join(", "), o.restart_wait.as_secs(), o.kind.command()) });
        }
        for n in left.iter().filter(|n| remote.contains(n)) {
            let _ = events.send(Event::Waiting {
                node: n.clone(),
                seconds: started.elapsed().as_secs(),
            });
        }
        match &o.cancel {
            Some(c) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = c.cancelled() => {}
                }
            }
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    None
}

/// The server answered and turned the login away (not: not up yet).
fn refuses_login(message: &str) -> bool {
    matches!(
        crate::findings::connect::explain(None, message).code,
        "password_failed"
            | "no_password"
            | "no_hba_entry"
            | "hba_rejects"
            | "client_cert_missing"
            | "client_cert_rejected"
            | "role_missing"
            | "cannot_login"
    )
}
