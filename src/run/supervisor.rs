//! Who runs a postmaster, read from the process itself (its cgroup and its
//! parent), not from path conventions. A server run by systemd, Patroni,
//! a process supervisor or in a container is restarted through that, never
//! behind its back with pg_ctl (the supervisor would lose track of it, or
//! start a second one). A parent that is PID 1 or a reaper (what pg_ctl
//! leaves behind: it daemonizes the server) is no supervisor by itself;
//! these machines run everything under such a PID 1.

/// What runs the server, and how an operator restarts it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supervisor {
    Systemd {
        unit: String,
    },
    Container {
        runtime: &'static str,
    },
    Patroni {
        pid: u32,
    },
    Process {
        name: String,
        pid: u32,
    },
    /// The postmaster is PID 1 of its own PID namespace (a container's
    /// main process): stopping it ends the container, and nothing here
    /// would start it again.
    Init,
}

impl Supervisor {
    /// Who runs it, for the message.
    pub fn what(&self) -> String {
        match self {
            Supervisor::Systemd { unit } => format!("systemd unit {unit}"),
            Supervisor::Container { runtime } => format!("a {runtime} container"),
            Supervisor::Patroni { pid } => format!("Patroni (pid {pid})"),
            Supervisor::Process { name, pid } => format!("the supervisor {name} (pid {pid})"),
            Supervisor::Init => "its container (the postmaster is the container's PID 1)".into(),
        }
    }

    /// The command that restarts it through its owner.
    pub fn command(&self) -> String {
        match self {
            Supervisor::Systemd { unit } => format!("systemctl restart {unit}"),
            Supervisor::Container { .. } => {
                "restart the container (or the server inside it) with its runtime".into()
            }
            Supervisor::Patroni { .. } => "patronictl restart <cluster> <member>".into(),
            Supervisor::Process { name, .. } => format!("restart it through {name}"),
            Supervisor::Init => "restart the container with its runtime (docker restart <container>, podman restart <container>, or kubectl rollout restart)".into(),
        }
    }
}

/// Parents that supervise the processes they start (their child's
/// restart is theirs). Shells are not among them, nor is a PID 1 that is
/// a plain init or reaper; a container's init (tini, dumb-init,
/// docker-init) is, even as PID 1: the container ends with its child.
const SUPERVISORS: &[&str] = &[
    "supervisord",
    "runsv",
    "s6-supervise",
    "systemd",
    "containerd-shim",
    "conmon",
    "tini",
    "dumb-init",
    "docker-init",
    "monit",
];

/// The inits that run a container's main process as PID 1 and exit with it.
const CONTAINER_INITS: &[&str] = &["tini", "dumb-init", "docker-init"];

const CONTAINER_MARKS: &[(&str, &str)] = &[
    ("kubepods", "Kubernetes"),
    ("docker", "Docker"),
    ("libpod", "Podman"),
    ("containerd", "containerd"),
    ("lxc", "LXC"),
];

/// The systemd or unified hierarchy's path of a /proc/<pid>/cgroup text
/// (other v1 controllers are per-job here and say nothing).
fn unit_path(cgroup: &str) -> Option<&str> {
    cgroup
        .lines()
        .find_map(|l| l.strip_prefix("1:name=systemd:"))
        .or_else(|| cgroup.lines().find_map(|l| l.strip_prefix("0::")))
        .filter(|p| !p.is_empty() && *p != "/")
}

/// PURE: the supervisor, from the server's cgroup text, tsmn's own, and
/// the server's parent (pid, comm, command line).
pub fn judge(
    cgroup: &str,
    own_cgroup: &str,
    parent: Option<(u32, &str, &str)>,
) -> Option<Supervisor> {
    if let Some(path) = unit_path(cgroup).filter(|p| Some(*p) != unit_path(own_cgroup)) {
        if let Some((_, runtime)) = CONTAINER_MARKS.iter().find(|(m, _)| path.contains(m)) {
            return Some(Supervisor::Container { runtime });
        }
        if let Some(unit) = path.rsplit('/').find(|c| {
            c.ends_with(".service") && !c.starts_with("user@") && !c.starts_with("session-")
        }) {
            return Some(Supervisor::Systemd { unit: unit.into() });
        }
    }
    let (pid, comm, cmdline) = parent?;
    let container_init = CONTAINER_INITS.contains(&comm);
    if pid <= 1 && !container_init {
        return None;
    }
    if comm.contains("patroni") || cmdline.contains("patroni") {
        return Some(Supervisor::Patroni { pid });
    }
    SUPERVISORS
        .iter()
        .find(|s| comm == **s || comm.starts_with(&format!("{s}-")))
        .map(|s| Supervisor::Process {
            name: (*s).to_string(),
            pid,
        })
}

/// The supervisor of the running process `pid`, read from /proc.
pub fn of(pid: u32) -> Option<Supervisor> {
    // Seen as PID 1 from here: tsmn runs in the server's own container.
    if pid == 1 {
        return Some(Supervisor::Init);
    }
    let read = |p: String| std::fs::read_to_string(p).unwrap_or_default();
    let cgroup = read(format!("/proc/{pid}/cgroup"));
    let own = read("/proc/self/cgroup".into());
    let stat = read(format!("/proc/{pid}/stat"));
    // Field 4, after the parenthesized command (which may hold spaces).
    let ppid = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|p| p.parse::<u32>().ok());
    let parent = ppid.map(|pp| {
        let comm = read(format!("/proc/{pp}/comm")).trim().to_string();
        let cmdline = read(format!("/proc/{pp}/cmdline")).replace('\0', " ");
        (pp, comm, cmdline)
    });
    judge(
        &cgroup,
        &own,
        parent
            .as_ref()
            .map(|(p, c, l)| (*p, c.as_str(), l.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: &str = "9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n";

    #[test]
    fn a_systemd_unit_is_named_from_the_cgroup() {
        let cg = "0::/system.slice/system-postgresql.slice/postgresql@15-main.service\n";
        assert_eq!(
            judge(cg, HERE, Some((1, "systemd", "/sbin/init"))),
            Some(Supervisor::Systemd {
                unit: "postgresql@15-main.service".into()
            })
        );
        let v1 = "1:name=systemd:/system.slice/pg-custom.service\n0::/\n";
        assert_eq!(
            judge(v1, HERE, None).map(|s| s.command()),
            Some("systemctl restart pg-custom.service".into())
        );
    }

    #[test]
    fn containers_and_patroni_and_supervisors() {
        let cg = "0::/kubepods/burstable/pod1/abc\n";
        assert!(matches!(
            judge(cg, HERE, None),
            Some(Supervisor::Container {
                runtime: "Kubernetes"
            })
        ));
        assert!(matches!(
            judge(
                HERE,
                HERE,
                Some((812, "python3", "python3 /usr/bin/patroni /etc/patroni.yml"))
            ),
            Some(Supervisor::Patroni { pid: 812 })
        ));
        assert!(matches!(
            judge(HERE, HERE, Some((90, "runsv", "runsv postgres"))),
            Some(Supervisor::Process { .. })
        ));
    }

    #[test]
    fn pid_1_a_shell_and_tsmns_own_cgroup_are_no_supervisor() {
        assert_eq!(
            judge(HERE, HERE, Some((1, "process_api", "/process_api"))),
            None
        );
        assert_eq!(judge(HERE, HERE, Some((4242, "bash", "bash"))), None);
        // A container's init as PID 1 supervises: the container ends with
        // its child, so pg_ctl would stop the container.
        assert!(matches!(
            judge(HERE, HERE, Some((1, "tini", "/sbin/tini -- postgres"))),
            Some(Supervisor::Process { ref name, pid: 1 }) if name == "tini"
        ));
        assert_eq!(
            judge(HERE, HERE, Some((1, "docker-init", "/sbin/docker-init"))).map(|s| s.what()),
            Some("the supervisor docker-init (pid 1)".into())
        );
        assert_eq!(of(1), Some(Supervisor::Init));
        // The same unit as tsmn's own (a sandbox started from this session).
        let mine = "0::/user.slice/user-0.slice/session-3.scope\n";
        assert_eq!(judge(mine, mine, Some((1, "systemd", "/sbin/init"))), None);
        // A login session's scope is not a service.
        let user = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n";
        assert_eq!(judge(user, HERE, None), None);
    }
}
