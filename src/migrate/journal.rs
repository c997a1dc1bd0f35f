//! What a migration has copied, in two places: tsmn's journal beside the
//! plan (`<plan>.tsmn/migrate-<target>.jsonl`, one JSON line per finished
//! part, the record for the operator) and a table on the target
//! (`tsmn_migrate.done`), written in the same transaction as the part's
//! rows. The table decides what a re-run skips: a run killed between a
//! commit and its journal line loses nothing and copies nothing twice. It
//! goes when the migration is verified.

use super::connect::TargetAddr;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tokio_postgres::Client;

/// The schema and table of tsmn's record on the target.
pub const SETUP_SQL: &str = "CREATE SCHEMA IF NOT EXISTS tsmn_migrate;\n\
     CREATE TABLE IF NOT EXISTS tsmn_migrate.done (item text PRIMARY KEY, rows bigint, note text, at timestamptz NOT NULL DEFAULT now());\n";

/// PURE: the statement that records `item` as done (in the part's transaction).
pub fn mark_sql(item: &str, rows: Option<u64>, note: Option<&str>) -> String {
    format!(
        "INSERT INTO tsmn_migrate.done (item, rows, note) VALUES ({}, {}, {})",
        crate::quote::sql::literal(item),
        rows.map_or("NULL".into(), |r| r.to_string()),
        note.map_or("NULL".into(), crate::quote::sql::literal)
    )
}

/// The source the target's record belongs to (None: no record).
pub async fn target_record(c: &Client) -> Result<Option<String>, tokio_postgres::Error> {
    let exists: bool = c
        .query_one("SELECT to_regclass('tsmn_migrate.done') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(c.query_opt(
        "SELECT note FROM tsmn_migrate.done WHERE item = 'source'",
        &[],
    )
    .await?
    .and_then(|r| r.get(0)))
}

/// The parts the target has recorded as done.
pub async fn done_items(c: &Client) -> Result<BTreeSet<String>, tokio_postgres::Error> {
    if target_record(c).await?.is_none() {
        return Ok(BTreeSet::new());
    }
    Ok(c.query("SELECT item FROM tsmn_migrate.done", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Each part the target has recorded, with its note (the node a chunk
/// was read on, the id of a recreated job).
pub async fn done_notes(
    c: &Client,
) -> Result<std::collections::BTreeMap<String, String>, tokio_postgres::Error> {
    if target_record(c).await?.is_none() {
        return Ok(Default::default());
    }
    Ok(c.query(
        "SELECT item, note FROM tsmn_migrate.done WHERE note IS NOT NULL",
        &[],
    )
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

/// PURE: the journal's file for a migration of this plan into `t`.
pub fn path_for(plan_path: &Path, t: &TargetAddr) -> PathBuf {
    let key: String = format!("{}-{}-{}", t.host, t.port, t.database)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    crate::plan::state_dir(plan_path).join(format!("migrate-{key}.jsonl"))
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// One line: `{"time": ..., <fields>}`.
pub fn record(path: &Path, mut fields: serde_json::Value) {
    if let Some(o) = fields.as_object_mut() {
        o.insert("time".into(), now().into());
    }
    crate::run::journal::append(path, fields);
}

/// PURE: whether the journal's text ends with a verified migration.
pub fn finished(text: &str) -> bool {
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("run").is_some())
        .is_some_and(|v| v["run"] == "finished" && v["ok"] == true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_and_ends() {
        assert_eq!(
            mark_sql("chunk a'b", Some(3), None),
            "INSERT INTO tsmn_migrate.done (item, rows, note) VALUES ('chunk a''b', 3, NULL)"
        );
        assert!(!finished(""));
        assert!(!finished("{\"run\":\"started\"}\n{\"chunk\":\"x\"}\n"));
        assert!(finished(
            "{\"run\":\"started\"}\n{\"run\":\"finished\",\"ok\":true}\n{\"torn"
        ));
        assert!(!finished(
            "{\"run\":\"finished\",\"ok\":true}\n{\"run\":\"started\"}\n"
        ));
        let t = TargetAddr {
            host: "/tmp/s".into(),
            port: 5432,
            user: "postgres".into(),
            database: "new db".into(),
        };
        let p = path_for(Path::new("/x/plan.toml"), &t);
        assert_eq!(
            p,
            Path::new("/x/plan.toml.tsmn/migrate-_tmp_s-5432-new_db.jsonl")
        );
    }
}
