//! Text and JSON faces of results.

pub mod apply;
pub mod check;
pub mod diff;
pub mod json;
pub mod map;
pub mod preview;
