//! Data nodes in the cluster but no longer in the plan: detached, deleted
//! (drained first when told to), with their pg_hba.conf block and passfile
//! lines gone after them.

use super::{running, sql};
use crate::plan::AuthMode;
use crate::quote::sql::{ident, literal};
use crate::steps::{step, Action, Ctx, Order, Phase, Statement, Step, StepState};

/// A data node in the cluster but no longer in the plan: detached from each
/// distributed hypertable, then deleted. Never by default (the operator
/// says `--remove-data-nodes`), and never while it holds the only copy of
/// a chunk: that data would be lost.
pub(super) fn remove_data_nodes(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for gone in an_db
        .data_nodes
        .iter()
        .filter(|m| !ctx.plan.data_nodes.iter().any(|d| &d.name == *m))
    {
        let mut statements: Vec<Statement> = an_db
            .distributed_hypertables
            .iter()
            .filter(|h| h.data_nodes.contains(gone))
            .map(|h| {
                // force: without it the engine refuses a node that holds
                // any chunk, replicated or not ("still holds data"); with
                // it, it still refuses one that holds a chunk's only copy
                // (data_node.c: "would lose data"), which tsmn has
                // blocked above already. if_attached: a re-run after a
                // partial removal skips what is detached.
                Statement::plain(format!(
                    "SELECT * FROM detach_data_node({}, hypertable => {}, if_attached => true, force => true)",
                    literal(gone),
                    literal(&format!("{}.{}", ident(&h.schema), ident(&h.table)))
                ))
            })
            .collect();
        statements.push(Statement::plain(format!(
            "SELECT delete_data_node({})",
            literal(gone)
        )));
        statements.insert(0, crate::steps::drain::guard(gone));
        let chunks = an_db.chunks.iter().find(|c| &c.data_node == gone);
        let held = chunks.map_or(0, |c| c.total);
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("remove-{gone}"),
            format!("Remove data node {gone} (no longer in the plan)"),
            format!(
                "{gone} is a data node of {db} but not in the plan; it holds {held} chunk(s){}",
                if held > 0 {
                    " (the engine's detach with force warns that a hypertable \"is under-replicated\" whenever the node holds a copy, without counting the others: data_node.c; tsmn check counts them)"
                } else {
                    ""
                }
            ),
            sql(db, statements),
        );
        let only: &[String] = chunks.map_or(&[], |c| c.only_copy.as_slice());
        // A lost node cannot be drained; its only copies are given up by
        // name or its removal waits (lost.rs).
        let is_lost = crate::steps::moving::lost_nodes(ctx).contains(&gone.as_str());
        let given_up = (is_lost && ctx.inputs.remove_data_nodes)
            .then(|| super::lost::give_up(ctx, gone, an_db));
        let draining =
            ctx.inputs.drain && ctx.inputs.remove_data_nodes && !only.is_empty() && !is_lost;
        let drain = if draining {
            crate::steps::drain::build(ctx, gone, an_db)
        } else {
            Vec::new()
        };
        if let Some(b) = drain.iter().find_map(|d| match &d.state {
            StepState::Blocked { why } => Some(why.clone()),
            _ => None,
        }) {
            s.state = StepState::Blocked {
                why: format!("{gone} is drained first, and its drain cannot run: {b}"),
            };
        } else if let Some(why) = copies_refused(ctx, gone) {
            s.state = StepState::Blocked { why };
        } else if draining {
            // Runs after the moves (the guard statement refuses if any
            // only copy is still there).
        } else if let Some(Err(why)) = &given_up {
            s.state = StepState::Blocked { why: why.clone() };
        } else if given_up.is_some() {
            // Lost, its only copies (if any) given up just before: the
            // guard statement refuses if one is still there.
        } else if !only.is_empty() {
            let shown: Vec<&str> = only.iter().take(5).map(String::as_str).collect();
            s.state = StepState::Blocked {
                why: format!(
                    "{gone} holds the only copy of {} chunk(s) ({}{}): removing it would lose them. Move them first: tsmn apply --remove-data-nodes --drain, or by hand (CALL timescaledb_experimental.move_chunk(chunk => '<chunk>', source_node => '{gone}', destination_node => '<node>'); it needs wal_level = logical on the data nodes and the destination able to log in to the source; set_replication_factor does not re-replicate existing chunks), or put {gone} back in the plan",
                    only.len(),
                    shown.join(", "),
                    if only.len() > shown.len() { ", ..." } else { "" }
                ),
            };
        } else if !ctx.inputs.remove_data_nodes {
            s.state = StepState::Blocked {
                why: format!(
                    "{gone} is in the cluster but not in the plan: tsmn removes a data node only when told to (tsmn apply --remove-data-nodes), or put it back in the plan"
                ),
            };
        }
        let blocked = matches!(s.state, StepState::Blocked { .. });
        if !blocked {
            removed.push(gone.clone());
        }
        steps.extend(drain);
        if let Some(Ok(given)) = given_up {
            steps.extend(given);
        }
        steps.push(s);
        steps.extend(hba_removed(an_db, gone, blocked));
    }
    steps.extend(passfile_without(ctx, an, &removed));
    steps
}

/// A drain of `gone`, which holds copies of replicated chunks, whose
/// copies cannot be made again first (the links' gate refuses the
/// engine's copy): the removal waits rather than leave them short.
fn copies_refused(ctx: &Ctx, gone: &str) -> Option<String> {
    if !crate::steps::moving::drain_replicas(ctx)
        .iter()
        .any(|n| n == gone)
        || super::repair::on(ctx)
        || !super::repair::needed(ctx)
    {
        return None;
    }
    let why = crate::steps::links::gate(ctx)?;
    Some(format!("{gone} is drained first (its copies of replicated chunks are made again on the remaining data nodes), and those copies cannot run: {why}"))
}

/// The removed node's own pg_hba.conf: tsmn's block goes, once the
/// access node has let it go (where the access node reached it).
fn hba_removed(an_db: &crate::facts::DatabaseFacts, gone: &str, blocked: bool) -> Option<Step> {
    let m = an_db.members.iter().find(|m| m.name == gone)?;
    let mut s = step(
        gone,
        Phase::Cluster,
        "hba-removed",
        "pg_hba.conf: tsmn's block goes (removed from the cluster)",
        format!("the access node no longer connects to {gone}: its rule for it should not stay"),
        Action::HbaBlockRemoved {
            host: m.host.clone(),
            port: m.port,
        },
    );
    s.order = Order::Last;
    if blocked {
        s.state = StepState::Blocked {
            why: format!("{gone} is not removed from the cluster"),
        };
    }
    Some(s)
}

/// Password mode: the passfile without the removed nodes' lines, in the
/// same run (tsmn's own passfile; an adopted one proved to work is kept).
fn passfile_without(ctx: &Ctx, an: &str, removed: &[String]) -> Option<Step> {
    if removed.is_empty() || ctx.plan.auth.mode != AuthMode::Password || ctx.adopted_reach_all() {
        return None;
    }
    let (path, text) = crate::steps::auth::passfile(ctx, removed);
    let mut s = step(
        an,
        Phase::Cluster,
        "passfile-without-removed",
        "Passfile on the access node, without the removed data nodes",
        "the lines for a data node that left the cluster only keep its passwords on disk",
        Action::File {
            path,
            mode: 0o600,
            content: crate::steps::Content::Text { text },
        },
    );
    s.order = Order::Last;
    Some(s)
}
