//! Settings that need a restart. tsmn restarts the nodes it may (on this
//! host, data directory readable); for the others it says which and how,
//! then waits, polling, until each is back with the settings applied.
//! This file is the gate step and the summary's decision; whether a node
//! is tsmn's to restart is in local.rs, the restart itself in pg_ctl.rs,
//! what a node says of itself in pending.rs, the wait in wait.rs.

mod local;
mod pending;
mod pg_ctl;
mod wait;

pub use pg_ctl::in_flight;

use super::session::Sessions;
use super::{Event, Events, Outcome, RestartPolicy, RunOptions};
use local::local;
use pending::{ask, pending, pending_all, settled};
use pg_ctl::restart_local;
use wait::wait_back;

pub const HOW: &str = "restart PostgreSQL on each (systemctl restart postgresql, or pg_ctlcluster <version> <cluster> restart)";

/// Before the run, for the summary the operator confirms: Ok(the exact
/// command tsmn will run to restart this node) or Err(how the operator
/// restarts it while tsmn waits). The same decision the run makes.
pub async fn decision(client: &tokio_postgres::Client) -> Result<String, String> {
    let p = ask(client)
        .await
        .map_err(|e| format!("tsmn cannot tell where it runs ({e}): {HOW}"))?;
    local(&p).map(|l| l.command())
}

pub async fn gate(
    nodes: &[String],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
) -> Outcome {
    let mut waiting = Vec::new();
    for (n, p) in pending_all(sessions, nodes).await {
        match p {
            Ok(p) if p.settings.is_empty() => {}
            Ok(p) => waiting.push((n, p)),
            Err(e) => {
                return Outcome::Failed {
                    message: format!("cannot reach {n}: {e}"),
                }
            }
        }
    }
    if waiting.is_empty() {
        return Outcome::AlreadyDone {
            detail: "no setting waits for a restart".into(),
        };
    }
    let names: Vec<String> = waiting.iter().map(|(n, _)| n.clone()).collect();
    for (n, p) in &waiting {
        tracing::info!("[{n}] waits for a restart: {}", p.settings);
    }
    if o.restart == RestartPolicy::Never {
        tracing::info!("restart policy never: not restarting {}", names.join(", "));
        let _ = events.send(Event::RestartNeeded {
            nodes: names.clone(),
            how: HOW.into(),
        });
        let list: Vec<String> = waiting
            .iter()
            .map(|(n, p)| format!("{n} ({})", p.settings))
            .collect();
        return Outcome::Failed {
            message: format!(
                "restart needed on {}: {HOW}; then run {} again",
                list.join(", "),
                o.kind.command()
            ),
        };
    }
    // Restart the local ones together, each asked again as soon as it is
    // back; the others are someone else's to restart.
    // Only the nodes tsmn does not restart itself are the operator's to restart.
    // Each proof reads the node's files and runs its pg_controldata: all
    // nodes at once, off the runtime's threads.
    let proofs = futures_util::future::join_all(waiting.iter().map(|(n, p)| {
        let p = p.clone();
        async move {
            let l = tokio::task::spawn_blocking(move || local(&p))
                .await
                .unwrap_or_else(|e| Err(format!("{HOW} (the check failed: {e})")));
            (n, l)
        }
    }))
    .await;
    let (mine, theirs): (Vec<_>, Vec<_>) = proofs.into_iter().partition(|(_, l)| l.is_ok());
    for (n, how) in &theirs {
        tracing::info!(
            "[{n}] not restarted by tsmn: {}",
            how.as_ref().err().map_or("", String::as_str)
        );
        let _ = events.send(Event::RestartNeeded {
            nodes: vec![(*n).clone()],
            how: how.as_ref().err().cloned().unwrap_or_default(),
        });
    }
    let mut jobs = Vec::new();
    let mut left = Vec::new();
    for (n, l) in mine.into_iter().chain(theirs) {
        match l {
            Ok(l) => {
                tracing::info!("[{n}] restarting: {}", l.command());
                let _ = events.send(Event::Restarting { node: n.clone() });
                sessions.drop_node(n);
                jobs.push(async move {
                    let node = n.clone();
                    let restarted = tokio::task::spawn_blocking(move || restart_local(&node, &l))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                    match restarted {
                        Err(e) => Err(format!("{n}: {e}")),
                        Ok(()) => Ok((n.clone(), settled(&pending(sessions, n).await))),
                    }
                });
            }
            Err(_) => left.push(n.clone()),
        }
    }
    let remote = left.clone();
    for j in futures_util::future::join_all(jobs).await {
        match j {
            Err(e) => return Outcome::Failed { message: e },
            Ok((_, true)) => {}
            Ok((n, false)) => left.push(n),
        }
    }
    if let Some(failed) = wait_back(left, &remote, o, sessions, events).await {
        return failed;
    }
    after_restarts(&names, o, sessions).await
}

/// The restarts done: the run's lock taken again where the access node
/// restarted (the restart ended the session that held it), then the data
/// nodes healed (heal_after).
async fn after_restarts(names: &[String], o: &RunOptions<'_>, sessions: &Sessions<'_>) -> Outcome {
    if names.contains(&o.plan.access_node.name) {
        if let Err(message) = super::run_lock::retake(o, sessions).await {
            return Outcome::Failed { message };
        }
    }
    let mut detail = vec![format!("restarted {}", names.join(", "))];
    detail.extend(heal_after(o, sessions).await);
    Outcome::Done {
        detail: detail.join("; "),
    }
}

/// A data node restarted under writes can leave an acknowledged row
/// prepared and invisible (the access node's COMMIT PREPARED met the
/// closing connection: only a WARNING, tsl/src/remote/dist_txn.c; see
/// run/prepared.rs): in a running cluster every data node is healed once
/// the restarts are done. Nothing to do where the cluster database or
/// TimescaleDB is not there yet; a data node that cannot be healed now is
/// named (the engine heals it later, or the maintenance job).
async fn heal_after(o: &RunOptions<'_>, sessions: &Sessions<'_>) -> Vec<String> {
    let Ok(an) = sessions
        .get(&o.plan.access_node.name, &o.plan.database)
        .await
    else {
        return Vec::new();
    };
    let version = crate::pg::timescaledb_version(&an).await;
    let Some(version) = version else {
        return Vec::new();
    };
    let schema = crate::timescale::functions_schema(Some(&version));
    super::prepared::heal_all(&an, schema)
        .await
        .unwrap_or_default()
}
