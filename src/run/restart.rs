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

/// Where a node runs, when it runs here and tsmn may restart it: its data
/// directory is readable on this host and no service manager owns it.
fn local(data: &str, bindir: &str, config_file: &str) -> Option<Local> {
    if service_managed(config_file) {
        return None;
    }
    let data = PathBuf::from(data);
    (data.join("PG_VERSION").is_file() && Path::new(bindir).join("pg_ctl").is_file()).then(|| {
        Local {
            data,
            bindir: bindir.into(),
        }
    })
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
                 current_setting('data_directory'), coalesce((SELECT setting FROM pg_config WHERE name = 'BINDIR'), ''), current_setting('config_file')",
                &[],
            )
            .await
            .map_err(|e| super::session::describe(&e))?;
        Ok(Pending {
            settings: row.get(0),
            data: row.get(1),
            bindir: row.get(2),
            config_file: row.get(3),
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
        if started.elapsed() > o.restart_wait {
            return Some(Outcome::Failed { message: format!("{} did not come back with the new settings within {} s: {HOW}; then run tsmn apply again", left.join(", "), o.restart_wait.as_secs()) });
        }
        for n in left.iter().filter(|n| remote.contains(n)) {
            let _ = events.send(Event::Waiting {
                node: n.clone(),
                seconds: started.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
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
        .map(|(n, p)| (n, local(&p.data, &p.bindir, &p.config_file)))
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
