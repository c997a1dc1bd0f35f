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
}
