//! One phase of a run: the access node's first steps, then the data
//! nodes' steps beside the access node's that need nothing from them, then
//! the rest, with the data nodes' rule changes rolled out one node first.

use super::sequence::{open_lanes, run_one, run_sequence};
use super::session::Sessions;
use super::{report_without_running, Events, Outcome, RunOptions};
use crate::steps::{Step, Turn};

/// One phase: the access node's first steps (the restart gate); then every
/// data node's steps, one task per data node, beside the access node's
/// steps that need nothing from them; then the access node's other steps.
pub(super) async fn run_phase(
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
