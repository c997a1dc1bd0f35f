//! Benchmark (not a test): the rebalance plan (tsmn::rebalance::plan, the
//! pure part of `tsmn rebalance --check`) for 64 data nodes and 10,000
//! chunks of 4 hypertables, the way a grow leaves them: 63 nodes holding
//! every old chunk, the 64th none. Prints the time beside the target for
//! the whole command (1 s from the first query to the printed plan); the
//! probe of 64 nodes is not in this figure (see benches/README.md).
//! Run with `cargo bench --bench rebalance`.

use std::time::Instant;
use tsmn::facts::{ChunkPlace, DatabaseFacts, DistributedHypertable};

fn facts(nodes: usize, chunks: usize, hypertables: usize) -> DatabaseFacts {
    let names: Vec<String> = (1..=nodes).map(|i| format!("dn{i}")).collect();
    let mut db = DatabaseFacts::default();
    for h in 0..hypertables {
        db.distributed_hypertables.push(DistributedHypertable {
            schema: "public".into(),
            table: format!("h{h}"),
            data_nodes: names.clone(),
            replication_factor: 1,
        });
    }
    for c in 0..chunks {
        let h = c % hypertables;
        // The old nodes only (the last joined after these chunks), sizes
        // varied as real chunks are.
        let on = &names[c % (nodes - 1)];
        let bytes = 8_000_000 + (c as i64 * 7_919 % 4_000_000);
        db.chunk_places.push(ChunkPlace {
            hypertable: format!("public.h{h}"),
            hypertable_name: ("public".into(), format!("h{h}")),
            chunk: format!("_timescaledb_internal._dist_hyper_{h}_{c}_chunk"),
            data_nodes: vec![on.clone()],
            bytes: vec![(on.clone(), bytes)],
            ..ChunkPlace::default()
        });
    }
    db
}

fn main() {
    let db = facts(64, 10_000, 4);
    let mut times = Vec::new();
    let mut moves = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let p = tsmn::rebalance::plan(&db, &[]).expect("plan");
        let text = tsmn::rebalance::render::text(&p);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        moves = p.moves().count();
        assert!(!text.is_empty());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "rebalance plan, 64 data nodes x 10,000 chunks: {moves} moves; median {:.1} ms (slowest {:.1} ms) to plan and render; target for the whole command: under 1000 ms",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
