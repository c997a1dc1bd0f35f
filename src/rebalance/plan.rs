//! PURE: which chunks to move so that each data node holds about the same
//! bytes of each distributed hypertable (Citus's
//! `get_rebalance_table_shards_plan`, for TimescaleDB's chunks). Per
//! hypertable, over the data nodes attached to it and available: while
//! the heaviest and the lightest differ, the chunk copy on the heaviest
//! whose size is nearest half the gap (and smaller than the gap, so the
//! spread shrinks) goes to the lightest, where the chunk has no copy yet.
//! A chunk moves at most once per plan.

use crate::facts::{ChunkPlace, DatabaseFacts};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One chunk copy to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// `schema.table`, quoted for SQL.
    pub hypertable: String,
    /// `schema.chunk`, quoted for SQL.
    pub chunk: String,
    pub from: String,
    pub to: String,
    pub bytes: i64,
}

/// A data node's share of one hypertable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub data_node: String,
    pub chunks: i64,
    pub bytes: i64,
}

/// One hypertable: its shares before and after, and the moves between.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hypertable {
    pub name: String,
    pub before: Vec<Share>,
    pub after: Vec<Share>,
    pub moves: Vec<Move>,
}

impl Hypertable {
    /// Heaviest minus lightest share, in bytes.
    pub fn spread(shares: &[Share]) -> i64 {
        let max = shares.iter().map(|s| s.bytes).max().unwrap_or(0);
        let min = shares.iter().map(|s| s.bytes).min().unwrap_or(0);
        max - min
    }
}

/// The whole plan, hypertable by hypertable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub hypertables: Vec<Hypertable>,
    /// Data nodes marked unavailable on the access node: left out, said.
    #[serde(default)]
    pub left_out: Vec<String>,
}

impl Plan {
    pub fn moves(&self) -> impl Iterator<Item = &Move> {
        self.hypertables.iter().flat_map(|h| h.moves.iter())
    }
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Chunks whose sizes are unknown (a data node did not answer).
    SizesUnknown(Vec<String>),
}

/// The moves that even out each distributed hypertable over the data
/// nodes it is attached to, leaving out `unavailable` ones.
pub fn plan(db: &DatabaseFacts, unavailable: &[String]) -> Result<Plan, Refusal> {
    let unknown: Vec<String> = db
        .chunk_places
        .iter()
        .filter(|c| {
            c.data_nodes
                .iter()
                .any(|n| !c.bytes.iter().any(|(b, _)| b == n))
        })
        .map(|c| c.chunk.clone())
        .collect();
    if !unknown.is_empty() {
        return Err(Refusal::SizesUnknown(unknown));
    }
    let mut by_hypertable: BTreeMap<(&str, &str), Vec<&ChunkPlace>> = BTreeMap::new();
    for c in &db.chunk_places {
        let (schema, table) = &c.hypertable_name;
        by_hypertable
            .entry((schema.as_str(), table.as_str()))
            .or_default()
            .push(c);
    }
    let mut out = Plan {
        left_out: unavailable.to_vec(),
        ..Plan::default()
    };
    // Per data node, the names of the compressed chunks it holds, of every
    // hypertable: a copy that would bring one of them clashes there.
    let mut names: Names = HashMap::new();
    for c in &db.chunk_places {
        for (n, name) in &c.compressed {
            names.entry(n.as_str()).or_default().insert(name.as_str());
        }
    }
    for h in &db.distributed_hypertables {
        let chunks = by_hypertable
            .get(&(h.schema.as_str(), h.table.as_str()))
            .cloned()
            .unwrap_or_default();
        // As the catalog quotes it (format('%I.%I')): the chunks carry it.
        let name = chunks.first().map_or_else(
            || format!("{}.{}", h.schema, h.table),
            |c| c.hypertable.clone(),
        );
        let nodes: Vec<&str> = h
            .data_nodes
            .iter()
            .map(String::as_str)
            .filter(|n| !unavailable.iter().any(|u| u == n))
            .collect();
        out.hypertables
            .push(even_out(&name, &nodes, &chunks, &mut names));
    }
    Ok(out)
}

/// Per data node, the compressed chunks' names it holds.
type Names<'a> = HashMap<&'a str, HashSet<&'a str>>;

/// The rule, which makes a plan settle (a plan made right after the
/// moves of the one before were carried out proposes nothing):
///
/// * Nothing moves while the spread (fullest minus emptiest node) is
///   within one typical chunk's size (the median copy of the hypertable):
///   no placement of whole chunks does much better, and each move pauses
///   writes.
/// * A move goes to the emptiest node, from the fullest node that has a
///   fitting copy, and must cut the difference between those two by at
///   least the copy's own size: a copy of `b` bytes over a gap of `g`
///   moves only when `b <= 2g/3` (the gap becomes `|g - 2b|`). Both nodes
///   end within their old loads, so the spread never grows, and the sum
///   of squares of the loads drops at each move: the loop ends.
/// * A copy under a tenth of a typical chunk does not move: it would cut
///   the spread by next to nothing and still pause writes (most often the
///   newest chunk, still filling, where writes go).
/// * A compressed copy keeps its compressed chunk's name where it goes,
///   and each data node numbers its own: a copy whose name the lightest
///   node holds already (or gets from an earlier move) does not go there.
/// * Among fitting copies, the one nearest half the gap.
/// * A chunk moves at most once (its step is `move-<chunk>`): a copy this
///   plan already moved may go on from where it landed, which rewrites
///   that move (or cancels it when it goes back), so the plan ends in a
///   placement where no move fits, whatever the moves before it. A
///   replicated chunk's other copies stay while one of its copies moves:
///   there a plan after this one may still move one of them (rarely: it
///   must be the only copy that fits).
fn even_out<'a>(
    name: &str,
    nodes: &[&'a str],
    chunks: &[&'a ChunkPlace],
    names: &mut Names<'a>,
) -> Hypertable {
    // Nodes by their index in `nodes` (64 data nodes x thousands of moves:
    // no string is hashed or compared in the loop but to break a tie).
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let of = |n: &str| index.get(n).copied();
    // Per node: its copies by size (bytes, chunk index), and its total.
    let mut held: Vec<BTreeSet<(i64, usize)>> = vec![BTreeSet::new(); nodes.len()];
    let mut load: Vec<i64> = vec![0; nodes.len()];
    // Per chunk: the nodes of `nodes` that hold a copy; per compressed
    // copy (chunk, node), its compressed chunk's name, which it keeps
    // where it goes.
    let mut copies: Vec<Vec<usize>> = Vec::with_capacity(chunks.len());
    let mut copy_name: HashMap<(usize, usize), &'a str> = HashMap::new();
    for (i, c) in chunks.iter().enumerate() {
        copies.push(c.data_nodes.iter().filter_map(|n| of(n)).collect());
        for (n, compressed) in &c.compressed {
            if let Some(k) = of(n) {
                copy_name.insert((i, k), compressed.as_str());
            }
        }
        for (n, b) in &c.bytes {
            if let Some(k) = of(n) {
                held[k].insert((*b, i));
                load[k] += b;
            }
        }
    }
    let before = shares(nodes, &held, &load);
    let typical = typical_size(&held);
    // Per chunk: its move in `moves`, while it has one (None: cancelled).
    let mut moved: Vec<Option<usize>> = vec![None; chunks.len()];
    let mut moves: Vec<Option<Move>> = Vec::new();
    let mut donors: Vec<usize> = (0..nodes.len()).collect();
    while let Some(lo) = (0..nodes.len()).min_by_key(|&k| (load[k], nodes[k])) {
        let top = load.iter().copied().max().unwrap_or(0);
        if top - load[lo] <= typical {
            break;
        }
        donors.clear();
        donors.extend((0..nodes.len()).filter(|&k| load[k] > load[lo]));
        donors.sort_by_key(|&k| (std::cmp::Reverse(load[k]), nodes[k]));
        let found = donors.iter().find_map(|&hi| {
            let gap = load[hi] - load[lo];
            let fits = |&&(_, i): &&(i64, usize)| {
                !copies[i].contains(&lo)
                    && moved[i].is_none_or(|m| moves[m].as_ref().is_some_and(|m| m.to == nodes[hi]))
                    && copy_name.get(&(i, hi)).is_none_or(|n| {
                        !names.get(nodes[lo]).is_some_and(|there| there.contains(n))
                    })
            };
            let (half, most) = (gap / 2, gap * 2 / 3);
            let least = (typical / 10).max(1);
            let below = (half >= least)
                .then(|| {
                    held[hi]
                        .range((least, 0)..=(half, usize::MAX))
                        .rev()
                        .find(fits)
                })
                .flatten();
            let from = (half + 1).max(least);
            let above = (from <= most)
                .then(|| held[hi].range((from, 0)..=(most, usize::MAX)).find(fits))
                .flatten();
            let pick = match (below, above) {
                (Some(a), Some(b)) => Some(if half - a.0 <= b.0 - half { *a } else { *b }),
                (a, b) => a.or(b).copied(),
            };
            pick.map(|p| (hi, p))
        });
        let Some((hi, (bytes, i))) = found else { break };
        held[hi].remove(&(bytes, i));
        held[lo].insert((bytes, i));
        load[hi] -= bytes;
        load[lo] += bytes;
        copies[i].retain(|n| *n != hi);
        copies[i].push(lo);
        carry_name(&mut copy_name, names, i, (nodes[hi], hi), (nodes[lo], lo));
        let (from, to) = (nodes[hi], nodes[lo]);
        match moved[i].and_then(|m| moves[m].as_mut().map(|mv| (m, mv))) {
            Some((m, mv)) if mv.from == to => {
                moves[m] = None;
                moved[i] = None;
            }
            Some((_, mv)) => mv.to = to.to_string(),
            None => {
                moved[i] = Some(moves.len());
                moves.push(Some(Move {
                    hypertable: name.to_string(),
                    chunk: chunks[i].chunk.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                    bytes,
                }));
            }
        }
    }
    Hypertable {
        name: name.to_string(),
        before,
        after: shares(nodes, &held, &load),
        moves: moves.into_iter().flatten().collect(),
    }
}

/// A compressed copy of chunk `i` moved from `from` to `to` (name, index):
/// its compressed chunk's name goes with it.
fn carry_name<'a>(
    copy_name: &mut HashMap<(usize, usize), &'a str>,
    names: &mut Names<'a>,
    i: usize,
    from: (&'a str, usize),
    to: (&'a str, usize),
) {
    if let Some(n) = copy_name.remove(&(i, from.1)) {
        if let Some(there) = names.get_mut(from.0) {
            there.remove(n);
        }
        names.entry(to.0).or_default().insert(n);
        copy_name.insert((i, to.1), n);
    }
}

/// The median size of the hypertable's copies: what "one chunk" weighs.
fn typical_size(held: &[BTreeSet<(i64, usize)>]) -> i64 {
    let mut sizes: Vec<i64> = held.iter().flatten().map(|(b, _)| *b).collect();
    sizes.sort_unstable();
    sizes.get(sizes.len() / 2).copied().unwrap_or(0)
}

fn shares(nodes: &[&str], held: &[BTreeSet<(i64, usize)>], load: &[i64]) -> Vec<Share> {
    nodes
        .iter()
        .enumerate()
        .map(|(k, n)| Share {
            data_node: n.to_string(),
            chunks: held[k].len() as i64,
            bytes: load[k],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::DistributedHypertable;

    fn place(chunk: &str, on: &[(&str, i64)]) -> ChunkPlace {
        ChunkPlace {
            hypertable: "public.metrics".into(),
            hypertable_name: ("public".into(), "metrics".into()),
            chunk: chunk.into(),
            data_nodes: on.iter().map(|(n, _)| n.to_string()).collect(),
            bytes: on.iter().map(|(n, b)| (n.to_string(), *b)).collect(),
            ..ChunkPlace::default()
        }
    }

    fn db(nodes: &[&str], places: Vec<ChunkPlace>) -> DatabaseFacts {
        DatabaseFacts {
            distributed_hypertables: vec![DistributedHypertable {
                schema: "public".into(),
                table: "metrics".into(),
                data_nodes: nodes.iter().map(|n| n.to_string()).collect(),
                replication_factor: 1,
            }],
            chunk_places: places,
            ..DatabaseFacts::default()
        }
    }

    #[test]
    fn after_a_grow_half_of_the_old_nodes_bytes_go_to_the_new_one() {
        let places = (0..8)
            .map(|i| {
                place(
                    &format!("c{i}"),
                    &[(if i % 2 == 0 { "dn1" } else { "dn2" }, 100)],
                )
            })
            .collect();
        let p = plan(&db(&["dn1", "dn2", "dn3"], places), &[]).expect("plan");
        let h = &p.hypertables[0];
        assert_eq!(Hypertable::spread(&h.before), 400);
        assert!(Hypertable::spread(&h.after) <= 100, "{h:#?}");
        assert_eq!(h.moves.len(), 2, "{h:#?}");
        assert!(h.moves.iter().all(|m| m.to == "dn3"), "{h:#?}");
        let total = |s: &[Share]| s.iter().map(|s| s.bytes).sum::<i64>();
        assert_eq!(
            total(&h.before),
            total(&h.after),
            "bytes are moved, not made"
        );
    }

    #[test]
    fn a_copy_under_a_tenth_of_a_typical_chunk_is_not_worth_its_pause() {
        // dn1 holds two big chunks and the newest, nearly empty one: the
        // big ones are over two thirds of the gap, the small one would cut
        // the spread by 1 %.
        let places = vec![
            place("a", &[("dn1", 600)]),
            place("b", &[("dn1", 600)]),
            place("c", &[("dn2", 600)]),
            place("new", &[("dn1", 8)]),
        ];
        let p = plan(&db(&["dn1", "dn2"], places.clone()), &[]).expect("plan");
        assert_eq!(p.moves().count(), 0, "{p:#?}");
        // At a tenth of the typical size it moves.
        let mut bigger = places;
        bigger[3] = place("new", &[("dn1", 60)]);
        let p = plan(&db(&["dn1", "dn2"], bigger), &[]).expect("plan");
        assert_eq!(
            p.moves().map(|m| m.chunk.as_str()).collect::<Vec<_>>(),
            ["new"]
        );
    }

    #[test]
    fn two_compressed_copies_with_one_name_do_not_go_to_one_node() {
        // dn1 and dn2 numbered their compressed chunks alike: x1..x4.
        let mut places = Vec::new();
        for (node, prefix) in [("dn1", "a"), ("dn2", "b")] {
            for k in 1..=4 {
                let mut p = place(&format!("{prefix}{k}"), &[(node, 100)]);
                p.compressed = vec![(node.to_string(), format!("x{k}"))];
                places.push(p);
            }
        }
        let p = plan(&db(&["dn1", "dn2", "dn3"], places.clone()), &[]).expect("plan");
        let moved: Vec<&str> = p.moves().map(|m| m.chunk.as_str()).collect();
        assert_eq!(moved, ["a4", "b3"], "{p:#?}");
        // Without the names, the same place in dn2's order: b4 (x4, as a4).
        for c in &mut places {
            c.compressed.clear();
        }
        let p = plan(&db(&["dn1", "dn2", "dn3"], places), &[]).expect("plan");
        let moved: Vec<&str> = p.moves().map(|m| m.chunk.as_str()).collect();
        assert_eq!(moved, ["a4", "b4"], "{p:#?}");
    }

    #[test]
    fn an_even_cluster_moves_nothing_and_a_copy_never_lands_beside_another() {
        let places = vec![place("a", &[("dn1", 100)]), place("b", &[("dn2", 100)])];
        assert_eq!(
            plan(&db(&["dn1", "dn2"], places), &[])
                .expect("plan")
                .moves()
                .count(),
            0
        );
        // c is on dn1 and dn2 (replicated): a copy moves only where the
        // chunk has none, and no chunk moves twice.
        let places = vec![
            place("c", &[("dn1", 100), ("dn2", 100)]),
            place("e", &[("dn1", 100)]),
            place("f", &[("dn2", 100)]),
        ];
        let p = plan(&db(&["dn1", "dn2", "dn3"], places.clone()), &[]).expect("plan");
        assert_eq!(p.moves().count(), 1, "{p:#?}");
        for m in p.moves() {
            let c = places.iter().find(|c| c.chunk == m.chunk).expect("chunk");
            assert!(!c.data_nodes.contains(&m.to), "{m:?}");
            assert!(c.data_nodes.contains(&m.from), "{m:?}");
        }
        // The heaviest node has nothing that fits (one big chunk): the
        // next one gives.
        let places = vec![
            place("big", &[("dn1", 1000)]),
            place("g", &[("dn2", 600)]),
            place("h", &[("dn2", 100)]),
        ];
        let p = plan(&db(&["dn1", "dn2", "dn3"], places), &[]).expect("plan");
        let h = &p.hypertables[0];
        assert!(
            h.moves.iter().all(|m| m.from == "dn2" && m.to == "dn3"),
            "{h:#?}"
        );
        assert!(
            Hypertable::spread(&h.after) < Hypertable::spread(&h.before),
            "{h:#?}"
        );
    }

    #[test]
    fn unknown_sizes_and_unavailable_nodes() {
        let mut c = place("a", &[("dn1", 100)]);
        c.bytes.clear();
        assert_eq!(
            plan(&db(&["dn1", "dn2"], vec![c]), &[]),
            Err(Refusal::SizesUnknown(vec!["a".into()]))
        );
        let places = vec![place("a", &[("dn1", 100)]), place("b", &[("dn1", 100)])];
        let p = plan(&db(&["dn1", "dn2"], places), &["dn2".into()]).expect("plan");
        assert_eq!(
            p.moves().count(),
            0,
            "nothing goes to a node marked unavailable"
        );
        assert_eq!(p.left_out, ["dn2"]);
        assert!(super::super::render::text(&p).starts_with(
            "left out, marked unavailable on the access node: dn2 (it holds its chunks still"
        ));
    }
}
