//! `tsmn rebalance`: after a grow, even out each distributed hypertable's
//! bytes over its data nodes. The plan is pure (plan.rs) and spoken by
//! render.rs (the plan, and what a run came to). The moves run as steps
//! (steps/rebalance.rs) through the flow's one run sequence
//! (flow/rebalance.rs), each as a drain's chunk move (run/moves.rs).

pub mod links;
pub mod plan;
#[cfg(test)]
mod plan_props;
pub mod render;

pub use plan::{plan, Hypertable, Move, Plan, Refusal, Share};

/// A rough time for the moves, one at a time: what each engine copy costs
/// whatever its size (a publication, a slot, a subscription and their
/// removal: about 3 s each in a trial on the sandbox) plus its bytes at a
/// copy rate.
/// Stated with the figure so an operator can judge it.
pub const SECONDS_PER_MOVE: f64 = 3.0;
pub const BYTES_PER_SECOND: f64 = 50.0 * 1024.0 * 1024.0;

pub fn estimate_seconds(p: &Plan) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    // A fold from 0.0: an empty f64 sum is -0.0, printed as such in JSON.
    p.moves()
        .map(|m| SECONDS_PER_MOVE + m.bytes as f64 / BYTES_PER_SECOND)
        .fold(0.0, |a, s| a + s)
}
