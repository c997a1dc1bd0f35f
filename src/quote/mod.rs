//! PURE: quoting, one module per language, so each rule lives in one place.

pub mod conninfo;
pub mod pgpass;
