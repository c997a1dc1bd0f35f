//! The command-line face: arguments (args.rs), terminal prompts
//! (prompt.rs) and one function per command (commands.rs), each turning
//! arguments into calls of the library's flow and its result into output
//! and an exit code.

pub mod args;
pub mod commands;
pub mod prompt;

pub use args::{Cli, Command};
