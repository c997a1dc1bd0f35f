//! One local PostgreSQL cluster: created from the template, configured,
//! started and stopped. Shared by `tsmn sandbox` and the test harness.

use super::error::SandboxError;
use super::os_user::ServerUser;
use super::pgbin::PgBin;
use super::template::ensure_template;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to build one cluster.
#[derive(Debug, Clone, Default)]
pub struct ClusterSpec {
    pub name: String,
    /// Extra `postgresql.conf` settings, appended after the sandbox's own.
    pub settings: Vec<(String, String)>,
    /// `pg_hba.conf` lines. None: the sandbox default (local socket only).
    pub hba: Option<Vec<String>>,
    /// Files written into the data directory (e.g. TLS keys), with their mode.
    pub files: Vec<DataFile>,
}

#[derive(Debug, Clone)]
pub struct DataFile {
    pub name: String,
    pub contents: Vec<u8>,
    pub mode: u32,
}

/// The sandbox's pg_hba.conf: tsmn reaches each node through its private
/// Unix socket; nothing is admitted over TCP until tsmn's steps add it.
pub const DEFAULT_HBA: &[&str] = &[
    "# tsmn sandbox: admin access only through the Unix socket in the data",
    "# directory, which only this OS user (and root) can open.",
    "local all all trust",
];

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    /// The node's own directory: data/ and server.log live here.
    pub dir: PathBuf,
    pub port: u16,
    pub bin: PgBin,
    pub user: ServerUser,
}

impl Cluster {
    /// A handle on an existing cluster (no I/O).
    pub fn open(name: &str, dir: PathBuf, port: u16, bin: PgBin, user: ServerUser) -> Cluster {
        Cluster {
            name: name.into(),
            dir,
            port,
            bin,
            user,
        }
    }

    /// Copy the template into `dir/data` and configure it. Does not start it.
    pub fn create(
        spec: &ClusterSpec,
        dir: PathBuf,
        port: u16,
        bin: &PgBin,
        user: ServerUser,
    ) -> Result<Cluster, SandboxError> {
        let cluster = Cluster::open(&spec.name, dir, port, bin.clone(), user);
        let socket = cluster.socket_file();
        let len = socket.as_os_str().len();
        if len > 107 {
            return Err(SandboxError::SocketPathTooLong { path: socket, len });
        }
        let template = ensure_template(bin, user)?;
        std::fs::create_dir_all(&cluster.dir).map_err(SandboxError::io(&cluster.dir))?;
        user.chown(&cluster.dir)?;
        run(
            Command::new("cp")
                .arg("-a")
                .arg(&template)
                .arg(cluster.data_dir()),
            "copying the template cluster",
            "check free disk space",
        )?;
        cluster.write_config(spec)?;
        Ok(cluster)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }
    /// tsmn connects through the Unix socket in the data directory.
    pub fn socket_dir(&self) -> PathBuf {
        self.data_dir()
    }
    fn socket_file(&self) -> PathBuf {
        self.socket_dir().join(format!(".s.PGSQL.{}", self.port))
    }

    fn write_config(&self, spec: &ClusterSpec) -> Result<(), SandboxError> {
        let data = self.data_dir();
        let mut conf = String::from("\n# --- tsmn sandbox ---\n");
        let socket = self.socket_dir().display().to_string();
        let mut settings: Vec<(String, String)> = vec![
            ("port".into(), self.port.to_string()),
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("unix_socket_directories".into(), socket),
            ("unix_socket_permissions".into(), "0700".into()),
            // A throwaway cluster: durability is not worth the time here.
            ("fsync".into(), "off".into()),
            ("shared_buffers".into(), "16MB".into()),
            ("max_connections".into(), "50".into()),
        ];
        if self.bin.has_extension("timescaledb") {
            settings.push(("shared_preload_libraries".into(), "timescaledb".into()));
            // Nothing here may try to reach beyond the machine: a default
            // build runs a telemetry job once the extension exists. A build
            // without telemetry has no such setting (`SHOW
            // timescaledb.telemetry_level`: unrecognized configuration
            // parameter); PostgreSQL keeps the line as a harmless
            // placeholder there.
            settings.push(("timescaledb.telemetry_level".into(), "off".into()));
        }
        settings.extend(spec.settings.iter().cloned());
        for (k, v) in &settings {
            conf.push_str(&format!("{k} = '{}'\n", v.replace('\'', "''")));
        }
        append(&data.join("postgresql.conf"), &conf)?;
        let hba: Vec<String> = match &spec.hba {
            Some(lines) => lines.clone(),
            None => DEFAULT_HBA.iter().map(|s| s.to_string()).collect(),
        };
        write_file(
            &data.join("pg_hba.conf"),
            (hba.join("\n") + "\n").as_bytes(),
            0o600,
            self.user,
        )?;
        for f in &spec.files {
            write_file(&data.join(&f.name), &f.contents, f.mode, self.user)?;
        }
        Ok(())
    }

    /// Start and wait until it accepts connections. A stale postmaster.pid
    /// (a server killed by hand) is removed first.
    pub fn start(&self) -> Result<(), SandboxError> {
        if self.is_running() {
            return Ok(());
        }
        // Left behind by a server that died without cleaning up; postgres
        // refuses to start while they name a PID that still exists (even a zombie).
        let socket = self.socket_file();
        let lock = PathBuf::from(format!("{}.lock", socket.display()));
        for stale in [self.data_dir().join("postmaster.pid"), lock, socket] {
            if stale.exists() {
                std::fs::remove_file(&stale).map_err(SandboxError::io(&stale))?;
            }
        }
        let log = self.log_file();
        run(
            self.user
                .server_command(self.bin.program("pg_ctl"), &self.dir)
                .arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"]),
            &format!("starting node {} on port {}", self.name, self.port),
            &format!(
                "read {} (is port {} taken by another program?)",
                log.display(),
                self.port
            ),
        )
        .map(|_| ())
    }

    /// Stop: `fast` lets sessions end cleanly, else `immediate` (tests).
    pub fn stop(&self, fast: bool) -> Result<(), SandboxError> {
        if !self.is_running() {
            return Ok(());
        }
        run(
            self.user
                .command(self.bin.program("pg_ctl"))
                .arg("-D")
                .arg(self.data_dir())
                .args([
                    "-m",
                    if fast { "fast" } else { "immediate" },
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]),
            &format!("stopping node {}", self.name),
            &format!(
                "stop it by hand: kill the PID in {}/postmaster.pid",
                self.data_dir().display()
            ),
        )
        .map(|_| ())
    }

    /// The postmaster's PID, when one is alive.
    pub fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        (pid > 0 && process_alive(pid)).then_some(pid)
    }

    pub fn is_running(&self) -> bool {
        self.pid().is_some()
    }

    /// Connection settings for tsmn's own (superuser) connection.
    pub fn pg_config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host_path(self.socket_dir())
            .port(self.port)
            .user("postgres")
            .dbname(dbname)
            .application_name(crate::plan::system::application_name())
            .connect_timeout(std::time::Duration::from_secs(5));
        cfg
    }
}

/// Alive and not a zombie: a postmaster killed by hand can linger as a zombie
/// under a parent that does not reap it, and still answers signal 0.
fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        // No such process, on a system that has /proc.
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => crate::os::process_exists(pid),
    }
}

fn append(path: &Path, text: &str) -> Result<(), SandboxError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(SandboxError::io(path))?;
    f.write_all(text.as_bytes()).map_err(SandboxError::io(path))
}

fn write_file(
    path: &Path,
    contents: &[u8],
    mode: u32,
    user: ServerUser,
) -> Result<(), SandboxError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).map_err(SandboxError::io(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(SandboxError::io(path))?;
    user.chown(path)
}

/// Run a command; on failure, say what it was, what it printed, and the fix.
fn run(cmd: &mut Command, what: &str, fix: &str) -> Result<std::process::Output, SandboxError> {
    let out = cmd.output().map_err(|e| SandboxError::Command {
        what: what.into(),
        detail: e.to_string(),
        fix: fix.into(),
    })?;
    if out.status.success() {
        Ok(out)
    } else {
        let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if detail.is_empty() {
            detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
        Err(SandboxError::Command {
            what: what.into(),
            detail,
            fix: fix.into(),
        })
    }
}
