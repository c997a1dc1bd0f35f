//! `tsmn validate`: the plan with every default, or every problem with its fix.

use super::super::args::{ValidateArgs, EXIT_OK, EXIT_USAGE};
use super::super::output;
use tsmn::plan::plan_to_toml;
use tsmn::plan::system::load_plan;
use tsmn::report;

pub fn validate(a: &ValidateArgs) -> u8 {
    match (load_plan(&a.plan), a.json) {
        (Ok(plan), false) => {
            crate::cli::output::out!("{}", plan_to_toml(&plan));
            EXIT_OK
        }
        (Ok(plan), true) => {
            output::print_json(&report::json::validated(&plan));
            EXIT_OK
        }
        (Err(e), true) => {
            eprintln!("error: {e}");
            output::print_json(&report::json::invalid(&e));
            EXIT_USAGE
        }
        (Err(e), false) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}
