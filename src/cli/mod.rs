//! The command-line face: arguments (args/), terminal prompts
//! (prompt.rs), how output is spoken (output.rs: colour, -q, JSON), the log file
//! (log.rs), the manual pages (man.rs) and one file per command
//! (commands/), each turning
//! arguments into calls of the library's flow and its result into output
//! and an exit code.

pub mod args;
pub mod commands;
pub mod log;
pub mod man;
pub mod output;
pub mod progress;
pub mod prompt;
pub mod signals;

pub use args::{Cli, Command};
