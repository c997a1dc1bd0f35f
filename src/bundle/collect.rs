//! ASYNC: what goes into the bundle, read from every node at once (each
//! bounded on its own: a node that is down or hangs gets a file saying
//! so) and from tsmn's own files beside the plan.

use super::{tail, Entry};
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::ProbeOptions;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Lines of each server's log and of tsmn's own log kept.
pub const LOG_LINES: usize = 200;

/// Every node: (file, what it is, query). The results are tables of text.
const EVERY_NODE: [(&str, &str, &str); 3] = [
    (
        "versions.tsv",
        "PostgreSQL and TimescaleDB versions",
        "SELECT version() AS postgres, (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb",
    ),
    (
        "settings.tsv",
        "settings not at their default (pg_settings.source <> 'default'), passwords and passphrase commands masked",
        "SELECT name, CASE WHEN name LIKE '%passphrase%' THEN '***' ELSE setting END, unit, source, sourcefile, sourceline, pending_restart FROM pg_settings WHERE source <> 'default' ORDER BY name",
    ),
    (
        "pg_prepared_xacts.tsv",
        "prepared (two-phase) transactions on the server",
        "SELECT gid, database, owner, prepared, now() - prepared AS age FROM pg_prepared_xacts ORDER BY prepared",
    ),
];

/// The access node's multi-node catalogs, in the cluster database.
const ACCESS_NODE: [(&str, &str, &str); 9] = [
    (
        "data_nodes.tsv",
        "data nodes (timescaledb_information.data_nodes)",
        "SELECT * FROM timescaledb_information.data_nodes ORDER BY node_name",
    ),
    (
        "hypertables.tsv",
        "hypertables (timescaledb_information.hypertables)",
        "SELECT * FROM timescaledb_information.hypertables ORDER BY 1, 2",
    ),
    (
        "dimensions.tsv",
        "their dimensions (timescaledb_information.dimensions)",
        "SELECT * FROM timescaledb_information.dimensions ORDER BY 1, 2, 3",
    ),
    (
        "chunks.tsv",
        "chunks (timescaledb_information.chunks)",
        "SELECT * FROM timescaledb_information.chunks ORDER BY 1, 2, 3, 4",
    ),
    (
        "chunk_placement.tsv",
        "where each chunk has a copy (_timescaledb_catalog.chunk_data_node)",
        "SELECT c.schema_name, c.table_name, cdn.node_name, cdn.node_chunk_id \
         FROM _timescaledb_catalog.chunk_data_node cdn JOIN _timescaledb_catalog.chunk c ON c.id = cdn.chunk_id \
         ORDER BY 1, 2, 3",
    ),
    (
        "jobs.tsv",
        "background jobs (timescaledb_information.jobs)",
        "SELECT * FROM timescaledb_information.jobs ORDER BY job_id",
    ),
    (
        "job_stats.tsv",
        "their last runs (timescaledb_information.job_stats)",
        "SELECT * FROM timescaledb_information.job_stats ORDER BY job_id",
    ),
    (
        "job_errors.tsv",
        "their errors (timescaledb_information.job_errors, where the version has it)",
        "SELECT * FROM timescaledb_information.job_errors ORDER BY start_time DESC LIMIT 200",
    ),
    (
        "remote_txn.tsv",
        "two-phase transaction records kept for healing (_timescaledb_catalog.remote_txn)",
        "SELECT * FROM _timescaledb_catalog.remote_txn",
    ),
];

/// Everything from the servers: per node its files, or why it has none.
pub async fn from_servers(plan: &Plan, connect_timeout: Duration) -> Vec<Entry> {
    let passwords = PasswordSource::from_plan(plan);
    let opts = ProbeOptions::with_connect_timeout(connect_timeout);
    let tls = match Tls::from_plan(plan) {
        Ok(t) => t,
        Err(e) => {
            return vec![Entry::masked(
                "unreachable.txt",
                "why no server was read",
                &format!("the plan's TLS files cannot be used: {e}\n"),
            )]
        }
    };
    let work = plan.nodes().enumerate().map(|(i, node)| {
        let (passwords, tls) = (&passwords, &tls);
        async move {
            let read = one_node(plan, node, i == 0, passwords, tls, opts);
            match tokio::time::timeout(opts.node_budget, read).await {
                Ok(entries) => entries,
                Err(_) => vec![unreachable(
                    node,
                    &format!("no answer within {} s", opts.node_budget.as_secs()),
                )],
            }
        }
    });
    futures_util::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn unreachable(node: &Node, why: &str) -> Entry {
    Entry::masked(
        format!("{}/unreachable.txt", node.name),
        "why tsmn could not read this node",
        &format!("{why}\n"),
    )
}

async fn one_node(
    plan: &Plan,
    node: &Node,
    access: bool,
    passwords: &PasswordSource,
    tls: &Tls,
    opts: ProbeOptions,
) -> Vec<Entry> {
    let connect = |db: &str| {
        let cfg = crate::probe::config(node, &plan.superuser, db, passwords, opts, tls);
        async move { crate::probe::connect(&cfg, tls, opts, None).await }
    };
    let client = match connect(&plan.database).await {
        Ok(c) => c,
        Err(_) => match connect("postgres").await {
            Ok(c) => c,
            Err(e) => return vec![unreachable(node, &e.problem().unwrap_or_default())],
        },
    };
    let mut out = Vec::new();
    let name = &node.name;
    let queries = EVERY_NODE.iter().chain(if access {
        ACCESS_NODE.iter()
    } else {
        [].iter()
    });
    for (file, about, sql) in queries {
        out.push(Entry::masked(
            format!("{name}/{file}"),
            *about,
            &table(&client, sql).await,
        ));
    }
    out.push(Entry::masked(
        format!("{name}/pg_hba.conf"),
        "the server's pg_hba.conf (SHOW hba_file)",
        &text_of(&client, "SELECT pg_read_file(current_setting('hba_file'))").await,
    ));
    out.push(Entry::masked(
        format!("{name}/server.log"),
        format!("the last {LOG_LINES} lines of the server's log (pg_current_logfile()), passwords masked"),
        &server_log(&client).await,
    ));
    out
}

/// A query's rows as tab-separated text with a header line; an error
/// becomes the file's one line (a catalog the version lacks, say).
async fn table(client: &Client, sql: &str) -> String {
    let msgs = match client.simple_query(sql).await {
        Ok(m) => m,
        Err(e) => return format!("-- not available: {}\n", crate::run::session::describe(&e)),
    };
    let mut out = String::new();
    for m in msgs {
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
                out.push_str(&names.join("\t"));
                out.push('\n');
            }
            SimpleQueryMessage::Row(r) => {
                let cells: Vec<String> = (0..r.len())
                    .map(|i| r.get(i).unwrap_or("").replace(['\t', '\n'], " "))
                    .collect();
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
            _ => {}
        }
    }
    out
}

async fn text_of(client: &Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(msgs) => msgs
            .into_iter()
            .find_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                _ => None,
            })
            .unwrap_or_default(),
        Err(e) => format!("-- not available: {}\n", crate::run::session::describe(&e)),
    }
}

/// The end of the server's current log file, read as the superuser can.
async fn server_log(client: &Client) -> String {
    const LAST_BYTES: i64 = 256 * 1024;
    let sql = "SELECT f, pg_read_binary_file(f, greatest(0, (pg_stat_file(f)).size - $1), $1) \
               FROM pg_current_logfile() f WHERE f IS NOT NULL";
    match client.query_opt(sql, &[&LAST_BYTES]).await {
        Ok(Some(row)) => {
            let bytes: Vec<u8> = row.get(1);
            tail(&String::from_utf8_lossy(&bytes), LOG_LINES)
        }
        Ok(None) => "-- not available: the server names no log file (pg_current_logfile() is NULL: logging_collector is off, so its log goes where its service manager sends it)\n".into(),
        Err(e) => format!("-- not available: {}\n", crate::run::session::describe(&e)),
    }
}

/// tsmn's own files of this plan: the plan, the run journal(s) beside it
/// (`<plan>.tsmn/*.jsonl` only: that directory also holds keys), and the
/// log files the face names.
pub fn own_files(plan_path: &Path, logs: &[PathBuf]) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(plan_path) {
        out.push(Entry::masked(
            "tsmn/plan.toml",
            "the plan (plans hold no secret; masked anyway)",
            &text,
        ));
    }
    let dir = crate::plan::state_dir(plan_path);
    let mut journals: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    journals.retain(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file());
    journals.sort();
    for p in journals {
        if let (Ok(text), Some(name)) = (std::fs::read_to_string(&p), p.file_name()) {
            out.push(Entry::masked(
                format!("tsmn/{}", name.to_string_lossy()),
                "tsmn apply's journal of this plan: the steps each run finished",
                &text,
            ));
        }
    }
    for (i, p) in logs.iter().enumerate() {
        if let Ok(bytes) = std::fs::read(p) {
            let mine = runs_of(&String::from_utf8_lossy(&bytes), plan_path);
            out.push(Entry::masked(
                format!("tsmn/tsmn-{}.log", i + 1),
                format!(
                    "the last {LOG_LINES} lines of tsmn's log {} from the runs on this plan",
                    p.display()
                ),
                &tail(&mine, LOG_LINES),
            ));
        }
    }
    out
}

/// PURE: the lines of the log that belong to runs on this plan: each run
/// begins with its `started:` line (the command line and, since this
/// version, ` (in DIR)`: the directory it ran in), and a run is kept when
/// a word of that line (or a word's value after `=`) is this plan's path,
/// a relative one taken from that directory. A relative path on a line
/// without its directory names nothing for sure and is left out. The log
/// is the machine's: other clusters' runs stay out.
pub fn runs_of(log: &str, plan_path: &Path) -> String {
    let absolute = std::fs::canonicalize(plan_path).unwrap_or_else(|_| plan_path.to_path_buf());
    let names_plan = |line: &str| {
        let (args, dir) = match line.rsplit_once(" (in ") {
            Some((a, d)) => (a, d.strip_suffix(')').map(Path::new)),
            None => (line, None),
        };
        args.split_whitespace()
            .map(|w| w.rsplit_once('=').map_or(w, |(_, v)| v))
            .any(|w| {
                let p = Path::new(w);
                let full = match (p.is_absolute(), dir) {
                    (true, _) => p.to_path_buf(),
                    (false, Some(d)) => d.join(p),
                    (false, None) => return false,
                };
                lexical(&full) == lexical(&absolute)
            })
    };
    let mut keep = false;
    let mut out = String::new();
    for line in log.lines() {
        if line.contains(" started: ") {
            keep = names_plan(line);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A path with `.` and `..` taken out, without asking the filesystem (the
/// file a logged run named may be gone).
fn lexical(p: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
