//! PURE: a rebalance plan for people (per hypertable: each data node's
//! share before and after, the spread, the moves) and as JSON
//! (`tsmn-rebalance/1`).

use super::{estimate_seconds, Hypertable, Plan, BYTES_PER_SECOND, SECONDS_PER_MOVE};
use crate::timescale::size;

pub fn text(p: &Plan) -> String {
    let mut out = String::new();
    for h in &p.hypertables {
        out.push_str(&format!(
            "{}: spread {} before, {} after; {} move(s)\n",
            h.name,
            size(Hypertable::spread(&h.before)),
            size(Hypertable::spread(&h.after)),
            h.moves.len()
        ));
        for (b, a) in h.before.iter().zip(&h.after) {
            out.push_str(&format!(
                "  {:<12} {:>10} in {:>4} chunk(s)  ->  {:>10} in {:>4} chunk(s)\n",
                b.data_node,
                size(b.bytes),
                b.chunks,
                size(a.bytes),
                a.chunks
            ));
        }
        for m in &h.moves {
            out.push_str(&format!(
                "  move {} from {} to {} ({})\n",
                m.chunk,
                m.from,
                m.to,
                size(m.bytes)
            ));
        }
    }
    let moves = p.moves().count();
    if moves == 0 {
        out.push_str("Nothing to move: every hypertable is as even as its chunks allow.\n");
    } else {
        out.push_str(&format!(
            "{moves} move(s), {} in all; about {:.0} s one at a time ({SECONDS_PER_MOVE:.0} s per move plus {} per second: a rough figure)\n",
            size(p.moves().map(|m| m.bytes).sum()),
            estimate_seconds(p),
            size(BYTES_PER_SECOND as i64)
        ));
    }
    out
}

pub fn json(p: &Plan) -> serde_json::Value {
    serde_json::json!({
        "schema": "tsmn-rebalance/1",
        "hypertables": p.hypertables.iter().map(|h| serde_json::json!({
            "name": h.name,
            "spread_before": Hypertable::spread(&h.before),
            "spread_after": Hypertable::spread(&h.after),
            "before": h.before,
            "after": h.after,
            "moves": h.moves,
        })).collect::<Vec<_>>(),
        "moves": p.moves().count(),
        "estimate_seconds": estimate_seconds(p),
    })
}
