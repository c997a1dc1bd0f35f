//! PURE: quoting, one module per language, so each rule lives in one place.

pub mod conninfo;
pub mod hash_by_value;
pub mod hba;
pub mod pgpass;
pub mod secrets;
pub mod shell;
pub mod sql;
pub mod text;
