//! Helpers of the `tsmn migrate` tests: the target's address, runs of the
//! binary (waited for, or watched and killed from outside with SIGKILL),
//! a session that holds a lock on a server while tsmn runs, and what a
//! target holds, by the test's own SQL.

use super::{tsmn, TestCluster};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `--to` for database `db` on `c`, over its Unix socket.
pub fn to(c: &TestCluster, db: &str) -> String {
    format!(
        "host={} port={} dbname={db}",
        c.cluster.socket_dir().display(),
        c.cluster.port
    )
}

fn command(plan: &Path, target: &str, extra: &[&str]) -> Command {
    let mut cmd = tsmn();
    cmd.args(["migrate", "--plan"])
        .arg(plan)
        .args(["--to", target])
        .args(extra);
    cmd
}

/// `tsmn migrate --plan PLAN --to TARGET EXTRA...`: exit code, stdout + stderr.
pub fn migrate(plan: &Path, target: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = command(plan, target, extra)
        .output()
        .expect("run tsmn migrate");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A `tsmn migrate` running in the background, its output collected.
pub struct Run {
    child: Child,
    pub started: Instant,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Run {
    pub fn start(plan: &Path, target: &str, extra: &[&str]) -> Run {
        let mut child = command(plan, target, extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tsmn migrate");
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        for stream in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err) as Box<dyn std::io::Read + Send>,
        ] {
            let sink = Arc::clone(&output);
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            }));
        }
        Run {
            child,
            started: Instant::now(),
            output,
            readers,
        }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Poll `ready` every 2 ms until it holds (true) or the run ends or
    /// `limit` passes (false).
    pub fn wait_for(&mut self, limit: Duration, mut ready: impl FnMut(&str) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if ready(&self.output()) {
                return true;
            }
            if !self.running() {
                return ready(&self.output());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }

    /// SIGKILL (`kill -9`), as an operator or the OOM killer would; the
    /// output it printed.
    pub fn kill9(mut self) -> String {
        assert!(
            self.running(),
            "tsmn had already ended before the kill: {}",
            self.output()
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill -9");
        let status = self.child.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "killed by SIGKILL"
        );
        self.join()
    }

    /// Wait for the end: exit code and output.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().expect("wait");
        (status.code(), self.join())
    }

    fn join(&mut self) -> String {
        for r in self.readers.drain(..) {
            // An orphaned psql may hold the pipes a moment longer.
            let _ = r.join();
        }
        self.output()
    }
}

/// A psql session on `c` holding what `sql` takes (in an open
/// transaction) until `release`: a server-side pause tsmn meets as any
/// other session's lock.
pub struct Holder {
    /// The backend's pid of the session.
    pub pid: i32,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Holder {
    pub fn take(c: &TestCluster, db: &str, sql: &str) -> Holder {
        let mut child = Command::new(super::pg_bin().bindir.join("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(format!(
                "host={} port={} user=postgres dbname={db}",
                c.cluster.socket_dir().display(),
                c.cluster.port
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("psql");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "BEGIN;\n{sql};\nSELECT pg_backend_pid();").expect("write");
        stdin.flush().expect("flush");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let pid = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the lock was taken: {sql}: {line}"));
        Holder {
            pid,
            child,
            stdin: Some(stdin),
        }
    }

    pub fn release(mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = writeln!(s, "COMMIT;\n\\q");
        }
        let _ = self.child.wait();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Poll `f` every 5 ms for at most `limit`: its first Some.
pub fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// The query of a tsmn session (its own or its psql's) on `c` that waits
/// for the lock `h` holds, if one does (not for another tsmn session's:
/// a killed run's session can go on for a moment with what it had read).
pub fn tsmn_waiting(c: &TestCluster, db: &str, h: &Holder) -> Option<String> {
    c.sql(
        db,
        &format!(
            "SELECT query FROM pg_stat_activity WHERE application_name = 'tsmn migrate' AND {} = ANY (pg_blocking_pids(pid)) LIMIT 1",
            h.pid
        ),
    )
    .into_iter()
    .next()
}

/// Count and checksum of `table` by the test's own SQL: "rows checksum".
pub fn tally(c: &TestCluster, db: &str, table: &str) -> String {
    c.sql(
        db,
        &format!(
            "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || coalesce(sum(hashtext(x::text)::int8), 0) FROM {table} x"
        ),
    )
    .join(",")
}

/// The lines of the migration's journal beside the plan, for `target`.
pub fn journal_lines(plan: &Path) -> Vec<String> {
    let dir = plan.with_file_name(format!(
        "{}.tsmn",
        plan.file_name().unwrap().to_string_lossy()
    ));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("migrate-"))
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The source's chunks of each hypertable, as tsmn's record names them.
pub fn chunks_by_table(
    an: &TestCluster,
    tables: &[&str],
    plain: &[&str],
) -> Vec<(String, Vec<String>)> {
    tables
        .iter()
        .map(|t| {
            let items = if plain.contains(t) {
                vec![format!("table public.{t}")]
            } else {
                an.sql(
                    "tsdb",
                    &format!("SELECT 'chunk ' || chunk_schema || '.' || chunk_name FROM timescaledb_information.chunks WHERE hypertable_name = '{t}'"),
                )
            };
            (t.to_string(), items)
        })
        .collect()
}

/// After a kill: each table holds exactly the rows of the parts the
/// target's record names (read in one snapshot), or, with no record, the
/// schema is not there at all. The parts recorded.
pub fn nothing_half_copied(
    target: &TestCluster,
    db: &str,
    parts: &[(String, Vec<String>)],
    when: &str,
) -> usize {
    let record = target.sql(db, "SELECT to_regclass('tsmn_migrate.done') IS NOT NULL");
    if record != ["t"] {
        assert_eq!(
            target.sql(db, &format!("SELECT count(*) FROM pg_class WHERE relname IN ({}) AND relnamespace = 'public'::regnamespace",
                parts.iter().map(|(t, _)| format!("'{t}'")).collect::<Vec<_>>().join(", "))),
            ["0"],
            "{when}: no record, so no schema either (the restore is one transaction)"
        );
        return 0;
    }
    let checks: Vec<String> = parts
        .iter()
        .map(|(t, items)| {
            let list = items
                .iter()
                .map(|i| format!("'{}'", i.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "'{t} ' || (SELECT count(*) FROM public.{t}) || ' ' || coalesce((SELECT sum(rows) FROM tsmn_migrate.done WHERE item IN ({list})), 0)"
            )
        })
        .collect();
    let got = target.sql(db, &format!("SELECT concat_ws(',', {})", checks.join(", ")));
    for pair in got.join("").split(',') {
        let w: Vec<&str> = pair.split(' ').collect();
        assert_eq!(
            w[1], w[2],
            "{when}: {} has {} rows on the target, its recorded parts {}",
            w[0], w[1], w[2]
        );
    }
    target
        .sql(
            db,
            "SELECT count(*) FROM tsmn_migrate.done WHERE item LIKE 'chunk %' OR item LIKE 'table %'",
        )
        .join("")
        .parse()
        .unwrap()
}
