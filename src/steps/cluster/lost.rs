//! PURE: a lost data node taken out of the plan (`tsmn apply
//! --remove-data-nodes` while the access node does not reach it): marked
//! unavailable, its chunks' other copies brought back to the factor
//! (repair.rs), the chunks whose only copy it held given up by name or
//! the removal refused, then detached and deleted with `force`.
//!
//! What the engine allows (TimescaleDB 2.13, read in its source and proved
//! by tests/lost_replace.rs):
//! - `detach_data_node`/`delete_data_node` change only the access node's
//!   catalog (no connection to the node, unless `drop_remote_data` or
//!   `drop_database`), so they work on a node that is gone. With `force`
//!   they accept a chunk that keeps another copy (each chunk's query
//!   server is switched to it); with or without `force` they refuse one
//!   whose only copy is there (data_node.c: "would lose data").
//! - `alter_data_node(..., available => false)` switches reads to the
//!   other copies at once; while a node is unavailable the engine refuses
//!   DDL on distributed hypertables (dist_ddl.c: "some data nodes are not
//!   available for DDL commands"), but not the chunk copy (it sends its
//!   commands to the two data nodes it involves, not through DDL) nor
//!   `DROP FOREIGN TABLE` of a chunk: dist_ddl forwards a DROP of a foreign
//!   table to no data node, and the access node's own DROP handler
//!   deletes the chunk from its catalog (process_utility.c,
//!   ts_chunk_delete_by_name). That DROP is how a chunk whose only copy is
//!   lost leaves the catalog, so that the delete no longer refuses.
//! - `chunk_drop_replica` and `drop_chunks` ask the data node and fail.

use super::running;
use crate::facts::{ChunkPlace, DatabaseFacts};
use crate::quote::sql::literal;
use crate::steps::{step, Ctx, Phase, Statement, Step, StepState};

/// Each lost data node that leaves in this run, marked unavailable first:
/// the access node then reads the chunks it held from their other copies
/// (and writes only to those) while the copies are made again. Done when
/// it already is.
pub(super) fn mark_lost(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx).filter(|_| ctx.inputs.remove_data_nodes) else {
        return Vec::new();
    };
    crate::steps::moving::lost_nodes(ctx)
        .into_iter()
        .filter_map(|gone| an_db.members.iter().find(|m| m.name == gone))
        .map(|m| {
            let mut s = step(
                an,
                Phase::Cluster,
                &format!("unavailable-{}", m.name),
                format!("Mark {} unavailable (it does not answer)", m.name),
                format!("the access node does not reach {}: marked unavailable, it reads and writes the chunks that have another copy there, until {} is deleted below", m.name, m.name),
                super::sql(
                    db,
                    vec![Statement::plain(format!(
                        "SELECT * FROM alter_data_node({}, available => false)",
                        literal(&m.name)
                    ))],
                ),
            );
            if m.unavailable {
                s.state = StepState::Done {
                    why: format!("{} is marked unavailable already", m.name),
                };
            }
            s
        })
        .collect()
}

/// Whether `named` (as the operator wrote it: `schema.chunk` or the
/// chunk's name) is `place`'s chunk.
fn names(named: &str, place: &ChunkPlace) -> bool {
    named == place.chunk
        || place
            .chunk
            .rsplit_once('.')
            .is_some_and(|(_, t)| t == named)
}

/// For people: a chunk, its hypertable, its range and rows.
pub(super) fn described(p: &ChunkPlace) -> String {
    format!(
        "{} of {}{}{}",
        p.chunk,
        p.hypertable,
        p.range
            .as_ref()
            .map(|(a, b)| format!(" [{a}, {b})"))
            .unwrap_or_default(),
        p.rows
            .map(|r| format!(", about {r} rows"))
            .unwrap_or_else(|| ", rows unknown (never analyzed)".into())
    )
}

/// The lost node `gone`'s only copies: given up (a step each, that drops
/// the named chunk from the access node's catalog; its title says what
/// is lost, so apply's summary does before it asks), or why its removal
/// is refused (one not named; a name that is no such chunk).
pub(super) fn give_up(ctx: &Ctx, gone: &str, an_db: &DatabaseFacts) -> Result<Vec<Step>, String> {
    let only: Vec<&ChunkPlace> = an_db
        .chunk_places
        .iter()
        .filter(|p| p.data_nodes.len() == 1 && p.data_nodes[0] == gone)
        .collect();
    let lost = crate::steps::moving::lost_nodes(ctx);
    let unknown: Vec<&str> = ctx
        .inputs
        .give_up
        .iter()
        .filter(|n| {
            !an_db.chunk_places.iter().any(|p| {
                names(n, p) && p.data_nodes.len() == 1 && lost.contains(&p.data_nodes[0].as_str())
            })
        })
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "--give-up-chunks names {} that is no chunk whose only copy is on a lost data node leaving the cluster: nothing is given up; name only the chunks the refusal lists",
            unknown.join(", ")
        ));
    }
    let (named, kept): (Vec<&ChunkPlace>, Vec<&ChunkPlace>) = only
        .iter()
        .partition(|p| ctx.inputs.give_up.iter().any(|n| names(n, p)));
    if !kept.is_empty() {
        // The fix names every only copy (those already named too), so
        // that it can replace the option as given.
        let short = |p: &&ChunkPlace| {
            p.chunk
                .rsplit_once('.')
                .map_or(p.chunk.clone(), |(_, t)| t.to_string())
        };
        return Err(format!(
            "{gone} does not answer and holds the only copy of {} chunk(s){}: {}. Removing it loses their rows: start {gone} again (its data is there; then --drain moves them), or give them up by name: --give-up-chunks {}",
            only.len(),
            if named.is_empty() {
                String::new()
            } else {
                format!(", {} of them not named in --give-up-chunks", kept.len())
            },
            kept.iter().map(|p| described(p)).collect::<Vec<_>>().join("; "),
            only.iter().map(short).collect::<Vec<_>>().join(",")
        ));
    }
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    Ok(named
        .iter()
        .map(|p| {
            step(
                an,
                Phase::Cluster,
                &format!("give-up-{}", p.chunk),
                format!("Give up {} (its only copy was on lost {gone}: LOST)", described(p)),
                format!(
                    "named in --give-up-chunks: its rows are lost. It is dropped from the access node's catalog (DROP FOREIGN TABLE: nothing is sent to a data node), and only while its one copy is still on {gone}"
                ),
                super::sql(db, vec![drop_lost(&p.chunk, gone)]),
            )
        })
        .collect())
}

/// The access node lets go of `chunk` (quoted), whose only copy was on
/// `gone`: refused on the server when its copies changed since (a copy
/// made, the node back); nothing when it is gone already (a re-run).
fn drop_lost(chunk: &str, gone: &str) -> Statement {
    Statement::plain(format!(
        "DO $tsmn$ DECLARE held name[]; BEGIN \
         SELECT data_nodes INTO held FROM timescaledb_information.chunks WHERE format('%I.%I', chunk_schema, chunk_name) = {c}; \
         IF NOT FOUND THEN RETURN; END IF; \
         IF held IS DISTINCT FROM ARRAY[{g}]::name[] THEN RAISE EXCEPTION 'not giving up %: its copies are on % now, not only on %', {c}, held, {g}; END IF; \
         DROP FOREIGN TABLE {chunk}; END $tsmn$",
        c = literal(chunk),
        g = literal(gone)
    ))
}
