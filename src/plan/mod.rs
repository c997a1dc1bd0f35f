//! PURE: the plan an operator writes, its TOML form and its validation.
//! No I/O beyond reading and saving the plan file, no async, no UI.

pub mod address;
mod load;
mod model;
mod problem;
pub mod save;
mod validate;

pub use load::{load_plan, new_plan, parse_plan, plan_to_toml};
pub use model::*;
pub use problem::{PlanError, Problem};
pub use validate::validate;
