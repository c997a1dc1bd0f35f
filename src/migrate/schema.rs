//! The schema, by the installed PostgreSQL's own pg_dump and pg_restore:
//! the access node's database dumped once (pre-data and post-data, no
//! rows), its table of contents split by `toc` (what would keep the
//! target multi-node left out), pre-data restored before the rows,
//! post-data after, what needs the continuous aggregates after them, each
//! part in one psql transaction with tsmn's record of it. The distributed hypertables become
//! regular hypertables (`create_hypertable`) with their time dimension and
//! chunk interval; compression settings follow the rows.

use super::connect::TargetAddr;
use super::source::{Hypertable, Source};
use super::toc::{self, EXCLUDED_SCHEMAS};
use super::MigrateError;
use crate::plan::Node;
use crate::quote::sql::{ident, literal};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What becomes of a space (closed) dimension on the one target server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SpaceDimension {
    /// Dropped (the default): on one server space partitions only split
    /// each time range into more, smaller chunks; TimescaleDB advises
    /// against them outside multi-node. The column and its indexes stay.
    #[default]
    Drop,
    /// Kept, with its number of partitions.
    Keep,
}

/// PURE: the chunk interval as create_hypertable takes it.
fn interval_sql(column_type: &str, i: i64) -> String {
    if super::preflight::is_time_type(column_type) {
        format!("INTERVAL '{i} microseconds'")
    } else {
        i.to_string()
    }
}

/// PURE: `h` made a regular hypertable on the target (tables empty, no
/// default indexes: the source's indexes come with post-data).
pub fn hypertable_sql(h: &Hypertable, space: SpaceDimension) -> String {
    let time = h.dimensions.iter().find(|d| d.interval.is_some());
    let closed = h.dimensions.iter().find(|d| d.partitions.is_some());
    let mut args = vec![literal(&h.name.sql())];
    if let Some(t) = time {
        args.push(literal(&t.column));
        if let (SpaceDimension::Keep, Some(c)) = (space, closed) {
            args.push(format!("partitioning_column => {}", literal(&c.column)));
            args.push(format!(
                "number_partitions => {}",
                c.partitions.unwrap_or(1)
            ));
        }
        args.push(format!(
            "chunk_time_interval => {}",
            interval_sql(&t.column_type, t.interval.unwrap_or(0))
        ));
    }
    args.push("create_default_indexes => false".into());
    format!("SELECT create_hypertable({});", args.join(", "))
}

/// PURE: the source's compression settings on the target's hypertable.
pub fn compression_sql(h: &Hypertable) -> Option<String> {
    let mut opts = vec!["timescaledb.compress".to_string()];
    opts.extend(compression_options(h.compression.as_ref()?));
    Some(format!(
        "ALTER TABLE {} SET ({});",
        h.name.sql(),
        opts.join(", ")
    ))
}

/// PURE: the segmentby and orderby options of `c` (a hypertable's or a
/// continuous aggregate's).
pub fn compression_options(c: &super::source::Compression) -> Vec<String> {
    let mut opts = Vec::new();
    if !c.segmentby.is_empty() {
        let cols: Vec<String> = c.segmentby.iter().map(|s| ident(s)).collect();
        opts.push(format!(
            "timescaledb.compress_segmentby = {}",
            literal(&cols.join(", "))
        ));
    }
    if !c.orderby.is_empty() {
        let cols: Vec<String> = c
            .orderby
            .iter()
            .map(|(col, asc, nulls_first)| {
                format!(
                    "{} {} {}",
                    ident(col),
                    if *asc { "ASC" } else { "DESC" },
                    if *nulls_first {
                        "NULLS FIRST"
                    } else {
                        "NULLS LAST"
                    }
                )
            })
            .collect();
        opts.push(format!(
            "timescaledb.compress_orderby = {}",
            literal(&cols.join(", "))
        ));
    }
    opts
}

/// How pg_dump, pg_restore and psql reach a server: libpq's environment
/// (never argv for a secret: a password goes into a 0600 passfile).
#[derive(Clone)]
pub struct ToolEnv {
    pub vars: Vec<(String, String)>,
}

impl ToolEnv {
    fn apply(&self, cmd: &mut Command) {
        for k in ["PGSERVICE", "PGPASSWORD", "PGOPTIONS"] {
            cmd.env_remove(k);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
    }
}

/// The environment for a server at `host:port`, database `db`, as `user`.
pub fn tool_env(
    host: &str,
    port: u16,
    db: &str,
    user: &str,
    passfile: Option<&Path>,
    sslmode: &str,
) -> ToolEnv {
    let mut vars = vec![
        ("PGHOST".into(), host.to_string()),
        ("PGPORT".into(), port.to_string()),
        ("PGDATABASE".into(), db.to_string()),
        ("PGUSER".into(), user.to_string()),
        ("PGAPPNAME".into(), "tsmn migrate".into()),
        ("PGSSLMODE".into(), sslmode.to_string()),
        ("PGOPTIONS".into(), "-c statement_timeout=0".into()),
    ];
    if let Some(p) = passfile {
        vars.push(("PGPASSFILE".into(), p.display().to_string()));
    }
    ToolEnv { vars }
}

/// A passfile (0600) with the lines tsmn needs for its tools; None when
/// tsmn has no password to give (libpq's own habits then apply).
pub fn write_passfile(
    dir: &Path,
    lines: &[(String, u16, String, String, secrecy::SecretString)],
) -> Result<Option<PathBuf>, MigrateError> {
    use secrecy::ExposeSecret;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if lines.is_empty() {
        return Ok(None);
    }
    let path = dir.join("migrate.pgpass");
    let text: String = lines
        .iter()
        .map(|(h, p, d, u, pw)| {
            // libpq matches a socket directory as "localhost".
            let host = if h.starts_with('/') { "localhost" } else { h };
            crate::quote::pgpass::line(host, &p.to_string(), d, u, pw.expose_secret())
        })
        .collect();
    let _ = std::fs::remove_file(&path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| MigrateError::Failed(format!("{}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| MigrateError::Failed(format!("{}: {e}", path.display())))?;
    Ok(Some(path))
}

fn run(cmd: &mut Command, what: &str) -> Result<String, MigrateError> {
    tracing::debug!("running {what}");
    let out = cmd.output().map_err(|e| {
        MigrateError::Failed(format!(
            "{what}: cannot run it: {e}\n    fix: install the PostgreSQL client programs (pg_dump, pg_restore, psql) of the source's version"
        ))
    })?;
    if !out.status.success() {
        return Err(MigrateError::Failed(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The access node's schema as SQL, in the three parts restored apart.
#[derive(Debug, Clone, Default)]
pub struct Dumped {
    pub pre: String,
    pub post: String,
    /// What needs the continuous aggregates (`toc`), restored after them.
    pub late: String,
}

/// The access node's schema, dumped and split.
pub fn dump(
    bindir: &Path,
    an: &ToolEnv,
    work: &Path,
    source: &Source,
    an_node: &Node,
) -> Result<Dumped, MigrateError> {
    let file = work.join("migrate-schema.dump");
    // A new file, not the old one rewritten: a killed run's pg_dump may
    // still write to that one.
    let _ = std::fs::remove_file(&file);
    let mut cmd = Command::new(bindir.join("pg_dump"));
    an.apply(&mut cmd);
    // The sections, not --schema-only: post-data then holds each
    // materialized view's refresh (restored late, see `toc`).
    cmd.args([
        "--section=pre-data",
        "--section=post-data",
        "--format=custom",
        "--no-password",
        "--file",
    ])
    .arg(&file);
    for s in EXCLUDED_SCHEMAS {
        cmd.arg(format!("--exclude-schema={s}"));
    }
    run(
        &mut cmd,
        &format!("pg_dump of {} on {}", source.database, an_node.name),
    )?;
    let list = run(
        Command::new(bindir.join("pg_restore"))
            .arg("--list")
            .arg(&file),
        "pg_restore --list",
    )?;
    let nodes: Vec<String> = source.data_nodes.iter().map(|d| d.name.clone()).collect();
    let caggs: Vec<_> = source.caggs.iter().map(|c| c.name.clone()).collect();
    let lists = toc::filter(
        &list,
        &toc::Known {
            data_nodes: &nodes,
            caggs: &caggs,
            dependents: &source.cagg_dependents,
        },
    );
    let write = |name: &str, text: &str| {
        let f = work.join(name);
        std::fs::write(&f, text)
            .map(|_| f.clone())
            .map_err(|e| MigrateError::Failed(format!("{}: {e}", f.display())))
    };
    let main = write("migrate-schema.list", &lists.main)?;
    let late = write("migrate-schema-late.list", &lists.late)?;
    let restore = |list: &Path, section: Option<&str>| {
        let mut cmd = Command::new(bindir.join("pg_restore"));
        if let Some(s) = section {
            cmd.arg(format!("--section={s}"));
        }
        cmd.arg("--use-list")
            .arg(list)
            .args(["--file", "-"])
            .arg(&file);
        run(
            &mut cmd,
            &format!("pg_restore --section={}", section.unwrap_or("all")),
        )
    };
    Ok(Dumped {
        pre: restore(&main, Some("pre-data"))?,
        post: restore(&main, Some("post-data"))?,
        late: restore(&late, None)?,
    })
}

/// Run `script` on the target in one transaction (psql -1, stopping at the
/// first error).
pub fn restore(
    bindir: &Path,
    target: &ToolEnv,
    script: &str,
    work: &Path,
    what: &str,
    t: &TargetAddr,
) -> Result<(), MigrateError> {
    restore_as(
        bindir,
        target,
        script,
        &work.join("migrate-restore.sql"),
        what,
        t,
    )
}

/// `restore` through the script file `file` (one per restore running at
/// the same time).
pub fn restore_as(
    bindir: &Path,
    target: &ToolEnv,
    script: &str,
    file: &Path,
    what: &str,
    t: &TargetAddr,
) -> Result<(), MigrateError> {
    // A new file: a killed run's psql may still be reading the old one.
    let _ = std::fs::remove_file(file);
    std::fs::write(file, script)
        .map_err(|e| MigrateError::Failed(format!("{}: {e}", file.display())))?;
    let mut cmd = Command::new(bindir.join("psql"));
    target.apply(&mut cmd);
    cmd.args([
        "-X",
        "-q",
        "--no-password",
        "-v",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        "-f",
    ])
    .arg(file);
    run(
        &mut cmd,
        &format!("restoring the {what} on the target {}", t.shown()),
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::{Compression, Dimension};
    use crate::migrate::QualifiedName;

    fn ht() -> Hypertable {
        Hypertable {
            name: QualifiedName::new("public", "Metrics"),
            distributed: true,
            replication_factor: 1,
            dimensions: vec![
                Dimension {
                    column: "time".into(),
                    column_type: "timestamp with time zone".into(),
                    interval: Some(86_400_000_000),
                    partitions: None,
                },
                Dimension {
                    column: "device".into(),
                    column_type: "integer".into(),
                    interval: None,
                    partitions: Some(2),
                },
            ],
            compression: Some(Compression {
                segmentby: vec!["device".into()],
                orderby: vec![("time".into(), false, true)],
            }),
            columns: vec![],
            bytes: vec![],
        }
    }

    #[test]
    fn hypertables_and_compression_as_sql() {
        assert_eq!(
            hypertable_sql(&ht(), SpaceDimension::Drop),
            "SELECT create_hypertable('\"public\".\"Metrics\"', 'time', chunk_time_interval => INTERVAL '86400000000 microseconds', create_default_indexes => false);"
        );
        assert!(hypertable_sql(&ht(), SpaceDimension::Keep)
            .contains("partitioning_column => 'device', number_partitions => 2"));
        assert_eq!(
            compression_sql(&ht()).unwrap(),
            "ALTER TABLE \"public\".\"Metrics\" SET (timescaledb.compress, timescaledb.compress_segmentby = '\"device\"', timescaledb.compress_orderby = '\"time\" DESC NULLS FIRST');"
        );
    }
}
