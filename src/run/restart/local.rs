//! Whether a node runs on this host and is tsmn's to restart: proved by
//! its own files (postmaster.pid, pg_control), not run by a service
//! manager or supervisor; and the pg_ctl commands for it.

use super::pending::{Identity, Pending};
use super::HOW;
use std::path::{Path, PathBuf};

/// Where a node runs, when it runs here and tsmn can restart it.
pub(super) struct Local {
    pub(super) data: PathBuf,
    pub(super) bindir: PathBuf,
    /// Where the server writes why it did not start: the sandbox's log
    /// file beside the data directory (passed to pg_ctl), else its logging
    /// collector's directory.
    pub(super) log: Option<PathBuf>,
}

/// A cluster of Debian's postgresql-common (its configuration under
/// /etc/postgresql/<version>/<name>/) belongs to `pg_ctlcluster` and its
/// systemd unit: restarted behind their back with `pg_ctl`, the unit would
/// lose track of the server. tsmn leaves those to the operator, with the
/// command for that very cluster.
fn service_managed(config_file: &str) -> Option<String> {
    let parts: Vec<&str> = config_file.split('/').collect();
    match parts.as_slice() {
        ["", "etc", "postgresql", version, name, _] if !version.is_empty() && !name.is_empty() => {
            Some(format!("pg_ctlcluster {version} {name} restart"))
        }
        _ => None,
    }
}

/// Where a node runs, when it runs here and tsmn may restart it: the
/// server whose data directory this host has at that path is provably the
/// node tsmn is connected to, and nothing else runs it (a service manager,
/// Patroni, a supervisor, a container). Identical layouts are normal
/// (packages, images, cloned machines): a path that exists here proves
/// nothing by itself. No proof, no restart: Err says how the operator
/// restarts it instead.
pub(super) fn local(p: &Pending) -> Result<Local, String> {
    if let Some(how) = service_managed(&p.config_file) {
        return Err(format!("a cluster of postgresql-common: {how}"));
    }
    let data = PathBuf::from(&p.data);
    let bindir = PathBuf::from(&p.bindir);
    if !(data.join("PG_VERSION").is_file() && bindir.join("pg_ctl").is_file()) {
        return Err(HOW.into());
    }
    let Some(pid) = proven_here(&data, &bindir, &p.identity) else {
        return Err(HOW.into());
    };
    // A server the sandbox started (its trusted marker lists it, and the
    // pid file just proved it) is tsmn's own, whatever runs tsmn now.
    let sandbox = crate::sandbox::Sandbox::owns(&data, &p.identity.port);
    if let Some(s) = crate::run::supervisor::of(pid).filter(|_| !sandbox) {
        return Err(format!("run by {}: {}", s.what(), s.command()));
    }
    let log = data
        .parent()
        .map(|p| p.join("server.log"))
        .filter(|p| p.is_file())
        .or_else(|| (!p.log_directory.is_empty()).then(|| data.join(&p.log_directory)));
    Ok(Local { data, bindir, log })
}

/// The postmaster.pid of that data directory names the same port and
/// start time, and its pg_control the same system identifier, as the node
/// reported over its own connection. Some(the postmaster's pid) when so.
fn proven_here(data: &Path, bindir: &Path, who: &Identity) -> Option<u32> {
    let pid_file = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = pid_file.lines().collect();
    // Line 1: pid, 2: data directory, 3: start time (epoch seconds), 4: port.
    let (Some(pid), Some(dir), Some(start), Some(port)) =
        (lines.first(), lines.get(1), lines.get(2), lines.get(3))
    else {
        return None;
    };
    let pid = pid.trim().parse::<u32>().ok()?;
    let same_dir = Path::new(dir.trim()) == data;
    let same_start = start
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (t - who.started).abs() <= 1);
    if !(same_dir && same_start && port.trim() == who.port) {
        return None;
    }
    (control_system_identifier(data, bindir).as_deref() == Some(who.system_identifier.as_str()))
        .then_some(pid)
}

/// `pg_controldata`'s "Database system identifier" of a data directory.
fn control_system_identifier(data: &Path, bindir: &Path) -> Option<String> {
    let out = std::process::Command::new(bindir.join("pg_controldata"))
        .arg(data)
        .env("LC_ALL", "C")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Database system identifier:"))
        .map(|v| v.trim().to_string())
}

impl Local {
    /// The command that starts the server again, as the data directory's
    /// owner.
    pub(super) fn start_command(&self) -> String {
        use crate::quote::shell::word;
        let log = self
            .log
            .as_ref()
            .filter(|p| p.is_file())
            .map(|p| format!(" -l {}", word(&p.to_string_lossy())))
            .unwrap_or_default();
        format!(
            "{} -D {}{log} -w start{}",
            word(&self.bindir.join("pg_ctl").to_string_lossy()),
            word(&self.data.to_string_lossy()),
            self.owner()
        )
    }

    /// " (as <user>)" when the data directory belongs to another account.
    fn owner(&self) -> String {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.data)
            .ok()
            .filter(|m| m.uid() != 0)
            .and_then(|m| user_name(m.uid()))
            .map(|u| format!(" (as {u})"))
            .unwrap_or_default()
    }

    /// The command, as the summary shows it (as the data directory's owner).
    pub(super) fn command(&self) -> String {
        use crate::quote::shell::word;
        format!(
            "{} -D {} -m fast -w -t 120 restart{}",
            word(&self.bindir.join("pg_ctl").to_string_lossy()),
            word(&self.data.to_string_lossy()),
            self.owner()
        )
    }
}

/// The login name of a uid, from /etc/passwd (for the summary only).
fn user_name(uid: u32) -> Option<String> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.get(2) == Some(&uid.to_string().as_str())).then(|| f[0].to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::service_managed;

    #[test]
    fn debian_clusters_belong_to_their_service() {
        assert_eq!(
            service_managed("/etc/postgresql/15/main/postgresql.conf").as_deref(),
            Some("pg_ctlcluster 15 main restart")
        );
        assert_eq!(
            service_managed("/etc/postgresql/13/reporting/postgresql.conf").as_deref(),
            Some("pg_ctlcluster 13 reporting restart")
        );
        assert_eq!(
            service_managed("/var/lib/pgsql/15/data/postgresql.conf"),
            None
        );
        assert_eq!(
            service_managed("/tmp/tsmn-demo/dn1/data/postgresql.conf"),
            None
        );
        assert_eq!(service_managed("/etc/postgresql/postgresql.conf"), None);
    }
}
