//! PURE: what a run that moves or copies chunks needs, read by each
//! builder that takes part (drain, replication repair, a lost node's
//! replacement, rebalance, the links between data nodes, the settings):
//! which leaving nodes a drain copies from, which members are lost, whether
//! a repair is wished, and the settings the engine's chunk copy needs on
//! the data nodes and the access node. Below them all, so that none of
//! them imports another for these facts.

use super::{Ctx, SettingChange, SettingValue};

/// The most moves at once: each holds a write pause (a prepared
/// transaction) on the access node, whose max_prepared_transactions the
/// drain's settings raise to 10.
pub const MAX_PARALLEL: u16 = 8;

/// Why `destination` cannot take a chunk of `hypertable` (schema, table):
/// the hypertable compresses on the access node and the destination lacks
/// its settings (drift::compression_gap). None when nothing stands in the
/// way, when the run attaches the destination (and gives it the settings
/// then), or when either side's settings were not read (the engine then
/// says it).
pub(super) fn compression_block(
    ctx: &Ctx,
    hypertable: &(String, String),
    destination: &str,
) -> Option<String> {
    let an = ctx.an_database()?;
    // Not attached yet: this run's attach gives it the settings first
    // (steps/cluster/join.rs).
    an.distributed_hypertables
        .iter()
        .find(|h| h.schema == hypertable.0 && h.table == hypertable.1)
        .filter(|h| h.data_nodes.iter().any(|n| n == destination))?;
    let h = an
        .objects
        .as_ref()?
        .hypertables
        .iter()
        .find(|h| h.schema == hypertable.0 && h.table == hypertable.1)?;
    let theirs = ctx
        .server(destination)?
        .database
        .as_ref()?
        .objects
        .as_ref()?;
    let here = theirs
        .hypertables
        .iter()
        .find(|t| t.schema == h.schema && t.table == h.table);
    crate::drift::compression_gap(h, destination, here)
}

/// What the engine's chunk copy needs of a data node (source and
/// destination): logical decoding, a slot and a WAL sender for the
/// publication, and workers for the subscription (apply and table sync).
/// The minimums fit one move at a time; each needs a restart.
pub(super) fn data_node_settings(ctx: &Ctx, node: &str) -> Vec<SettingChange> {
    let at_least = |name: &str, n: i64| {
        ctx.setting_change(node, name, SettingValue::AtLeast(n, name.to_string()), true)
    };
    vec![
        ctx.setting_change(node, "wal_level", SettingValue::Set("logical".into()), true),
        at_least("max_replication_slots", 10),
        at_least("max_wal_senders", 10),
        at_least("max_logical_replication_workers", 4),
        // TimescaleDB's own background workers come out of the same pool.
        at_least("max_worker_processes", 16),
    ]
}

/// The access node holds each move's write pause in a prepared
/// transaction (so it outlives a killed tsmn): it needs prepared
/// transactions (restart).
pub(super) fn access_node_settings(ctx: &Ctx) -> Vec<SettingChange> {
    let an = ctx.plan.access_node.name.as_str();
    vec![ctx.setting_change(
        an,
        "max_prepared_transactions",
        SettingValue::AtLeast(10, "max_prepared_transactions".into()),
        true,
    )]
}

/// The leaving data nodes that hold a chunk's only copy: the sources of
/// the drain (they need the settings too, though not in the plan).
pub(super) fn drain_sources(ctx: &Ctx) -> Vec<String> {
    let Some(db) = ctx.an_database().filter(|_| ctx.inputs.drain) else {
        return Vec::new();
    };
    db.chunks
        .iter()
        .filter(|c| !c.only_copy.is_empty())
        .filter(|c| !ctx.plan.data_nodes.iter().any(|d| d.name == c.data_node))
        // A lost node is no source: nothing can be asked of it.
        .filter(|c| !lost_nodes(ctx).contains(&c.data_node.as_str()))
        .map(|c| c.data_node.clone())
        .collect()
}
/// What a data node needs for chunk moves, `parallel` at once: the
/// drain's settings scaled, and the logical replication launcher's pace.
/// The launcher (PostgreSQL 15, launcher.c) starts a subscription's
/// worker only when wal_retrieve_retry_interval has passed since it last
/// started one, else it waits that whole interval: each move after the
/// first waited the default 5 s before its copy began (moves of 0.5 s took
/// 5.4 s). 200 ms, the engine's own poll of the sync, takes that away; the
/// setting paces only retries (a worker that failed, a standby's WAL
/// source), needs no restart, and its old value is in the journal.
pub(super) fn for_moves(ctx: &Ctx, node: &str, parallel: u16) -> Vec<SettingChange> {
    let mut changes = scaled(data_node_settings(ctx, node), parallel);
    changes.push(ctx.setting_change(
        node,
        "wal_retrieve_retry_interval",
        SettingValue::Set(LAUNCHER_PACE.into()),
        false,
    ));
    changes
}

/// See `for_moves`.
pub const LAUNCHER_PACE: &str = "200ms";

/// PURE: the drain's minimums (one move at a time) raised for `parallel`
/// moves at once on one node: each move takes at its peak two replication
/// slots and two WAL senders on its source (the engine's slot, and the one
/// the table sync makes for the initial copy) and two logical replication
/// workers on its destination (apply and table sync), all workers out of
/// max_worker_processes beside TimescaleDB's own.
pub fn scaled(changes: Vec<SettingChange>, parallel: u16) -> Vec<SettingChange> {
    let n = i64::from(parallel.max(1));
    changes
        .into_iter()
        .map(|mut c| {
            let want = match c.name.as_str() {
                "max_replication_slots" | "max_wal_senders" => 4 * n,
                "max_logical_replication_workers" => 2 * n + 2,
                "max_worker_processes" => 4 * n + 8,
                _ => 0,
            };
            if let SettingValue::AtLeast(v, other) = &c.new {
                c.new = SettingValue::AtLeast((*v).max(want), other.clone());
            }
            c
        })
        .collect()
}
/// Whether this run would copy chunks to repair them, the gate aside:
/// asked for, or a lost data node leaves. The links between data nodes
/// are set up by default then (`links::wanted`), and its gate judges
/// whether they can be.
pub(super) fn repair_wished(ctx: &Ctx) -> bool {
    ctx.inputs.repair_replication
        || (ctx.inputs.remove_data_nodes && !lost_nodes(ctx).is_empty())
        || !drain_replicas(ctx).is_empty()
}

/// A drain (`--remove-data-nodes --drain`) of data nodes that hold copies
/// of replicated chunks: the removal takes those copies away, so the drain
/// makes them again on the remaining data nodes first (repair.rs), and the
/// hypertable keeps its replication factor ("never worse than before").
/// The leaving nodes (not lost: a lost one's copies are repaired anyway)
/// that hold a copy of a chunk that has another copy.
pub(super) fn drain_replicas(ctx: &Ctx) -> Vec<String> {
    let Some(db) = ctx
        .an_database()
        .filter(|_| ctx.inputs.drain && ctx.inputs.remove_data_nodes)
    else {
        return Vec::new();
    };
    let lost = lost_nodes(ctx);
    let mut out: Vec<String> = Vec::new();
    for p in db.chunk_places.iter().filter(|p| p.data_nodes.len() > 1) {
        for n in &p.data_nodes {
            let leaving = !ctx.plan.data_nodes.iter().any(|d| &d.name == n);
            if leaving && !lost.contains(&n.as_str()) && !out.contains(n) {
                out.push(n.clone());
            }
        }
    }
    out
}

/// The data nodes of the cluster that are not in the plan and that the
/// access node does not reach (the probe asked it: `Member::answers`).
pub(super) fn lost_nodes<'a>(ctx: &Ctx<'a>) -> Vec<&'a str> {
    ctx.an_database()
        .map(|d| d.members.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|m| m.answers == Some(false))
        .filter(|m| !ctx.plan.data_nodes.iter().any(|d| d.name == m.name))
        .map(|m| m.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &str, n: i64) -> SettingChange {
        SettingChange {
            name: name.into(),
            current: None,
            new: SettingValue::AtLeast(n, name.into()),
            restart: true,
        }
    }

    fn at_least(c: &[SettingChange], name: &str) -> i64 {
        match &c.iter().find(|c| c.name == name).expect(name).new {
            SettingValue::AtLeast(n, _) => *n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_move_keeps_the_drains_minimums_and_four_raise_them() {
        let base = vec![
            setting("max_replication_slots", 10),
            setting("max_wal_senders", 10),
            setting("max_logical_replication_workers", 4),
            setting("max_worker_processes", 16),
        ];
        assert_eq!(scaled(base.clone(), 1), base);
        let four = scaled(base, 4);
        assert_eq!(at_least(&four, "max_replication_slots"), 16);
        assert_eq!(at_least(&four, "max_wal_senders"), 16);
        assert_eq!(at_least(&four, "max_logical_replication_workers"), 10);
        assert_eq!(at_least(&four, "max_worker_processes"), 24);
    }
}
