//! Commands on this machine: the wizard and demo, the sandbox, shell
//! completions and the manual pages.

use super::{help, ConnectOpts, RestartArg};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct WizardArgs {
    /// The plan file (TOML) [env: TSMN_PLAN; default: the default sandbox's plan]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub opts: WizardOpts,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of data nodes
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub data_nodes: u16,
    #[command(flatten)]
    pub dir: DirArg,
    #[command(flatten)]
    pub opts: WizardOpts,
}

/// What the wizard takes from the command line, as apply does.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WizardOpts {
    #[command(flatten)]
    pub connect: ConnectOpts,
    /// Restart nodes that need it: `local` restarts the ones on this host
    /// (the confirmation before the run says so), `never` stops at the
    /// restart gate and names them (`ask` is `local`: the wizard asks anyway)
    #[arg(long, value_enum, default_value_t = RestartArg::Local)]
    pub restart: RestartArg,
}

impl WizardOpts {
    pub fn settings(&self) -> Result<tsmn::flow::Settings, String> {
        Ok(tsmn::flow::Settings {
            connect_timeout: self.connect.timeout()?,
            restart: match self.restart {
                RestartArg::Never => tsmn::run::RestartPolicy::Never,
                RestartArg::Local | RestartArg::Ask => tsmn::run::RestartPolicy::Local,
            },
            ..tsmn::flow::Settings::default()
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create and start an access node and N data nodes on free 127.0.0.1
    /// ports; writes DIR/plan.toml
    #[command(long_about = help::about("sandbox-up"), after_long_help = help::details("sandbox-up"))]
    Up {
        /// Number of data nodes
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        data_nodes: u16,
        #[command(flatten)]
        dir: DirArg,
        /// Directory holding initdb, pg_ctl and postgres [default: `pg_config --bindir`,
        /// else the newest /usr/lib/postgresql/*/bin]
        #[arg(long, value_name = "DIR")]
        pg_bindir: Option<PathBuf>,
    },
    /// Show each node: up or down, port, server version
    #[command(long_about = help::about("sandbox-status"), after_long_help = help::details("sandbox-status"))]
    Status {
        #[command(flatten)]
        dir: DirArg,
        /// Print one JSON document (schema tsmn-sandbox-status/1)
        #[arg(long)]
        json: bool,
    },
    /// Stop every node and remove what `up` created; refuses any other directory
    #[command(long_about = help::about("sandbox-down"), after_long_help = help::details("sandbox-down"))]
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct DirArg {
    /// The sandbox directory [default: /var/lib/tsmn/sandbox as root, else $XDG_STATE_HOME/tsmn/sandbox]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl DirArg {
    pub fn resolve(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(tsmn::sandbox::default_dir)
    }
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The command whose page to print (`sandbox-up` for a sandbox
    /// command) [default: tsmn(1), the overview]
    #[arg(value_name = "COMMAND", conflicts_with = "out")]
    pub command: Option<String>,
    /// Write every page into DIR (tsmn.1 and tsmn-<command>.1 for each
    /// command) instead of printing one
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
