//! A running cluster: status, report, migrate.

use super::ConnectOpts;
use std::path::PathBuf;

/// `tsmn status`'s arguments.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file (TOML) [env: TSMN_PLAN, when --access-node is not given]
    #[arg(short, long, value_name = "FILE", conflicts_with = "access_node")]
    pub plan: Option<PathBuf>,
    /// Instead of a plan: the access node, as `tsmn discover` takes it
    /// (HOST[:PORT], a socket directory or a postgresql:// URI without password)
    #[arg(long, value_name = "ADDRESS")]
    pub access_node: Option<String>,
    /// With --access-node: the cluster database [default: the one with data nodes]
    #[arg(long, value_name = "DB", requires = "access_node")]
    pub database: Option<String>,
    /// With --access-node: the superuser [default: PGUSER, else postgres]
    #[arg(long, value_name = "ROLE", requires = "access_node")]
    pub superuser: Option<String>,
    /// Print one JSON document (schema tsmn-status/1); with --watch on a
    /// terminal, one per refresh
    #[arg(long)]
    pub json: bool,
    /// Refresh every SECS seconds (default 2) in place, with rates since the
    /// last refresh; q or Ctrl-C quits. Without a terminal: one snapshot
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub watch: Option<u64>,
    /// Which links to test: `access` (the access node to each data node,
    /// kept open) or `all` (each data node to each other data node too, as
    /// the engine would connect: N x (N-1) connections made and closed at
    /// every refresh). With --watch, the l key tests them all once
    #[arg(long, value_enum, default_value = "access")]
    pub links: LinkScope,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkScope {
    Access,
    All,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// The bundle to write (refuses an existing file; `-` for standard output)
    #[arg(long, value_name = "FILE.tar.gz")]
    pub out: PathBuf,
    /// Print one JSON document (schema tsmn-report/1): the bundle and each
    /// file in it
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

/// `tsmn migrate`'s options.
#[derive(Debug, clap::Args)]
pub struct MigrateCmd {
    /// The plan file (TOML) of the cluster [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// The target: HOST[:PORT], a socket directory, a postgresql:// URI or a
    /// key=value string (no password: PGPASSWORD or ~/.pgpass). Its dbname
    /// [default: the plan's database] is created when it does not exist
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Only the preflight: what the cluster holds, the target, and what
    /// blocks the migration, with fixes. Read-only; exit 1 when blocked
    #[arg(long)]
    pub check: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// One JSON document (schema tsmn-migrate-check/1 or tsmn-migrate/1)
    #[arg(long)]
    pub json: bool,
    /// Keep each hypertable's space dimension (default: dropped, since on
    /// one server it only splits every time range into more chunks)
    #[arg(long)]
    pub keep_space_partitioning: bool,
    /// Copy the roles' passwords too (their stored SCRAM or md5 verifiers,
    /// through tsmn's session, never argv or a file); without it the roles
    /// come without a password
    #[arg(long)]
    pub with_role_passwords: bool,
    /// Copy while the applications write; then freeze the writes (asked
    /// first) and copy only what is left: each hypertable's newest time
    /// slice, the chunks made since, and the chunks that changed since their
    /// copy. The freeze lasts until the applications use the target
    #[arg(long, conflicts_with = "check")]
    pub online: bool,
    /// Give the migration up: lift an online migration's freeze (writes to
    /// the source allowed again, its job scheduler started). The target
    /// keeps what was copied
    #[arg(long, conflicts_with_all = ["check", "online"])]
    pub abandon: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}
