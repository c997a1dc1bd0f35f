//! Properties of the rebalance planner over many random clusters (seeded,
//! so a failure comes back the same): planned again right after its moves
//! are carried out, a plan proposes nothing (chunks in one copy); the spread after is never
//! worse than before; no chunk moves twice; a copy never lands beside
//! another of its chunk; bytes are moved, not made.

use super::plan::{plan, Hypertable, Plan};
use crate::facts::{ChunkPlace, DatabaseFacts, DistributedHypertable};

/// A small, seeded generator (splitmix64), as tests/differential.rs has.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A cluster of 2 to 9 data nodes, a few of them new (empty), two
/// hypertables of up to 80 chunks each, sizes from even to wild (a few
/// huge chunks, empty ones); `replicas` lets some chunks have two copies.
fn cluster(seed: u64, replicas: bool) -> DatabaseFacts {
    let mut r = Rng(seed);
    let n = 2 + r.below(8) as usize;
    let nodes: Vec<String> = (1..=n).map(|i| format!("dn{i}")).collect();
    // The old nodes hold the chunks; the rest joined later.
    let old = 1 + r.below(n as u64) as usize;
    let mut places = Vec::new();
    let mut hypertables = Vec::new();
    for h in ["m1", "m2"] {
        hypertables.push(DistributedHypertable {
            schema: "public".into(),
            table: h.into(),
            data_nodes: nodes.clone(),
            replication_factor: 1,
        });
        let style = r.below(3);
        for c in 0..r.below(81) {
            let bytes = match style {
                0 => 8_000_000 + r.below(2_000_000) as i64,
                1 => r.below(20_000_000) as i64,
                _ if r.below(10) == 0 => 100_000_000 + r.below(100_000_000) as i64,
                _ => r.below(3) as i64 * r.below(5_000_000) as i64,
            };
            let first = r.below(old as u64) as usize;
            let mut on = vec![nodes[first].clone()];
            if replicas && n > 1 && r.below(4) == 0 {
                on.push(nodes[(first + 1 + r.below(n as u64 - 1) as usize) % n].clone());
            }
            places.push(ChunkPlace {
                hypertable: format!("public.{h}"),
                hypertable_name: ("public".into(), h.into()),
                chunk: format!("_timescaledb_internal._dist_hyper_{h}_{c}_chunk"),
                bytes: on.iter().map(|d| (d.clone(), bytes)).collect(),
                data_nodes: on,
                ..ChunkPlace::default()
            });
        }
    }
    DatabaseFacts {
        distributed_hypertables: hypertables,
        chunk_places: places,
        ..DatabaseFacts::default()
    }
}

/// The cluster once the plan's moves are done: each moved copy is on its
/// destination with the same bytes.
fn carried_out(db: &DatabaseFacts, p: &Plan) -> DatabaseFacts {
    let mut db = db.clone();
    for m in p.moves() {
        let c = db
            .chunk_places
            .iter_mut()
            .find(|c| c.chunk == m.chunk)
            .expect("a moved chunk is in the catalog");
        for n in c
            .data_nodes
            .iter_mut()
            .chain(c.bytes.iter_mut().map(|(n, _)| n))
        {
            if *n == m.from {
                n.clone_from(&m.to);
            }
        }
    }
    db
}

#[test]
fn planned_again_after_its_moves_a_plan_proposes_nothing() {
    for seed in 0..2000 {
        // Single copies: a replicated chunk's other copies stay while one
        // of its copies moves, so a plan after it may move one of those.
        let db = cluster(seed, false);
        let first = plan(&db, &[]).expect("plan");
        let again = plan(&carried_out(&db, &first), &[]).expect("plan");
        assert_eq!(
            again.moves().count(),
            0,
            "seed {seed}: {:#?}\nafter {:#?}",
            again.moves().collect::<Vec<_>>(),
            first.moves().collect::<Vec<_>>()
        );
    }
}

#[test]
fn the_spread_after_is_never_worse_and_no_chunk_moves_twice() {
    for seed in 0..2000 {
        let db = cluster(seed, true);
        let p = plan(&db, &[]).expect("plan");
        for h in &p.hypertables {
            assert!(
                Hypertable::spread(&h.after) <= Hypertable::spread(&h.before),
                "seed {seed}: {h:#?}"
            );
            let total = |s: &[super::Share]| s.iter().map(|s| s.bytes).sum::<i64>();
            assert_eq!(total(&h.before), total(&h.after), "seed {seed}");
        }
        let mut chunks: Vec<&str> = p.moves().map(|m| m.chunk.as_str()).collect();
        let all = chunks.len();
        chunks.sort_unstable();
        chunks.dedup();
        assert_eq!(chunks.len(), all, "seed {seed}: a chunk moves twice");
        for m in p.moves() {
            let c = db
                .chunk_places
                .iter()
                .find(|c| c.chunk == m.chunk)
                .expect("chunk");
            assert!(c.data_nodes.contains(&m.from), "seed {seed}: {m:?}");
            assert!(!c.data_nodes.contains(&m.to), "seed {seed}: {m:?}");
            assert_ne!(m.from, m.to, "seed {seed}");
        }
    }
}

/// The tester's case: a spread within one typical chunk (11 MB over
/// chunks of 4 to 16 MB, 12 MB the median) is as even as whole chunks make
/// it; nothing moves (the planner before moved the 4 MB chunk).
#[test]
fn a_spread_within_one_typical_chunk_moves_nothing() {
    let mut db = cluster(0, false);
    db.distributed_hypertables.truncate(1);
    db.distributed_hypertables[0].data_nodes = vec!["dn1".into(), "dn2".into(), "dn3".into()];
    let sizes: [(&str, &[i64]); 3] = [
        ("dn1", &[16_000_000, 12_000_000, 8_000_000, 4_000_000]),
        ("dn2", &[10_000_000, 11_000_000, 12_000_000]),
        ("dn3", &[15_000_000, 14_000_000]),
    ];
    db.chunk_places = sizes
        .iter()
        .flat_map(|(n, bs)| bs.iter().map(move |b| (*n, *b)))
        .enumerate()
        .map(|(i, (n, b))| ChunkPlace {
            hypertable: "public.m1".into(),
            hypertable_name: ("public".into(), "m1".into()),
            chunk: format!("c{i}"),
            data_nodes: vec![n.into()],
            bytes: vec![(n.into(), b)],
            ..ChunkPlace::default()
        })
        .collect();
    let p = plan(&db, &[]).expect("plan");
    assert_eq!(
        Hypertable::spread(&p.hypertables[0].before),
        40_000_000 - 29_000_000
    );
    assert_eq!(p.moves().count(), 0, "{p:#?}");
}
