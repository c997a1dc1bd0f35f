//! The one table that maps connection error messages to their cause and fix,
//! for tsmn's own connections and for the access node's connections to the
//! data nodes (which libpq reports in its own words).

use super::fix::{Fix, Then};
use crate::quote::sql::ident;

/// Who was connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// tsmn, from this machine, as the superuser.
    Tsmn,
    /// The access node, to a data node, the way TimescaleDB connects.
    AccessNode,
}

pub struct Cause {
    /// The finding code for tsmn's own connection.
    pub code: &'static str,
    /// The finding code when the access node fails this way to a data node.
    pub access_code: &'static str,
    /// SQLSTATE that identifies the cause on its own.
    sqlstate: Option<&'static str>,
    /// Substrings of the message (any one matches).
    patterns: &'static [&'static str],
    pub what: &'static str,
    fix_tsmn: T,
    fix_access_node: T,
}

/// A fix in the table, with `{host}`, `{port}`, `{user}` and `{node}` to
/// fill in; the kind says what the fix will be as data.
#[derive(Clone, Copy)]
enum T {
    /// Done by hand, outside SQL and tsmn.
    Text(&'static str),
    /// tsmn apply makes the change.
    Apply(&'static str),
    /// SQL for a superuser on the node ({user} is quoted as an identifier).
    Sql(&'static str),
}

impl Cause {
    /// The fix, with `{host}`, `{port}`, `{user}` and `{node}` filled in.
    pub fn fix(&self, side: Side, host: &str, port: i64, user: &str, node: &str) -> Fix {
        let t = match side {
            Side::Tsmn => self.fix_tsmn,
            Side::AccessNode => self.fix_access_node,
        };
        let fill = |t: &str, user: &str| {
            t.replace("{host}", host)
                .replace("{port}", &port.to_string())
                .replace("{user}", user)
                .replace("{node}", node)
        };
        match t {
            T::Text(t) => Fix::manual(fill(t, user)),
            T::Apply(t) => Fix::apply(fill(t, user)),
            T::Sql(t) => Fix::sql(node, fill(t, &ident(user)), Then::Nothing),
        }
    }
}

/// First match wins, so specific rows come before general ones.
pub static CAUSES: &[Cause] = &[
    Cause {
        code: "timeout",
        access_code: "access_node_timeout",
        sqlstate: None,
        patterns: &["timeout expired", "timed out"],
        what: "no answer within the connect timeout (host down, packets dropped by a firewall, or a listener that never answers)",
        fix_tsmn: T::Text("check that {host}:{port} is the PostgreSQL server and reachable from here (pg_isready -h {host} -p {port} -t 5); open the firewall for port {port}"),
        fix_access_node: T::Text("from the access node host run pg_isready -h {host} -p {port} -t 5; open the firewall between the access node and {node} for port {port}"),
    },
    Cause {
        code: "refused",
        access_code: "access_node_refused",
        sqlstate: None,
        patterns: &["Connection refused"],
        what: "nothing accepts connections at that address and port",
        fix_tsmn: T::Text("start PostgreSQL on {node}, or correct host/port in the plan; on the server check SHOW listen_addresses and SHOW port (changing either needs a restart)"),
        fix_access_node: T::Text("make {node} listen where the access node connects: listen_addresses must cover {host} and port must be {port} (restart after changing); check the firewall"),
    },
    Cause {
        code: "not_running",
        access_code: "access_node_not_running",
        sqlstate: None,
        // A Unix socket that is not there (tokio-postgres and libpq say it so).
        patterns: &["No such file or directory", "could not connect to server: No such file"],
        what: "no server socket at that path: PostgreSQL is not running there, or its socket is in another directory",
        fix_tsmn: T::Text("start PostgreSQL on {node} (systemctl start postgresql, or pg_ctl start -D <data directory>), or set connect_host to the directory in its unix_socket_directories"),
        fix_access_node: T::Text("start PostgreSQL on {node}, or point the node's host at where it listens"),
    },
    Cause {
        code: "connection_lost",
        access_code: "access_node_connection_lost",
        sqlstate: None,
        patterns: &["connection closed", "server closed the connection unexpectedly", "terminating connection due to administrator command", "connection reset"],
        what: "the server ended the connection: it was stopped, restarted or crashed meanwhile",
        fix_tsmn: T::Text("look at {node}'s server log for why it went away; when it is up again run tsmn again (finished steps are checked and skipped)"),
        fix_access_node: T::Text("look at {node}'s server log for why it went away, then try again"),
    },
    Cause {
        code: "unknown_host",
        access_code: "access_node_unknown_host",
        sqlstate: None,
        patterns: &["failed to lookup address", "Name or service not known", "could not translate host name", "No address associated", "nodename nor servname"],
        what: "the host name does not resolve",
        fix_tsmn: T::Text("correct the host of {node} in the plan, or make {host} resolvable here (DNS or /etc/hosts)"),
        fix_access_node: T::Text("make {host} resolvable on the access node host (DNS or /etc/hosts), or use an IP address as the host of {node}"),
    },
    Cause {
        code: "unreachable",
        access_code: "access_node_unreachable",
        sqlstate: None,
        patterns: &["No route to host", "Network is unreachable"],
        what: "there is no network route to the host",
        fix_tsmn: T::Text("check the address of {node} and the network between here and {host}"),
        fix_access_node: T::Text("check routing and firewalls between the access node and {host}"),
    },
    Cause {
        code: "server_no_ssl",
        access_code: "access_node_server_no_ssl",
        sqlstate: None,
        patterns: &["server does not support SSL, but SSL was required", "server does not support TLS"],
        what: "TLS is required but the server has ssl = off",
        fix_tsmn: T::Text("turn ssl on on {node} (ssl = on with ssl_cert_file and ssl_key_file, then SELECT pg_reload_conf()), or let tsmn connect without TLS (credentials.sslmode = \"prefer\" and sslrootcert cleared in the plan, PGSSLMODE unset)"),
        fix_access_node: T::Text("the access node has ssl = on, so TimescaleDB requires TLS to every data node: turn ssl on on {node} (server certificate and key, then reload), or turn it off on the access node (not possible in certificate mode)"),
    },
    // Before the untrusted certificate: rustls words a name mismatch as
    // "invalid peer certificate: certificate not valid for name".
    Cause {
        code: "server_cert_name",
        access_code: "access_node_server_cert_name",
        sqlstate: None,
        patterns: &["NotValidForName", "not valid for name", "does not match host name"],
        what: "the server's certificate does not name the address tsmn connected to",
        fix_tsmn: T::Text("reissue {node}'s server certificate with {host} in its subjectAltName, or check the chain only (credentials.sslmode = \"verify-ca\")"),
        fix_access_node: T::Text("reissue {node}'s server certificate with {host} in its subjectAltName"),
    },
    // Before the server's: a TLS alert from the data node about tsmn's (or
    // the access node's) client certificate.
    Cause {
        code: "client_cert_expired",
        access_code: "access_node_client_cert_expired",
        sqlstate: None,
        patterns: &["alert certificate expired", "CertificateExpired"],
        what: "the data node refused the client certificate: it is expired (or not valid yet)",
        fix_tsmn: T::Text("renew {user}'s client certificate"),
        fix_access_node: T::Text("renew <md5({user})>.crt in the access node's timescaledb.ssl_dir (tsmn apply --renew-certificates when tsmn's CA issued it)"),
    },
    // Before the untrusted certificate: an expired one fails the same
    // verification, and its fix is a renewal, not another CA.
    Cause {
        code: "server_cert_expired",
        access_code: "access_node_server_cert_expired",
        sqlstate: None,
        patterns: &["certificate has expired", "certificate is not yet valid", "certificate expired", "certificate not valid yet", ": Expired", ": NotValidYet"],
        what: "the server's certificate is outside its validity (expired, or not valid yet)",
        fix_tsmn: T::Text("renew {node}'s server certificate (tsmn apply --renew-certificates when tsmn's CA issued it), then SELECT pg_reload_conf() on {node}; check the clocks of both machines"),
        fix_access_node: T::Text("renew {node}'s server certificate (tsmn apply --renew-certificates when tsmn's CA issued it, which also reloads {node}); check the clocks of both machines"),
    },
    Cause {
        code: "server_cert_untrusted",
        access_code: "access_node_server_cert_untrusted",
        sqlstate: None,
        patterns: &["certificate verify failed", "UnknownIssuer", "invalid peer certificate", "BadSignature"],
        what: "the server's certificate is not signed by the trusted CA",
        fix_tsmn: T::Text("sign {node}'s server certificate with the CA in credentials.sslrootcert, or point sslrootcert at the CA that signed it"),
        fix_access_node: T::Text("sign {node}'s server certificate with the CA in the access node's ssl_ca_file (or ~postgres/.postgresql/root.crt when ssl_ca_file is empty)"),
    },
    Cause {
        code: "client_key",
        access_code: "access_node_client_key",
        sqlstate: None,
        patterns: &["but not private key file", "has group or world access", "could not load private key file"],
        what: "the client key file is missing, unreadable, too open, or does not match its certificate",
        fix_tsmn: T::Text("fix the client key: owner postgres, chmod 600, and the key that belongs to the certificate"),
        fix_access_node: T::Text("in the access node's timescaledb.ssl_dir, give each <md5(role)>.key owner postgres and mode 0600, and make it the key of the matching .crt"),
    },
    Cause {
        code: "client_cert_missing",
        access_code: "access_node_client_cert_missing",
        sqlstate: None,
        patterns: &["requires a valid client certificate"],
        what: "the node wants a client certificate and none was offered",
        fix_tsmn: T::Text("tsmn connects without a client certificate: give {user} a password or another rule for this machine's address on {node}"),
        fix_access_node: T::Apply("it sets ssl = on on the access node and writes <md5({user})>.crt/.key for every role into timescaledb.ssl_dir (directly, not in a subfolder)"),
    },
    Cause {
        code: "client_cert_rejected",
        access_code: "access_node_client_cert_rejected",
        sqlstate: None,
        patterns: &["certificate authentication failed"],
        what: "the client certificate names another role: its subject CN is not the role that logs in",
        fix_tsmn: T::Text("issue the client certificate with CN={user}, signed by the CA in {node}'s ssl_ca_file"),
        fix_access_node: T::Apply("it writes <md5({user})>.crt, issued with subject CN={user} by the plan's CA, into the access node's timescaledb.ssl_dir"),
    },
    Cause {
        code: "client_cert_unknown_ca",
        access_code: "access_node_client_cert_unknown_ca",
        sqlstate: None,
        patterns: &["unknown ca", "UnknownCA"],
        what: "the data node does not trust the CA that signed the client certificate",
        fix_tsmn: T::Text("sign the client certificate with the CA in {node}'s ssl_ca_file, or add its CA there and reload"),
        fix_access_node: T::Apply("it writes <md5({user})>.crt signed by the plan's CA into the access node's timescaledb.ssl_dir and that CA into {node}'s ssl_ca_file, then reloads {node}"),
    },
    Cause {
        code: "no_hba_entry",
        access_code: "access_node_no_hba_entry",
        sqlstate: None,
        patterns: &["no pg_hba.conf entry"],
        what: "no pg_hba.conf rule admits this connection",
        fix_tsmn: T::Text("add a rule to {node}'s pg_hba.conf for {user} from this machine's address (DATABASE all), then SELECT pg_reload_conf() on {node}"),
        fix_access_node: T::Apply("it adds a rule to {node}'s pg_hba.conf for the access node's address (DATABASE all, USER {user}, the method of the auth mode) and reloads {node}"),
    },
    Cause {
        code: "hba_rejects",
        access_code: "access_node_hba_rejects",
        sqlstate: None,
        patterns: &["pg_hba.conf rejects connection"],
        what: "a reject rule in pg_hba.conf matches this connection",
        fix_tsmn: T::Text("on {node}, move a rule that admits {user} from this address above the reject rule, then reload"),
        fix_access_node: T::Apply("it puts its block of rules for the access node above every other rule in {node}'s pg_hba.conf, the reject rule too, and reloads {node}"),
    },
    Cause {
        code: "password_failed",
        access_code: "access_node_password_failed",
        sqlstate: Some("28P01"),
        patterns: &["password authentication failed"],
        what: "the password was refused",
        fix_tsmn: T::Text("use {user}'s right password (the plan's credentials.password_env, PGPASSWORD, ~/.pgpass or the prompt); if it is right, the role may hold an md5 hash while pg_hba.conf says scram-sha-256: set the password again after password_encryption = scram-sha-256"),
        fix_access_node: T::Apply("it sets {user}'s password on {node} and the access node's passfile line for {host}:{port} from one source (by hand: the line's host field must equal the node's host string exactly)"),
    },
    Cause {
        code: "no_password",
        access_code: "access_node_no_password",
        sqlstate: None,
        patterns: &["password missing", "no password supplied"],
        what: "the node asks for a password and none was given",
        fix_tsmn: T::Text("give the password: the environment variable named in credentials.password_env, PGPASSWORD, a line in ~/.pgpass (or credentials.passfile), or run tsmn in a terminal to be asked"),
        fix_access_node: T::Apply("it writes the access node's passfile (timescaledb.passfile, else <PGDATA>/passfile) with a line for {host}:{port}:*:{user}, owned by the server's OS user, mode 0600 (a more open file is ignored)"),
    },
    // Before role_missing: its message names the role too (`role "x" is
    // not permitted to log in`), and CREATE ROLE would fail on it.
    Cause {
        code: "cannot_login",
        access_code: "access_node_cannot_login",
        sqlstate: None,
        patterns: &["is not permitted to log in"],
        what: "the role exists but has no LOGIN",
        fix_tsmn: T::Sql("ALTER ROLE {user} LOGIN"),
        fix_access_node: T::Sql("ALTER ROLE {user} LOGIN"),
    },
    Cause {
        code: "role_missing",
        access_code: "access_node_role_missing",
        sqlstate: None,
        patterns: &["role \""],
        what: "the role does not exist on the node",
        fix_tsmn: T::Text("create the role {user} on {node}, or set superuser in the plan to an existing superuser"),
        fix_access_node: T::Sql("CREATE ROLE {user} LOGIN"),
    },
    Cause {
        code: "database_missing",
        access_code: "access_node_database_missing",
        sqlstate: Some("3D000"),
        patterns: &["does not exist"],
        what: "the database does not exist on the node",
        fix_tsmn: T::Text("tsmn connects to the postgres database first: create it on {node} (createdb postgres) or check you reached the right server"),
        fix_access_node: T::Text("add_data_node bootstraps through postgres, then template1, then defaultdb and reports only the last: a missing \"defaultdb\" means postgres and template1 were refused; admit the access node for DATABASE all"),
    },
    Cause {
        code: "too_many_connections",
        access_code: "access_node_too_many_connections",
        sqlstate: Some("53300"),
        patterns: &["too many clients", "remaining connection slots"],
        what: "the node has no connection slots left",
        fix_tsmn: T::Text("close idle sessions on {node} or raise max_connections (restart)"),
        fix_access_node: T::Text("raise max_connections on {node} (restart): each access node backend keeps one connection per data node and role"),
    },
    Cause {
        code: "starting_up",
        access_code: "access_node_starting_up",
        sqlstate: Some("57P03"),
        patterns: &["starting up", "shutting down", "in recovery mode"],
        what: "the server is starting up or shutting down",
        fix_tsmn: T::Text("wait until {node} is up, then run tsmn check again"),
        fix_access_node: T::Text("wait until {node} is up, then run tsmn check again"),
    },
];

pub static OTHER: Cause = Cause {
    code: "connect_failed",
    access_code: "access_node_connect_failed",
    sqlstate: None,
    patterns: &[],
    what: "the connection failed",
    fix_tsmn: T::Text("read the message above; check the server log of {node}"),
    fix_access_node: T::Text(
        "read the message above; check the server logs of the access node and {node}",
    ),
};

impl Cause {
    /// The server answered and turned the session down (authentication,
    /// TLS, a missing role or database, no slot free): it runs, but tsmn
    /// cannot read it. The others never reached a server that answers.
    pub fn server_answered(&self) -> bool {
        !matches!(
            self.code,
            "timeout"
                | "refused"
                | "not_running"
                | "connection_lost"
                | "unknown_host"
                | "unreachable"
                | "starting_up"
                | "connect_failed"
        )
    }
}

/// The cause of a failed connection.
pub fn explain(sqlstate: Option<&str>, message: &str) -> &'static Cause {
    CAUSES
        .iter()
        .find(|c| {
            (sqlstate.is_some() && c.sqlstate == sqlstate)
                || c.patterns.iter().any(|p| message.contains(p))
        })
        .unwrap_or(&OTHER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_seen_on_real_clusters_are_explained() {
        let cases = [
            ("connection to server at \"127.0.0.1\", port 6439 failed: Connection refused", "refused"),
            ("could not translate host name \"no-such-host.invalid\" to address: Name or service not known", "unknown_host"),
            // "no encryption" ends every such message from a connection without
            // TLS (src/backend/libpq/auth.c names the connection's
            // encryption there): it says nothing about hostssl rules.
            ("FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"defaultdb\", no encryption", "no_hba_entry"),
            ("FATAL:  pg_hba.conf rejects connection for host \"127.0.0.1\", user \"r\", database \"tsdb\", no encryption", "hba_rejects"),
            ("FATAL:  no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"tsdb\", SSL encryption", "no_hba_entry"),
            ("FATAL:  pg_hba.conf rejects connection for host \"127.0.0.1\"", "hba_rejects"),
            ("fe_sendauth: no password supplied", "no_password"),
            ("FATAL:  role \"ops\" is not permitted to log in", "cannot_login"),
            ("FATAL:  role \"ops\" does not exist", "role_missing"),
            ("SSL error: certificate verify failed: certificate has expired", "server_cert_expired"),
            ("invalid peer certificate: certificate expired: verification time 1 (UNIX), but certificate is not valid after 0 (UNIX)", "server_cert_expired"),
            ("SSL error: sslv3 alert certificate expired", "client_cert_expired"),
            ("received fatal alert: CertificateExpired", "client_cert_expired"),
            ("server does not support SSL, but SSL was required", "server_no_ssl"),
            ("SSL error: certificate verify failed", "server_cert_untrusted"),
            ("FATAL:  connection requires a valid client certificate", "client_cert_missing"),
            ("FATAL:  certificate authentication failed for user \"postgres\"", "client_cert_rejected"),
            ("SSL error: tlsv1 alert unknown ca", "client_cert_unknown_ca"),
            ("error connecting to server: No such file or directory (os error 2)", "not_running"),
            ("connection closed", "connection_lost"),
            ("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally", "connection_lost"),
            ("private key file \"/x/e8a.key\" has group or world access", "client_key"),
            ("timeout expired", "timeout"),
            ("FATAL:  role \"testrole\" does not exist", "role_missing"),
        ];
        for (msg, code) in cases {
            assert_eq!(explain(None, msg).code, code, "{msg}");
        }
        assert_eq!(explain(Some("28P01"), "anything").code, "password_failed");
        assert_eq!(explain(None, "something new").code, "connect_failed");
    }
}

/// PURE: the address a data node says a refused connection came from
/// (`no pg_hba.conf entry for host "::1", ...`, `pg_hba.conf rejects
/// connection for host "10.0.0.5"`): the engine's word on where the access
/// node connects from.
pub fn named_source(message: &str) -> Option<std::net::IpAddr> {
    let rest = message.split("for host \"").nth(1)?;
    rest.split('"').next()?.parse().ok()
}

#[cfg(test)]
mod named_source_tests {
    #[test]
    fn the_address_the_data_node_saw() {
        assert_eq!(
            super::named_source("FATAL:  no pg_hba.conf entry for host \"::1\", user \"postgres\", database \"postgres\", no encryption"),
            "::1".parse().ok()
        );
        assert_eq!(super::named_source("connection refused"), None);
    }
}
