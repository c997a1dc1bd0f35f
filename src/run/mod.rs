//! ASYNC: the executor. Runs the steps from `steps/` on real nodes through
//! superuser connections, and reports through an event channel: it knows
//! nothing of terminals, so `tsmn apply` and the wizard share it.

mod kind;
pub use kind::RunKind;
mod exec;
pub mod files;
mod hba;
pub mod journal;
pub mod links;
mod moves;
mod restart;
mod rotate;
mod step_io;
mod supervisor;
mod undo;
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
use crate::steps::{Order, Phase, Step, StepState, Turn};
use serde::Serialize;
use session::Sessions;
use std::time::Instant;

pub type Events = tokio::sync::mpsc::UnboundedSender<Event>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: String,
        node: String,
        title: String,
    },
    StepFinished {
        step: String,
        node: String,
        outcome: Outcome,
        millis: u64,
    },
    /// A notice or warning from the server (add_data_node's deprecation
    /// WARNING, say): shown, not a failure.
    Note {
        node: String,
        message: String,
    },
    /// Nodes that must restart before the cluster phase.
    RestartNeeded {
        nodes: Vec<String>,
        how: String,
    },
    Restarting {
        node: String,
    },
    /// Waiting for a node to come back (after a restart tsmn did not do).
    Waiting {
        node: String,
        seconds: u64,
    },
    /// After a run that failed or was interrupted: the access node's
    /// links to the data nodes as they are now, beside how they were.
    Links {
        links: Vec<links::LinkState>,
    },
    Finished {
        ok: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        detail: String,
    },
    AlreadyDone {
        detail: String,
    },
    /// A check that held: proven on the servers, nothing changed.
    Verified {
        detail: String,
    },
    Failed {
        message: String,
    },
    Blocked {
        why: String,
    },
    Skipped {
        why: String,
    },
}

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
    if let Some(j) = &o.journal {
        journal::start(j);
    }
    // One connection per node and database, kept across phases.
    let mut sessions = Sessions::new(o.plan, o.passwords, o.probe, tls, events.clone());
    sessions.leaving = leaving(steps);
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

/// At most this many steps of one node run together (each on its own
/// session): enough for every data node of a large cluster in one or two
/// rounds, far below any server's max_connections.
const TOGETHER: usize = 16;

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

/// One phase: the access node's first steps (the restart gate); then every
/// data node's steps, one task per data node, beside the access node's
/// steps that need nothing from them; then the access node's other steps.
async fn run_phase(
    in_phase: &[&Step],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> bool {
    // The turns are the steps' own (the order preview and export list).
    let an = o.plan.access_node.name.as_str();
    let in_turn = |t: Turn| -> Vec<&Step> {
        in_phase
            .iter()
            .copied()
            .filter(|s| crate::steps::turn(s, an) == t)
            .collect()
    };
    let (first, data_nodes, beside, mut after) = (
        in_turn(Turn::First),
        in_turn(Turn::DataNodes),
        in_turn(Turn::BesideDataNodes),
        in_turn(Turn::AfterDataNodes),
    );
    // The last turn runs after the access node's, one step after another.
    after.extend(in_turn(Turn::Last));
    let mut ok = run_sequence(&first, o, sessions, events, stamp).await;
    if !ok {
        for s in data_nodes.iter().chain(&beside).chain(&after) {
            report_without_running(
                events,
                s,
                Outcome::Skipped {
                    why: "an earlier step failed or is blocked".into(),
                },
            );
        }
        return false;
    }
    let mut tasks = Vec::new();
    for node in o.plan.data_nodes.iter().map(|n| n.name.as_str()) {
        let mine: Vec<&Step> = data_nodes
            .iter()
            .copied()
            .filter(|s| s.node == node)
            .collect();
        if !mine.is_empty() {
            tasks.push(async move { run_sequence(&mine, o, sessions, events, stamp).await });
        }
    }
    // The access node's steps beside the data nodes', then the sessions its
    // steps after them will need, while the data nodes work.
    let beside_then_lanes = async {
        let ok = run_sequence(&beside, o, sessions, events, stamp).await;
        if ok && !data_nodes.is_empty() {
            open_lanes(&after, sessions).await;
        }
        ok
    };
    let (results, beside_ok) =
        futures_util::future::join(futures_util::future::join_all(tasks), beside_then_lanes).await;
    let data_nodes_ok = results.into_iter().all(|r| r);
    ok = data_nodes_ok && beside_ok;
    if !ok {
        let why = if data_nodes_ok {
            "an earlier step on this node failed"
        } else {
            "a data node's step failed"
        };
        for s in after {
            report_without_running(events, s, Outcome::Skipped { why: why.into() });
        }
        return false;
    }
    // The data nodes' rule changes (make before break) roll out: one node
    // first, proved from the access node; the others then together, each
    // proved and taken back on its own. What would break every node (a
    // wrong address, a passfile the access node cannot use) shows on the
    // first and stops the rest; a node's own fault stays that node's.
    let (rollout, rest): (Vec<&Step>, Vec<&Step>) = after
        .into_iter()
        .partition(|s| s.node != an && matches!(s.action, crate::steps::Action::HbaBlock { .. }));
    let at = rest
        .iter()
        .position(|s| crate::steps::turn(s, an) == Turn::Last)
        .unwrap_or(rest.len());
    let ok = run_sequence(&rest[..at], o, sessions, events, stamp).await;
    let ok = roll_out(&rollout, ok, o, sessions, events, stamp).await;
    let mut ok_rest = ok;
    for s in &rest[at..] {
        ok_rest = run_one(s, 0, ok_rest, o, sessions, events, stamp).await && ok_rest;
    }
    ok_rest
}

/// Steps on different data nodes: the first alone, then the others at
/// once (each on its node's own session), unless the first failed.
async fn roll_out(
    steps: &[&Step],
    ok: bool,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> bool {
    let Some((canary, others)) = steps.split_first() else {
        return ok;
    };
    let ok = run_one(canary, 0, ok, o, sessions, events, stamp).await && ok;
    let runs = others
        .iter()
        .map(|s| run_one(s, 0, ok, o, sessions, events, stamp));
    futures_util::future::join_all(runs)
        .await
        .into_iter()
        .all(|r| r)
        && ok
}

/// Where a sequence's groups of neighbouring `Together` steps lie (at most
/// TOGETHER each; a lone one is no group): the one reading of the order,
/// for running them and for opening their sessions ahead.
fn groups(steps: &[&Step]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let together = steps[i..]
            .iter()
            .take(TOGETHER)
            .take_while(|s| s.order == Order::Together)
            .count();
        if together > 1 {
            out.push(i..i + together);
            i += together;
        } else {
            i += 1;
        }
    }
    out
}

/// One node's steps, in order; stops at the first failure. Neighbouring
/// steps marked `Together` run at the same time, each on its own session
/// (lane 1, 2, ... in the group's order).
async fn run_sequence(
    steps: &[&Step],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> bool {
    let groups = groups(steps);
    let mut ok = true;
    let mut i = 0;
    while i < steps.len() {
        match groups.iter().find(|g| g.start == i) {
            Some(g) if ok => {
                let runs = steps[g.clone()]
                    .iter()
                    .enumerate()
                    .map(|(lane, s)| run_one(s, lane + 1, true, o, sessions, events, stamp));
                ok = futures_util::future::join_all(runs)
                    .await
                    .into_iter()
                    .all(|r| r);
                i = g.end;
            }
            _ => {
                ok = run_one(steps[i], 0, ok, o, sessions, events, stamp).await && ok;
                i += 1;
            }
        }
    }
    ok
}

/// The sessions that the groups of `steps` will run on, opened now, all at
/// once: each costs its connection's round trips and a server process's
/// start, hidden this way behind the work before them (the data nodes'
/// bootstrap, for the access node's add_data_node calls). One that fails
/// to open is left to its step, which says why.
async fn open_lanes(steps: &[&Step], sessions: &Sessions<'_>) {
    let mut wanted = Vec::new();
    for g in groups(steps) {
        for (lane, s) in steps[g].iter().enumerate() {
            if let crate::steps::Action::Sql { database, .. }
            | crate::steps::Action::Verify { database, .. } = &s.action
            {
                wanted.push((s.node.as_str(), database.as_str(), lane + 1));
            }
        }
    }
    let opened = wanted
        .iter()
        .map(|(node, db, lane)| sessions.get_on(node, db, *lane));
    futures_util::future::join_all(opened).await;
}

/// One step on `lane` of its node; `ok`: whether the node's steps before it
/// succeeded (if not, it is reported skipped). Whether it succeeded.
async fn run_one(
    s: &Step,
    lane: usize,
    ok: bool,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> bool {
    if o.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
        report_without_running(
            events,
            s,
            Outcome::Skipped {
                why: "cancelled".into(),
            },
        );
        return false;
    }
    if let StepState::Blocked { why } = &s.state {
        report_without_running(events, s, Outcome::Blocked { why: why.clone() });
        return false;
    }
    if !ok {
        report_without_running(
            events,
            s,
            Outcome::Skipped {
                why: "an earlier step on this node failed".into(),
            },
        );
        return false;
    }
    tracing::info!("[{}] {}: started ({})", s.node, s.id, s.title);
    let _ = events.send(Event::StepStarted {
        step: s.id.clone(),
        node: s.node.clone(),
        title: s.title.clone(),
    });
    let started = Instant::now();
    let outcome = match &s.state {
        StepState::Done { why } if !exec::rechecks(&s.action) => Outcome::AlreadyDone {
            detail: why.clone(),
        },
        _ => exec::step(s, lane, o, sessions, events, stamp).await,
    };
    let outcome = failed_here_in_tests(&s.id, outcome);
    let ok = !matches!(outcome, Outcome::Failed { .. } | Outcome::Blocked { .. });
    if matches!(outcome, Outcome::Done { .. }) {
        sessions
            .changed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(s.id.clone());
    }
    if let Some(j) = &o.journal {
        journal::record(j, s, &outcome);
    }
    killed_here_in_tests(&s.id);
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!("[{}] {}: {outcome:?} ({millis} ms)", s.node, s.id);
    let _ = events.send(Event::StepFinished {
        step: s.id.clone(),
        node: s.node.clone(),
        outcome,
        millis,
    });
    ok
}

/// Tests only (a debug build): `TSMN_TEST_KILL_AFTER=<step id>` kills
/// tsmn with SIGKILL right after that step's effect and its journal line,
/// as `kill -9` would, with the steps running beside it caught wherever
/// they are. Release builds have no such hook.
fn killed_here_in_tests(step: &str) {
    if cfg!(debug_assertions) && std::env::var("TSMN_TEST_KILL_AFTER").is_ok_and(|k| k == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// Tests only (a debug build): `TSMN_TEST_FAIL_AFTER=<step id>` reports
/// that step failed after its effect, so the run takes its failure path
/// (the steps after it skipped, the closing lines) with the step's change
/// in place. Release builds have no such hook.
fn failed_here_in_tests(step: &str, outcome: Outcome) -> Outcome {
    if cfg!(debug_assertions) && std::env::var("TSMN_TEST_FAIL_AFTER").is_ok_and(|k| k == step) {
        return Outcome::Failed {
            message: format!(
                "failed on purpose after its effect (TSMN_TEST_FAIL_AFTER); it was {outcome:?}"
            ),
        };
    }
    outcome
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
