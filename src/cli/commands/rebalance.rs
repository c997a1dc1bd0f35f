//! `tsmn rebalance --check`: probe the cluster as check does, then print
//! which chunks to move so each data node holds about the same bytes of
//! each distributed hypertable (tsmn::rebalance), before and after.

use super::super::args::{RebalanceArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::{fail_as, failed, probe_flow, runtime, with_timeout};
use tsmn::flow::{Flow, Watch};
use tsmn::rebalance::{self, Refusal};

pub fn rebalance(a: &RebalanceArgs) -> u8 {
    let json = a.json;
    if !a.check {
        return failed(
            "rebalance",
            json,
            "this version prints the plan only: the moves run through the drain's chunk moves, which are not turned on yet\n    fix: tsmn rebalance --plan FILE --check",
            EXIT_USAGE,
        );
    }
    let opened = with_timeout(&a.connect).and_then(|s| Ok((Flow::open(&a.plan)?, s)));
    let (mut flow, settings) = match opened {
        Ok(f) => f,
        Err(e) => return fail_as("rebalance", json, e),
    };
    if let Err(e) = probe_flow(&runtime(), &mut flow, &settings, json, Watch::default()) {
        return fail_as("rebalance", json, e);
    }
    let facts = flow.facts().cloned().unwrap_or_default();
    let an = &flow.plan.access_node.name;
    let Some(db) = facts
        .node(an)
        .and_then(|n| n.server.as_ref())
        .and_then(|s| s.database.as_ref())
        .filter(|d| d.timescaledb.is_some() && !d.data_nodes.is_empty())
    else {
        return failed(
            "rebalance",
            json,
            &format!("{an} is not the access node of a running cluster in {} (or tsmn cannot read it)\n    fix: tsmn check --plan {} says why", flow.plan.database, a.plan.display()),
            EXIT_FAILED,
        );
    };
    let unavailable: Vec<String> = db
        .members
        .iter()
        .filter(|m| m.unavailable)
        .map(|m| m.name.clone())
        .collect();
    match rebalance::plan(db, &unavailable) {
        Ok(p) if json => {
            crate::cli::output::print_json(&rebalance::render::json(&p));
            EXIT_OK
        }
        Ok(p) => {
            crate::cli::output::out!("{}", rebalance::render::text(&p));
            EXIT_OK
        }
        Err(Refusal::SizesUnknown(chunks)) => failed(
            "rebalance",
            json,
            &format!(
                "the sizes of {} chunk(s) could not be read (first: {}): a data node did not answer\n    fix: tsmn check --plan {} names it; run again once every data node answers",
                chunks.len(),
                chunks[0],
                a.plan.display()
            ),
            EXIT_FAILED,
        ),
    }
}
