//! A throwaway local cluster (one access node, N data nodes) built from the
//! PostgreSQL installed on this machine. `tsmn sandbox` and the tests share it.

pub mod cluster;
mod error;
pub mod os_user;
pub mod pgbin;
pub mod places;
mod ports;
pub mod status;
pub mod template;

pub use cluster::{Cluster, ClusterSpec, DataFile};
pub use error::SandboxError;
pub use os_user::ServerUser;
pub use pgbin::PgBin;
pub use ports::free_ports;

use crate::plan::{Auth, AuthMode, Credentials, Node, Plan};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file that marks a directory as made by `tsmn sandbox up`. `down`
/// removes only what it lists.
pub const MARKER: &str = ".tsmn-sandbox";

mod trust;
pub const PLAN_FILE: &str = "plan.toml";
pub const ACCESS_NODE: &str = "an";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    pub pg_bindir: PathBuf,
    pub nodes: Vec<MarkedNode>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MarkedNode {
    pub name: String,
    pub port: u16,
}

/// A sandbox on disk.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: PathBuf,
    pub clusters: Vec<Cluster>,
}

/// What `up` reports as it goes, so a person sees progress on slow work.
pub trait Progress {
    fn say(&self, line: &str);
}

impl<F: Fn(&str)> Progress for F {
    fn say(&self, line: &str) {
        self(line)
    }
}

/// The default sandbox: `/var/lib/tsmn/sandbox` as root, else
/// `$XDG_STATE_HOME/tsmn/sandbox` (never the shared temporary directory).
pub fn default_dir() -> PathBuf {
    places::state_dir().join("sandbox")
}

/// The new sandbox's directory: ours, closed to others, and passable by
/// the server's OS user on the way to its node directories.
fn prepare_dir(dir: &Path, user: ServerUser) -> Result<(), SandboxError> {
    places::make(dir).map_err(SandboxError::io(dir))?;
    // An empty directory someone else made (a predictable name in a
    // shared directory, planted before root runs tsmn) is not used.
    trust::closed_path(dir).map_err(|detail| SandboxError::Command {
        what: format!("using {} for the sandbox", dir.display()),
        detail,
        fix: "choose a directory of your own with --dir (or use the default)".into(),
    })?;
    if !user.can_enter(dir) {
        // The server user must pass through to its node directories, but
        // the sandbox directory stays ours: whoever owns it could replace
        // the marker that root acts on.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
            .map_err(SandboxError::io(dir))?;
        if !user.can_enter(dir) {
            return Err(SandboxError::Unreachable {
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

impl Sandbox {
    /// Create (or, when it exists, start) a sandbox with `data_nodes` data nodes.
    pub fn up(
        dir: &Path,
        data_nodes: usize,
        pg_bindir: Option<&Path>,
        progress: &dyn Progress,
    ) -> Result<Sandbox, SandboxError> {
        let dir = absolute(dir)?;
        if dir.join(MARKER).exists() {
            let sandbox = Sandbox::open(&dir)?;
            let existing = sandbox.clusters.len() - 1;
            if existing != data_nodes {
                return Err(SandboxError::Mismatch {
                    dir,
                    existing,
                    wanted: data_nodes,
                });
            }
            progress.say(&format!(
                "sandbox already exists in {}; starting any node that is down",
                dir.display()
            ));
            sandbox.start_all(progress)?;
            return Ok(sandbox);
        }
        if dir.exists()
            && std::fs::read_dir(&dir)
                .map_err(SandboxError::io(&dir))?
                .next()
                .is_some()
        {
            return Err(SandboxError::NotEmpty { dir });
        }
        let bin = PgBin::find(pg_bindir)?;
        let user = ServerUser::detect()?;
        prepare_dir(&dir, user)?;
        progress.say(&format!(
            "PostgreSQL {} from {}",
            bin.version,
            bin.bindir.display()
        ));
        let names: Vec<String> = std::iter::once(ACCESS_NODE.to_string())
            .chain((1..=data_nodes).map(|i| format!("dn{i}")))
            .collect();
        let ports = free_ports(names.len()).map_err(SandboxError::io("127.0.0.1"))?;
        let marker = Marker {
            pg_bindir: bin.bindir.clone(),
            nodes: names
                .iter()
                .zip(&ports)
                .map(|(n, p)| MarkedNode {
                    name: n.clone(),
                    port: *p,
                })
                .collect(),
        };
        // The marker goes first, so that `down` can clean up a half-made sandbox.
        write_marker(&dir, &marker)?;
        progress.say("preparing the template cluster (initdb runs once per PostgreSQL version)");
        let clusters = std::thread::scope(|s| {
            let handles: Vec<_> = marker
                .nodes
                .iter()
                .map(|n| {
                    let (bin, dir) = (&bin, &dir);
                    s.spawn(move || {
                        let spec = ClusterSpec {
                            name: n.name.clone(),
                            ..Default::default()
                        };
                        Cluster::create(&spec, dir.join(&n.name), n.port, bin, user)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("cluster creation thread panicked"))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let sandbox = Sandbox {
            dir: dir.clone(),
            clusters,
        };
        sandbox.start_all(progress)?;
        let plan = sandbox.plan();
        let plan_path = dir.join(PLAN_FILE);
        std::fs::write(
            &plan_path,
            plan_header() + &crate::plan::plan_to_toml(&plan),
        )
        .map_err(SandboxError::io(&plan_path))?;
        if bin.has_extension("timescaledb") {
            progress.say("TimescaleDB is installed: every node preloads it");
        } else {
            progress.say(
                "TimescaleDB is not installed for this PostgreSQL: tsmn can still check, show, export and run \
                 every step that does not need it (settings and authentication)",
            );
        }
        Ok(sandbox)
    }

    /// Open an existing sandbox from its marker.
    /// Whether `data` is the data directory of a node of a trusted
    /// sandbox, listed in its marker with this port: such a server is
    /// tsmn's own, always tsmn's to restart.
    pub fn owns(data: &Path, port: &str) -> bool {
        let (Some(node_dir), Some(name)) = (data.parent(), data.parent().and_then(Path::file_name))
        else {
            return false;
        };
        let Some(dir) = node_dir.parent() else {
            return false;
        };
        if data.file_name() != Some(std::ffi::OsStr::new("data")) {
            return false;
        }
        Sandbox::open(dir).is_ok_and(|sb| {
            sb.clusters
                .iter()
                .any(|c| std::ffi::OsStr::new(&c.name) == name && c.port.to_string() == port)
        })
    }

    pub fn open(dir: &Path) -> Result<Sandbox, SandboxError> {
        let dir = absolute(dir)?;
        let marker_path = dir.join(MARKER);
        if !marker_path.is_file() {
            return Err(SandboxError::NotASandbox {
                dir,
                marker: MARKER,
            });
        }
        let text = std::fs::read_to_string(&marker_path).map_err(SandboxError::io(&marker_path))?;
        let marker: Marker = toml::from_str(&text).map_err(|e| SandboxError::BadMarker {
            path: marker_path.clone(),
            detail: e.message().to_string(),
        })?;
        // Whatever the marker says is acted on as root (programs run, trees
        // removed): nothing in it is trusted until it is proven harmless.
        trust::marker(&dir, &marker_path, &marker).map_err(|detail| SandboxError::BadMarker {
            path: marker_path.clone(),
            detail,
        })?;
        let bin = PgBin::at(&marker.pg_bindir)?;
        let user = ServerUser::detect()?;
        let clusters = marker
            .nodes
            .iter()
            .map(|n| Cluster::open(&n.name, dir.join(&n.name), n.port, bin.clone(), user))
            .collect();
        Ok(Sandbox { dir, clusters })
    }

    fn start_all(&self, progress: &dyn Progress) -> Result<(), SandboxError> {
        let results: Vec<Result<(), SandboxError>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .clusters
                .iter()
                .map(|c| s.spawn(move || c.start()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("start thread panicked"))
                .collect()
        });
        for (c, r) in self.clusters.iter().zip(results) {
            r?;
            progress.say(&format!("{:<4} up on 127.0.0.1:{}", c.name, c.port));
        }
        Ok(())
    }

    /// Stop every node and remove exactly what `up` created.
    pub fn down(self, progress: &dyn Progress) -> Result<(), SandboxError> {
        for c in &self.clusters {
            c.stop(true)?;
            progress.say(&format!("{:<4} stopped", c.name));
        }
        for c in &self.clusters {
            if c.dir.exists() {
                std::fs::remove_dir_all(&c.dir).map_err(SandboxError::io(&c.dir))?;
            }
        }
        // tsmn's own state for the sandbox's plan (certificates, journal) goes too.
        let state = crate::plan::state_dir(&self.dir.join(PLAN_FILE));
        if state.is_dir() {
            std::fs::remove_dir_all(&state).map_err(SandboxError::io(&state))?;
        }
        for f in [PLAN_FILE, MARKER] {
            let p = self.dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(SandboxError::io(&p))?;
            }
        }
        // Leave the directory if the operator put anything else in it.
        let _ = std::fs::remove_dir(&self.dir);
        progress.say(&format!("removed the sandbox in {}", self.dir.display()));
        Ok(())
    }

    /// The plan describing this sandbox: the access node reaches the data
    /// nodes over 127.0.0.1; tsmn connects through each node's socket.
    pub fn plan(&self) -> Plan {
        let dns: Vec<&Cluster> = self.clusters[1..].iter().collect();
        plan_over(&self.clusters[0], &dns, AuthMode::Trust)
    }

    pub fn access_node(&self) -> &Cluster {
        &self.clusters[0]
    }
    pub fn data_nodes(&self) -> &[Cluster] {
        &self.clusters[1..]
    }
}

/// A plan over local clusters: the access node reaches the data nodes over
/// 127.0.0.1; tsmn connects through each node's socket.
pub fn plan_over(an: &Cluster, dns: &[&Cluster], mode: AuthMode) -> Plan {
    let node = |c: &Cluster| Node {
        name: c.name.clone(),
        host: "127.0.0.1".into(),
        port: i64::from(c.port),
        connect_host: Some(c.socket_dir().display().to_string()),
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    };
    Plan {
        database: crate::plan::defaults::database(),
        superuser: crate::plan::defaults::superuser(),
        credentials: Credentials::default(),
        access_node_addresses: vec!["127.0.0.1".into()],
        access_node: node(an),
        data_nodes: dns.iter().map(|c| node(c)).collect(),
        auth: Auth {
            mode,
            ..Auth::default()
        },
        adopted: false,
        maintenance: Default::default(),
    }
    .normalized()
}

fn plan_header() -> String {
    "# tsmn plan written by `tsmn sandbox up`.\n\
     # tsmn reaches each node through its private Unix socket (connect_host);\n\
     # the access node reaches the data nodes over 127.0.0.1.\n\n"
        .to_string()
}

fn write_marker(dir: &Path, marker: &Marker) -> Result<(), SandboxError> {
    let path = dir.join(MARKER);
    let text = "# Made by `tsmn sandbox up`; `tsmn sandbox down` removes what it lists.\n"
        .to_string()
        + &toml::to_string(marker).expect("marker serializes");
    std::fs::write(&path, text).map_err(SandboxError::io(&path))
}

fn absolute(dir: &Path) -> Result<PathBuf, SandboxError> {
    if dir.is_absolute() {
        Ok(dir.to_path_buf())
    } else {
        let cwd = std::env::current_dir().map_err(SandboxError::io("."))?;
        Ok(cwd.join(dir))
    }
}
