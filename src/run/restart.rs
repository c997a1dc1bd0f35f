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
    /// Where the server writes why it did not start: the sandbox's log
    /// file beside the data directory (passed to pg_ctl), else its logging
    /// collector's directory.
    log: Option<PathBuf>,
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
fn local(p: &Pending) -> Result<Local, String> {
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
    if let Some(s) = super::supervisor::of(pid).filter(|_| !sandbox) {
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
    fn start_command(&self) -> String {
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
    fn command(&self) -> String {
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

/// The servers tsmn is restarting right now (node names), for whoever must
/// say what happens to them when tsmn is stopped: an interrupt waits for
/// them, and an abort names them.
static IN_FLIGHT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// The nodes whose `pg_ctl restart` is running now.
pub fn in_flight() -> Vec<String> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Marks a node's restart as running while it lives.
struct Flight(String);
impl Flight {
    fn start(node: &str) -> Flight {
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(node.to_string());
        Flight(node.to_string())
    }
}
impl Drop for Flight {
    fn drop(&mut self) {
        let mut v = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = v.iter().position(|n| *n == self.0) {
            v.swap_remove(i);
        }
    }
}

/// A private file for pg_ctl's error output: a pipe would tie pg_ctl to
/// tsmn (a write after tsmn is gone kills it with SIGPIPE, between the
/// stop and the start).
fn error_file() -> std::io::Result<(std::fs::File, PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = std::env::temp_dir().join(format!("tsmn-pg_ctl-{}-{nanos}.err", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((f, path))
}

/// `pg_ctl restart` for a node on this host. pg_ctl runs in a process
/// group of its own, with no tie to tsmn's terminal or pipes: Ctrl-C, a
/// closed terminal or tsmn's own death cannot stop it between the stop and
/// the start, so a server tsmn stops always starts again.
fn restart_local(node: &str, l: &Local) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let meta = std::fs::metadata(&l.data).map_err(|e| format!("{}: {e}", l.data.display()))?;
    let mut cmd = std::process::Command::new(l.bindir.join("pg_ctl"));
    cmd.arg("-D")
        .arg(&l.data)
        .args(["-m", "fast", "-w", "-t", "120", "restart"]);
    // The server's own log file when it is the sandbox's (beside the data
    // directory).
    if let Some(log) = l.log.as_ref().filter(|p| p.is_file()) {
        cmd.arg("-l").arg(log);
    }
    let (err, err_path) = error_file().map_err(|e| format!("a file for pg_ctl's errors: {e}"))?;
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(err))
        .process_group(0);
    if crate::os::euid() == 0 && meta.uid() != 0 {
        // The server's own HOME, not root's (see os::home_for).
        cmd.uid(meta.uid())
            .gid(meta.gid())
            .env("HOME", crate::os::home_for(meta.uid(), &l.data));
    }
    let _flight = Flight::start(node);
    let status = cmd.status();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    let status = status.map_err(|e| format!("pg_ctl: {e}"))?;
    if status.success() {
        return Ok(());
    }
    // The server is down now: say where it wrote why, and what comes next.
    let look = match &l.log {
        Some(p) if p.is_file() => format!("read {} for why", p.display()),
        Some(p) => format!("read the newest log file in {} for why", p.display()),
        None => "the server logs to stderr: read its service's log (journalctl, or where pg_ctl -l points) for why".into(),
    };
    let said = stderr.trim().replace('\n', " ");
    let said = if said.is_empty() {
        format!("pg_ctl {status}")
    } else {
        said
    };
    Err(format!(
        "did not start again after the restart ({said}); {look}, fix the cause, start it ({}), then run tsmn apply again",
        l.start_command()
    ))
}

/// What a node waits for: its pending-restart settings, and where it runs.
#[derive(Clone)]
struct Pending {
    settings: String,
    data: String,
    bindir: String,
    config_file: String,
    /// Who the server says it is, to prove the one on this host is it.
    identity: Identity,
    /// Its logging collector's directory (relative to the data directory
    /// when not absolute); empty when it logs to stderr.
    log_directory: String,
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
        ask(&client).await
    }
    .await;
    if r.is_err() {
        sessions.drop_node(n);
    }
    r
}

/// Before the run, for the summary the operator confirms: Ok(the exact
/// command tsmn will run to restart this node) or Err(how the operator
/// restarts it while tsmn waits). The same decision the run makes.
pub async fn decision(client: &tokio_postgres::Client) -> Result<String, String> {
    let p = ask(client)
        .await
        .map_err(|e| format!("tsmn cannot tell where it runs ({e}): {HOW}"))?;
    local(&p).map(|l| l.command())
}

/// What `ask` reads: the settings pending a restart, where the server's
/// files and programs are, who it is, where it logs.
/// A setting waits for a restart when the server says so (pending_restart,
/// which a session sees only once it has processed the reload: right after
/// `pg_reload_conf()` it may still say no) or when the configuration files
/// hold a value for a postmaster setting that the server could not apply
/// (pg_file_settings reads the files at once).
const ASK_SQL: &str = "SELECT coalesce((SELECT string_agg(s.name, ', ' ORDER BY s.name) FROM pg_settings s WHERE s.pending_restart \
     OR (s.context = 'postmaster' AND EXISTS (SELECT FROM pg_file_settings f WHERE f.name = s.name AND NOT f.applied AND f.error IS NOT NULL \
         AND f.seqno = (SELECT max(g.seqno) FROM pg_file_settings g WHERE g.name = s.name)))), ''), \
     current_setting('data_directory'), coalesce((SELECT setting FROM pg_config WHERE name = 'BINDIR'), ''), current_setting('config_file'), \
     current_setting('port'), extract(epoch FROM pg_postmaster_start_time())::int8, \
     (SELECT system_identifier::text FROM pg_control_system()), \
     CASE WHEN current_setting('logging_collector') = 'on' THEN current_setting('log_directory') ELSE '' END";

/// What a server says of its pending settings and of itself.
async fn ask(client: &tokio_postgres::Client) -> Result<Pending, String> {
    {
        let row = crate::pg::one(client, ASK_SQL, &[])
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
            log_directory: row.get(7),
        })
    }
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
    for (n, p) in &waiting {
        tracing::info!("[{n}] waits for a restart: {}", p.settings);
    }
    if o.restart == RestartPolicy::Never {
        tracing::info!("restart policy never: not restarting {}", names.join(", "));
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
    // Each proof reads the node's files and runs its pg_controldata: all
    // nodes at once, off the runtime's threads.
    let proofs = futures_util::future::join_all(waiting.iter().map(|(n, p)| {
        let p = p.clone();
        async move {
            let l = tokio::task::spawn_blocking(move || local(&p))
                .await
                .unwrap_or_else(|e| Err(format!("{HOW} (the check failed: {e})")));
            (n, l)
        }
    }))
    .await;
    let (mine, theirs): (Vec<_>, Vec<_>) = proofs.into_iter().partition(|(_, l)| l.is_ok());
    for (n, how) in &theirs {
        tracing::info!(
            "[{n}] not restarted by tsmn: {}",
            how.as_ref().err().map_or("", String::as_str)
        );
        let _ = events.send(Event::RestartNeeded {
            nodes: vec![(*n).clone()],
            how: how.as_ref().err().cloned().unwrap_or_default(),
        });
    }
    let mut jobs = Vec::new();
    let mut left = Vec::new();
    for (n, l) in mine.into_iter().chain(theirs) {
        match l {
            Ok(l) => {
                tracing::info!("[{n}] restarting: {}", l.command());
                let _ = events.send(Event::Restarting { node: n.clone() });
                sessions.drop_node(n);
                jobs.push(async move {
                    let node = n.clone();
                    let restarted = tokio::task::spawn_blocking(move || restart_local(&node, &l))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                    match restarted {
                        Err(e) => Err(format!("{n}: {e}")),
                        Ok(()) => Ok((n.clone(), settled(&pending(sessions, n).await))),
                    }
                });
            }
            Err(_) => left.push(n.clone()),
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
