//! Finding the installed PostgreSQL server programs.

use super::error::SandboxError;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBin {
    pub bindir: PathBuf,
    /// Version as `postgres --version` prints it, e.g. `15.18`.
    pub version: String,
    pub major: u32,
}

impl PgBin {
    /// `explicit` (from --pg-bindir), else `pg_config --bindir` on PATH, else the
    /// newest /usr/lib/postgresql/*/bin.
    pub fn find(explicit: Option<&Path>) -> Result<PgBin, SandboxError> {
        let bindir = match explicit {
            Some(dir) => dir.to_path_buf(),
            None => from_pg_config()
                .or_else(newest_debian)
                .ok_or(SandboxError::NoPostgres)?,
        };
        PgBin::at(&bindir)
    }

    pub fn at(bindir: &Path) -> Result<PgBin, SandboxError> {
        for program in ["initdb", "pg_ctl", "postgres"] {
            if !bindir.join(program).is_file() {
                return Err(SandboxError::MissingProgram {
                    dir: bindir.to_path_buf(),
                    program,
                });
            }
        }
        let out = Command::new(bindir.join("postgres"))
            .arg("--version")
            .output()
            .map_err(SandboxError::io(bindir.join("postgres")))?;
        let text = String::from_utf8_lossy(&out.stdout);
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let version = text.split_whitespace().nth(2).unwrap_or("").to_string();
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        Ok(PgBin {
            bindir: bindir.to_path_buf(),
            version,
            major,
        })
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The directory holding `extension/*.control` for this server.
    pub fn sharedir(&self) -> PathBuf {
        let pg_config = self.program("pg_config");
        if let Ok(out) = Command::new(&pg_config).arg("--sharedir").output() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !dir.is_empty() {
                return PathBuf::from(dir);
            }
        }
        PathBuf::from(format!("/usr/share/postgresql/{}", self.major))
    }

    /// Whether the TimescaleDB extension is installed for this server.
    pub fn has_extension(&self, name: &str) -> bool {
        self.sharedir()
            .join("extension")
            .join(format!("{name}.control"))
            .is_file()
    }
}

fn from_pg_config() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && dir.join("initdb").is_file()).then_some(dir)
}

fn newest_debian() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}
