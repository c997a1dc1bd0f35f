//! One node's steps in order: neighbouring `Together` steps at once, each
//! on its own session (opened ahead where it helps); and one step run,
//! timed, recorded and reported.

use super::session::Sessions;
use super::{exec, journal, report_without_running, Event, Events, Outcome, RunOptions};
use crate::steps::{Order, Step, StepState};
use std::time::Instant;

/// At most this many steps of one node run together (each on its own
/// session): enough for every data node of a large cluster in one or two
/// rounds, far below any server's max_connections.
const TOGETHER: usize = 16;

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
pub(super) async fn run_sequence(
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
        if let Some((end, n)) = pool_at(steps, i) {
            ok = run_pool(&steps[i..end], n, ok, o, sessions, events, stamp).await && ok;
            i = end;
            continue;
        }
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

/// A run of neighbouring `Pool(n)` steps starting at `i`: where it ends,
/// and n (the first step's).
fn pool_at(steps: &[&Step], i: usize) -> Option<(usize, usize)> {
    let Order::Pool(n) = steps[i].order else {
        return None;
    };
    let len = steps[i..]
        .iter()
        .take_while(|s| matches!(s.order, Order::Pool(_)))
        .count();
    Some((i + len, usize::from(n.max(1))))
}

/// Steps at most `n` at a time, in order, the next starting as soon as
/// one ends; each holds one of lanes 1..=n while it runs (a session of its
/// own). After a failure or an interrupt no new one starts (each is
/// reported skipped); the running ones finish.
async fn run_pool(
    steps: &[&Step],
    n: usize,
    ok: bool,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> bool {
    use futures_util::StreamExt;
    // A plain loop over a set of futures (no closures over the borrowed
    // steps: the run's future must stay Send for any lifetime).
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut free: Vec<usize> = (1..=n).rev().collect();
    let mut all = ok;
    for s in steps {
        if running.len() >= n {
            if let Some((lane, done)) = running.next().await {
                free.push(lane);
                all &= done;
            }
        }
        // At most n run at once, each giving its lane back: one is free.
        let lane = free.pop().unwrap_or(n + 1);
        let now = all;
        running.push(async move {
            (
                lane,
                run_one(s, lane, now, o, sessions, events, stamp).await,
            )
        });
    }
    while let Some((_, done)) = running.next().await {
        all &= done;
    }
    all
}

/// The sessions that the groups of `steps` will run on, opened now, all at
/// once: each costs its connection's round trips and a server process's
/// start, hidden this way behind the work before them (the data nodes'
/// bootstrap, for the access node's add_data_node calls). One that fails
/// to open is left to its step, which says why.
pub(super) async fn open_lanes(steps: &[&Step], sessions: &Sessions<'_>) {
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
pub(super) async fn run_one(
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
