//! tsmn: sets up and troubleshoots TimescaleDB multi-node clusters.
//!
//! Layers, top to bottom (no import runs upward): `cli` -> `sandbox` -> `plan`.
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(clippy::unwrap_used)]

pub mod plan;
pub mod sandbox;
