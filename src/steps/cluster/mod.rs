//! The cluster itself, on the access node: database, extension, data
//! nodes, roles; then verification. This file orders the phase's steps;
//! each part is in a file of its own: the access node's database and
//! extension (database.rs), data nodes added and attached (join.rs),
//! transactions left prepared (heal.rs), chunks copied up to their
//! replication factor (repair.rs), data nodes removed (remove.rs, a lost
//! one in lost.rs), the roles (roles.rs).

mod database;
mod heal;
mod join;
mod lost;
mod remove;
pub(super) mod repair;
mod roles;

use super::{step, Action, Ctx, Order, Phase, Statement, Step, StepState};
use database::{database, extension};
use heal::heal;
use join::{add_data_nodes, attach_data_nodes};
use remove::remove_data_nodes;
use roles::roles;

pub(super) use repair::wanted as repair_wanted;

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    let an = plan.access_node.name.as_str();
    let mut all: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    // A drain's source restarts too (logical decoding), though it leaves.
    all.extend(super::moving::drain_sources(ctx));
    let mut gate = step(
        an,
        Phase::Cluster,
        "restart-gate",
        "Every node runs with the new settings",
        "shared_preload_libraries and max_prepared_transactions take effect only after a restart",
        Action::RestartGate { nodes: all },
    );
    gate.order = Order::First;
    let mut steps = vec![gate];
    let bootstrap = super::bootstrap::build(ctx);
    let bootstrapped = !bootstrap.is_empty();
    steps.extend(bootstrap);
    // The access node's own database, extension and setting need nothing
    // from the data nodes: they run while the data nodes bootstrap.
    let mut early = vec![database(ctx, bootstrapped), extension(ctx)];
    early.extend(super::auth::timescaledb_setting(ctx));
    for s in &mut early {
        s.order = Order::WithDataNodes;
    }
    steps.extend(early);
    steps.extend(add_data_nodes(ctx, bootstrapped));
    steps.extend(heal(ctx));
    steps.extend(attach_data_nodes(ctx));
    // A lost data node that leaves is marked unavailable first (reads use
    // the other copies meanwhile), the copies it took with it are made
    // again on the plan's data nodes (the replacement attached above),
    // and only then is it deleted.
    steps.extend(lost::mark_lost(ctx));
    steps.extend(repair::build(ctx));
    steps.extend(remove_data_nodes(ctx));
    steps.extend(roles(ctx));
    steps.extend(super::verify::build(ctx, ctx.functions_schema()));
    steps.extend(super::verify::enforced(ctx));
    block_without_timescaledb(ctx, &mut steps);
    out.extend(steps);
}

/// A cluster that runs: the access node's name, the cluster database and
/// what the access node holds in it.
fn running<'a>(ctx: &Ctx<'a>) -> Option<(&'a str, &'a str, &'a crate::facts::DatabaseFacts)> {
    Some((
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
        ctx.an_database()?,
    ))
}

/// The cluster phase needs TimescaleDB everywhere: without it every step
/// but the restart waits, blocked, naming the nodes that lack it.
fn block_without_timescaledb(ctx: &Ctx, steps: &mut [Step]) {
    if let Some(facts) = ctx.inputs.facts {
        let missing: Vec<&str> = facts
            .nodes
            .iter()
            .filter(|n| {
                n.server.as_ref().is_some_and(|s| {
                    s.timescaledb_available.is_empty()
                        && s.database
                            .as_ref()
                            .and_then(|d| d.timescaledb.as_ref())
                            .is_none()
                })
            })
            .map(|n| n.name.as_str())
            .collect();
        if !missing.is_empty() {
            // A restart needs no TimescaleDB: only the steps after it wait.
            for s in steps
                .iter_mut()
                .filter(|s| !matches!(s.action, Action::RestartGate { .. }))
            {
                if s.state == StepState::Todo {
                    s.state = StepState::Blocked {
                        why: format!("TimescaleDB is not installed on {}", missing.join(", ")),
                    };
                }
            }
        }
    }
}

fn sql(database: &str, statements: Vec<Statement>) -> Action {
    Action::Sql {
        database: database.to_string(),
        statements,
    }
}
