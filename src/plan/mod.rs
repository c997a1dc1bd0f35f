//! PURE: the plan an operator writes, its TOML form and its validation.
//! No I/O beyond reading and saving the plan file (and the pg_service.conf
//! a node names, and PGUSER), no async, no UI.

pub mod address;
pub mod dsn;
mod load;
mod model;
mod problem;
pub mod save;
mod validate;

pub use load::{load_plan, new_plan, parse_plan, plan_to_toml};
pub use model::*;
pub use problem::{PlanError, Problem};
pub use validate::validate;
