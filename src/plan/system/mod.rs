//! libpq's side of the plan (plan::dsn::Libpq): services looked up in
//! pg_service.conf as libpq looks, PGUSER as the default superuser, notes
//! about keys read and not used (env.rs: every PG* variable tsmn reads,
//! and the name tsmn's sessions carry). The parsing itself is pure
//! (plan::dsn); tsmn loads plans through here.

pub mod env;

pub use env::{application_name, link_application_name, set_command};

use crate::plan::dsn::{Conninfo, Libpq};
use crate::plan::{Plan, PlanError};
use std::path::{Path, PathBuf};

/// libpq as this machine has it: its files and environment.
pub struct System;

impl Libpq for System {
    fn service(&self, name: &str) -> Result<Conninfo, (String, String)> {
        service(name)
    }

    /// PGUSER when set (psql's habit).
    fn default_user(&self) -> Option<String> {
        env::user()
    }

    fn note(&self, text: String) {
        env::note(&text);
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

/// The files libpq looks in for a service, in its order: the user's
/// (PGSERVICEFILE, else ~/.pg_service.conf), then the system's
/// (PGSYSCONFDIR/pg_service.conf, else Debian's
/// /etc/postgresql-common/pg_service.conf).
fn service_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    match std::env::var_os("PGSERVICEFILE").filter(|v| !v.is_empty()) {
        Some(f) => files.push(f.into()),
        None => files.extend(crate::os::home_dir().map(|h| h.join(".pg_service.conf"))),
    }
    match std::env::var_os("PGSYSCONFDIR").filter(|v| !v.is_empty()) {
        Some(d) => files.push(PathBuf::from(d).join("pg_service.conf")),
        None => files.push("/etc/postgresql-common/pg_service.conf".into()),
    }
    files
}

/// The service's keys from the first file that has its section.
fn service(name: &str) -> Result<Conninfo, (String, String)> {
    let files = service_files();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        if let Some(pairs) = section(&text, name) {
            let mut c = Conninfo::default();
            for (line, k, v) in pairs {
                let bad = |why: String| {
                    (
                        format!("service [{name}] in {}, line {line}: {why}", f.display()),
                        "fix that line of the service file".to_string(),
                    )
                };
                if k == "service" {
                    return Err(bad("a service cannot name another service".into()));
                }
                c.set(&k, &v).map_err(bad)?;
            }
            return Ok(c);
        }
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err((
        format!("no service [{name}] in {}", looked.join(" or ")),
        "add the section to one of those files, or give the node's host and port".into(),
    ))
}

/// The (line number, key, value) lines of `[name]` in a pg_service.conf
/// text (spaces around `=` allowed, as tsmn has always read them).
fn section(text: &str, name: &str) -> Option<Vec<(usize, String, String)>> {
    let mut found: Option<Vec<(usize, String, String)>> = None;
    for (n, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if found.is_some() {
                break;
            }
            if s == name {
                found = Some(Vec::new());
            }
            continue;
        }
        if let (Some(f), Some((k, v))) = (found.as_mut(), line.split_once('=')) {
            f.push((n + 1, k.trim().to_string(), v.trim().to_string()));
        }
    }
    found
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
