use std::path::PathBuf;

/// What went wrong with a local cluster; each message ends with the fix.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no PostgreSQL server binaries found (looked for `pg_config` on PATH and in /usr/lib/postgresql/*/bin)\n    fix: install the server, e.g. `apt-get install postgresql`, or pass --pg-bindir DIR")]
    NoPostgres,
    #[error("{dir} holds no `{program}`\n    fix: pass the directory that holds initdb, pg_ctl and postgres (see `pg_config --bindir`)")]
    MissingProgram { dir: PathBuf, program: &'static str },
    #[error("running as root, but there is no `postgres` OS user to run the servers as (initdb refuses root)\n    fix: install the postgresql package (it creates the user), or run tsmn as an ordinary user")]
    NoPostgresUser,
    #[error("the `postgres` OS user cannot reach {dir} (a parent directory is private)\n    fix: choose a --dir the postgres user can reach, e.g. under /tmp")]
    Unreachable { dir: PathBuf },
    #[error("{what} failed: {detail}\n    fix: {fix}")]
    Command {
        what: String,
        detail: String,
        fix: String,
    },
    #[error("{path}: {source}\n    fix: check that the directory exists and is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{dir} is not a tsmn sandbox (no {marker} marker); refusing to touch it\n    fix: pass the --dir that `tsmn sandbox up` created")]
    NotASandbox { dir: PathBuf, marker: &'static str },
    #[error("{dir} already holds a sandbox with {existing} data node(s), not {wanted}\n    fix: run `tsmn sandbox down --dir {dir}` first, or ask for {existing}", dir = dir.display())]
    Mismatch {
        dir: PathBuf,
        existing: usize,
        wanted: usize,
    },
    #[error("the Unix socket path {path} would be {len} bytes; the limit is 107\n    fix: choose a shorter --dir")]
    SocketPathTooLong { path: PathBuf, len: usize },
    #[error("{dir} exists and is not empty, and it is not a tsmn sandbox\n    fix: choose a new or empty --dir")]
    NotEmpty { dir: PathBuf },
    #[error("the sandbox marker {path} is damaged: {detail}\n    fix: stop the servers by hand (pg_ctl -D DIR/NODE/data stop) and remove the directory")]
    BadMarker { path: PathBuf, detail: String },
}

impl SandboxError {
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SandboxError {
        let path = path.into();
        move |source| SandboxError::Io { path, source }
    }
}
