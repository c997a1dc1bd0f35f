//! Settings that need a restart. tsmn restarts the nodes it may (on this
//! host, data directory readable); for the others it says which and how,
//! then waits, polling, until each is back with the settings applied.

use super::session::Sessions;
use super::{Event, Events, Outcome, RestartPolicy, RunOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const HOW: &str = "restart PostgreSQL on each (systemctl restart postgresql, or pg_ctlcluster <version> <cluster> restart)";

/// Where a node runs, when it runs here and tsmn can restart it.
struct Local {
    data: PathBuf,
    bindir: PathBuf,
}

/// A cluster of Debian's postgresql-common (its configuration under
/// /etc/postgresql/<version>/<name>/) belongs to `pg_ctlcluster` and its
/// systemd unit: restarted behind their back with `pg_ctl`, the unit would
/// lose track of the server. tsmn leaves those to the operator.
fn service_managed(config_file: &str) -> bool {
    let parts: Vec<&str> = config_file.split('/').collect();
    matches!(parts.as_slice(), ["", "etc", "postgresql", version, name, _]
        if !version.is_empty() && !name.is_empty())
}

/// Where a node runs, when it runs here and tsmn may restart it: no
/// service manager owns it, and the server whose data directory this host
/// has at that path is provably the node tsmn is connected to. Identical
/// layouts are normal (packages, images, cloned machines): a path that
/// exists here proves nothing by itself. No proof, no restart.
fn local(p: &Pending) -> Option<Local> {
    if service_managed(&p.config_file) {
        return None;
    }
    let data = PathBuf::from(&p.data);
    let bindir = PathBuf::from(&p.bindir);
    if !(data.join("PG_VERSION").is_file() && bindir.join("pg_ctl").is_file()) {
        return None;
    }
    proven_here(&data, &bindir, &p.identity).then_some(Local { data, bindir })
}

/// The postmaster.pid of that data directory names the same port and
/// start time, and its pg_control the same system identifier, as the node
/// reported over its own connection.
fn proven_here(data: &Path, bindir: &Path, who: &Identity) -> bool {
    let Ok(pid_file) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        return false;
    };
    let lines: Vec<&str> = pid_file.lines().collect();
    // Line 2: data directory, 3: start time (epoch seconds), 4: port.
    let (Some(dir), Some(start), Some(port)) = (lines.get(1), lines.get(2), lines.get(3)) else {
        return false;
    };
    let same_dir = Path::new(dir.trim()) == data;
    let same_start = start
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (t - who.started).abs() <= 1);
    if !(same_dir && same_start && port.trim() == who.port) {
        return false;
    }
    control_system_identifier(data, bindir).as_deref() == Some(who.system_identifier.as_str())
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

fn restart_local(l: &Local) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let meta = std::fs::metadata(&l.data).map_err(|e| format!("{}: {e}", l.data.display()))?;
    let mut cmd = std::process::Command::new(l.bindir.join("pg_ctl"));
    cmd.arg("-D")
        .arg(&l.data)
        .args(["-m", "fast", "-w", "-t", "120", "restart"]);
    // The server's own log file when it is the sandbox's (beside the data
    // directory); pg_ctl's output must not stay tied to our pipes.
    let log = l
        .data
        .parent()
        .map(|p| p.join("server.log"))
        .filter(|p| p.is_file());
    match log {
        Some(log) => {
            cmd.arg("-l").arg(log);
        }
        None => {
            cmd.stdin(std::process::Stdio::null());
        }
    }
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 && meta.uid() != 0 {
        cmd.uid(meta.uid()).gid(meta.gid());
    }
    let out = cmd.output().map_err(|e| format!("pg_ctl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pg_ctl restart failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// What a node waits for: its pending-restart settings, and where it runs.
struct Pending {
    settings: String,
    data: String,
    bindir: String,
    config_file: String,
    /// Who the server says it is, to prove the one on this host is it.
    identity: Identity,
}

/// What a server says of itself over its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    port: String,
    /// pg_postmaster_start_time(), in seconds since the epoch.
    started: i64,
    system_identifier: String,
}

/// One node asked, on its kept session (opened again when the node was
/// restarted). A node that does not answer loses its cached session, so the
/// next ask connects anew.
async fn pending(sessions: &Sessions<'_>, n: &str) -> Result<Pending, String> {
    let r = async {
        let client = sessions.get(n, "postgres").await?;
        let row = client
            .query_one(
                "SELECT coalesce((SELECT string_agg(name, ', ' ORDER BY name) FROM pg_settings WHERE pending_restart), ''), \
                 current_setting('data_directory'), coalesce((SELECT setting FROM pg_config WHERE name = 'BINDIR'), ''), current_setting('config_file'), \
                 current_setting('port'), extract(epoch FROM pg_postmaster_start_time())::int8, \
                 (SELECT system_identifier::text FROM pg_control_system())",
                &[],
            )
            .await
            .map_err(|e| super::session::describe(&e))?;
        Ok(Pending {
            settings: row.get(0),
            data: row.get(1),
            bindir: row.get(2),
            config_file: row.get(3),
            identity: Identity {
                port: row.get(4),
                started: row.get(5),
                system_identifier: row.get(6),
            },
        })
    }
    .await;
    if r.is_err() {
        sessions.drop_node(n);
    }
    r
}

/// Every node asked at once.
async fn pending_all(
    sessions: &Sessions<'_>,
    nodes: &[String],
) -> Vec<(String, Result<Pending, String>)> {
    let asks = nodes
        .iter()
        .map(|n| async move { (n.clone(), pending(sessions, n).await) });
    futures_util::future::join_all(asks).await
}

/// Wait until every node in `left` answers with nothing pending (those in
/// `remote` are someone else's to restart: progress is reported for them).
/// Some(failure) when one refuses tsmn's login or the wait runs out.
async fn wait_back(
    mut left: Vec<String>,
    remote: &[String],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
) -> Option<Outcome> {
    let started = Instant::now();
    loop {
        let asked = pending_all(sessions, &left).await;
        // A node that is back but refuses tsmn's login will not let it in
        // by waiting longer: say so at once.
        if let Some((n, Err(e))) = asked
            .iter()
            .find(|(_, p)| p.as_ref().is_err_and(|e| refuses_login(e)))
        {
            return Some(Outcome::Failed {
                message: format!("{n} is back but refuses tsmn's login: {e}\n    fix: log in to {n} as the plan's superuser the way tsmn does (password, passfile, certificate), then run tsmn apply again"),
            });
        }
        left = asked
            .into_iter()
            .filter(|(_, p)| !settled(p))
            .map(|(n, _)| n)
            .collect();
        if left.is_empty() {
            break;
        }
        if o.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Some(Outcome::Skipped {
                why: format!(
                    "cancelled while waiting for {} to come back",
                    left.join(", ")
                ),
            });
        }
        if started.elapsed() > o.restart_wait {
            return Some(Outcome::Failed { message: format!("{} did not come back with the new settings within {} s: {HOW}; then run tsmn apply again", left.join(", "), o.restart_wait.as_secs()) });
        }
        for n in left.iter().filter(|n| remote.contains(n)) {
            let _ = events.send(Event::Waiting {
                node: n.clone(),
                seconds: started.elapsed().as_secs(),
            });
        }
        match &o.cancel {
            Some(c) => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = c.cancelled() => {}
                }
            }
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
    None
}

/// The server answered and turned the login away (not: not up yet).
fn refuses_login(message: &str) -> bool {
    matches!(
        crate::findings::connect::explain(None, message).code,
        "password_failed"
            | "no_password"
            | "no_hba_entry"
            | "hba_rejects"
            | "client_cert_missing"
            | "client_cert_rejected"
            | "role_missing"
            | "cannot_login"
    )
}

/// Back with nothing pending.
fn settled(p: &Result<Pending, String>) -> bool {
    matches!(p, Ok(p) if p.settings.is_empty())
}

pub async fn gate(
    nodes: &[String],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
) -> Outcome {
    let mut waiting = Vec::new();
    for (n, p) in pending_all(sessions, nodes).await {
        match p {
            Ok(p) if p.settings.is_empty() => {}
            Ok(p) => waiting.push((n, p)),
            Err(e) => {
                return Outcome::Failed {
                    message: format!("cannot reach {n}: {e}"),
                }
            }
        }
    }
    if waiting.is_empty() {
        return Outcome::AlreadyDone {
            detail: "no setting waits for a restart".into(),
        };
    }
    let names: Vec<String> = waiting.iter().map(|(n, _)| n.clone()).collect();
    if o.restart == RestartPolicy::Never {
        let _ = events.send(Event::RestartNeeded {
            nodes: names.clone(),
            how: HOW.into(),
        });
        let list: Vec<String> = waiting
            .iter()
            .map(|(n, p)| format!("{n} ({})", p.settings))
            .collect();
        return Outcome::Failed {
            message: format!(
                "restart needed on {}: {HOW}; then run tsmn apply again",
                list.join(", ")
            ),
        };
    }
    // Restart the local ones together, each asked again as soon as it is
    // back; the others are someone else's to restart.
    // Only the nodes tsmn does not restart itself are the operator's to restart.
    let (mine, theirs): (Vec<_>, Vec<_>) = waiting
        .iter()
        .map(|(n, p)| (n, local(p)))
        .partition(|(_, l)| l.is_some());
    if !theirs.is_empty() {
        let _ = events.send(Event::RestartNeeded {
            nodes: theirs.iter().map(|(n, _)| (*n).clone()).collect(),
            how: HOW.into(),
        });
    }
    let mut jobs = Vec::new();
    let mut left = Vec::new();
    for (n, l) in mine.into_iter().chain(theirs) {
        match l {
            Some(l) => {
                let _ = events.send(Event::Restarting { node: n.clone() });
                sessions.drop_node(n);
                jobs.push(async move {
                    let restarted = tokio::task::spawn_blocking(move || restart_local(&l))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                    match restarted {
                        Err(e) => Err(format!("{n}: {e}")),
                        Ok(()) => Ok((n.clone(), settled(&pending(sessions, n).await))),
                    }
                });
            }
            None => left.push(n.clone()),
        }
    }
    let remote = left.clone();
    for j in futures_util::future::join_all(jobs).await {
        match j {
            Err(e) => return Outcome::Failed { message: e },
            Ok((_, true)) => {}
            Ok((n, false)) => left.push(n),
        }
    }
    if let Some(failed) = wait_back(left, &remote, o, sessions, events).await {
        return failed;
    }
    Outcome::Done {
        detail: format!("restarted {}", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::service_managed;

    #[test]
    fn debian_clusters_belong_to_their_service() {
        assert!(service_managed("/etc/postgresql/15/main/postgresql.conf"));
        assert!(service_managed(
            "/etc/postgresql/13/reporting/postgresql.conf"
        ));
        assert!(!service_managed("/var/lib/pgsql/15/data/postgresql.conf"));
        assert!(!service_managed("/tmp/tsmn-demo/dn1/data/postgresql.conf"));
        assert!(!service_managed("/etc/postgresql/postgresql.conf"));
    }
}
