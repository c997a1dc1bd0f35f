//! Command-line definitions. `--help` is the first manual an operator
//! reads: each command's long help is its page in docs/commands/ (help.rs),
//! which `tsmn man` renders too. One file per group of commands: setup.rs
//! (the plan's life: init to undo), cluster.rs (status, report, migrate),
//! local.rs (wizard, demo, sandbox, completions, man), connect.rs (how
//! every connecting command waits, and where its output goes).

mod cluster;
mod connect;
pub mod help;
mod local;
mod setup;

pub use cluster::*;
pub use connect::*;
pub use local::*;
pub use setup::*;

use clap::{Parser, Subcommand};

pub const EXIT_OK: u8 = 0;
/// The operation ran and failed (or, for checks, found a blocker).
pub const EXIT_FAILED: u8 = 1;
/// The command line or the plan file is wrong; nothing was done.
pub const EXIT_USAGE: u8 = 2;
/// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "tsmn",
    version = help::VERSION,
    about = "Set up and troubleshoot TimescaleDB multi-node clusters",
    long_about = help::about("tsmn"),
    after_long_help = help::details("tsmn"),
)]
pub struct Cli {
    /// No command: the wizard, on the default sandbox's plan if there is one.
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: Global,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Global {
    /// Colour: `auto` when the output is a terminal, NO_COLOR is unset or
    /// empty and TERM is not `dumb`
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Same as --color never, on every command
    #[arg(long, global = true, conflicts_with = "color")]
    pub no_color: bool,
    /// Only errors and the output asked for: no hints or progress on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More on stderr: each connection tsmn opens and what it sends (-vv: the
    /// statements' text, secrets masked)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

/// Each command: its one-line summary here, its long help from its page.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented example plan to edit
    #[command(long_about = help::about("init"), after_long_help = help::details("init"))]
    Init(InitArgs),
    /// Write the plan of a running cluster, read from its access node
    #[command(long_about = help::about("discover"), after_long_help = help::details("discover"))]
    Discover(DiscoverArgs),
    /// The interactive wizard, screen by screen, on a plan
    #[command(long_about = help::about("wizard"), after_long_help = help::details("wizard"))]
    Wizard(WizardArgs),
    /// Bring up the sandbox (if it is not up) and open the wizard on its plan
    #[command(long_about = help::about("demo"), after_long_help = help::details("demo"))]
    Demo(DemoArgs),
    /// Check a plan file: print it with every default, or every problem with its fix
    #[command(long_about = help::about("validate"), after_long_help = help::details("validate"))]
    Validate(ValidateArgs),
    /// What stands in the way of multi-node on each node, with causes and fixes (read-only)
    #[command(long_about = help::about("check"), after_long_help = help::details("check"))]
    Check(CheckArgs),
    /// The cluster at a glance: nodes, links, chunks, what needs attention (read-only)
    #[command(long_about = help::about("status"), after_long_help = help::details("status"))]
    Status(StatusArgs),
    /// Write a support bundle (tar.gz) to send when asking for help
    #[command(long_about = help::about("report"), after_long_help = help::details("report"))]
    Report(ReportArgs),
    /// Show every setup step per node, exactly as it will run (changes nothing)
    #[command(long_about = help::about("preview"), after_long_help = help::details("preview"))]
    Preview(PreviewArgs),
    /// Write the steps as a directory to review and run without tsmn
    #[command(long_about = help::about("export"), after_long_help = help::details("export"))]
    Export(ExportArgs),
    /// Run the setup steps on the nodes with live progress (asks first)
    #[command(long_about = help::about("apply"), after_long_help = help::details("apply"))]
    Apply(ApplyArgs),
    /// Take the last run of tsmn apply back (shown before it asks)
    #[command(long_about = help::about("undo"), after_long_help = help::details("undo"))]
    Undo(UndoArgs),
    /// Leave multi-node: copy the cluster onto one server
    #[command(long_about = help::about("migrate"), after_long_help = help::details("migrate"))]
    Migrate(MigrateCmd),
    /// Which chunks to move so each data node holds about the same bytes (--check)
    #[command(long_about = help::about("rebalance"), after_long_help = help::details("rebalance"))]
    Rebalance(RebalanceArgs),
    /// Local throwaway cluster from the installed PostgreSQL
    #[command(subcommand, long_about = help::about("sandbox"), after_long_help = help::details("sandbox"))]
    Sandbox(SandboxCommand),
    /// Print a shell completion script
    #[command(long_about = help::about("completions"), after_long_help = help::details("completions"))]
    Completions(CompletionsArgs),
    /// Print the manual pages (tsmn(1), tsmn-<command>(1)), or write them all
    #[command(long_about = help::about("man"), after_long_help = help::details("man"))]
    Man(ManArgs),
}

impl Command {
    /// The command's name as typed (`tsmn <name>`): its sessions carry it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Discover(_) => "discover",
            Command::Wizard(_) => "wizard",
            Command::Demo(_) => "demo",
            Command::Validate(_) => "validate",
            Command::Check(_) => "check",
            Command::Status(_) => "status",
            Command::Report(_) => "report",
            Command::Preview(_) => "preview",
            Command::Export(_) => "export",
            Command::Apply(_) => "apply",
            Command::Undo(_) => "undo",
            Command::Migrate(_) => "migrate",
            Command::Rebalance(_) => "rebalance",
            Command::Sandbox(_) => "sandbox",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Trust,
    Password,
    Certificate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RestartArg {
    Never,
    #[default]
    Local,
    Ask,
}
