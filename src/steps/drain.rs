//! PURE: `tsmn apply --remove-data-nodes --drain`. Before a data node
//! leaves, each chunk whose only copy it holds goes to the remaining data
//! node with the least bytes of that chunk's hypertable; a replicated
//! chunk whose copy it holds gets that copy made again on a remaining data
//! node first, where its factor asks for it (cluster/repair.rs, the
//! placement of a lost node's replacement), then loses that replica in the
//! removal itself (detach with force).

use super::{step, Action, ChunkMove, Ctx, Order, Phase, Statement, Step, StepState};
use crate::facts::{ChunkPlace, DatabaseFacts};
use crate::quote::sql::literal;

/// A settings step on each leaving node that holds an only copy. It runs
/// last in the phase: tsmn reaches that node where the access node does.
/// None when the links' gate refuses the moves: no restart for nothing.
pub(super) fn leaving_settings(ctx: &Ctx) -> Vec<Step> {
    if super::links::gate(ctx).is_some() {
        return Vec::new();
    }
    super::moving::drain_sources(ctx)
        .iter()
        .map(|gone| {
            let changes = super::moving::for_moves(ctx, gone, ctx.inputs.parallel);
            let mut s = step(
                gone,
                Phase::Settings,
                "drain-settings",
                "Settings for moving its chunks away (logical decoding)",
                "the engine copies a chunk through a publication on the source data node: wal_level = logical, a replication slot and a WAL sender (restart)",
                Action::Settings {
                    database: "postgres".into(),
                    changes,
                },
            );
            s.order = Order::Last;
            s
        })
        .collect()
}

/// The drain of `gone`: what an earlier drain left first, then no new
/// chunk for `gone`, then one move per chunk it alone holds.
pub(super) fn build(ctx: &Ctx, gone: &str, an_db: &DatabaseFacts) -> Vec<Step> {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let mut steps = vec![
        step(
            an,
            Phase::Cluster,
            &format!("drain-resume-{gone}"),
            "Finish or clean up what an earlier drain left",
            "a chunk copy whose session is gone is cleaned up by the engine (cleanup_copy_chunk_operation); one still running is waited for; tsmn's write pauses left by a killed run are released; a write whose COMMIT PREPARED met a data node's restart is acknowledged but left prepared there, invisible: the engine heals every data node (remote_txn_heal_data_node)",
            Action::DrainResume {
                database: db.to_string(),
                functions_schema: ctx.functions_schema().to_string(),
            },
        ),
        step(
            an,
            Phase::Cluster,
            &format!("drain-block-{gone}"),
            format!("No new chunk goes to {gone}"),
            format!(
                "{gone} is leaving: new chunks of every distributed hypertable go to the other data nodes (force: also where it is the hypertable's last node with room){}",
                fewer_copies(ctx, gone, an_db)
            ),
            Action::Sql {
                database: db.to_string(),
                statements: vec![Statement::plain(format!(
                    "SELECT timescaledb_experimental.block_new_chunks({}, force => true)",
                    literal(gone)
                ))],
            },
        ),
    ];
    let why_not = super::links::gate(ctx);
    for (place, destination) in placement(&an_db.chunk_places, gone, &remaining(ctx, an_db)) {
        let bytes = place.bytes.iter().find(|(n, _)| n == gone).map(|(_, b)| *b);
        let (title, state) = match &destination {
            Some(d) => (format!("Move {} from {gone} to {d}", place.chunk), StepState::Todo),
            None => (
                format!("Move {} from {gone}", place.chunk),
                StepState::Blocked {
                    why: format!("no data node in the plan holds a share of {} to take {} (attach one, or keep {gone} in the plan)", place.hypertable, place.chunk),
                },
            ),
        };
        let compression = destination
            .as_deref()
            .and_then(|d| super::moving::compression_block(ctx, &place.hypertable_name, d));
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("move-{}", place.chunk),
            title,
            format!(
                "{gone} holds the only copy{}: writes to {} wait while it copies (reads go on); rows and checksums are compared on both data nodes before the copy on {gone} is dropped",
                bytes.map_or(String::new(), |b| format!(" ({b} bytes)")),
                place.hypertable
            ),
            Action::MoveChunk(ChunkMove {
                database: db.to_string(),
                hypertable: place.hypertable.clone(),
                chunk: place.chunk.clone(),
                source: gone.to_string(),
                destination: destination.unwrap_or_default(),
                bytes,
                functions_schema: ctx.functions_schema().to_string(),
                keep_source: false,
                one_replica: false,
            }),
        );
        if ctx.inputs.parallel > 1 {
            s.order = Order::Pool(ctx.inputs.parallel.min(super::moving::MAX_PARALLEL));
        }
        if let (Some(why), StepState::Todo) = (why_not.as_ref().or(compression.as_ref()), &state) {
            s.state = StepState::Blocked { why: why.clone() };
        } else {
            s.state = state;
        }
        steps.push(s);
    }
    steps
}

/// What the removal takes from replicated chunks: their copy on `gone`
/// goes with it. The drain makes first the copies their replication factor
/// asks for (the "Copy ... from ... to ..." steps before the removal);
/// where the remaining data nodes are too few, that step is blocked and
/// says what to do.
fn fewer_copies(ctx: &Ctx, gone: &str, an_db: &DatabaseFacts) -> String {
    let n = an_db
        .chunk_places
        .iter()
        .filter(|p| p.data_nodes.len() > 1 && p.data_nodes.iter().any(|d| d == gone))
        .count();
    if n == 0 {
        return String::new();
    }
    if super::cluster::repair::on(ctx) {
        return format!(
            ". {n} replicated chunk(s) lose their copy on {gone} with the removal: where that leaves one fewer copies than its hypertable's replication factor, the copy is made again first on the remaining data node with the fewest chunks of that hypertable (the Copy steps), from a copy that stays"
        );
    }
    format!(
        ". {n} replicated chunk(s) lose their copy on {gone} with the removal: their hypertables may then hold fewer copies than their replication factor (tsmn check: chunks_under_replicated); tsmn apply --repair-replication afterwards copies them again on the remaining data nodes"
    )
}

/// Per hypertable (named as the chunk places name it), the data nodes of
/// the plan that hold a share of it.
fn remaining(ctx: &Ctx, an_db: &DatabaseFacts) -> Vec<(String, Vec<String>)> {
    an_db
        .distributed_hypertables
        .iter()
        .filter_map(|h| {
            let name = an_db
                .chunk_places
                .iter()
                .find(|p| p.hypertable_name == (h.schema.clone(), h.table.clone()))?
                .hypertable
                .clone();
            let nodes = h
                .data_nodes
                .iter()
                .filter(|n| ctx.plan.data_nodes.iter().any(|d| &d.name == *n))
                .cloned()
                .collect();
            Some((name, nodes))
        })
        .collect()
}

/// PURE: each chunk whose only copy is on `gone`, with the data node it
/// goes to: per hypertable, the candidate holding the least bytes of it
/// (counting the moves already placed), largest chunk first; ties by name.
/// Bytes unknown (a data node did not answer the probe): chunks count 1.
pub fn placement<'p>(
    places: &'p [ChunkPlace],
    gone: &str,
    candidates: &[(String, Vec<String>)],
) -> Vec<(&'p ChunkPlace, Option<String>)> {
    let sized = places.iter().any(|p| !p.bytes.is_empty());
    let weight = |p: &ChunkPlace, node: &str| -> i64 {
        if !sized {
            return 1;
        }
        p.bytes
            .iter()
            .find(|(n, _)| n == node)
            .map_or(0, |(_, b)| *b)
    };
    let mut moving: Vec<&ChunkPlace> = places
        .iter()
        .filter(|p| p.data_nodes.len() == 1 && p.data_nodes[0] == gone)
        .collect();
    moving.sort_by(|a, b| {
        weight(b, gone)
            .cmp(&weight(a, gone))
            .then(a.chunk.cmp(&b.chunk))
    });
    // Load per (hypertable, node): what each node holds of it now.
    let mut load: Vec<((String, String), i64)> = Vec::new();
    for p in places {
        for n in &p.data_nodes {
            add(&mut load, &p.hypertable, n, weight(p, n));
        }
    }
    let mut out = Vec::new();
    for p in moving {
        let nodes = candidates
            .iter()
            .find(|(h, _)| *h == p.hypertable)
            .map(|(_, n)| n.as_slice())
            .unwrap_or_default();
        let held = |n: &String| {
            load.iter()
                .find(|((h, m), _)| *h == p.hypertable && m == n)
                .map_or(0, |(_, b)| *b)
        };
        let best = nodes
            .iter()
            .filter(|n| *n != gone)
            .min_by(|a, b| held(a).cmp(&held(b)).then(a.cmp(b)))
            .cloned();
        if let Some(b) = &best {
            add(&mut load, &p.hypertable, b, weight(p, gone));
        }
        out.push((p, best));
    }
    out
}

fn add(load: &mut Vec<((String, String), i64)>, h: &str, n: &str, w: i64) {
    match load.iter_mut().find(|((a, b), _)| a == h && b == n) {
        Some((_, v)) => *v += w,
        None => load.push(((h.to_string(), n.to_string()), w)),
    }
}

/// The removal's first statement: it refuses while `gone` still holds a
/// chunk's only copy, whatever the facts said when the steps were built
/// (a drain that stopped half way, a chunk made since).
pub(super) fn guard(gone: &str) -> Statement {
    Statement::plain(format!(
        "DO $tsmn$ DECLARE left_over text; BEGIN \
         SELECT string_agg(format('%I.%I', chunk_schema, chunk_name), ', ') INTO left_over \
         FROM timescaledb_information.chunks WHERE cardinality(data_nodes) = 1 AND data_nodes[1] = {l}; \
         IF left_over IS NOT NULL THEN RAISE EXCEPTION 'not removing %: it holds the only copy of %', {l}, left_over \
         USING HINT = 'run tsmn apply --remove-data-nodes --drain to move them first'; END IF; END $tsmn$",
        l = literal(gone)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(h: &str, c: &str, nodes: &[&str], bytes: &[(&str, i64)]) -> ChunkPlace {
        ChunkPlace {
            hypertable: h.into(),
            chunk: c.into(),
            data_nodes: nodes.iter().map(|n| n.to_string()).collect(),
            bytes: bytes.iter().map(|(n, b)| (n.to_string(), *b)).collect(),
            hypertable_name: ("public".into(), h.into()),
            ..ChunkPlace::default()
        }
    }

    #[test]
    fn each_chunk_goes_to_the_node_with_the_least_of_its_hypertable() {
        let places = vec![
            place("m", "c1", &["dn1"], &[("dn1", 500)]),
            place("m", "c2", &["dn2"], &[("dn2", 100)]),
            place("m", "c3", &["dn3"], &[("dn3", 300)]),
            place("m", "c4", &["dn3"], &[("dn3", 200)]),
            place("m", "c5", &["dn3", "dn1"], &[("dn3", 50), ("dn1", 50)]),
            place("e", "d1", &["dn3"], &[("dn3", 10)]),
        ];
        let nodes = vec!["dn1".to_string(), "dn2".to_string(), "dn3".to_string()];
        let cands = vec![("m".to_string(), nodes.clone()), ("e".to_string(), nodes)];
        let got: Vec<(&str, Option<String>)> = placement(&places, "dn3", &cands)
            .into_iter()
            .map(|(p, d)| (p.chunk.as_str(), d))
            .collect();
        // c3 (300) first to dn2 (100 < 550); then c4 (200): dn2 has 400,
        // dn1 550 -> dn2. d1: e has nothing elsewhere -> dn1 by name. The
        // replicated c5 is not moved.
        assert_eq!(
            got,
            vec![
                ("c3", Some("dn2".to_string())),
                ("c4", Some("dn2".to_string())),
                ("d1", Some("dn1".to_string())),
            ]
        );
        let none: Vec<_> = placement(&places, "dn3", &[]);
        assert!(none.iter().all(|(_, d)| d.is_none()), "{none:?}");
    }
}
