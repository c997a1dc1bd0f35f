//! PURE: the access node to discover from (or the target of a migration),
//! as the operator gives it: `HOST[:PORT]`, `[IPV6]:PORT`, a Unix socket
//! directory, or a libpq connection string (`postgresql://` URI or
//! `key=value`, read by plan::dsn with every key libpq takes; a service it
//! names is looked up through [`Libpq`]). A password in it is refused: it
//! would sit in argv.

use crate::plan::dsn::{self, ConnHost, Conninfo, Libpq, Role};
use crate::plan::Credentials;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// A host name, an address, or a socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The cluster database, when given; else discover looks for it.
    pub database: Option<String>,
    /// What the connection string says of the connection itself.
    pub conn: Conn,
}

/// The keys of a connection string about the connection, not the place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conn {
    /// hostaddr given beside host: where tsmn connects.
    pub hostaddr: Option<String>,
    /// sslmode, sslrootcert, sslcert, sslkey and passfile.
    pub credentials: Credentials,
    /// connect_timeout as written (libpq's syntax).
    pub connect_timeout: Option<String>,
    pub application_name: Option<String>,
    pub fallback_application_name: Option<String>,
    pub options: Option<String>,
    /// Keys read and not used, each `key is ignored: why`.
    pub ignored: Vec<String>,
}

impl Target {
    /// How the target is named in messages and in the plan's header.
    pub fn shown(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `given` with `--superuser` and `--database` (which win over what a
/// connection string says). The user, when neither names one: PGUSER
/// (`libpq.default_user()`), else postgres.
pub fn parse_target(
    given: &str,
    superuser: Option<&str>,
    database: Option<&str>,
    libpq: &dyn Libpq,
) -> Result<Target, String> {
    let given = given.trim();
    let bad = |why: &str| format!("--access-node `{given}`: {why}");
    let conninfo = dsn::looks_like_one(given);
    let mut t = if conninfo {
        let c = dsn::read(given, libpq).map_err(|(problem, fix)| {
            // Not echoed: the string may hold a password.
            format!("--access-node: {problem}\n    fix: {fix}")
        })?;
        from_conninfo(&c, given)?
    } else {
        let (host, port) = host_port(given).ok_or_else(|| {
            bad("expected HOST[:PORT], [IPV6]:PORT, a socket directory or a postgresql:// URI")
        })?;
        Target {
            host,
            port,
            ..Target::default()
        }
    };
    t.user = superuser
        .map(str::to_string)
        .or((!t.user.is_empty()).then(|| t.user.clone()))
        .or_else(|| libpq.default_user())
        .unwrap_or_else(crate::plan::defaults::superuser);
    if let Some(d) = database {
        t.database = Some(d.to_string());
    }
    Ok(t)
}

fn from_conninfo(c: &Conninfo, given: &str) -> Result<Target, String> {
    let bad = |why: &str| format!("--access-node `{given}`: {why}");
    let mut conn = Conn::default();
    for (key, value) in c.iter().filter(|(_, v)| !v.is_empty()) {
        if key.role == Role::Secret {
            return Err(format!("--access-node: the connection string holds {}, which would be visible to every user of this machine in the process list; give it with PGPASSWORD or ~/.pgpass instead", dsn::secret_name(key.name)));
        }
        if let Some(why) = key.refused_why(value) {
            return Err(format!(
                "--access-node: sets {}={value}, which tsmn cannot honour: {why}\n    fix: remove {} from it",
                key.name, key.name
            ));
        }
        if let Some(why) = key.ignored_why(value, false) {
            conn.ignored.push(format!("{} is ignored: {why}", key.name));
        }
        let v = Some(value.to_string());
        match key.name {
            "connect_timeout" => conn.connect_timeout = v,
            "application_name" => conn.application_name = v,
            "fallback_application_name" => conn.fallback_application_name = v,
            "options" => conn.options = v,
            "sslmode" if crate::plan::SslMode::parse(value).is_none() => {
                return Err(bad(&format!(
                    "sslmode `{value}` is not one of {}",
                    crate::plan::SslMode::names()
                )))
            }
            k => {
                if let Some(f) = dsn::credential_field(&mut conn.credentials, k) {
                    *f = value.to_string();
                }
            }
        }
    }
    let ports = c.ports().map_err(|e| bad(&e))?;
    let hostaddrs = c.hostaddrs();
    let hosts = c.hosts();
    if hosts.len() > 1 || hostaddrs.len() > 1 || ports.len() > 1 {
        return Err(bad("names several hosts; give the one access node"));
    }
    let host = match (hosts.into_iter().next(), hostaddrs.into_iter().next()) {
        (Some(ConnHost::Tcp(h) | ConnHost::Socket(h)), addr) => {
            conn.hostaddr = addr.filter(|a| *a != h);
            h
        }
        (None, Some(addr)) => addr,
        (None, None) => "localhost".to_string(),
    };
    Ok(Target {
        host,
        port: ports.first().copied().unwrap_or(5432),
        user: c.get("user").unwrap_or_default().to_string(),
        database: c
            .get("dbname")
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        conn,
    })
}

fn host_port(s: &str) -> Option<(String, u16)> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => 5432,
            None => return None,
        };
        return Some((h.to_string(), port));
    }
    if s.starts_with('/') {
        // A socket directory, optionally `:PORT` after it.
        return Some(match s.rsplit_once(':') {
            Some((d, p)) if p.parse::<u16>().is_ok() => (d.to_string(), p.parse().ok()?),
            _ => (s.to_string(), 5432),
        });
    }
    match s.matches(':').count() {
        0 => Some((s.to_string(), 5432)),
        1 => {
            let (h, p) = s.split_once(':')?;
            Some((h.to_string(), p.parse().ok()?))
        }
        // A bare IPv6 address.
        _ => Some((s.to_string(), 5432)),
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
