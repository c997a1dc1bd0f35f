//! libpq's side of the plan (plan::dsn::Libpq): connection strings parsed
//! by tokio-postgres, services looked up in pg_service.conf, PGUSER as the
//! default superuser. The plan stays pure; tsmn loads plans through here.

use crate::plan::dsn::{ConnHost, Conninfo, Libpq};
use crate::plan::{Plan, PlanError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tokio_postgres::config::{Config, Host};

/// libpq as this machine has it: its parser, files and environment.
pub struct System;

impl Libpq for System {
    fn parse(&self, text: &str) -> Result<Conninfo, String> {
        let cfg = Config::from_str(text).map_err(|e| e.to_string())?;
        Ok(Conninfo {
            has_password: cfg.get_password().is_some(),
            user: cfg.get_user().map(str::to_string),
            dbname: cfg.get_dbname().map(str::to_string),
            sets_sslmode: cfg.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer,
            hosts: cfg
                .get_hosts()
                .iter()
                .map(|h| match h {
                    Host::Tcp(h) => ConnHost::Tcp(h.clone()),
                    Host::Unix(p) => ConnHost::Socket(p.display().to_string()),
                })
                .collect(),
            ports: cfg.get_ports().to_vec(),
            has_hostaddr: !cfg.get_hostaddrs().is_empty(),
        })
    }

    fn service(&self, name: &str) -> Result<String, (String, String)> {
        service(name)
    }

    /// PGUSER when set (psql's habit).
    fn default_user(&self) -> Option<String> {
        std::env::var("PGUSER").ok().filter(|u| !u.is_empty())
    }
}

/// Read, check and normalize a plan file, its dsn and service entries read
/// the libpq way.
pub fn load_plan(path: &Path) -> Result<Plan, PlanError> {
    crate::plan::load_plan_with(path, &System)
}

/// A plan to start from (the wizard's new plan), PGUSER its superuser.
pub fn new_plan() -> Plan {
    crate::plan::new_plan_with(&System)
}

/// The service's keys as a key=value string, from the user's service file
/// (PGSERVICEFILE, else ~/.pg_service.conf), then the system's
/// (PGSYSCONFDIR/pg_service.conf, else Debian's
/// /etc/postgresql-common/pg_service.conf), as libpq looks.
fn service(name: &str) -> Result<String, (String, String)> {
    let mut files: Vec<PathBuf> = Vec::new();
    match std::env::var_os("PGSERVICEFILE").filter(|v| !v.is_empty()) {
        Some(f) => files.push(f.into()),
        None => files.extend(crate::os::home_dir().map(|h| h.join(".pg_service.conf"))),
    }
    match std::env::var_os("PGSYSCONFDIR").filter(|v| !v.is_empty()) {
        Some(d) => files.push(PathBuf::from(d).join("pg_service.conf")),
        None => files.push("/etc/postgresql-common/pg_service.conf".into()),
    }
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        if let Some(pairs) = section(&text, name) {
            return Ok(pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::quote::conninfo::value(v)))
                .collect::<Vec<_>>()
                .join(" "));
        }
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err((
        format!("no service [{name}] in {}", looked.join(" or ")),
        "add the section to one of those files, or give the node's host and port".into(),
    ))
}

/// The key=value lines of `[name]` in a pg_service.conf text.
fn section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if inside {
                break;
            }
            inside = s == name;
            if inside {
                found = Some(Vec::new());
            }
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            if let Some(f) = found.as_mut() {
                f.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::dsn::{one, Ctx};
    use crate::plan::{Node, Problem};

    fn node(dsn: &str) -> Node {
        Node {
            name: "dn1".into(),
            host: String::new(),
            port: 5432,
            connect_host: None,
            connect_port: None,
            dsn: Some(dsn.into()),
            service: None,
            hypertables: None,
        }
    }

    fn ctx(host_given: bool, port_given: bool) -> Ctx<'static> {
        Ctx {
            path: "data_nodes[0]",
            superuser: "postgres",
            database: "tsdb",
            sslmode_in_plan: false,
            host_given,
            port_given,
        }
    }

    fn run(n: &mut Node, c: &Ctx<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        one(n, c, &System, &mut out);
        out
    }

    #[test]
    fn uris_and_key_value_strings_give_host_and_port() {
        for dsn in [
            "postgresql://db1.example.com:6432/tsdb",
            "host=db1.example.com port=6432 dbname=postgres",
        ] {
            let mut n = node(dsn);
            assert!(run(&mut n, &ctx(false, false)).is_empty(), "{dsn}");
            assert_eq!(
                (n.host.as_str(), n.port),
                ("db1.example.com", 6432),
                "{dsn}"
            );
        }
        let mut n = node("postgresql://[fe80::1]:5433");
        assert!(run(&mut n, &ctx(false, false)).is_empty());
        assert_eq!(n.host, "fe80::1");
    }

    #[test]
    fn what_tsmn_cannot_use_is_named() {
        let mut n = node("postgresql://alice:s3cret@db1/other?sslmode=require");
        let p = run(&mut n, &ctx(false, false));
        let all = format!("{p:?}");
        assert!(!all.contains("s3cret"), "{all}");
        for needle in [
            "holds a password",
            "user alice",
            "database other",
            "sslmode",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
        let mut n = node("host=db1 port=6432");
        n.host = "db2".into();
        n.port = 5432;
        let p = run(&mut n, &ctx(true, true));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].path.ends_with(".host") && p[1].path.ends_with(".port"));
        let mut n = node("port=6432");
        assert!(run(&mut n, &ctx(false, false))[0]
            .problem
            .contains("no host"));
        let mut n = node("host=/var/run/postgresql port=5433");
        let p = run(&mut n, &ctx(false, false));
        assert!(p[0].problem.contains("Unix socket"), "{p:?}");
        assert_eq!(n.connect_host.as_deref(), Some("/var/run/postgresql"));
    }

    #[test]
    fn service_sections() {
        let text = "# c\n[a]\nhost=h1\nport = 1\n[b]\nhost=h2\n";
        assert_eq!(
            section(text, "a"),
            Some(vec![
                ("host".into(), "h1".into()),
                ("port".into(), "1".into())
            ])
        );
        assert_eq!(section(text, "b").map(|s| s.len()), Some(1));
        assert_eq!(section(text, "c"), None);
    }
}
