//! The plan's life: init, discover, validate, check, preview, export,
//! apply, undo.

use super::{ConnectOpts, ModeArg, RestartArg};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The auth mode of the example
    #[arg(long, value_enum, default_value_t = ModeArg::Trust)]
    pub mode: ModeArg,
    /// Where to write it (refuses an existing file; `-` for standard output)
    #[arg(long, value_name = "FILE", default_value = "plan.toml")]
    pub out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct DiscoverArgs {
    /// The access node: HOST[:PORT], [IPV6]:PORT, a socket directory, or a
    /// postgresql:// URI / key=value string (no password: use PGPASSWORD or
    /// ~/.pgpass)
    #[arg(long, value_name = "ADDRESS")]
    pub access_node: String,
    /// The cluster database [default: the one database there with data nodes]
    #[arg(long, value_name = "DB")]
    pub database: Option<String>,
    /// The superuser to connect as [default: the connection string's user,
    /// else PGUSER, else postgres]
    #[arg(long, value_name = "ROLE")]
    pub superuser: Option<String>,
    /// Where to write the plan (refuses an existing file; `-` for standard
    /// output)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print one JSON document (schema tsmn-discover/1): the plan, where it
    /// went and what to check in it
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Print one JSON document (schema tsmn-validate/1): the plan with
    /// every default, or every problem with its field and fix
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Print one JSON document (schema tsmn-check/1) instead of the report
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct RebalanceArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Print the moves and the spread before and after; move nothing
    #[arg(long)]
    pub check: bool,
    /// Print one JSON document (schema tsmn-rebalance/1)
    #[arg(long)]
    pub json: bool,
    /// Do not ask for confirmation before the moves
    #[arg(short, long)]
    pub yes: bool,
    /// How many chunk moves run at once (1 to 8); more than one raises the
    /// replication slots, WAL senders and workers on the data nodes
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=i64::from(tsmn::steps::rebalance::MAX_PARALLEL)))]
    pub parallel: u16,
    /// Restart nodes that need a setting (as tsmn apply): `local`, `never`
    /// or `ask`
    #[arg(long, value_enum, default_value_t = RestartArg::Local)]
    pub restart: RestartArg,
    /// Seconds to wait for a node that someone else restarts
    #[arg(long, value_name = "SECS", default_value_t = tsmn::flow::settings::DEFAULT_RESTART_WAIT_SECS)]
    pub restart_wait: u64,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Only this node's steps
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Do not connect: list every step, with current values unknown
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON document (schema tsmn-preview/1): every step as data
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// A new (or empty) directory to write (not `-`: a directory cannot go
    /// to standard output)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also write the passwords (passfile, user mappings); files are 0600
    #[arg(long)]
    pub include_secrets: bool,
    /// Do not connect to the nodes first
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON document (schema tsmn-export/1): the files written
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan file (TOML) [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// One JSON event per line (schema tsmn-apply-event/1, with a
    /// timestamp) instead of text
    #[arg(long)]
    pub json: bool,
    /// Restart nodes that need it: `local` restarts the ones on this host whose
    /// data directory tsmn can read and waits for the others; `never` stops and
    /// says which; `ask` asks first
    #[arg(long, value_enum, default_value_t = RestartArg::Local)]
    pub restart: RestartArg,
    /// Phases to run, comma-separated: settings, auth, cluster, verify
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "settings,auth,cluster,verify"
    )]
    pub phases: Vec<PhaseArg>,
    /// Seconds to wait for a node that someone else restarts
    #[arg(long, value_name = "SECS", default_value_t = tsmn::flow::settings::DEFAULT_RESTART_WAIT_SECS)]
    pub restart_wait: u64,
    /// Certificate mode: issue every server and client certificate anew
    /// from the same CA (the old ones are kept in <plan>.tsmn/renewed-<time>/)
    #[arg(long)]
    pub renew_certificates: bool,
    /// Certificate mode, tsmn's own CA: make a new CA and issue every
    /// certificate anew from it; the nodes trust both CAs until the new
    /// certificates are in use and verified, then the old CA goes (it is
    /// kept in <plan>.tsmn/rolled-<time>/)
    #[arg(long, conflicts_with = "renew_certificates")]
    pub roll_ca: bool,
    /// Remove the data nodes that are in the cluster but no longer in the
    /// plan (detach, then delete_data_node); refused while one holds the
    /// only copy of a chunk
    #[arg(long)]
    pub remove_data_nodes: bool,
    /// With --remove-data-nodes: first move each chunk whose only copy is
    /// on a leaving data node to the remaining node with the least of its
    /// hypertable (wal_level = logical on the data nodes,
    /// max_prepared_transactions on the access node: restarts). Writes to
    /// a hypertable wait while one of its chunks copies (reads go on);
    /// transactions a restart left prepared are healed first; rows and
    /// checksums are compared before the old copy goes. In password and
    /// certificate mode the links between data nodes are set up first
    /// (see --data-node-links)
    #[arg(long, requires = "remove_data_nodes")]
    pub drain: bool,
    /// Set up the links between data nodes that the engine's chunk copy
    /// uses (as data_node_links = true in [auth] of the plan): each data
    /// node gets the access node's passfile or client certificate at the
    /// access node's paths, and a pg_hba.conf rule for the others
    #[arg(long)]
    pub data_node_links: bool,
    /// Copy each chunk that has fewer copies on the plan's data nodes than
    /// its hypertable's replication factor (after a lost data node, or a
    /// raised set_replication_factor, which copies no existing chunk) from
    /// a data node that holds it to the one of the hypertable's data nodes
    /// with the fewest of its chunks, until the factor is met. Each copy
    /// as a drain's move (writes to the hypertable wait, rows and checksums
    /// compared), the same settings and restarts. Also done, without the
    /// option, for the chunks of a lost data node that --remove-data-nodes
    /// removes.
    #[arg(long)]
    pub repair_replication: bool,
    /// With --remove-data-nodes: a lost data node (the access node does not
    /// reach it) that holds the only copy of chunks is removed only when
    /// each of them is named here (schema.chunk or the chunk's name,
    /// comma-separated, or @FILE with one a line): they are dropped from
    /// the access node's catalog first, and their rows are lost. A chunk
    /// not named keeps the removal refused
    #[arg(
        long,
        value_name = "CHUNKS",
        value_delimiter = ',',
        requires = "remove_data_nodes"
    )]
    pub give_up_chunks: Vec<String>,
    /// With --drain: how many chunk moves run at once (1 to 8); more than
    /// one raises the replication slots, WAL senders and workers on the
    /// data nodes
    #[arg(long, value_name = "N", default_value_t = 1, requires = "drain", value_parser = clap::value_parser!(u16).range(1..=i64::from(tsmn::steps::rebalance::MAX_PARALLEL)))]
    pub parallel: u16,
    /// Password mode: give ROLE a new password (from its variable,
    /// TSMN_ROLE_PW_<ROLE> by default, or asked for), one data node at a
    /// time, each followed at once by its passfile line; safe to run
    /// again after an interruption. Repeat for more roles
    #[arg(long, value_name = "ROLE")]
    pub rotate_password: Vec<String>,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// The plan file (TOML) the run used [env: TSMN_PLAN]
    #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
    pub plan: PathBuf,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,
    /// Print one JSON document (schema tsmn-undo/1): what was taken back,
    /// what stays, and each step's outcome
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PhaseArg {
    Settings,
    Auth,
    Cluster,
    Verify,
}

impl PhaseArg {
    pub fn phase(self) -> tsmn::steps::Phase {
        match self {
            PhaseArg::Settings => tsmn::steps::Phase::Settings,
            PhaseArg::Auth => tsmn::steps::Phase::Auth,
            PhaseArg::Cluster => tsmn::steps::Phase::Cluster,
            PhaseArg::Verify => tsmn::steps::Phase::Verify,
        }
    }
}
