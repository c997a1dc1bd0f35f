//! Data nodes joining the cluster: add_data_node for each, then a share of
//! each existing distributed hypertable for a node added to a running
//! cluster.

use super::sql;
use crate::quote::sql::{ident, literal};
use crate::steps::{step, Ctx, Order, Phase, Statement, Step, StepState};

/// One add_data_node per data node, each sent alone. With the data nodes
/// bootstrapped by tsmn (`bootstrapped`), add_data_node only validates
/// their database (`bootstrap => false`), which also checks
/// max_prepared_transactions. The first runs alone (it makes the database
/// an access node); the others then run at once (calls for different data
/// nodes may run from separate sessions once one is added: checked on
/// TimescaleDB 2.13.1).
pub(super) fn add_data_nodes(ctx: &Ctx, bootstrapped: bool) -> Vec<Step> {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let an_db = ctx.an_database();
    let mut steps = Vec::new();
    let members = an_db.map(|d| d.data_nodes.clone()).unwrap_or_default();
    let mut one_added = !members.is_empty();
    for dn in ctx.data_nodes() {
        let call = format!(
            "SELECT * FROM add_data_node({}, host => {}, port => {}, database => {}, if_not_exists => true{})",
            literal(&dn.name),
            literal(&dn.host),
            dn.port,
            literal(db),
            if bootstrapped { ", bootstrap => false" } else { "" }
        );
        let mut s = step(an, Phase::Cluster, &format!("add-{}", dn.name), format!("Add data node {}", dn.name), "sent alone: add_data_node refuses to run inside a transaction block or a multi-statement string; its deprecation WARNING is normal", sql(db, vec![Statement::plain(call)]));
        if one_added {
            s.order = Order::Together;
        }
        one_added = true;
        if members.contains(&dn.name) {
            s.state = StepState::Done {
                why: format!("{} is already a data node of {db}", dn.name),
            };
        } else if let Some(why) = ctx.cannot_add(&dn.name) {
            s.state = StepState::Blocked { why };
        }
        steps.push(s);
    }
    steps
}

/// Whether `dn` is attached to `h` in this run (when it is not already):
/// a node joins every distributed hypertable, or those the plan names (the
/// wizard's choice). A member that is not joining keeps its place: a
/// hypertable without it was created or placed so (data_nodes => ...),
/// and only its plan entry's list adds it.
fn chosen(ctx: &Ctx, dn: &crate::plan::Node, h: &crate::facts::DistributedHypertable) -> bool {
    let members = ctx
        .an_database()
        .map(|d| d.data_nodes.as_slice())
        .unwrap_or_default();
    let joining = !members.contains(&dn.name) || ctx.inputs.joining.contains(&dn.name);
    let name = format!("{}.{}", h.schema, h.table);
    match &dn.hypertables {
        Some(l) => l.contains(&name),
        None => joining,
    }
}

/// The plan's data nodes that hold a share of `h` once this run's
/// attaches are done (where a copy of its chunks may go).
pub(in crate::steps) fn sharing(ctx: &Ctx, h: &crate::facts::DistributedHypertable) -> Vec<String> {
    ctx.data_nodes()
        .filter(|dn| h.data_nodes.contains(&dn.name) || chosen(ctx, dn, h))
        .map(|dn| dn.name.clone())
        .collect()
}

/// A data node added to a running cluster gets a share of each existing
/// distributed hypertable: `attach_data_node` (repartitioning, so new
/// chunks land on it too); existing chunks stay where they are.
pub(super) fn attach_data_nodes(ctx: &Ctx) -> Vec<Step> {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let Some(hypertables) = ctx.an_database().map(|d| &d.distributed_hypertables) else {
        return Vec::new();
    };
    if hypertables.is_empty() {
        return Vec::new();
    }
    let mut steps = Vec::new();
    for dn in ctx.data_nodes() {
        let missing: Vec<&crate::facts::DistributedHypertable> = hypertables
            .iter()
            .filter(|h| !h.data_nodes.contains(&dn.name) && chosen(ctx, dn, h))
            .collect();
        let names = |hs: &[&crate::facts::DistributedHypertable]| {
            hs.iter()
                .map(|h| format!("{}.{}", ident(&h.schema), ident(&h.table)))
                .collect::<Vec<_>>()
        };
        // attach_data_node does not carry a hypertable's compression
        // settings to the joining node (timescaledb #6041): without them
        // it cannot compress its chunks, nor take a compressed one. Given
        // right after the attach, as check's drift fix gives them.
        let compression = |h: &crate::facts::DistributedHypertable| {
            ctx.an_database()
                .and_then(|d| d.objects.as_ref())
                .and_then(|o| {
                    o.hypertables
                        .iter()
                        .find(|s| s.schema == h.schema && s.table == h.table)
                })
                .filter(|s| s.compression_enabled)
                .map(|s| Statement::plain(crate::drift::distributed_exec(&s.alter_sql(), &dn.name)))
        };
        let statements = names(&missing)
            .iter()
            .zip(&missing)
            .flat_map(|(name, h)| {
                std::iter::once(Statement::plain(format!(
                    "SELECT * FROM attach_data_node({}, {}, if_not_attached => true)",
                    literal(&dn.name),
                    literal(name)
                )))
                .chain(compression(h))
            })
            .collect();
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("attach-{}", dn.name),
            format!("Attach {} to the distributed hypertables", dn.name),
            "a data node added to a running cluster gets a share of each distributed hypertable's new chunks (repartitioned), and the compression settings of those that compress (attach_data_node does not carry them); existing chunks stay where they are",
            sql(db, statements),
        );
        let without: Vec<String> = hypertables
            .iter()
            .filter(|h| !h.data_nodes.contains(&dn.name))
            .map(|h| format!("{}.{}", h.schema, h.table))
            .collect();
        if missing.is_empty() {
            s.state = StepState::Done {
                why: if dn.hypertables.is_some() {
                    format!("{} holds a share of every distributed hypertable chosen for it (data_nodes.hypertables)", dn.name)
                } else if without.is_empty() {
                    format!("{} holds a share of every distributed hypertable", dn.name)
                } else {
                    format!(
                        "{} is a member; {} were placed without it and stay so (name them in its hypertables = [...] to attach it)",
                        dn.name,
                        without.join(", ")
                    )
                },
            };
        }
        steps.push(s);
    }
    steps
}
