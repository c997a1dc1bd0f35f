//! The messages into the wizard's update (keys, task results) and the
//! commands out of it (work for the tasks). Commands carry what the task
//! needs besides the app's plan and steps; never anything of a screen.

use crate::facts::Facts;
use crate::run::Event;
use crate::steps::Step;
use crossterm::event::KeyEvent;
use secrecy::SecretString;

/// Messages into `update`.
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize,
    Tick,
    /// Facts for every node (the ones probed again, when `partial`,
    /// merged into the rest by the flow) and their findings.
    Probed {
        facts: Facts,
        findings: Vec<crate::findings::Finding>,
        notes: Vec<String>,
        partial: bool,
    },
    Saved(Result<(), String>),
    /// One node's probe is done (tsmn got in, or not).
    NodeProbed {
        node: String,
        ok: bool,
    },
    Built(Result<Vec<Step>, String>),
    Run(Event),
    Exported(Result<String, String>),
    /// The plan read from an access node (`tsmn discover`), or why not.
    Discovered(Result<Box<crate::discover::Discovered>, String>),
    /// SIGTERM or SIGHUP: as Ctrl-C, the first stops after the running
    /// step, the second at once.
    Interrupt,
    /// A snapshot of the running cluster (the cluster screen), or why
    /// none can be taken.
    Status(Result<Box<crate::status::Snapshot>, String>),
    /// The migration's preflight, progress and end (the migrate screen).
    Migrate(MigrateMsg),
}

#[derive(Debug)]
pub enum MigrateMsg {
    /// The preflight as text, and whether something blocks; or why it
    /// could not be read.
    Checked(Result<(String, bool), String>),
    /// A line of progress.
    Line(String),
    /// The report, or the error with its fix.
    Finished(Result<String, String>),
}

/// Work for the tasks.
#[derive(Debug)]
pub enum Cmd {
    /// Probe these nodes (all when empty).
    Probe {
        password: Option<SecretString>,
        nodes: Vec<String>,
    },
    Save,
    /// Read the plan of the cluster from this access node.
    Discover {
        address: String,
    },
    Cancel,
    Build,
    Execute,
    Export,
    Quit,
    /// Watch the cluster (the cluster screen): a snapshot every few seconds.
    Watch,
    /// A snapshot now.
    WatchNow,
    /// Test the links between data nodes once, in the next snapshot.
    WatchPeerLinks,
    StopWatch,
    /// The migration's preflight into `target` (read-only).
    MigrateCheck {
        target: String,
    },
    /// Migrate into `target`.
    Migrate {
        target: String,
        choice: MigrateChoice,
    },
}

/// What the operator chose on the Migrate screen before the copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateChoice {
    /// Online (`--online`): copied while the applications write, then a freeze.
    pub online: bool,
    /// The roles' stored password verifiers come (`--with-role-passwords`).
    pub role_passwords: bool,
}
