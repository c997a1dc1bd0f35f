//! PURE: a rebalance plan for people (per hypertable: each data node's
//! share before and after, the spread, the moves) and as JSON
//! (`tsmn-rebalance/1`).

use super::{estimate_seconds, Hypertable, Plan, BYTES_PER_SECOND, SECONDS_PER_MOVE};
use crate::timescale::size;

pub fn text(p: &Plan) -> String {
    let mut out = String::new();
    if !p.left_out.is_empty() {
        out.push_str(&format!(
            "left out, marked unavailable on the access node: {} (it holds its chunks still; nothing moves to or from it)\n",
            p.left_out.join(", ")
        ));
    }
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
        "left_out": p.left_out,
    })
}

/// What a rebalance run came to, per hypertable: its spread before, as
/// planned and as the servers hold it now (`now`: a plan made from the
/// facts read after the run, its `before` the shares now), each data
/// node's share likewise, and the rows counted before and after.
pub fn outcome_text(planned: &Plan, now: &Plan, rows: &[(String, i64, i64)]) -> String {
    let mut out = String::new();
    for h in &planned.hypertables {
        let current = now.hypertables.iter().find(|n| n.name == h.name);
        let shares_now = current.map_or(&[][..], |c| c.before.as_slice());
        out.push_str(&format!(
            "{}: spread {} before, {} planned, {} now\n",
            h.name,
            size(Hypertable::spread(&h.before)),
            size(Hypertable::spread(&h.after)),
            current.map_or("unknown".to_string(), |_| size(Hypertable::spread(
                shares_now
            )))
        ));
        for (b, a) in h.before.iter().zip(&h.after) {
            let n = shares_now.iter().find(|s| s.data_node == b.data_node);
            out.push_str(&format!(
                "  {:<12} {:>10} in {:>4}  ->  planned {:>10} in {:>4}  ->  now {:>10} in {:>4}\n",
                b.data_node,
                size(b.bytes),
                b.chunks,
                size(a.bytes),
                a.chunks,
                n.map_or("?".to_string(), |s| size(s.bytes)),
                n.map_or("?".to_string(), |s| s.chunks.to_string()),
            ));
        }
    }
    for (name, before, after) in rows {
        let verdict = if before == after {
            "unchanged".to_string()
        } else {
            format!(
                "{:+} (written or deleted meanwhile: each move compared its chunk's rows and checksum on both data nodes)",
                after - before
            )
        };
        out.push_str(&format!(
            "rows of {name}: {before} before, {after} after, counted by the access node: {verdict}\n"
        ));
    }
    out
}

/// `outcome_text` as JSON, beside the plan's own document.
pub fn outcome_json(now: &Plan, rows: &[(String, i64, i64)]) -> serde_json::Value {
    serde_json::json!({
        "now": now.hypertables.iter().map(|h| serde_json::json!({
            "name": h.name,
            "spread": Hypertable::spread(&h.before),
            "shares": h.before,
        })).collect::<Vec<_>>(),
        "rows": rows.iter().map(|(name, before, after)| serde_json::json!({
            "hypertable": name, "before": before, "after": after,
        })).collect::<Vec<_>>(),
    })
}
