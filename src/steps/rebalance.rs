//! PURE: `tsmn rebalance`'s steps, from the moves its plan chose
//! (crate::rebalance): the settings the engine's chunk copy needs on every
//! data node a move touches (scaled to the moves at once) and on the
//! access node (its write pauses), the links between the data nodes of
//! the moves set up as apply sets them (steps/links/moves.rs), the restart
//! gate, each link proven, what an earlier run left, then one move per
//! chunk copy, `parallel` at a time.

use super::links;
pub use super::moving::MAX_PARALLEL;
use super::moving::{access_node_settings, for_moves};
use super::settings::settled;
use super::{step, Action, ChunkMove, Ctx, Inputs, Order, Phase, SettingChange, Step, StepState};
use crate::plan::Plan;

/// One chunk copy to move (what crate::rebalance::Move says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub hypertable: String,
    pub chunk: String,
    pub from: String,
    pub to: String,
    pub bytes: i64,
}

/// The steps of a rebalance: settings (Settings phase), the links' files
/// and rules (Auth phase), then in the Cluster phase the restart gate, the
/// links' proofs, the resume of an earlier run and the moves. With the
/// links turned off a move is refused by the links' gate (or, in trust
/// mode, unless check's probe proved its link).
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
    let (links, why_not, set_up) = links_of(&ctx, moves);
    steps.extend(links);
    for m in moves {
        let mut s = move_step(&ctx, m, parallel);
        let refused = match (&why_not, set_up) {
            (Some(why), _) => Err(why.clone()),
            (None, true) => untestable(&ctx, &m.to, &m.from),
            (None, false) => proven(&ctx, &m.to, &m.from),
        };
        if let Err(why) = refused {
            s.state = StepState::Blocked { why };
        }
        steps.push(s);
    }
    // Phase by phase, each turn in the order built (as apply's steps).
    steps.sort_by_key(|s| (s.phase, crate::steps::turn(s, an)));
    steps
}

/// The links the moves use: set up and proven by this run (apply's own
/// steps, then a proof per link before the first move), unless the plan
/// turns them off; then the gate refuses, or in trust mode (the access
/// node's rule admits the shared address) the probe decides. The steps,
/// why the moves cannot run, and whether this run sets the links up.
fn links_of(ctx: &Ctx, moves: &[Wanted]) -> (Vec<Step>, Option<String>, bool) {
    let pairs: Vec<(String, String)> = moves
        .iter()
        .map(|m| (m.to.clone(), m.from.clone()))
        .collect();
    let (steps, why_not) = match links::gate(ctx) {
        Some(why) => (Vec::new(), Some(why)),
        None => match links::for_moves(ctx, &pairs) {
            Ok(s) => (s, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        },
    };
    let set_up = why_not.is_none() && links::wanted(ctx);
    (steps, why_not, set_up)
}

fn move_step(ctx: &Ctx, m: &Wanted, parallel: u16) -> Step {
    let mut s = step(
        &ctx.plan.access_node.name,
        Phase::Cluster,
        &format!("move-{}", m.chunk),
        format!("Move {} from {} to {}", m.chunk, m.from, m.to),
        format!(
            "evens out {} ({} bytes): writes to it wait while the chunk copies (reads go on); rows and checksums are compared on both data nodes before the copy on {} is dropped",
            m.hypertable, m.bytes, m.from
        ),
        Action::MoveChunk(ChunkMove {
            database: ctx.plan.database.clone(),
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
    s
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

/// Where this run sets the link up: refused only when check's probe
/// could not test it at all (no dblink on `destination`, say), for then
/// the run's own proof cannot either; whether it works is the proof's.
fn untestable(ctx: &Ctx, destination: &str, source: &str) -> Result<(), String> {
    let tested = ctx
        .server(destination)
        .and_then(|s| s.peer_links.iter().find(|r| r.data_node == source));
    match tested.and_then(|r| r.error.as_deref()) {
        Some(e) if e.starts_with("not tested: ") => Err(format!(
            "the link from {destination} to {source} that the engine's chunk copy uses cannot be proven ({e}); a move over a link that fails would wait up to an hour"
        )),
        _ => Ok(()),
    }
}

/// With the links turned off (`data_node_links = false`, trust mode
/// only: the gate refuses the other modes): whether check's probe proved
/// the link from `destination` to `source`; not tested at all (the probe
/// skipped) passes, as the access node's rule admits the shared address.
fn proven(ctx: &Ctx, destination: &str, source: &str) -> Result<(), String> {
    let tested = ctx
        .server(destination)
        .and_then(|s| s.peer_links.iter().find(|r| r.data_node == source));
    match tested.and_then(|r| r.error.as_ref()) {
        None => Ok(()),
        Some(e) => Err(format!(
            "{destination} cannot log in to {source} as the engine's chunk copy does ({e}): a move over that link would wait up to an hour and fail. Fix: remove data_node_links = false from [auth] in the plan (tsmn rebalance then admits the data nodes in pg_hba.conf itself), then run this again"
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
