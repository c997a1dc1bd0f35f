//! `tsmn preview`: the steps per node, changing nothing.

use super::super::args::{EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::{fail_as, failed, probed, runtime, with_timeout, Probing};
use std::path::Path;
use tsmn::flow::Watch;
use tsmn::probe::conninfo::load_plan;
use tsmn::report;

pub struct PreviewArgs<'a> {
    pub path: &'a Path,
    pub node: Option<&'a str>,
    pub offline: bool,
    pub json: bool,
    pub connect_timeout: u64,
    pub no_color: bool,
}

pub fn preview(a: PreviewArgs) -> u8 {
    let plan = match load_plan(a.path) {
        Ok(p) => p,
        Err(e) => return failed("preview", a.json, &e.to_string(), EXIT_USAGE),
    };
    if let Some(n) = a.node {
        if !plan.nodes().any(|x| x.name == n) {
            let names: Vec<&str> = plan.nodes().map(|x| x.name.as_str()).collect();
            let message = format!(
                "--node {n}: no node of that name in the plan\n    fix: use one of {}",
                names.join(", ")
            );
            return failed("preview", a.json, &message, EXIT_USAGE);
        }
    }
    let settings = with_timeout(a.connect_timeout);
    // Preview writes nothing: material not made yet is shown as such.
    let how = Probing {
        offline: a.offline,
        json: a.json,
        watch: Watch::default(),
    };
    let shown = probed(&runtime(), a.path, &settings, how)
        .and_then(|mut flow| flow.steps_to_show().map(|steps| (flow, steps)));
    let (flow, steps) = match shown {
        Ok(r) => r,
        Err(e) => return fail_as("preview", a.json, e),
    };
    if a.json {
        output::print_json(&report::json::preview(flow.facts(), &steps, a.node));
        return EXIT_OK;
    }
    let color = output::colour(a.no_color);
    crate::cli::output::out!(
        "{}",
        report::preview::render(
            &flow.plan,
            flow.facts(),
            &steps,
            a.node,
            &report::preview::Style { color }
        )
    );
    EXIT_OK
}
