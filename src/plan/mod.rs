//! The plan an operator writes, its TOML form and its validation: pure
//! but for reading and saving the plan file (no async, no UI). What libpq
//! adds (connection strings, pg_service.conf, PGUSER) comes in through
//! dsn::Libpq; system/ is that libpq as this machine has it, and where
//! tsmn loads its plans (`system::load_plan`); state.rs the plan's state
//! folder beside it.

pub mod address;
pub mod dsn;
mod load;
mod maintenance;
mod model;
mod problem;
pub mod save;
mod sslmode;
mod state;
pub mod system;
mod validate;

pub use address::cidr_covers;
pub use load::{
    load_plan, load_plan_with, new_plan, new_plan_with, parse_plan, parse_plan_with, plan_to_toml,
};
pub use maintenance::{interval_seconds, interval_text, Maintenance};
pub use model::*;
pub use problem::{PlanError, Problem};
pub use sslmode::SslMode;
pub use state::state_dir;
pub use validate::validate;
