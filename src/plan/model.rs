//! The plan: what the operator wants. Plain data, serialized as TOML.
//!
//! A plan never holds a secret. Passwords come from a prompt, from an
//! environment variable the plan *names*, or from a passfile the plan *names*.

use serde::{Deserialize, Serialize};

/// Longest identifier PostgreSQL keeps without truncation (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The distributed database on the access node (and, by default, on the data nodes).
    #[serde(default = "defaults::database")]
    pub database: String,
    /// The superuser role tsmn connects as, and that the access node uses to reach the data nodes.
    #[serde(default = "defaults::superuser")]
    pub superuser: String,
    /// Where the superuser's password comes from; nothing here is a secret itself.
    #[serde(default)]
    pub credentials: Credentials,
    /// Addresses (IP or CIDR) the data nodes will see the access node connect from.
    /// Empty: tsmn detects them from the access node's side.
    #[serde(default)]
    pub access_node_addresses: Vec<String>,
    pub access_node: Node,
    #[serde(default)]
    pub data_nodes: Vec<Node>,
    #[serde(default)]
    pub auth: Auth,
    /// The plan describes a running cluster tsmn did not set up (written by
    /// `tsmn discover`): apply changes only what multi-node needs, an
    /// existing pg_hba.conf rule that admits the access node stands, and
    /// tsmn's recommendations (jit, partitionwise aggregation) are reported
    /// by check instead of set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
    /// Background jobs tsmn keeps on the access node (`[maintenance]`).
    #[serde(default, skip_serializing_if = "super::Maintenance::is_default")]
    pub maintenance: super::Maintenance,
}

/// Where tsmn finds the superuser password. Tried in this order: the named
/// environment variable, the named passfile (pgpass format), then libpq's
/// habits (`PGPASSWORD`, `PGPASSFILE`, `~/.pgpass`), then a no-echo prompt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Name of an environment variable holding the superuser's password ("" = none).
    #[serde(default)]
    pub password_env: String,
    /// Path of a pgpass-format file to read the superuser's password from ("" = none).
    #[serde(default)]
    pub passfile: String,
    /// CA certificate (PEM) that the nodes' server certificates must chain to.
    /// Set (and no sslmode): tsmn requires TLS and verifies certificate and
    /// host name (`verify-full`). "" = PGSSLROOTCERT, then
    /// ~/.postgresql/root.crt, used only by the modes that check.
    #[serde(default)]
    pub sslrootcert: String,
    /// libpq's sslmode for tsmn's own connections: disable, allow, prefer,
    /// require, verify-ca or verify-full ("" = verify-full with
    /// sslrootcert, else PGSSLMODE, else prefer). Unix sockets never use TLS.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sslmode: String,
    /// Client certificate (PEM) tsmn presents, for a superuser that logs in
    /// by certificate ("" = PGSSLCERT, then ~/.postgresql/postgresql.crt).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sslcert: String,
    /// Private key of `sslcert`, mode 0600 ("" with sslcert "" = PGSSLKEY,
    /// then ~/.postgresql/postgresql.key).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sslkey: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Name of the node; on the access node it becomes the foreign server name.
    pub name: String,
    /// Address as the access node reaches it (what `add_data_node` stores).
    /// May be left out when `dsn` or `service` gives it.
    #[serde(default)]
    pub host: String,
    #[serde(default = "defaults::port")]
    pub port: i64,
    /// Address tsmn itself connects to, when it differs from `host` (a public
    /// address, or a Unix socket directory). Omitted: `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_host: Option<String>,
    /// Port tsmn itself connects to. Omitted: `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<i64>,
    /// A libpq connection string in place of host and port (a
    /// `postgresql://` URI or `host=... port=...`); no password, and no
    /// user or database other than the plan's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
    /// A service of pg_service.conf in place of host and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A data node that joins a running cluster: the distributed
    /// hypertables (`schema.table`) it is attached to. Omitted: all of
    /// them. (The wizard's preview asks, per hypertable.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypertables: Option<Vec<String>>,
}

impl Node {
    pub fn effective_connect_host(&self) -> &str {
        self.connect_host.as_deref().unwrap_or(&self.host)
    }
    pub fn effective_connect_port(&self) -> i64 {
        self.connect_port.unwrap_or(self.port)
    }

    /// Where tsmn connects, as reports name it: `host:port`, an IPv6
    /// address in brackets, a socket directory as it is.
    pub fn connect_address(&self) -> String {
        let host = self.effective_connect_host();
        if host.contains(':') && !host.starts_with('/') {
            format!("[{host}]:{}", self.effective_connect_port())
        } else {
            format!("{host}:{}", self.effective_connect_port())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Data nodes admit the access node's address without a password.
    #[default]
    Trust,
    /// SCRAM passwords; the access node reads them from a passfile.
    Password,
    /// Client certificates signed by a CA, one per role, md5-named.
    Certificate,
}

impl AuthMode {
    pub const ALL: [AuthMode; 3] = [AuthMode::Trust, AuthMode::Password, AuthMode::Certificate];
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Trust => "trust",
            AuthMode::Password => "password",
            AuthMode::Certificate => "certificate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    #[serde(default)]
    pub mode: AuthMode,
    /// Roles that reach the data nodes through the access node (the superuser is always one).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Options of password mode; only allowed when `mode = "password"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordOptions>,
    /// Options of certificate mode; only allowed when `mode = "certificate"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateOptions>,
    /// The links between data nodes that the engine's chunk copy needs
    /// (the destination logs in to the source with the access node's
    /// connection string): true sets them up on every apply, false never
    /// (chunk moves are then refused in password and certificate mode);
    /// unset: set up when the run moves or copies chunks (`--drain`,
    /// `--repair-replication`, a lost data node replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_node_links: Option<bool>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            mode: AuthMode::Trust,
            roles: Vec::new(),
            password: None,
            certificate: None,
            data_node_links: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PasswordOptions {
    /// Absolute path of the passfile on the access node ("" = `<PGDATA>/passfile`).
    #[serde(default)]
    pub passfile: String,
    /// Also store each role's password in a user mapping on the access node.
    #[serde(default)]
    pub user_mapping: bool,
    /// Prefix of the environment variables holding role passwords: the role
    /// `postgres` reads `<prefix>POSTGRES` ("" = ask at a prompt).
    #[serde(default)]
    pub password_env_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateOptions {
    /// Absolute directory on the access node for the md5-named client
    /// certificates (`timescaledb.ssl_dir`; "" = `<PGDATA>/timescaledb/certs`).
    #[serde(default)]
    pub ssl_dir: String,
    /// Validity of generated certificates, in days.
    #[serde(default = "defaults::validity_days")]
    pub validity_days: i64,
    /// An existing CA certificate (PEM file) to import instead of generating one.
    #[serde(default)]
    pub ca_cert: String,
    /// The private key (PEM file) of `ca_cert`.
    #[serde(default)]
    pub ca_key: String,
}

impl Default for CertificateOptions {
    fn default() -> Self {
        CertificateOptions {
            ssl_dir: String::new(),
            validity_days: defaults::validity_days(),
            ca_cert: String::new(),
            ca_key: String::new(),
        }
    }
}

pub mod defaults {
    pub fn database() -> String {
        "tsdb".into()
    }
    /// postgres (PGUSER, when set, comes in through dsn::Libpq).
    pub fn superuser() -> String {
        "postgres".into()
    }
    pub fn port() -> i64 {
        5432
    }
    pub fn validity_days() -> i64 {
        825
    }
}

impl Plan {
    /// Every node, access node first.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.access_node).chain(self.data_nodes.iter())
    }

    /// Fill in what an omitted section means, so that a saved plan spells out
    /// every default and replays exactly.
    pub fn normalized(mut self) -> Plan {
        match self.auth.mode {
            AuthMode::Password if self.auth.password.is_none() => {
                self.auth.password = Some(PasswordOptions::default())
            }
            AuthMode::Certificate if self.auth.certificate.is_none() => {
                self.auth.certificate = Some(CertificateOptions::default())
            }
            _ => {}
        }
        if !self.auth.roles.iter().any(|r| r == &self.superuser) {
            self.auth.roles.insert(0, self.superuser.clone());
        }
        self
    }
}

/// The environment variable that holds a role's password at run time:
/// `[auth.password] password_env_prefix` (default `TSMN_ROLE_PW_`) and the
/// role's name, upper-cased, other characters as `_`.
pub fn role_password_env(plan: &Plan, role: &str) -> String {
    let prefix = plan
        .auth
        .password
        .as_ref()
        .map(|p| p.password_env_prefix.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "TSMN_ROLE_PW_".into());
    let tail: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{tail}")
}
