//! PURE: a data node of a running cluster that does not answer, told from
//! the access node's catalog: which of its chunks have another copy and
//! which do not (by hypertable, with their time ranges and the rows the
//! access node's statistics estimate), what fails meanwhile, and what can
//! be done now (tsmn apply replaces it: steps/cluster/lost.rs). And a data node that answers again while the access node
//! still keeps it marked unavailable.
//!
//! The engine (2.13, tsl/src/data_node.c): `alter_data_node(name,
//! available => false)` switches each chunk the access node reads from
//! that node to another copy where there is one, and places no new chunk
//! there; DDL on distributed hypertables is refused while a data node is
//! unavailable (dist_ddl.c); `available => true` drops on it the copies
//! that went stale while it was away.

use super::{Finding, Fix, Severity::*, Then};
use crate::facts::{ChunkPlace, Connection, DatabaseFacts, Facts, Member};
use crate::plan::Plan;
use crate::quote::sql::literal;

pub fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    let Some(db) = facts.running_cluster() else {
        return;
    };
    for m in &db.members {
        let Some(node) = facts.node(&m.name) else {
            continue;
        };
        if down(&node.connection) {
            lost(plan, db, m, out);
        } else if matches!(node.connection, Connection::Connected { .. }) && m.unavailable {
            out.push(marked_unavailable(plan, db, m));
        }
    }
}

/// No server answered tsmn (a server that answers and refuses tsmn is
/// not lost: the access node may still reach it).
fn down(c: &Connection) -> bool {
    match c {
        Connection::Connected { .. } => false,
        Connection::TimedOut { .. } => true,
        Connection::Failed { sqlstate, message } => {
            !super::connect::explain(sqlstate.as_deref(), message).server_answered()
        }
    }
}

/// Per hypertable: its chunks among `chunks`, with their ranges and rows.
fn by_hypertable(chunks: &[&ChunkPlace]) -> String {
    let mut names: Vec<&str> = chunks.iter().map(|c| c.hypertable.as_str()).collect();
    names.dedup();
    names
        .iter()
        .map(|h| {
            let of: Vec<&&ChunkPlace> = chunks.iter().filter(|c| c.hypertable == *h).collect();
            let ranges: Vec<String> = of
                .iter()
                .filter_map(|c| c.range.as_ref())
                .map(|(a, b)| format!("[{a}, {b})"))
                .collect();
            let rows: Option<i64> = of.iter().map(|c| c.rows).sum();
            format!(
                "{h}: {} chunk(s){}{}",
                of.len(),
                rows.map(|r| format!(", about {r} rows"))
                    .unwrap_or_default(),
                if ranges.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", ranges.join(", "))
                }
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn lost(plan: &Plan, db: &DatabaseFacts, m: &Member, out: &mut Vec<Finding>) {
    let on: Vec<&ChunkPlace> = db
        .chunk_places
        .iter()
        .filter(|c| c.data_nodes.contains(&m.name))
        .collect();
    let (copied, only): (Vec<&ChunkPlace>, Vec<&ChunkPlace>) =
        on.iter().partition(|c| c.data_nodes.len() > 1);
    if !copied.is_empty() && !m.unavailable {
        out.push(Finding::new(
            Warning,
            &m.name,
            "lost_node_still_used",
            format!(
                "{} does not answer, and the access node still counts on it for {} chunk(s) that have another copy: {}",
                m.name,
                copied.len(),
                by_hypertable(&copied)
            ),
            "until it is marked unavailable, the access node reads those chunks from it where it is their node for queries, and sends writes to every copy: those queries and writes fail; marked unavailable, they use the other copies (and DDL on distributed hypertables is refused until it is available again)",
            Fix::Sql {
                node: plan.access_node.name.clone(),
                database: db.name.clone(),
                sql: format!("SELECT alter_data_node({}, available => false);", literal(&m.name)),
                then: Then::Nothing,
            }
            .or(format!("start {n} again; or replace it: take {n} out of the plan, add a new data node to it, and run tsmn apply --remove-data-nodes (the new node is attached, the chunks' copies are made again there, {n} is deleted)", n = m.name)),
        ));
    }
    if !only.is_empty() {
        out.push(Finding::new(
            Warning,
            &m.name,
            "lost_node_only_copies",
            format!(
                "{} does not answer, and {} chunk(s) exist only there: {}",
                m.name,
                only.len(),
                by_hypertable(&only)
            ),
            "queries over those ranges fail (also once it is marked unavailable) until it is back, and its data is gone with it if it never comes back; the engine refuses to detach or delete a data node that holds a chunk's only copy",
            Fix::manual(format!(
                "start {n} again (its data is there). To go on without it and its rows: take {n} out of the plan (with a new data node in its place if its other chunks should keep their copies) and run tsmn apply --remove-data-nodes --give-up-chunks {}: exactly those chunks are dropped from the access node's catalog, and the removal is refused while one is not named",
                only.iter()
                    .map(|c| c.chunk.rsplit_once('.').map_or(c.chunk.as_str(), |(_, t)| t))
                    .collect::<Vec<_>>()
                    .join(","),
                n = m.name
            )),
        ));
    }
}

fn marked_unavailable(plan: &Plan, db: &DatabaseFacts, m: &Member) -> Finding {
    Finding::new(
        Warning,
        &m.name,
        "node_marked_unavailable",
        format!(
            "{} answers again, but the access node keeps it marked unavailable",
            m.name
        ),
        "the access node places no new chunk there, reads other copies, and refuses DDL on distributed hypertables while a data node is unavailable; made available, the copies there that went stale while it was away are dropped (tsmn check then reports any chunk short of copies)",
        Fix::Sql {
            node: plan.access_node.name.clone(),
            database: db.name.clone(),
            sql: format!("SELECT alter_data_node({}, available => true);", literal(&m.name)),
            then: Then::Nothing,
        },
    )
}
