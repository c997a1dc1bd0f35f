//! The step model: plain data that preview, export and the executor share.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Server settings (some need a restart).
    Settings,
    /// pg_hba.conf rules, files, passwords, certificates.
    Auth,
    /// Database, extension, data nodes, roles: needs TimescaleDB.
    Cluster,
    /// Checks that the result works.
    Verify,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Settings, Phase::Auth, Phase::Cluster, Phase::Verify];
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Settings => "settings",
            Phase::Auth => "auth",
            Phase::Cluster => "cluster",
            Phase::Verify => "verify",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Stable and unique: `<node>/<phase>/<what>`.
    pub id: String,
    pub node: String,
    pub phase: Phase,
    pub title: String,
    /// Why the step is there, in a sentence an operator can check.
    pub reason: String,
    pub action: Action,
    pub state: StepState,
    /// A check the executor makes first; when it holds, the step is
    /// already done and is not run again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precheck: Option<Precheck>,
    /// When it runs within its phase; preview and export list the steps in
    /// this order too.
    #[serde(skip_serializing_if = "Order::is_usual")]
    pub order: Order,
}

impl Step {
    /// A check that always runs and changes nothing of its own: the
    /// restart gate, the verification, and the verify phase's SQL checks
    /// (the mode enforced on each data node).
    pub fn is_check(&self) -> bool {
        matches!(
            self.action,
            Action::RestartGate { .. } | Action::Verify { .. }
        ) || (self.phase == Phase::Verify && matches!(self.action, Action::Sql { .. }))
    }
}

/// When a step runs within its phase. The data nodes' steps always run in
/// parallel, one task per data node; the variants place the access node's.
/// On a real cluster every data node is its own machine, so per-node work
/// done at once costs one node's time (issue: the cluster phase must not
/// grow with the node count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Before every other step of the phase, alone (the restart gate: no
    /// step after it may run on a server that still waits for its restart).
    First,
    /// At the same time as the data nodes' steps: it needs nothing from them.
    WithDataNodes,
    /// After the data nodes' steps, one after another.
    #[default]
    AfterDataNodes,
    /// After every other step of the phase, the access node's too: a data
    /// node's own cleanup once the access node has let it go.
    Last,
    /// After the data nodes' steps, at the same time as the neighbouring
    /// steps that say so, each on its own session (add_data_node for
    /// different data nodes, once one is added, may run at the same time
    /// from separate sessions: checked on TimescaleDB 2.13.1).
    Together,
    /// After the data nodes' steps: the neighbouring steps that say so run
    /// at most this many at a time, each on a session of its own, the next
    /// starting as soon as one ends (`tsmn rebalance --parallel N`).
    Pool(u16),
}

impl Order {
    pub fn is_usual(&self) -> bool {
        *self == Order::AfterDataNodes
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Precheck {
    /// The role's stored SCRAM verifier already belongs to its password.
    PasswordIs { role: String },
    /// The node sees this server's data directory with its live
    /// postmaster.pid (same host and file system): the access node's own
    /// files are already at the access node's paths, and writing the data
    /// node's copy there would replace them.
    SeesServer { data_directory: String, port: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// To be done (or unknown, offline).
    Todo,
    /// The facts show it is already done: a re-run changes nothing.
    Done { why: String },
    /// Cannot run yet.
    Blocked { why: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// SQL statements, each sent alone (never batched: add_data_node refuses
    /// a multi-statement string), in `database`.
    Sql {
        database: String,
        statements: Vec<Statement>,
    },
    /// Settings through ALTER SYSTEM in `database`, then a reload.
    /// TimescaleDB's own settings exist only in a database where the
    /// extension is created (in `postgres`, ALTER SYSTEM SET
    /// timescaledb.passfile fails with `unrecognized configuration
    /// parameter`); every other is set in `postgres`.
    Settings {
        database: String,
        changes: Vec<SettingChange>,
    },
    /// The tsmn block at the top of pg_hba.conf (replaced when present), then
    /// validation through pg_hba_file_rules and a reload; restored on error.
    HbaBlock { lines: Vec<String> },
    /// A file on the server, written as the server's OS user.
    File {
        path: ServerPath,
        mode: u32,
        content: Content,
    },
    /// Every node must run with the settings that need a restart.
    RestartGate { nodes: Vec<String> },
    /// tsmn's block taken out of the pg_hba.conf of a data node that left
    /// the cluster (checked, reloaded, restored on error, as `HbaBlock`).
    /// The node is not in the plan: tsmn connects where the access node
    /// reached it.
    HbaBlockRemoved { host: String, port: i64 },
    /// A reload when the node's TLS files changed: one of the steps `after`
    /// wrote one in this run, or the server says a file is newer than its
    /// last reload. PostgreSQL reads certificate, key and CA at start and
    /// on reload only.
    ReloadTls { after: Vec<String> },
    /// `tsmn undo`: a server file as it was before the last run (its
    /// backup put back; removed when that run made it). The file as it is
    /// now is backed up first; the server's pg_hba.conf is checked through
    /// pg_hba_file_rules and reloaded, and restored on error.
    RestoreFile {
        path: String,
        backup: Option<String>,
    },
    /// `--rotate-password`: the role's new password on one data node (its
    /// SCRAM verifier), then at once the access node's passfile line for
    /// that data node, so the data node refuses the role only while the one
    /// write in between runs. Skipped where both already hold; the backup
    /// of the passfile keeps no old password (`pgpass::redacted`).
    RotatePassword {
        role: String,
        data_node: String,
        /// The host and port the access node connects to (the line's).
        host: String,
        port: i64,
        database: String,
        passfile: ServerPath,
        /// The last data node: the role's old lines go too.
        last: bool,
    },
    /// `--drain`: one chunk whose only copy is on a leaving data node goes
    /// to `destination` (src/run/moves.rs): writes to its hypertable pause
    /// (a lock held by a prepared transaction, so it outlives tsmn), the
    /// engine copies it (`copy_chunk`, its operation id journaled), rows and
    /// checksums are compared on both data nodes, then the source replica
    /// is dropped and writes resume. Replication repair (`keep_source`):
    /// the same, but the source replica stays.
    MoveChunk(ChunkMove),
    /// `--drain`: what an earlier drain left behind, first: copy operations
    /// still running are waited for, those whose session is gone are
    /// cleaned up by the engine, tsmn's write pauses are released; then
    /// every data node's two-phase transactions left prepared (a restart
    /// just done can leave acknowledged rows so) are healed by the engine
    /// (`remote_txn_heal_data_node` in `functions_schema`).
    DrainResume {
        database: String,
        functions_schema: String,
    },
    /// Proof that the cluster works the way TimescaleDB will use it: in
    /// `database` on the access node, as each role, every data node answers.
    /// `sql` raises an error naming every pair that does not; it is what
    /// preview shows, export writes and the executor sends.
    Verify {
        database: String,
        reaches: Vec<Reach>,
        sql: String,
    },
}

/// The roles whose passwords these steps hold (as a passfile line, a
/// verifier or a literal): the only passwords a run or an export needs.
pub fn secret_roles(steps: &[Step]) -> std::collections::BTreeSet<String> {
    // A phase with a blocked step does not start: its steps need nothing.
    let blocked: Vec<Phase> = steps
        .iter()
        .filter(|s| matches!(s.state, StepState::Blocked { .. }))
        .map(|s| s.phase)
        .collect();
    let steps: Vec<&Step> = steps
        .iter()
        .filter(|s| !blocked.contains(&s.phase))
        .collect();
    let templates = steps.iter().flat_map(|s| match &s.action {
        Action::Sql { statements, .. } => statements.iter().map(|st| &st.sql).collect(),
        Action::File {
            content: Content::Text { text },
            ..
        } => vec![text],
        _ => vec![],
    });
    let rotated = steps.iter().filter_map(|s| match &s.action {
        Action::RotatePassword { role, .. } => Some(role.clone()),
        _ => None,
    });
    templates
        .flat_map(|t| &t.0)
        .filter_map(|p| match p {
            Part::Lit(_) => None,
            Part::PgpassPassword(r) | Part::VerifierLiteral(r) | Part::PasswordLiteral(r) => {
                Some(r.clone())
            }
        })
        .chain(rotated)
        .collect()
}

/// One chunk to move (see `Action::MoveChunk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkMove {
    pub database: String,
    /// `schema.table` of the hypertable (quoted, ready for SQL).
    pub hypertable: String,
    /// `schema.chunk` (quoted, ready for SQL).
    pub chunk: String,
    pub source: String,
    pub destination: String,
    /// Bytes of the chunk on the source, when the probe knew them.
    pub bytes: Option<i64>,
    /// Where TimescaleDB's internal functions live (by version).
    pub functions_schema: String,
    /// A copy, not a move (replication repair): the copy on `source`
    /// stays; the rest is the move's (pause, copy, comparison).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_source: bool,
    /// `tsmn rebalance`: this one copy moves whatever other copies the
    /// chunk has. False (a drain): a chunk with another copy is left to
    /// the removal, which drops the leaving node's.
    pub one_replica: bool,
}

/// One way TimescaleDB goes: from the access node, as `role`, to `data_node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub role: String,
    pub data_node: String,
}

/// One statement. `generate`: a SELECT whose result rows are statements to
/// run next (psql's \gexec), so conditional DDL such as ALTER SYSTEM, which
/// may not run inside a DO block, stays idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub sql: Template,
    pub generate: bool,
}

impl Statement {
    pub fn plain(sql: impl Into<String>) -> Statement {
        Statement {
            sql: Template::lit(sql),
            generate: false,
        }
    }
    pub fn generator(sql: impl Into<String>) -> Statement {
        Statement {
            sql: Template::lit(sql),
            generate: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    pub name: String,
    /// The value now, when known (online).
    pub current: Option<String>,
    pub new: SettingValue,
    /// Needs a restart (context postmaster).
    pub restart: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SettingValue {
    Set(String),
    /// Add this item to a comma-separated list, keeping what is there.
    Append(String),
    /// At least this number, and at least the value of the named setting.
    AtLeast(i64, String),
}

/// Where a server file goes: absolute, or inside the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ServerPath {
    Absolute(String),
    DataDir(String),
}

impl ServerPath {
    /// The path with PGDATA filled in when known.
    pub fn resolve(&self, pgdata: Option<&str>) -> String {
        match (self, pgdata) {
            (ServerPath::Absolute(p), _) => p.clone(),
            (ServerPath::DataDir(p), Some(d)) => format!("{}/{p}", d.trim_end_matches('/')),
            (ServerPath::DataDir(p), None) => format!("<PGDATA>/{p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    /// Text, possibly with secrets in it (a passfile).
    Text { text: Template },
    /// A private key from the local material, by name.
    PrivateKey { name: String },
}

/// Text with holes for secrets, which are filled in only when run (and
/// shown as placeholders, or psql variables, everywhere else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Template(pub Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Part {
    Lit(String),
    /// A role's password, escaped for a pgpass line.
    PgpassPassword(String),
    /// The SCRAM-SHA-256 verifier of a role's password, as an SQL literal.
    VerifierLiteral(String),
    /// A role's password, as an SQL literal (user mappings only).
    PasswordLiteral(String),
}

impl Template {
    pub fn lit(s: impl Into<String>) -> Template {
        Template(vec![Part::Lit(s.into())])
    }
    pub fn push(&mut self, p: Part) -> &mut Self {
        self.0.push(p);
        self
    }
    pub fn push_str(&mut self, s: &str) -> &mut Self {
        match self.0.last_mut() {
            Some(Part::Lit(l)) => l.push_str(s),
            _ => self.0.push(Part::Lit(s.to_string())),
        }
        self
    }
    /// The text with every secret replaced by `f`.
    pub fn render(&self, mut f: impl FnMut(&Part) -> String) -> String {
        self.0
            .iter()
            .map(|p| {
                if let Part::Lit(s) = p {
                    s.clone()
                } else {
                    f(p)
                }
            })
            .collect()
    }
    /// For people: secrets as `<placeholders>`.
    pub fn masked(&self) -> String {
        self.render(|p| match p {
            Part::PgpassPassword(r) => format!("<password of {r}>"),
            Part::VerifierLiteral(r) => format!("'<SCRAM-SHA-256 verifier of {r}'s password>'"),
            Part::PasswordLiteral(r) => format!("'<password of {r}>'"),
            Part::Lit(s) => s.clone(),
        })
    }
    pub fn has_secrets(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Part::Lit(_)))
    }
}
