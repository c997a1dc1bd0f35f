//! `tsmn check`: probe every node, the cluster map and the findings.

use super::super::args::{CheckArgs, EXIT_FAILED, EXIT_OK};
use super::{fail_as, probe_flow, runtime, with_timeout};
use tsmn::findings::blockers;
use tsmn::flow::{Flow, Watch};
use tsmn::report;

pub fn check(a: &CheckArgs) -> u8 {
    let json = a.json;
    let opened = with_timeout(&a.connect).and_then(|s| Ok((Flow::open(&a.plan)?, s)));
    let (mut flow, settings) = match opened {
        Ok(f) => f,
        Err(e) => return fail_as("check", json, e),
    };
    let rt = runtime();
    let probed = probe_flow(&rt, &mut flow, &settings, json, Watch::default())
        .map(|()| rt.block_on(flow.probe_peer_links(&settings)));
    let facts = match probed {
        Ok(()) => flow.facts().cloned().unwrap_or_default(),
        Err(e) => return fail_as("check", json, e),
    };
    let found = flow.findings();
    if json {
        crate::cli::output::outln!("{:#}", report::check::json(&facts, &found, flow.notes()));
    } else {
        let map = report::map::from_facts(&flow.plan, &facts);
        crate::cli::output::out!(
            "Cluster map\n{}\n{}",
            report::map::text(&map),
            report::check::human(&facts, &found, flow.notes())
        );
    }
    if blockers(&found) == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
