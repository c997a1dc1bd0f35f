//! PURE: the access node to discover from, as the operator gives it:
//! `HOST[:PORT]`, `[IPV6]:PORT`, a Unix socket directory, or a libpq
//! connection string (`postgresql://` URI or `key=value`, parsed by
//! tokio-postgres). A password in it is refused: it would sit in argv.

use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// A host name, an address, or a socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// The cluster database, when given; else discover looks for it.
    pub database: Option<String>,
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
/// connection string says only when the string says nothing).
pub fn parse_target(
    given: &str,
    superuser: Option<&str>,
    database: Option<&str>,
) -> Result<Target, String> {
    let given = given.trim();
    let bad = |why: &str| format!("--access-node `{given}`: {why}");
    let conninfo = given.starts_with("postgresql://")
        || given.starts_with("postgres://")
        || given.contains('=');
    let (host, port, user, db) = if conninfo {
        let cfg = tokio_postgres::Config::from_str(given)
            .map_err(|e| bad(&format!("not a connection string libpq would take ({e})")))?;
        if cfg.get_password().is_some() {
            // Not echoed: the message must not show the password either.
            return Err("--access-node: the connection string holds a password, which would be visible to every user of this machine in the process list; give it with PGPASSWORD or ~/.pgpass instead".into());
        }
        let host = match cfg.get_hosts() {
            [] => "localhost".to_string(),
            [tokio_postgres::config::Host::Tcp(h)] => h.clone(),
            [tokio_postgres::config::Host::Unix(p)] => p.display().to_string(),
            _ => return Err(bad("names several hosts; give the one access node")),
        };
        let port = cfg.get_ports().first().copied().unwrap_or(5432);
        (
            host,
            port,
            cfg.get_user().map(str::to_string),
            cfg.get_dbname().map(str::to_string),
        )
    } else {
        let (host, port) = host_port(given).ok_or_else(|| {
            bad("expected HOST[:PORT], [IPV6]:PORT, a socket directory or a postgresql:// URI")
        })?;
        (host, port, None, None)
    };
    Ok(Target {
        host,
        port,
        user: superuser
            .map(str::to_string)
            .or(user)
            .unwrap_or_else(crate::plan::defaults::superuser),
        database: database.map(str::to_string).or(db),
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
mod tests {
    use super::*;

    #[test]
    fn every_form_an_operator_types() {
        let t = parse_target("10.0.0.10", None, None).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("10.0.0.10", 5432, "postgres")
        );
        let t = parse_target("db1.example.com:6432", Some("admin"), Some("metrics")).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("db1.example.com", 6432, "admin")
        );
        assert_eq!(t.database.as_deref(), Some("metrics"));
        let t = parse_target("[::1]:6000", None, None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 6000));
        assert_eq!(t.shown(), "[::1]:6000");
        let t = parse_target("/var/run/postgresql:5433", None, None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("/var/run/postgresql", 5433));
        let t = parse_target("postgresql://ops@10.0.0.10:6432/tsdb", None, None).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("10.0.0.10", 6432, "ops")
        );
        assert_eq!(t.database.as_deref(), Some("tsdb"));
        let t = parse_target("host=10.0.0.10 port=6432 dbname=tsdb", None, None).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("10.0.0.10", 6432));
    }

    #[test]
    fn bad_input_says_why() {
        let e = parse_target("postgresql://ops:secret@10.0.0.10/tsdb", None, None).unwrap_err();
        assert!(
            e.contains("holds a password") && e.contains("PGPASSWORD"),
            "{e}"
        );
        assert!(!e.contains("secret"), "never echoed: {e}");
        let e = parse_target("10.0.0.10:notaport", None, None).unwrap_err();
        assert!(e.contains("HOST[:PORT]"), "{e}");
        let e = parse_target("host=a,b port=1", None, None).unwrap_err();
        assert!(e.contains("several hosts"), "{e}");
    }
}
