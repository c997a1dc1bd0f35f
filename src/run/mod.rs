//! ASYNC: the executor. Runs the steps from `steps/` on real nodes through
//! superuser connections, and reports through an event channel: it knows
//! nothing of terminals, so `tsmn apply` and the wizard share it.
//!
//! This file runs the phases in order; phase.rs runs one phase (its turns,
//! and the data nodes' rule changes rolled out), sequence.rs one node's
//! steps, and each kind of action has its own file (exec, hba, moves,
//! restart, rotate, undo, verify). What a run reports is in events.rs,
//! what it does (apply or undo) in kind.rs.

mod events;
mod kind;
pub use kind::RunKind;
mod copy_errors;
mod copy_turns;
pub mod crashes;
mod exec;
pub mod files;
mod hba;
pub mod journal;
pub mod links;
mod moves;
mod moves_left;
mod phase;
mod prepared;
mod recheck;
mod restart;
mod rotate;
pub mod run_lock;
mod sequence;
mod step_io;
mod supervisor;
mod undo;
pub use events::{Event, Events, Outcome};
pub use restart::{
    decision as restart_decision, in_flight as restarts_in_flight, HOW as RESTART_HOW,
};
pub mod session;
mod verify;

use crate::plan::Plan;
use crate::probe::credentials::PasswordSource;
use crate::probe::ProbeOptions;
use crate::steps::material::Material;
use crate::steps::secrets::Secrets;
use crate::steps::{Phase, Step, StepState};
use phase::run_phase;
use session::Sessions;

/// How restarts are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Name the nodes and how to restart them, then stop.
    Never,
    /// Restart nodes on this host whose data directory tsmn can read;
    /// wait for the others.
    Local,
}

pub struct RunOptions<'a> {
    pub plan: &'a Plan,
    pub passwords: &'a PasswordSource,
    pub secrets: &'a Secrets,
    pub material: Option<&'a Material>,
    pub probe: ProbeOptions,
    pub phases: Vec<Phase>,
    pub restart: RestartPolicy,
    /// How long to wait for a node that someone else restarts.
    pub restart_wait: std::time::Duration,
    /// Where finished steps are recorded (beside the plan).
    pub journal: Option<std::path::PathBuf>,
    /// Stops the run before the next step (the running one finishes).
    pub cancel: Option<tokio_util::sync::CancellationToken>,
    /// The command that runs (its messages name it: "run tsmn rebalance
    /// again", not apply).
    pub kind: RunKind,
}

/// Run the steps. Within a phase the data nodes run in parallel; the access
/// node's steps of a phase run after them.
pub async fn run(steps: &[Step], o: &RunOptions<'_>, events: Events) -> bool {
    run_adopting(steps, o, events, Vec::new()).await
}

/// `run`, on connections the probe left open (each node's `postgres`
/// database), so a node sees one tsmn session for probe and steps.
pub async fn run_adopting(
    steps: &[Step],
    o: &RunOptions<'_>,
    events: Events,
    kept: crate::probe::Kept,
) -> bool {
    let tls = match crate::probe::tls::Tls::from_plan(o.plan) {
        Ok(t) => t,
        Err(e) => {
            let _ = events.send(Event::Note {
                node: o.plan.access_node.name.clone(),
                message: e,
            });
            let _ = events.send(Event::Finished { ok: false });
            return false;
        }
    };
    let stamp = time_stamp();
    let started = std::time::Instant::now();
    if let Some(j) = &o.journal {
        journal::start(j);
    }
    // One connection per node and database, kept across phases.
    let mut sessions = Sessions::new(o.plan, o.passwords, o.probe, tls, events.clone());
    sessions.leaving = leaving(steps);
    sessions.leaving_credentials(o);
    sessions.kind = o.kind;
    for (node, client) in kept {
        sessions.adopt(&node, "postgres", client);
    }
    // The links as they are before anything changes, when this run may
    // change something: what a failed or interrupted run is held to.
    let before = if steps
        .iter()
        .any(|s| o.phases.contains(&s.phase) && s.state == StepState::Todo)
    {
        links::all(o, &sessions).await
    } else {
        None
    };
    let mut ok = true;
    for phase in Phase::ALL {
        let in_phase: Vec<&Step> = steps.iter().filter(|s| s.phase == phase).collect();
        if in_phase.is_empty() {
            continue;
        }
        if !o.phases.contains(&phase) {
            for s in in_phase {
                report_without_running(
                    &events,
                    s,
                    Outcome::Skipped {
                        why: format!("phase {} not selected", phase.as_str()),
                    },
                );
            }
            continue;
        }
        if !ok {
            for s in in_phase {
                report_without_running(
                    &events,
                    s,
                    Outcome::Skipped {
                        why: "an earlier step failed or is blocked".into(),
                    },
                );
            }
            continue;
        }
        // A phase that cannot finish does not start: nothing of it changes
        // (a later phase's blocker stops only that phase).
        if let Some(b) = in_phase
            .iter()
            .find(|s| matches!(s.state, StepState::Blocked { .. }))
        {
            for s in &in_phase {
                let outcome = match &s.state {
                    StepState::Blocked { why } => Outcome::Blocked { why: why.clone() },
                    _ => Outcome::Skipped {
                        why: format!(
                            "the {} phase cannot finish ({} is blocked), so none of it runs",
                            phase.as_str(),
                            b.id
                        ),
                    },
                };
                report_without_running(&events, s, outcome);
            }
            ok = false;
            continue;
        }
        ok &= run_phase(&in_phase, o, &sessions, &events, &stamp).await;
    }
    let cancelled = o.cancel.as_ref().is_some_and(|c| c.is_cancelled());
    crashes::report(&sessions, o.plan, started.elapsed(), &events).await;
    if let (Some(before), false) = (&before, ok && !cancelled) {
        if let Some(now) = links::all(o, &sessions).await {
            let _ = events.send(Event::Links {
                links: links::beside(now, before),
            });
        }
    }
    if let Some(j) = &o.journal {
        journal::finish(j, ok, cancelled);
    }
    let _ = events.send(Event::Finished { ok });
    ok
}

fn report_without_running(events: &Events, s: &Step, outcome: Outcome) {
    let _ = events.send(Event::StepFinished {
        step: s.id.clone(),
        node: s.node.clone(),
        outcome,
        millis: 0,
    });
}

/// For the summary before a run: the restart decision for `node` when it
/// is a data node leaving in this run (not in the plan, so the probe kept
/// no connection to it), made as the run's restart gate makes it: on a
/// connection where the access node reaches it, with the credentials the
/// run uses there. None: `node` does not leave in this run.
pub async fn leaving_decision(
    steps: &[Step],
    o: &RunOptions<'_>,
    node: &str,
) -> Option<Result<String, String>> {
    let leaving = leaving(steps);
    if !leaving.iter().any(|l| l.name == node) {
        return None;
    }
    let tls = match crate::probe::tls::Tls::from_plan(o.plan) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("{e}: {HOW}", HOW = RESTART_HOW))),
    };
    let (events, _unheard) = tokio::sync::mpsc::unbounded_channel();
    let mut sessions = Sessions::new(o.plan, o.passwords, o.probe, tls, events);
    sessions.leaving = leaving;
    sessions.leaving_credentials(o);
    Some(match sessions.fresh(node, "postgres").await {
        Ok(client) => restart_decision(&client).await,
        Err(e) => Err(format!(
            "tsmn cannot reach {node} where the access node does ({e}): {RESTART_HOW}"
        )),
    })
}

/// The data nodes that leave the cluster in this run, as tsmn reaches them
/// (where the access node did): they are not in the plan.
fn leaving(steps: &[Step]) -> Vec<crate::plan::Node> {
    steps
        .iter()
        .filter_map(|s| match &s.action {
            crate::steps::Action::HbaBlockRemoved { host, port } => Some(crate::plan::Node {
                name: s.node.clone(),
                host: host.clone(),
                port: *port,
                connect_host: None,
                connect_port: None,
                dsn: None,
                service: None,
                hypertables: None,
            }),
            _ => None,
        })
        .collect()
}

fn time_stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
