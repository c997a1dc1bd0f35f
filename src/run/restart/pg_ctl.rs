//! `pg_ctl restart` for a node on this host, detached from tsmn, and the
//! list of restarts running now.

use super::local::Local;
use std::path::PathBuf;

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
pub(super) fn restart_local(node: &str, l: &Local) -> Result<(), String> {
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
