//! `tsmn preview`: the steps per node, changing nothing.

use super::super::args::{PreviewArgs, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::{fail_as, failed, probed, runtime, with_timeout, Probing};
use tsmn::flow::Watch;
use tsmn::plan::system::load_plan;
use tsmn::report;

pub fn preview(a: &PreviewArgs) -> u8 {
    let plan = match load_plan(&a.plan) {
        Ok(p) => p,
        Err(e) => return failed("preview", a.json, &e.to_string(), EXIT_USAGE),
    };
    if let Some(n) = a.node.as_deref() {
        if !plan.nodes().any(|x| x.name == n) {
            let names: Vec<&str> = plan.nodes().map(|x| x.name.as_str()).collect();
            let message = format!(
                "--node {n}: no node of that name in the plan\n    fix: use one of {}",
                names.join(", ")
            );
            return failed("preview", a.json, &message, EXIT_USAGE);
        }
    }
    let settings = match with_timeout(&a.connect) {
        Ok(s) => s,
        Err(e) => return fail_as("preview", a.json, e),
    };
    // Preview writes nothing: material not made yet is shown as such.
    let how = Probing {
        offline: a.offline,
        json: a.json,
        watch: Watch::default(),
    };
    let shown = probed(&runtime(), &a.plan, &settings, how)
        .and_then(|mut flow| flow.steps_to_show().map(|steps| (flow, steps)));
    let (flow, steps) = match shown {
        Ok(r) => r,
        Err(e) => return fail_as("preview", a.json, e),
    };
    if a.json {
        output::print_json(&report::json::preview(
            flow.facts(),
            &steps,
            a.node.as_deref(),
        ));
        return EXIT_OK;
    }
    let color = output::colour();
    crate::cli::output::out!(
        "{}",
        report::preview::render(
            &flow.plan,
            flow.facts(),
            &steps,
            a.node.as_deref(),
            &report::preview::Style { color }
        )
    );
    EXIT_OK
}
