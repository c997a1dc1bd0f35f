//! Text and JSON faces of results.

pub mod check;
