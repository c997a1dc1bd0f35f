//! tsmn: sets up and troubleshoots TimescaleDB multi-node clusters.
//!
//! Layers, top to bottom (no import runs upward):
//! faces (the binary's cli, tui) -> flow (one orchestration over a plan)
//! -> run, migrate, export, report -> steps, probe, sandbox, findings -> facts,
//! plan, quote, timescale, maintenance, drift.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod bundle;
pub mod discover;
pub mod drift;
pub mod export;
pub mod facts;
pub mod findings;
pub mod flow;
pub mod maintenance;
pub mod migrate;
pub mod os;
pub mod pg;
pub mod plan;
pub mod probe;
pub mod quote;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod steps;
pub mod timescale;
pub mod tui;
