//! PURE: every key libpq takes in a connection string or a service (the
//! PostgreSQL 15 docs, "Parameter Key Words"; libpq 16 and 17's additions
//! too, so that a newer libpq's strings are read), each with what tsmn does
//! with it and with its environment variable. One table: the parser, the
//! plan's nodes, `tsmn discover`'s target and the notes about PG*
//! variables all read it.

/// What tsmn does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Where the server is: host, hostaddr, port.
    Address,
    /// The role and database: the plan's superuser and databases (a
    /// connection string may only repeat them); a target's own.
    Login,
    /// A secret: never in a plan or on a command line (it would show).
    Secret,
    /// One setting for every node: `credentials.<key>` in the plan
    /// (a node's string fills it when the plan leaves it empty).
    Credential,
    /// How one connection behaves: a target's own (`tsmn discover`); in a
    /// plan tsmn treats every node alike, and says so (the text is why).
    Session(&'static str),
    /// The service whose keys fill in the rest (pg_service.conf).
    Service,
    /// Not used; the text says why.
    Ignored(&'static str),
    /// Not used, and ignoring some values would make the connection weaker
    /// than asked: those are refused (`refuses`), the others ignored.
    Guard {
        why: &'static str,
        refuses: Refuses,
        refused: &'static str,
    },
}

/// The values of a guarded key that tsmn refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refuses {
    /// Any value but the empty one (which leaves the key unset).
    Any,
    /// This one (ASCII case ignored).
    Only(&'static str),
}

impl Refuses {
    fn refuses(self, value: &str) -> bool {
        match self {
            Refuses::Any => !value.is_empty(),
            Refuses::Only(v) => value.eq_ignore_ascii_case(v),
        }
    }
}

/// Its environment variable, and whether tsmn reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    None,
    /// Read as libpq reads it.
    Used(&'static str),
    /// Set but not read; the text says why.
    Ignored(&'static str, &'static str),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub role: Role,
    pub env: Env,
}

impl Key {
    /// Why a key tsmn does not use is ignored, or None when it is used
    /// (`in_plan`: in a node of a plan, where session keys are ignored).
    pub fn ignored_why(&self, value: &str, in_plan: bool) -> Option<&'static str> {
        match self.role {
            Role::Session(why) if in_plan => Some(why),
            Role::Ignored(why) => Some(why),
            Role::Guard { why, refuses, .. } if !refuses.refuses(value) => Some(why),
            _ => None,
        }
    }

    /// Why `value` is refused (ignoring it would weaken the connection).
    pub fn refused_why(&self, value: &str) -> Option<&'static str> {
        match self.role {
            Role::Guard {
                refuses, refused, ..
            } if refuses.refuses(value) => Some(refused),
            _ => None,
        }
    }
}

const TCP: &str = "tsmn's connections use the system's TCP settings";
const GSS: &str = "tsmn logs in by password or certificate (no Kerberos or GSSAPI)";
const ONE_SERVER: &str = "a node is one server: tsmn connects to it whatever its state";
const NAME: &str = "tsmn names its sessions itself: PGAPPNAME, else `tsmn <command>`";

const ANY: Refuses = Refuses::Any;
const REQUIRE: Refuses = Refuses::Only("require");

/// libpq's keys, in the order of its docs.
#[rustfmt::skip]
pub static KEYS: [Key; 41] = [
    Key { name: "host", role: Role::Address, env: Env::Ignored("PGHOST", "the plan (or the command line) names every node's host") },
    Key { name: "hostaddr", role: Role::Address, env: Env::Ignored("PGHOSTADDR", "the plan (or the command line) names every node's host") },
    Key { name: "port", role: Role::Address, env: Env::Ignored("PGPORT", "the plan (or the command line) names every node's port") },
    Key { name: "dbname", role: Role::Login, env: Env::Ignored("PGDATABASE", "tsmn uses postgres and the plan's database") },
    Key { name: "user", role: Role::Login, env: Env::Used("PGUSER") },
    Key { name: "password", role: Role::Secret, env: Env::Used("PGPASSWORD") },
    Key { name: "passfile", role: Role::Credential, env: Env::Used("PGPASSFILE") },
    Key { name: "require_auth", role: Role::Guard { why: "", refuses: ANY, refused: "tsmn cannot limit the ways a server may ask it to log in" }, env: Env::Ignored("PGREQUIREAUTH", "tsmn cannot limit the ways a server may ask it to log in") },
    Key { name: "channel_binding", role: Role::Guard { why: "tsmn binds the channel when the server offers it (SCRAM-SHA-256-PLUS over TLS)", refuses: REQUIRE, refused: "tsmn cannot insist on channel binding" }, env: Env::Ignored("PGCHANNELBINDING", "tsmn binds the channel when the server offers it, and cannot insist on it") },
    Key { name: "connect_timeout", role: Role::Session("every node gets the same wait: --connect-timeout, else PGCONNECT_TIMEOUT"), env: Env::Used("PGCONNECT_TIMEOUT") },
    Key { name: "client_encoding", role: Role::Ignored("tsmn's sessions speak UTF8 (its client library knows no other)"), env: Env::Ignored("PGCLIENTENCODING", "tsmn's sessions speak UTF8 (its client library knows no other)") },
    Key { name: "options", role: Role::Session("tsmn's steps run with the servers' own settings"), env: Env::Ignored("PGOPTIONS", "tsmn's steps run with the servers' own settings") },
    Key { name: "application_name", role: Role::Session(NAME), env: Env::Used("PGAPPNAME") },
    Key { name: "fallback_application_name", role: Role::Session(NAME), env: Env::None },
    Key { name: "keepalives", role: Role::Ignored(TCP), env: Env::None },
    Key { name: "keepalives_idle", role: Role::Ignored(TCP), env: Env::None },
    Key { name: "keepalives_interval", role: Role::Ignored(TCP), env: Env::None },
    Key { name: "keepalives_count", role: Role::Ignored(TCP), env: Env::None },
    Key { name: "tcp_user_timeout", role: Role::Ignored(TCP), env: Env::None },
    Key { name: "replication", role: Role::Ignored("tsmn's sessions are ordinary ones, not replication connections"), env: Env::None },
    Key { name: "gssencmode", role: Role::Guard { why: GSS, refuses: REQUIRE, refused: "tsmn cannot encrypt with GSSAPI (sslmode says how it uses TLS)" }, env: Env::Ignored("PGGSSENCMODE", GSS) },
    Key { name: "sslmode", role: Role::Credential, env: Env::Used("PGSSLMODE") },
    Key { name: "sslnegotiation", role: Role::Ignored("tsmn asks for TLS the way every server understands (a libpq 17 key)"), env: Env::Ignored("PGSSLNEGOTIATION", "tsmn asks for TLS the way every server understands") },
    Key { name: "sslcompression", role: Role::Ignored("obsolete: current TLS libraries never compress"), env: Env::Ignored("PGSSLCOMPRESSION", "obsolete: current TLS libraries never compress") },
    Key { name: "sslcert", role: Role::Credential, env: Env::Used("PGSSLCERT") },
    Key { name: "sslkey", role: Role::Credential, env: Env::Used("PGSSLKEY") },
    Key { name: "sslpassword", role: Role::Secret, env: Env::None },
    Key { name: "sslcertmode", role: Role::Guard { why: "tsmn sends its client certificate when it has one (a libpq 16 key)", refuses: REQUIRE, refused: "tsmn cannot insist that the server asks for a client certificate" }, env: Env::Ignored("PGSSLCERTMODE", "tsmn sends its client certificate when it has one") },
    Key { name: "sslrootcert", role: Role::Credential, env: Env::Used("PGSSLROOTCERT") },
    Key { name: "sslcrl", role: Role::Guard { why: "", refuses: ANY, refused: "tsmn's TLS does not read certificate revocation lists: a revoked certificate would pass" }, env: Env::Ignored("PGSSLCRL", "tsmn's TLS does not read certificate revocation lists") },
    Key { name: "sslcrldir", role: Role::Guard { why: "", refuses: ANY, refused: "tsmn's TLS does not read certificate revocation lists: a revoked certificate would pass" }, env: Env::Ignored("PGSSLCRLDIR", "tsmn's TLS does not read certificate revocation lists") },
    Key { name: "sslsni", role: Role::Ignored("tsmn's TLS always sends the host name (SNI)"), env: Env::Ignored("PGSSLSNI", "tsmn's TLS always sends the host name (SNI)") },
    Key { name: "requirepeer", role: Role::Guard { why: "", refuses: ANY, refused: "tsmn cannot check which OS user runs the server at a socket" }, env: Env::Ignored("PGREQUIREPEER", "tsmn cannot check which OS user runs the server at a socket") },
    Key { name: "ssl_min_protocol_version", role: Role::Guard { why: "tsmn's TLS speaks TLS 1.2 and 1.3, never less", refuses: Refuses::Only("TLSv1.3"), refused: "tsmn's TLS also accepts TLS 1.2" }, env: Env::Ignored("PGSSLMINPROTOCOLVERSION", "tsmn's TLS speaks TLS 1.2 and 1.3, never less") },
    Key { name: "ssl_max_protocol_version", role: Role::Ignored("tsmn's TLS speaks TLS 1.2 and 1.3 and takes the highest the server knows"), env: Env::Ignored("PGSSLMAXPROTOCOLVERSION", "tsmn's TLS speaks TLS 1.2 and 1.3 and takes the highest the server knows") },
    Key { name: "krbsrvname", role: Role::Ignored(GSS), env: Env::Ignored("PGKRBSRVNAME", GSS) },
    Key { name: "gsslib", role: Role::Ignored(GSS), env: Env::Ignored("PGGSSLIB", GSS) },
    Key { name: "gssdelegation", role: Role::Ignored(GSS), env: Env::Ignored("PGGSSDELEGATION", GSS) },
    Key { name: "service", role: Role::Service, env: Env::Ignored("PGSERVICE", "give a node `service = \"...\"` in the plan instead") },
    Key { name: "target_session_attrs", role: Role::Ignored(ONE_SERVER), env: Env::Ignored("PGTARGETSESSIONATTRS", ONE_SERVER) },
    Key { name: "load_balance_hosts", role: Role::Ignored(ONE_SERVER), env: Env::Ignored("PGLOADBALANCEHOSTS", ONE_SERVER) },
];

/// The key named `name` (libpq's spelling, case and all).
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The PG* variables tsmn does not read, with why.
pub fn ignored_env() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYS.iter().filter_map(|k| match k.env {
        Env::Ignored(var, why) => Some((var, why)),
        _ => None,
    })
}
