//! PURE: replication repair (`tsmn apply --repair-replication`, the
//! removal of a lost data node, and a drain's removal of a data node that
//! holds copies of replicated chunks: moving::drain_replicas). Each chunk with fewer copies on the
//! plan's data nodes than its hypertable's replication factor is copied,
//! one chunk a step, from a data node of the plan that holds it to the
//! data node of the plan that lacks it and holds the fewest chunks of the
//! hypertable (check's placement: findings::health::copies_to_factor),
//! until the factor is met. Each copy runs as a drain's move that keeps
//! its source (run/moves.rs: writes to the hypertable pause, the engine's
//! copy_chunk, rows and checksums compared on both data nodes).
//!
//! Why the engine does not do it itself: `set_replication_factor` applies
//! to new chunks only, and a detach or a delete with `force` leaves the
//! chunks it held short of copies (tsl/src/data_node.c warns "is
//! under-replicated" and goes on). Copies on a data node that is not in
//! the plan do not count: it is leaving, or lost.

use super::join::sharing;
use super::running;
use crate::facts::{ChunkPlace, DatabaseFacts};
use crate::findings::health::copies_to_factor;
use crate::steps::{step, Action, ChunkMove, Ctx, Phase, Step, StepState};

/// Whether this run repairs: asked for, or a lost data node leaves (its
/// copies are gone with it; the replacement in the plan takes them), or a
/// drain removes copies of replicated chunks (made again first). Not
/// asked for, it stays out of the way where the copies cannot run yet
/// (the drain's gate): the lost node is removed all the same and check
/// reports the chunks short of copies.
pub(in crate::steps) fn on(ctx: &Ctx) -> bool {
    ctx.inputs.repair_replication
        || (super::super::moving::repair_wished(ctx) && super::super::links::gate(ctx).is_none())
}

/// Whether this run copies any chunk (its data nodes then need the
/// engine's chunk copy settings: drain::data_node_settings).
pub(in crate::steps) fn wanted(ctx: &Ctx) -> bool {
    on(ctx) && needed(ctx)
}

/// Whether some chunk is short of its factor on the plan's data nodes
/// (within what this run repairs), whether or not the copies can run.
pub(super) fn needed(ctx: &Ctx) -> bool {
    ctx.an_database()
        .is_some_and(|db| !copies(ctx, db).is_empty())
}

/// Per distributed hypertable (its name for SQL, its factor), the copies
/// that bring it to its factor on the plan's data nodes.
fn copies<'d>(ctx: &Ctx, db: &'d DatabaseFacts) -> Vec<(String, i64, Vec<Planned<'d>>)> {
    let in_plan = |n: &str| ctx.plan.data_nodes.iter().any(|d| d.name == n);
    // A drain alone makes again only the copies its removal takes away
    // (chunks short of their factor for another reason stay as they were:
    // --repair-replication is for those); asked for, or a lost data node
    // leaving, every chunk short of its factor.
    let everything = ctx.inputs.repair_replication
        || (ctx.inputs.remove_data_nodes && !super::super::moving::lost_nodes(ctx).is_empty());
    db.distributed_hypertables
        .iter()
        .filter_map(|h| {
            let ours = (h.schema.clone(), h.table.clone());
            let all: Vec<&ChunkPlace> = db
                .chunk_places
                .iter()
                .filter(|c| c.hypertable_name == ours)
                .collect();
            let short: Vec<&ChunkPlace> = all
                .iter()
                .copied()
                .filter(|c| {
                    (c.data_nodes.iter().filter(|n| in_plan(n)).count() as i64)
                        < h.replication_factor
                })
                .filter(|c| everything || c.data_nodes.iter().any(|n| !in_plan(n)))
                .collect();
            let planned: Vec<Planned> = copies_to_factor(
                &all,
                &short,
                h.replication_factor,
                &sharing(ctx, h),
                in_plan,
            )
            .into_iter()
            .map(|c| (c.place, c.source, c.destination))
            .collect();
            let name = all.first()?.hypertable.clone();
            (!planned.is_empty()).then_some((name, h.replication_factor, planned))
        })
        .collect()
}

type Planned<'d> = (&'d ChunkPlace, String, Option<String>);

/// What an earlier run's copies left first, then one step per copy.
pub(super) fn build(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx).filter(|_| on(ctx)) else {
        return Vec::new();
    };
    let planned = copies(ctx, an_db);
    if planned.is_empty() {
        return Vec::new();
    }
    let mut steps = vec![step(
        an,
        Phase::Cluster,
        "repair-resume",
        "Finish or clean up what an earlier chunk copy left",
        "a chunk copy whose session is gone is cleaned up by the engine (cleanup_copy_chunk_operation); one still running is waited for; tsmn's write pauses left by a killed run are released; two-phase transactions a restart left prepared are healed on every data node that answers",
        Action::DrainResume {
            database: db.to_string(),
            functions_schema: ctx.functions_schema().to_string(),
        },
    )];
    // The same gate as the drain's moves (the engine's copy is the same).
    let why_not = super::super::links::gate(ctx);
    for (hypertable, factor, copies) in planned {
        for (place, source, destination) in copies {
            let counted = place
                .data_nodes
                .iter()
                .filter(|n| ctx.plan.data_nodes.iter().any(|d| &d.name == *n))
                .count();
            let bytes = place
                .bytes
                .iter()
                .find(|(n, _)| *n == source)
                .map(|(_, b)| *b);
            let (what, title) = match &destination {
                Some(d) => (
                    format!("copy-{}-to-{d}", place.chunk),
                    format!("Copy {} from {source} to {d}", place.chunk),
                ),
                None => (
                    format!("copy-{}", place.chunk),
                    format!("Copy {} from {source}", place.chunk),
                ),
            };
            let mut s = step(
                an,
                Phase::Cluster,
                &what,
                title,
                format!(
                    "{hypertable} keeps {factor} copies of each chunk; {} has {counted} on the plan's data nodes ({}): writes to {hypertable} wait while it copies (reads go on); rows and checksums are compared on both data nodes, and a copy that differs is dropped again",
                    place.chunk,
                    place.data_nodes.join(", ")
                ),
                Action::MoveChunk(ChunkMove {
                    database: db.to_string(),
                    hypertable: hypertable.clone(),
                    chunk: place.chunk.clone(),
                    source: source.clone(),
                    destination: destination.clone().unwrap_or_default(),
                    bytes,
                    functions_schema: ctx.functions_schema().to_string(),
                    keep_source: true,
                    one_replica: false,
                }),
            );
            if destination.is_none() {
                // A drain's removal would leave it short: said, with the
                // node to keep, rather than removed under its factor.
                let leaving: Vec<&str> = place
                    .data_nodes
                    .iter()
                    .filter(|n| !ctx.plan.data_nodes.iter().any(|d| &d.name == *n))
                    .map(String::as_str)
                    .collect();
                s.state = StepState::Blocked {
                    why: format!(
                        "every data node of the plan that holds a share of {hypertable} has a copy of {} already, so it would keep {counted} of its {factor} copies: add a data node to the plan (it is attached and takes the copy), or lower the factor (SELECT set_replication_factor({}, {counted}); the chunks keep their copies){}",
                        place.chunk,
                        crate::quote::sql::literal(&hypertable),
                        if leaving.is_empty() {
                            String::new()
                        } else {
                            format!(", or keep {} in the plan", leaving.join(", "))
                        }
                    ),
                };
            } else if let Some(why) = &why_not {
                s.state = StepState::Blocked {
                    why: format!("replication repair copies chunks as --drain moves them: {why}"),
                };
            } else if let Some(why) = destination.as_deref().and_then(|d| {
                super::super::moving::compression_block(ctx, &place.hypertable_name, d)
            }) {
                s.state = StepState::Blocked { why };
            }
            steps.push(s);
        }
    }
    steps
}
