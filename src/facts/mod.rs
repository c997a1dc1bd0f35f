//! PURE: what each node is right now, as found by `probe/`. Plain data, read
//! by `findings/` and (later) the steps builder. Nothing here connects.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Access,
    Data,
}

impl NodeRole {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Access => "access",
            NodeRole::Data => "data",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub nodes: Vec<NodeFacts>,
}

impl Facts {
    pub fn node(&self, name: &str) -> Option<&NodeFacts> {
        self.nodes.iter().find(|n| n.name == name)
    }
    /// The access node's cluster database when the cluster runs there:
    /// TimescaleDB created and data nodes attached (what the findings of a
    /// running cluster read).
    pub fn running_cluster(&self) -> Option<&DatabaseFacts> {
        self.access()?
            .server
            .as_ref()?
            .database
            .as_ref()
            .filter(|d| d.timescaledb.is_some() && !d.data_nodes.is_empty())
    }

    pub fn access(&self) -> Option<&NodeFacts> {
        self.nodes.iter().find(|n| n.role == NodeRole::Access)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeFacts {
    pub name: String,
    pub role: NodeRole,
    /// Where tsmn connected (host:port or socket directory).
    pub address: String,
    pub connection: Connection,
    /// Present when tsmn got in.
    pub server: Option<ServerFacts>,
    /// On the access node: what it sees when it connects to each data node.
    pub access_probes: AccessProbes,
    /// On the access node of a running cluster: the verification the
    /// verify step makes, as every role of the plan to every attached data
    /// node, in the cluster database (empty when there is no cluster yet).
    pub cluster_reach: Vec<Reach>,
}

/// Whether the access node reaches a data node as a role, as TimescaleDB
/// does (ping_data_node), and if not, its own reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub role: String,
    pub data_node: String,
    pub error: Option<String>,
}

/// How tsmn's own connection went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connection {
    Connected {
        tls: bool,
    },
    /// No answer within the connect timeout (a dead host, a black hole, a hung listener).
    TimedOut {
        seconds: u64,
    },
    /// The error as the server or the network reported it.
    Failed {
        /// SQLSTATE when the server sent an error.
        sqlstate: Option<String>,
        message: String,
    },
}

impl Connection {
    /// What went wrong, in one line; None when tsmn got in.
    pub fn problem(&self) -> Option<String> {
        match self {
            Connection::Connected { .. } => None,
            Connection::TimedOut { seconds } => Some(format!("no answer within {seconds} s")),
            Connection::Failed { message, .. } => Some(message.clone()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerFacts {
    pub version_num: u32,
    pub version: String,
    pub current_user: String,
    pub superuser: bool,
    /// name -> value for the settings tsmn reads (absent when unknown to the server).
    pub settings: BTreeMap<String, Setting>,
    pub hba_file: String,
    /// Files tsmn may write here, outside the data directory, that the
    /// server's OS user cannot write (superuser sessions only).
    pub unwritable: Vec<Unwritable>,
    pub hba_rules: Vec<HbaRule>,
    /// The raw lines of pg_hba.conf, to quote rules by line number.
    pub hba_lines: Vec<String>,
    /// TimescaleDB versions installed for this PostgreSQL: an install
    /// script and (where the library directory could be read) a library.
    pub timescaledb_available: Vec<String>,
    /// The control file's default_version, when read.
    pub timescaledb_default: Option<String>,
    pub dblink_available: bool,
    /// The cluster database, when it exists on this node.
    pub database: Option<DatabaseFacts>,
    /// The encoding and locale a database created now gets (template1's).
    pub new_database: Option<DatabaseFacts>,
    pub roles: Vec<RoleFacts>,
    /// On the access node: its passfile as TimescaleDB uses it (the lines'
    /// host, port, database and user; never a password).
    pub passfile: Option<PassfileFacts>,
    /// The certificates this node uses (server, CA; on the access node in
    /// certificate mode each role's client certificate), with their validity.
    pub certificates: Vec<CertFacts>,
    /// The filesystem under the data directory, as `df` run by the server
    /// gives it (superuser sessions only; None: unknown).
    pub disk: Option<Disk>,
    /// The TLS files (ssl_cert_file, ssl_key_file, ssl_ca_file) changed on
    /// disk since the server last read its configuration: until a reload it
    /// still uses the old ones (a renewed certificate not in use yet).
    pub tls_files_not_loaded: Vec<String>,
    /// pg_hba.conf changed after the server last read it (`HBA_NOT_LOADED`).
    pub hba_not_loaded: bool,
    /// On a data node, when check tests them: its links to the other data
    /// nodes as the engine's chunk copy makes them (the access node's
    /// connection options, from this node's host and data directory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peer_links: Vec<Reach>,
}

/// One certificate file and its validity, read when it was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    /// `server certificate`, `CA`, `client certificate of <role>`.
    pub what: String,
    pub path: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// When tsmn read it (the clock the days left are counted on).
    pub checked_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassfileFacts {
    pub path: String,
    pub exists: bool,
    /// (host, port, database, user) of each line.
    pub entries: Vec<[String; 4]>,
}

impl PassfileFacts {
    /// A line libpq would take for this connection (`*` matches anything).
    pub fn has_entry(&self, host: &str, port: i64, user: &str) -> bool {
        let m = |field: &str, want: &str| field == "*" || field == want;
        self.entries
            .iter()
            .any(|[h, p, _, u]| m(h, host) && m(p, &port.to_string()) && m(u, user))
    }
}

impl ServerFacts {
    /// The version CREATE EXTENSION gets from tsmn here (see
    /// `timescale::version_to_create`).
    pub fn timescaledb_to_create(&self) -> Option<String> {
        crate::timescale::version_to_create(
            &self.timescaledb_available,
            self.timescaledb_default.as_deref(),
        )
    }

    /// The version the node runs in the cluster database, else the one
    /// tsmn would create.
    pub fn timescaledb_version(&self) -> Option<String> {
        self.database
            .as_ref()
            .and_then(|d| d.timescaledb.clone())
            .or_else(|| self.timescaledb_to_create())
    }

    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name).map(|s| s.value.as_str())
    }
    pub fn pending_restart(&self) -> Vec<&str> {
        self.settings
            .iter()
            .filter(|(_, s)| s.pending_restart)
            .map(|(n, _)| n.as_str())
            .collect()
    }
    pub fn ssl_on(&self) -> bool {
        self.setting("ssl") == Some("on")
    }

    /// A path as the server resolves it: relative ones are inside PGDATA.
    pub fn resolve(&self, path: &str) -> String {
        let pgdata = self.setting("data_directory").unwrap_or("<PGDATA>");
        if path.starts_with('/') || path.is_empty() {
            path.to_string()
        } else {
            format!("{}/{path}", pgdata.trim_end_matches('/'))
        }
    }

    /// On an access node: the passfile TimescaleDB hands libpq
    /// (`timescaledb.passfile`, else `<PGDATA>/passfile`); None for `''`,
    /// which leaves libpq to `~/.pgpass` of the server's OS user.
    pub fn timescaledb_passfile(&self) -> Option<String> {
        match self.settings.get("timescaledb.passfile") {
            Some(s) if s.source != "default" && s.value.is_empty() => None,
            Some(s) if s.source != "default" => Some(self.resolve(&s.value)),
            _ => Some(self.resolve("passfile")),
        }
    }

    /// On an access node: where TimescaleDB looks for a role's client
    /// certificate and key (`timescaledb.ssl_dir`, else
    /// `<PGDATA>/timescaledb/certs`; the files are named by the md5 of the
    /// role name, `make_user_path` in tsl/src/remote/connection.c).
    pub fn client_certificate(&self, role: &str) -> (String, String) {
        let dir = match self.settings.get("timescaledb.ssl_dir") {
            Some(s) if s.source != "default" => self.resolve(&s.value),
            _ => self.resolve("timescaledb/certs"),
        };
        let base = format!(
            "{}/{}",
            dir.trim_end_matches('/'),
            crate::timescale::cert_file_stem(role)
        );
        (format!("{base}.crt"), format!("{base}.key"))
    }
}

/// A file the server's OS user cannot write, and all that stops it: the
/// file itself, the nearest existing directory above it, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unwritable {
    pub path: String,
    pub blocking: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub value: String,
    /// pg_settings.source: `default` means never set (matters for timescaledb.passfile).
    pub source: String,
    pub pending_restart: bool,
}

/// One row of pg_hba_file_rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HbaRule {
    pub line_number: u32,
    /// `local`, `host`, `hostssl`, ... ; None on a row that failed to parse.
    pub kind: Option<String>,
    pub databases: Vec<String>,
    pub users: Vec<String>,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub method: Option<String>,
    pub options: Vec<String>,
    pub error: Option<String>,
    /// The line quotes a keyword ("all", "sameuser", ...) as a name: the
    /// view shows it unquoted, so the rule cannot be read from it alone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub quoted_keywords: bool,
}

impl HbaRule {
    /// Marks the rules whose line in `lines` (the file's text) quotes a
    /// keyword.
    pub fn mark_quoted_keywords(rules: &mut [HbaRule], lines: &[String]) {
        const QUOTED: [&str; 6] = [
            "\"all\"",
            "\"sameuser\"",
            "\"samerole\"",
            "\"samegroup\"",
            "\"replication\"",
            "\"samehost\"",
        ];
        for r in rules.iter_mut() {
            let line = lines.get((r.line_number as usize).wrapping_sub(1));
            r.quoted_keywords = line.is_some_and(|l| QUOTED.iter().any(|q| l.contains(q)));
        }
    }
}

/// SQL: the TLS files modified after the last configuration reload (an
/// array; relative names are in the data directory, as the server reads
/// them). The server loads them on reload only: until then it presents
/// and trusts the old ones. Superuser (pg_stat_file).
pub const TLS_FILES_NOT_LOADED: &str = "ARRAY(SELECT f FROM unnest(ARRAY[current_setting('ssl_cert_file'), current_setting('ssl_key_file'), current_setting('ssl_ca_file')]) AS f \
     WHERE f <> '' AND (pg_stat_file(f, true)).modification > pg_conf_load_time())";

/// Whether pg_hba.conf changed after the server last read it: the rules
/// on disk are not the ones it enforces (a run killed between its write
/// and its reload, or an operator's edit). A file's time has whole seconds
/// only: a change in the same second as the last reload is not seen here
/// (`HBA_MAYBE_NOT_LOADED` is the cautious reading, for the executor).
pub const HBA_NOT_LOADED: &str = "coalesce((pg_stat_file(current_setting('hba_file'), true)).modification > pg_conf_load_time(), false)";

/// pg_hba.conf may have changed after the server last read it: changed in
/// the second of the last reload or later. The executor reloads then (at
/// worst one reload too many, never a file taken as loaded that is not).
pub const HBA_MAYBE_NOT_LOADED: &str = "coalesce((pg_stat_file(current_setting('hba_file'), true)).modification >= date_trunc('second', pg_conf_load_time()), false)";

/// What pg_hba_file_rules says of a `hostssl` line while ssl is off: the
/// line is kept and the file still reloads (the line just cannot match).
pub const HOSTSSL_WITHOUT_SSL: &str = "cannot match because SSL is disabled";

impl HbaRule {
    /// The line makes PostgreSQL refuse to reload pg_hba.conf (and a
    /// restart fail): it does not parse, or has an error other than a
    /// hostssl line that cannot match while ssl is off.
    pub fn breaks_reload(&self) -> bool {
        self.kind.is_none()
            || self
                .error
                .as_deref()
                .is_some_and(|e| !e.contains(HOSTSSL_WITHOUT_SSL))
    }
}

mod cluster;
mod engine_link;

#[cfg(test)]
impl ServerFacts {
    /// A server whose settings are `pairs`, each as set in the
    /// configuration file (the tests' one way to make one).
    pub fn with_settings(pairs: &[(&str, &str)]) -> ServerFacts {
        ServerFacts {
            settings: pairs
                .iter()
                .map(|(k, v)| {
                    let s = Setting {
                        value: v.to_string(),
                        source: "configuration file".into(),
                        pending_restart: false,
                    };
                    (k.to_string(), s)
                })
                .collect(),
            ..ServerFacts::default()
        }
    }
}
pub use cluster::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleFacts {
    pub name: String,
    pub exists: bool,
    pub can_login: bool,
    /// How its password is stored: `scram-sha-256`, `md5`, or None (none,
    /// or not readable by tsmn).
    pub verifier: Option<String>,
}

/// The access node's own view of the data nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccessProbes {
    /// Not the access node, or tsmn could not get in.
    #[default]
    NotApplicable,
    /// Neither dblink nor another way to connect out is available.
    NotTested {
        reason: String,
    },
    Tested {
        results: Vec<AccessProbe>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessProbe {
    pub data_node: String,
    /// The address the data node saw the access node connect from.
    pub source_address: Option<String>,
    /// The connection error as the access node's libpq reported it.
    pub error: Option<String>,
    /// Why this data node was not tried from the access node (no error then).
    pub not_tested: Option<String>,
    /// Password or certificate mode: the sslmode with which the access
    /// node got in bringing neither a password nor a client certificate
    /// (the mode is not enforced); None when every such login was refused.
    pub admits_without: Option<String>,
}
