//! PURE: `tsmn rebalance`'s steps, from the moves its plan chose
//! (crate::rebalance): the settings the engine's chunk copy needs on every
//! data node a move touches (scaled to the moves at once) and on the
//! access node (its write pauses), the restart gate, what an earlier run
//! left, then one move per chunk copy, `parallel` at a time.

pub use super::moving::MAX_PARALLEL;
use super::moving::{access_node_settings, for_moves};
use super::settings::settled;
use super::{step, Action, ChunkMove, Ctx, Inputs, Order, Phase, SettingChange, Step, StepState};
use crate::plan::{AuthMode, Plan};

/// One chunk copy to move (what crate::rebalance::Move says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub hypertable: String,
    pub chunk: String,
    pub from: String,
    pub to: String,
    pub bytes: i64,
}

/// The steps of a rebalance: settings (Settings phase), then in the
/// Cluster phase the restart gate, the resume of an earlier run and the
/// moves. A move is blocked unless check's probe proved the link between
/// its two data nodes (proven).
pub fn build(plan: &Plan, inputs: Inputs, moves: &[Wanted], parallel: u16) -> Vec<Step> {
    let ctx = Ctx {
        plan,
        inputs,
        copies_chunks: true,
    };
    let an = plan.access_node.name.as_str();
    let db = plan.database.as_str();
    let mut involved: Vec<&str> = Vec::new();
    for m in moves {
        for n in [m.from.as_str(), m.to.as_str()] {
            if !involved.contains(&n) {
                involved.push(n);
            }
        }
    }
    // Sorted as the plan lists its data nodes (the run's order per turn).
    involved.sort_by_key(|n| plan.data_nodes.iter().position(|d| d.name == *n));
    let mut steps = Vec::new();
    for node in &involved {
        steps.push(settings_step(
            &ctx,
            node,
            for_moves(&ctx, node, parallel),
            "the engine copies a chunk through logical replication: wal_level = logical, and per move at once a replication slot and a WAL sender for its publication and one more of each for the table sync on the source, an apply worker and a table sync worker on the destination (restart)",
        ));
    }
    steps.push(settings_step(
        &ctx,
        an,
        access_node_settings(&ctx),
        "each move pauses writes to its hypertable with a lock held by a prepared transaction, so that a killed tsmn leaves writes paused, never unsafe (restart)",
    ));
    let mut gate_nodes: Vec<String> = vec![an.to_string()];
    gate_nodes.extend(involved.iter().map(|n| n.to_string()));
    let mut gate = step(
        an,
        Phase::Cluster,
        "restart-gate",
        "Every node of the moves runs with the new settings",
        "wal_level, the replication slots, WAL senders and workers, and max_prepared_transactions take effect only after a restart",
        Action::RestartGate { nodes: gate_nodes },
    );
    gate.order = Order::First;
    steps.push(gate);
    steps.push(step(
        an,
        Phase::Cluster,
        "rebalance-resume",
        "Finish or clean up what an earlier run left",
        "a chunk copy whose session is gone (a killed tsmn) is cleaned up by the engine (cleanup_copy_chunk_operation); one still running is waited for; tsmn's write pauses left are released; transactions a restart left prepared on a data node are healed (remote_txn_heal_data_node)",
        Action::DrainResume {
            database: db.to_string(),
            functions_schema: ctx.functions_schema().to_string(),
        },
    ));
    // A rebalance sets no link up: each move goes only over a link
    // check's probe proved (proven).
    for m in moves {
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("move-{}", m.chunk),
            format!("Move {} from {} to {}", m.chunk, m.from, m.to),
            format!(
                "evens out {} ({} bytes): writes to it wait while the chunk copies (reads go on); rows and checksums are compared on both data nodes before the copy on {} is dropped",
                m.hypertable, m.bytes, m.from
            ),
            Action::MoveChunk(ChunkMove {
                database: db.to_string(),
                hypertable: m.hypertable.clone(),
                chunk: m.chunk.clone(),
                source: m.from.clone(),
                destination: m.to.clone(),
                bytes: Some(m.bytes),
                functions_schema: ctx.functions_schema().to_string(),
                one_replica: true,
                keep_source: false,
            }),
        );
        if parallel > 1 {
            s.order = Order::Pool(parallel.min(MAX_PARALLEL));
        }
        if let Err(why) = proven(&ctx, &m.to, &m.from) {
            s.state = StepState::Blocked { why };
        }
        steps.push(s);
    }
    steps
}

fn settings_step(ctx: &Ctx, node: &str, changes: Vec<SettingChange>, reason: &str) -> Step {
    let state = settled(ctx, node, &changes);
    let mut s = step(
        node,
        Phase::Settings,
        "rebalance-settings",
        "Settings for moving chunks (logical decoding)",
        reason,
        Action::Settings {
            database: "postgres".into(),
            changes,
        },
    );
    s.state = state;
    s
}

/// Whether the link the engine's copy from `source` to `destination`
/// uses is proven: check's probe (probe/peers.rs) logged in from inside
/// `destination` to `source` as the engine would. `tsmn rebalance` sets
/// no link up, so it moves only over links proven here: a copy over one
/// that fails waits up to an hour for its sync. Not tested at all (the
/// probe skipped: data_node_links = false) passes in trust mode only,
/// where the access node's rule admits the shared address.
fn proven(ctx: &Ctx, destination: &str, source: &str) -> Result<(), String> {
    let fix = "Fix: tsmn apply --plan <plan> --data-node-links (it puts the access node's files on the data nodes and admits them in pg_hba.conf), then run this again";
    let tested = ctx
        .server(destination)
        .and_then(|s| s.peer_links.iter().find(|r| r.data_node == source));
    match tested {
        Some(r) => match &r.error {
            None => Ok(()),
            Some(e) => Err(format!(
                "{destination} cannot log in to {source} as the engine's chunk copy does ({e}): a move over that link would wait up to an hour and fail. {fix}"
            )),
        },
        None if ctx.plan.auth.mode == AuthMode::Trust => Ok(()),
        None => Err(format!(
            "the link from {destination} to {source} that the engine's chunk copy uses was not tested (auth.data_node_links = false in the plan, or {destination} did not answer the probe). {fix}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_become_pooled_steps_after_the_gate_and_the_resume() {
        let mut plan = crate::plan::new_plan();
        for name in ["dn1", "dn2", "dn3"] {
            let mut n = plan.access_node.clone();
            n.name = name.into();
            plan.data_nodes.push(n);
        }
        let moves = vec![
            Wanted {
                hypertable: "public.metrics".into(),
                chunk: "_timescaledb_internal._dist_hyper_1_1_chunk".into(),
                from: plan.data_nodes[0].name.clone(),
                to: plan.data_nodes[2].name.clone(),
                bytes: 8192,
            },
            Wanted {
                hypertable: "public.metrics".into(),
                chunk: "_timescaledb_internal._dist_hyper_1_2_chunk".into(),
                from: plan.data_nodes[1].name.clone(),
                to: plan.data_nodes[2].name.clone(),
                bytes: 8192,
            },
        ];
        let steps = build(&plan, Inputs::default(), &moves, 2);
        let settings: Vec<&str> = steps
            .iter()
            .filter(|s| s.phase == Phase::Settings)
            .map(|s| s.node.as_str())
            .collect();
        assert_eq!(settings.len(), 4, "three data nodes and the access node");
        let pooled: Vec<&Step> = steps
            .iter()
            .filter(|s| matches!(s.action, Action::MoveChunk(_)))
            .collect();
        assert_eq!(pooled.len(), 2);
        assert!(pooled.iter().all(|s| s.order == Order::Pool(2)));
        let one = build(&plan, Inputs::default(), &moves, 1);
        assert!(
            one.iter().all(|s| s.order != Order::Pool(1)),
            "one at a time: the usual order"
        );
        assert!(pooled
            .iter()
            .all(|s| matches!(&s.action, Action::MoveChunk(m) if m.one_replica)));
    }
}
