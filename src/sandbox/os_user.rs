//! initdb and postgres refuse to run as root; as root we run them as `postgres`.

use super::error::SandboxError;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// The OS user the servers run as: ourselves, or `postgres` when we are root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerUser {
    Current,
    Other { uid: u32, gid: u32 },
}

impl ServerUser {
    pub fn detect() -> Result<ServerUser, SandboxError> {
        if crate::os::euid() != 0 {
            return Ok(ServerUser::Current);
        }
        lookup("postgres").ok_or(SandboxError::NoPostgresUser)
    }

    /// A command that runs as the server user. std drops root's supplementary
    /// groups when it switches uid.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        if let ServerUser::Other { uid, gid } = *self {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// A command that runs a server (or pg_ctl, which starts one) as the
    /// server user: when that is another account, with that account's
    /// HOME (`own_dir` when it has no usable one), not the caller's.
    pub fn server_command(&self, program: impl AsRef<std::ffi::OsStr>, own_dir: &Path) -> Command {
        let mut cmd = self.command(program);
        if let ServerUser::Other { uid, .. } = *self {
            cmd.env("HOME", crate::os::home_for(uid, own_dir));
        }
        cmd
    }

    /// Give `path` to the server user (no-op when that is us).
    pub fn chown(&self, path: &Path) -> Result<(), SandboxError> {
        if let ServerUser::Other { uid, gid } = *self {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(SandboxError::io(path))?;
        }
        Ok(())
    }

    /// Whether the server user can pass through `dir` (to its own node
    /// directories below; it needs no write access to `dir` itself).
    pub fn can_enter(&self, dir: &Path) -> bool {
        match self {
            ServerUser::Current => true,
            ServerUser::Other { .. } => self
                .command("test")
                .arg("-x")
                .arg(dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false),
        }
    }
}

fn lookup(name: &str) -> Option<ServerUser> {
    crate::os::account(name).map(|a| ServerUser::Other {
        uid: a.uid,
        gid: a.gid,
    })
}
