//! Command-line definitions. `--help` is the first manual an operator reads.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_OK: u8 = 0;
/// The operation ran and failed (or, for checks, found a blocker).
pub const EXIT_FAILED: u8 = 1;
/// The command line or the plan file is wrong; nothing was done.
pub const EXIT_USAGE: u8 = 2;
/// Stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

const AFTER_HELP: &str = "\
Examples:
  tsmn demo                                      start a local sandbox and open the wizard on it
  tsmn init --mode password --out plan.toml      a commented example plan to edit
  tsmn wizard --plan plan.toml                   the wizard, screen by screen, on a plan
  tsmn discover --access-node 10.0.0.10 --out plan.toml
                                                 the plan of a running cluster, read from its access node
  tsmn sandbox up --dir /tmp/tsmn-demo           a local 1+2 node cluster to try tsmn on
  tsmn validate --plan /tmp/tsmn-demo/plan.toml  check a plan; print it with every default
  tsmn check --plan /tmp/tsmn-demo/plan.toml     what blocks multi-node on each node, with fixes
  tsmn preview --plan /tmp/tsmn-demo/plan.toml   show every setup step per node, as it will run
  tsmn export --plan plan.toml --out setup/      setup.sh + files to review and run without tsmn
  tsmn apply --plan /tmp/tsmn-demo/plan.toml     run the steps with live progress (asks first)
  tsmn status --plan /tmp/tsmn-demo/plan.toml --watch
                                                 the running cluster at a glance, refreshed
  tsmn sandbox status --dir /tmp/tsmn-demo       each sandbox node, its port and version
  tsmn sandbox down --dir /tmp/tsmn-demo         stop it and remove what it created

A plan file (TOML) says what you want: the access node, the data nodes, the
superuser and the auth mode. `tsmn init --mode MODE` writes a commented one.
Secrets never go in a plan: tsmn reads them from a prompt, an environment
variable the plan names, or a passfile.

Exit codes: 0 success (check: nothing blocks), 1 the operation failed (check: a\nblocker was found), 2 bad command line or plan, 129/130/143 apply stopped by\nSIGHUP (a closed terminal), Ctrl-C or SIGTERM (after finishing and recording\nthe running step; a server tsmn restarts always starts again).";

const MIGRATE_HELP: &str = "\
Examples:
  tsmn migrate --plan plan.toml --to 'host=10.0.0.20 dbname=tsdb' --check
        what would move, and what blocks it (read-only)
  tsmn migrate --plan plan.toml --to 'host=10.0.0.20 dbname=tsdb'
        stop the writers, then copy, verify, and print the next steps
  tsmn migrate --plan plan.toml --to 'host=10.0.0.10 dbname=tsdb_single' --yes
        into a new database on the access node's own server, without asking

The target: a superuser there, TimescaleDB installed and preloaded, not a
multi-node member (no dist_uuid, no timescaledb_fdw servers), none of the
source's table names. Each distributed hypertable becomes a regular one with
its time dimension and chunk interval and its compression settings; the
compressed ranges are compressed again. Continuous aggregates block the
migration (not migrated yet); jobs are listed as not recreated.

Interrupted (Ctrl-C, kill -9, a lost node)? Run the same command again: each
chunk is recorded on the target in the transaction that copied it, and in
<plan>.tsmn/migrate-<target>.jsonl; nothing is copied twice. A finished
migration is verified: row counts and checksums computed by both servers.

Exit codes: 0 done and verified (--check: nothing blocks), 1 blocked or
failed (nothing half-copied without a record), 2 bad command line or plan.";

#[derive(Debug, Parser)]
#[command(name = "tsmn", version, about = "Set up and troubleshoot TimescaleDB multi-node clusters", after_help = AFTER_HELP)]
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented example plan to edit (e.g. `tsmn init --mode password --out plan.toml`)
    Init {
        /// The auth mode of the example
        #[arg(long, value_enum, default_value_t = ModeArg::Trust)]
        mode: ModeArg,
        /// Where to write it (refuses an existing file; `-` for standard output)
        #[arg(long, value_name = "FILE", default_value = "plan.toml")]
        out: PathBuf,
    },
    /// Write the plan of a running cluster, read from its access node as
    /// its superuser (e.g. `tsmn discover --access-node 10.0.0.10:5432 --out plan.toml`)
    Discover {
        /// The access node: HOST[:PORT], [IPV6]:PORT, a socket directory, or a
        /// postgresql:// URI / key=value string (no password: use PGPASSWORD or ~/.pgpass)
        #[arg(long, value_name = "ADDRESS")]
        access_node: String,
        /// The cluster database [default: the one database there with data nodes]
        #[arg(long, value_name = "DB")]
        database: Option<String>,
        /// The superuser to connect as [default: postgres, or the URI's user]
        #[arg(long, value_name = "ROLE")]
        superuser: Option<String>,
        /// Where to write the plan (refuses an existing file)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Seconds to wait for the access node to answer
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        connect_timeout: u64,
    },
    /// The interactive wizard, screen by screen, on a plan
    /// (e.g. `tsmn wizard --plan plan.toml`)
    Wizard {
        /// The plan file (TOML) [env: TSMN_PLAN; default: the default sandbox's plan]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: Option<PathBuf>,
        #[command(flatten)]
        opts: WizardOpts,
    },
    /// Bring up the sandbox (if it is not up) and open the wizard on its plan
    /// (e.g. `tsmn demo --data-nodes 2`)
    Demo {
        /// Number of data nodes
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        data_nodes: u16,
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        opts: WizardOpts,
    },
    /// Check a plan file; print it with every default, or every problem with its fix
    /// (e.g. `tsmn validate --plan plan.toml`)
    Validate {
        /// The plan file (TOML) [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// Print one JSON document (schema tsmn-validate/1): the plan with
        /// every default, or every problem with its field and fix
        #[arg(long)]
        json: bool,
    },
    /// Probe every node in parallel and report what stands in the way of multi-node,
    /// with causes and fixes (e.g. `tsmn check --plan plan.toml`). Read-only.
    Check {
        /// The plan file (TOML) [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// Print one JSON document (schema tsmn-check/1) instead of the report
        #[arg(long)]
        json: bool,
        /// Seconds to wait for each connection (TCP, TLS and login together)
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
    },
    /// The cluster at a glance: each node up or down (versions, uptime,
    /// connections, size), each link access node -> data node with its
    /// round-trip time, chunks per data node of each distributed
    /// hypertable, and what needs attention (prepared transactions left
    /// behind, chunks short of copies, failing jobs), each with the code
    /// `tsmn check` explains. Read-only. Exit 0 when every node and link
    /// is up (warnings do not count), 1 otherwise
    #[command(
        after_help = "Examples:\n  tsmn status --plan plan.toml           one snapshot\n  tsmn status --plan plan.toml --watch   redraw every 2 s, with rows/s and bytes/s\n                                         per hypertable; q quits\n  tsmn status --access-node 10.0.0.10 --json\n                                         from the access node alone, as JSON"
    )]
    Status(StatusArgs),
    /// Write a support bundle (tar.gz, mode 0600) to send when asking for
    /// help: versions, non-default settings, pg_hba.conf, the multi-node
    /// catalogs, prepared transactions, the status snapshot, the servers'
    /// recent log lines and tsmn's own journal. No secret goes in: passwords
    /// in connection strings are masked, passfiles, keys and password
    /// verifiers are left out. README.txt in it names every file
    /// (e.g. `tsmn report --plan plan.toml --out cluster-report.tar.gz`)
    Report {
        /// The plan file (TOML)
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// The bundle to write (refuses an existing file)
        #[arg(long, value_name = "FILE.tar.gz")]
        out: PathBuf,
        /// Seconds to wait for each connection
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
    },
    /// Show the setup steps per node: settings (current -> new), the pg_hba.conf
    /// diff, files with path, owner and mode, SQL exactly as it will run
    /// (e.g. `tsmn preview --plan plan.toml --node dn1`). Changes nothing on the
    /// nodes; in certificate mode it makes the certificates beside the plan.
    Preview {
        /// The plan file (TOML) [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// Only this node's steps
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// Do not connect: list every step, with current values unknown
        #[arg(long)]
        offline: bool,
        /// Print one JSON document (schema tsmn-preview/1): every step as data
        #[arg(long)]
        json: bool,
        /// Seconds to wait for each connection
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
        /// Same as --color never (kept for scripts that use it)
        #[arg(long, hide = true)]
        no_color: bool,
    },
    /// Write the steps as a directory to review and run without tsmn: README,
    /// setup.sh (POSIX sh + psql) and a folder per node
    /// (e.g. `tsmn export --plan plan.toml --out ./tsmn-setup`)
    Export {
        /// The plan file (TOML) [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// A new (or empty) directory to write
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Also write the passwords (passfile, user mappings); files are 0600
        #[arg(long)]
        include_secrets: bool,
        /// Do not connect to the nodes first
        #[arg(long)]
        offline: bool,
        /// Print one JSON document (schema tsmn-export/1): the files written
        #[arg(long)]
        json: bool,
        /// Seconds to wait for each connection
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
    },
    /// Run the setup steps on the nodes with live progress: probe, show what will
    /// change, ask, run. Safe to run again; resumes after a failure
    /// (e.g. `tsmn apply --plan plan.toml --phases settings,auth`)
    Apply {
        /// The plan file (TOML) [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// Do not ask for confirmation
        #[arg(short, long)]
        yes: bool,
        /// One JSON event per line (schema tsmn-apply-event/1, with a
        /// timestamp) instead of text
        #[arg(long)]
        json: bool,
        /// Restart nodes that need it: `local` restarts the ones on this host whose
        /// data directory tsmn can read and waits for the others; `never` stops and
        /// says which; `ask` asks first
        #[arg(long, value_enum, default_value_t = RestartArg::Local)]
        restart: RestartArg,
        /// Phases to run, comma-separated: settings, auth, cluster, verify
        #[arg(
            long,
            value_name = "LIST",
            value_delimiter = ',',
            default_value = "settings,auth,cluster,verify"
        )]
        phases: Vec<PhaseArg>,
        /// Seconds to wait for a node that someone else restarts
        #[arg(long, value_name = "SECS", default_value_t = tsmn::flow::settings::DEFAULT_RESTART_WAIT_SECS)]
        restart_wait: u64,
        /// Certificate mode: issue every server and client certificate anew
        /// from the same CA (the old ones are kept in <plan>.tsmn/renewed-<time>/)
        #[arg(long)]
        renew_certificates: bool,
        /// Certificate mode, tsmn's own CA: make a new CA and issue every
        /// certificate anew from it; the nodes trust both CAs until the new
        /// certificates are in use and verified, then the old CA goes (it is
        /// kept in <plan>.tsmn/rolled-<time>/)
        #[arg(long, conflicts_with = "renew_certificates")]
        roll_ca: bool,
        /// Remove the data nodes that are in the cluster but no longer in the
        /// plan (detach, then delete_data_node); refused while one holds the
        /// only copy of a chunk
        #[arg(long)]
        remove_data_nodes: bool,
        /// With --remove-data-nodes: first move each chunk whose only copy
        /// is on a leaving data node to the remaining node with the least
        /// bytes of its hypertable (the engine's chunk copy; sets wal_level =
        /// logical and what it needs on the data nodes, and
        /// max_prepared_transactions on the access node: restarts). Writes
        /// to a hypertable wait while one of its chunks copies (reads go
        /// on); rows and checksums are compared before the old copy goes.
        /// NOT AVAILABLE in this version: refused with the way to do it by
        /// hand (a row written during a move was lost in rare cases)
        #[arg(long, requires = "remove_data_nodes")]
        drain: bool,
        /// Password mode: give ROLE a new password (from its variable,
        /// TSMN_ROLE_PW_<ROLE> by default, or asked for), one data node at a
        /// time, each followed at once by its passfile line; safe to run
        /// again after an interruption. Repeat for more roles
        #[arg(long, value_name = "ROLE")]
        rotate_password: Vec<String>,
        /// Seconds to wait for each connection
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
    },
    /// Take the last run of tsmn apply back: delete the data nodes it added
    /// (and the databases it made on them), put every server file it changed
    /// back from its backup. Only while the cluster holds no distributed
    /// hypertable; shown before it asks. Settings stay, named with their old
    /// values (e.g. `tsmn undo --plan plan.toml`)
    Undo {
        /// The plan file (TOML) the run used [env: TSMN_PLAN]
        #[arg(short, long, value_name = "FILE", env = "TSMN_PLAN", hide_env = true)]
        plan: PathBuf,
        /// Do not ask for confirmation
        #[arg(short, long)]
        yes: bool,
        /// Seconds to wait for each connection
        #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
        connect_timeout: u64,
    },
    /// Leave multi-node: copy the cluster onto one server whose TimescaleDB
    /// can be updated past 2.13 (offline: stop the writers first). Schema by
    /// pg_dump/pg_restore, each chunk straight from a data node that holds
    /// it, verified by counts and checksums; resumes after an interruption.
    /// The source is never written
    /// (e.g. `tsmn migrate --plan plan.toml --to postgresql://postgres@10.0.0.20/tsdb --check`)
    #[command(after_help = MIGRATE_HELP)]
    Migrate(MigrateCmd),
    /// Local throwaway cluster from the installed PostgreSQL
    /// (e.g. `tsmn sandbox up --data-nodes 2`)
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Print a shell completion script
    /// (e.g. `tsmn completions bash > /etc/bash_completion.d/tsmn`)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (e.g. `tsmn man > /usr/local/share/man/man1/tsmn.1`)
    Man,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Create and start an access node and N data nodes on free 127.0.0.1 ports;
    /// writes DIR/plan.toml (e.g. `tsmn sandbox up --dir /tmp/tsmn-demo`)
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
    /// Show each node: up or down, port, server version (e.g. `tsmn sandbox status`)
    Status {
        #[command(flatten)]
        dir: DirArg,
        /// Print one JSON document (schema tsmn-sandbox-status/1)
        #[arg(long)]
        json: bool,
    },
    /// Stop every node and remove what `up` created; refuses any other directory
    /// (e.g. `tsmn sandbox down`)
    Down {
        #[command(flatten)]
        dir: DirArg,
    },
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
    /// Seconds to wait for each connection
    #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connect_timeout: u64,
}

/// `tsmn status`'s arguments.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file (TOML)
    #[arg(
        short,
        long,
        value_name = "FILE",
        conflicts_with = "access_node",
        required_unless_present = "access_node"
    )]
    pub plan: Option<PathBuf>,
    /// Instead of a plan: the access node, as `tsmn discover` takes it
    /// (HOST[:PORT], a socket directory or a postgresql:// URI without password)
    #[arg(long, value_name = "ADDRESS")]
    pub access_node: Option<String>,
    /// With --access-node: the cluster database [default: the one with data nodes]
    #[arg(long, value_name = "DB", requires = "access_node")]
    pub database: Option<String>,
    /// With --access-node: the superuser [default: postgres]
    #[arg(long, value_name = "ROLE", requires = "access_node")]
    pub superuser: Option<String>,
    /// Print one JSON document (schema tsmn-status/1); with --watch one per refresh
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
    /// Seconds to wait for each node (each connection, and each refresh)
    #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connect_timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LinkScope {
    Access,
    All,
}

/// What the wizard takes from the command line, as apply does.
#[derive(Debug, Clone, clap::Args)]
pub struct WizardOpts {
    /// Seconds to wait for each connection
    #[arg(long, value_name = "SECS", env = "PGCONNECT_TIMEOUT", default_value_t = tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connect_timeout: u64,
    /// Restart nodes that need it: `local` restarts the ones on this host
    /// (the confirmation before the run says so), `never` stops at the
    /// restart gate and names them (`ask` is `local`: the wizard asks anyway)
    #[arg(long, value_enum, default_value_t = RestartArg::Local)]
    pub restart: RestartArg,
    /// Same as --color never (kept for scripts that use it)
    #[arg(long, hide = true)]
    pub no_color: bool,
}

impl Default for WizardOpts {
    fn default() -> Self {
        WizardOpts {
            connect_timeout: tsmn::flow::settings::DEFAULT_CONNECT_TIMEOUT_SECS,
            restart: RestartArg::Local,
            no_color: false,
        }
    }
}

impl WizardOpts {
    pub fn settings(&self) -> tsmn::flow::Settings {
        tsmn::flow::Settings {
            connect_timeout: std::time::Duration::from_secs(self.connect_timeout),
            restart: match self.restart {
                RestartArg::Never => tsmn::run::RestartPolicy::Never,
                RestartArg::Local | RestartArg::Ask => tsmn::run::RestartPolicy::Local,
            },
            ..tsmn::flow::Settings::default()
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Trust,
    Password,
    Certificate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RestartArg {
    Never,
    Local,
    Ask,
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
