//! The few facts tsmn asks the operating system for, through `nix` (safe
//! wrappers; getpwnam_r and getpwuid_r are reentrant, unlike getpwnam) and
//! `getrandom`, so no other module needs `unsafe`.

use std::path::PathBuf;

/// The caller's effective uid.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// A local account: its uid, primary gid and home directory.
pub struct Account {
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The account called `name`, if the system has one.
pub fn account(name: &str) -> Option<Account> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some(Account {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    })
}

/// The HOME to give a program run as account `uid` (a server tsmn starts
/// as `postgres` when it is root): that account's own home when it is a
/// directory the account owns, else `fallback` (a directory of the
/// server's own). A server must not inherit root's HOME: libpq inside it
/// (dblink, postgres_fdw, TimescaleDB's connections) looks for
/// ~/.postgresql/postgresql.crt there under sslmode=prefer, and fails on
/// /root with "Permission denied".
pub fn home_for(uid: u32, fallback: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let home = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.dir);
    let owner = |p: &std::path::Path| {
        std::fs::metadata(p)
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .map(|m| m.uid())
    };
    choose_home(home.as_deref().map(|h| (h, owner(h))), uid, fallback)
}

/// PURE: the account's home (with the uid owning it, when it is a
/// directory) if it is absolute and the account's own, else `fallback`.
fn choose_home(
    home: Option<(&std::path::Path, Option<u32>)>,
    uid: u32,
    fallback: &std::path::Path,
) -> PathBuf {
    match home {
        Some((h, Some(owner))) if owner == uid && h.is_absolute() => h.to_path_buf(),
        _ => fallback.to_path_buf(),
    }
}

/// The caller's home as libpq finds it (PostgreSQL 16's rule): `HOME` when
/// set and not empty, else the home of the effective uid's account.
pub fn home_dir() -> Option<PathBuf> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.dir),
    }
}

/// Whether a process with this pid exists (signal 0 only checks).
pub fn process_exists(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// `n` random bytes from the operating system's generator.
pub fn random_bytes(n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(buf)
}

/// The terminal is gone (SIGHUP, or EIO on the tty): standard output and
/// error, where they went to a terminal, go to /dev/null from now on, so
/// that what tsmn still says while it finishes the running step cannot
/// fail (Rust's print macros panic on a write error) and the run ends as
/// an interrupt, not an abort. Output into a file or a pipe is kept.
pub fn detach_terminal() {
    let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
        return;
    };
    if on_a_terminal(1) {
        let _ = nix::unistd::dup2_stdout(&null);
    }
    if on_a_terminal(2) {
        let _ = nix::unistd::dup2_stderr(&null);
    }
}

/// Whether the descriptor is a terminal device, by its name: a hung-up
/// terminal no longer answers isatty(), but still has its name.
fn on_a_terminal(fd: u32) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|p| {
        let p = p.to_string_lossy();
        p.starts_with("/dev/pts/") || p.starts_with("/dev/tty") || p == "/dev/console"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_this_process_are_known() {
        assert_eq!(account("root").map(|a| a.uid), Some(0));
        assert!(account("no-such-user-tsmn").is_none());
        assert!(process_exists(std::process::id() as i32));
        let a = random_bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_bytes(32).unwrap());
    }

    #[test]
    fn a_server_s_home_is_its_own_account_s_or_its_own_directory() {
        use std::path::Path;
        let own = Path::new("/srv/sandbox/dn1");
        let pg = Path::new("/var/lib/postgresql");
        assert_eq!(choose_home(Some((pg, Some(101))), 101, own), pg);
        // Someone else's directory (root's), none at all, or a relative path.
        assert_eq!(
            choose_home(Some((Path::new("/root"), Some(0))), 101, own),
            own
        );
        assert_eq!(
            choose_home(Some((Path::new("/nonexistent"), None)), 101, own),
            own
        );
        assert_eq!(
            choose_home(Some((Path::new("home"), Some(101))), 101, own),
            own
        );
        assert_eq!(choose_home(None, 101, own), own);
    }
}
