//! ASYNC: online migration (`tsmn migrate --online`). Everything but the
//! newest time slice of each hypertable (and the access node's own tables)
//! is copied while the applications write; then a write freeze on the
//! access node's database, in which only the held-back parts, the chunks
//! made since, and the chunks that changed since their copy are copied,
//! and everything is verified.
//!
//! How a changed chunk is recognised cheaply: each chunk's
//! `n_tup_ins + n_tup_upd + n_tup_del` (pg_stat_all_tables, on the data
//! node the chunk is read on) is read before the snapshot its copy reads
//! from, and recorded with the copy. A write the copy missed committed after
//! that snapshot, so after the reading: the counter moves. The counters
//! are read again in the freeze, after every writer's session has ended
//! (a backend reports its pending counts when it exits), so none is
//! pending. A counter that moved for another reason (a write rolled back,
//! statistics reset) only costs a copy more. A chunk dropped since its copy
//! (retention) counts as changed: its slice is emptied on the target.
//!
//! The freeze: `default_transaction_read_only = on` for the database
//! (sessions can still read), the job scheduler of the database stopped,
//! every session of the database ended (tsmn holds none there then: its
//! own are in `postgres`), and tsmn waits until no node has a session of
//! the cluster's database left. It lasts
//! until the applications point at the target; `--abandon` lifts it.

use super::connect::{sql_error, Reach};
use super::source::{Chunk, Source};
use super::{MigrateError, QualifiedName};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// The record of each chunk's counter at its copy, on the target, written
/// in the copy's own transaction.
pub const COUNTERS_SQL: &str = "CREATE SCHEMA IF NOT EXISTS tsmn_migrate;\n\
     CREATE TABLE IF NOT EXISTS tsmn_migrate.counters (item text PRIMARY KEY, node text NOT NULL, relation text NOT NULL, changes bigint);\n";

/// PURE: the statement that records a part's counter (in its transaction).
pub fn counter_sql(item: &str, node: &str, relation: &str, changes: Option<i64>) -> String {
    use crate::quote::sql::literal;
    format!(
        "INSERT INTO tsmn_migrate.counters (item, node, relation, changes) VALUES ({}, {}, {}, {}) \
         ON CONFLICT (item) DO UPDATE SET node = excluded.node, relation = excluded.relation, changes = excluded.changes",
        literal(item),
        literal(node),
        literal(relation),
        changes.map_or("NULL".into(), |c| c.to_string())
    )
}

/// Each relation's write counter on a node (None: no statistics for it).
pub async fn counters(
    c: &Client,
    relations: &[String],
) -> Result<BTreeMap<String, Option<i64>>, tokio_postgres::Error> {
    let rows = c
        .query(
            "SELECT r, (SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_catalog.pg_stat_all_tables \
              WHERE relid = to_regclass(r)) FROM unnest($1::text[]) r",
            &[&relations],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// PURE: the parts held back from the copy while writes go on: each
/// hypertable's newest time slice (every space partition of it) and the
/// access node's tables.
pub fn held_back(s: &Source) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = s
        .tables
        .iter()
        .map(|t| format!("table {}", t.name))
        .collect();
    for h in &s.hypertables {
        let Some(newest) = s.chunks_of(&h.name).map(|c| c.range.0).max() else {
            continue;
        };
        out.extend(
            s.chunks_of(&h.name)
                .filter(|c| c.range.0 == newest)
                .map(|c| format!("chunk {}", c.name)),
        );
    }
    out
}

/// A part recorded as copied, with its counter then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub item: String,
    pub node: String,
    pub relation: String,
    pub changes: Option<i64>,
}

pub async fn recorded(c: &Client) -> Result<Vec<Recorded>, tokio_postgres::Error> {
    Ok(c.query(
        "SELECT item, node, relation, changes FROM tsmn_migrate.counters \
         WHERE item IN (SELECT item FROM tsmn_migrate.done)",
        &[],
    )
    .await?
    .iter()
    .map(|r| Recorded {
        item: r.get(0),
        node: r.get(1),
        relation: r.get(2),
        changes: r.get(3),
    })
    .collect())
}

/// The parts whose source changed since their copy: their counter moved,
/// is unknown, or their chunk is gone. Read on each node at once.
pub async fn changed(
    reach: &Reach,
    s: &Source,
    copied: &[Recorded],
) -> Result<Vec<String>, MigrateError> {
    let mut by_node: BTreeMap<&str, Vec<&Recorded>> = BTreeMap::new();
    for r in copied.iter().filter(|r| r.item.starts_with("chunk ")) {
        by_node.entry(r.node.as_str()).or_default().push(r);
    }
    let reads = by_node.into_iter().map(|(node, recs)| async move {
        let plan_node = reach.plan.data_nodes.iter().find(|n| n.name == node);
        let db = s
            .data_nodes
            .iter()
            .find(|d| d.name == node)
            .map_or(s.database.clone(), |d| d.database.clone());
        let Some(plan_node) = plan_node else {
            // A node no longer in the plan: its chunks cannot be checked.
            return Ok(recs.iter().map(|r| r.item.clone()).collect::<Vec<_>>());
        };
        let c = reach.node(plan_node, &db).await?;
        let rels: Vec<String> = recs.iter().map(|r| r.relation.clone()).collect();
        let now = counters(&c, &rels)
            .await
            .map_err(|e| sql_error(node, "reading the chunks' write counters", &e))?;
        Ok::<_, MigrateError>(
            recs.iter()
                .filter(|r| {
                    r.changes.is_none() || now.get(&r.relation).copied().flatten() != r.changes
                })
                .map(|r| r.item.clone())
                .collect(),
        )
    });
    let mut out = Vec::new();
    for r in futures_util::future::join_all(reads).await {
        out.extend(r?);
    }
    // Chunks dropped since their copy.
    let live: BTreeSet<String> = s
        .chunks
        .iter()
        .map(|c| format!("chunk {}", c.name))
        .collect();
    out.extend(
        copied
            .iter()
            .filter(|r| r.item.starts_with("chunk ") && !live.contains(&r.item))
            .map(|r| r.item.clone()),
    );
    out.sort();
    out.dedup();
    Ok(out)
}

/// PURE: a value of TimescaleDB's internal time (microseconds since the
/// Unix epoch for time types, the value itself for integers) as SQL of the
/// column's type.
pub fn time_literal(column_type: &str, v: i64) -> String {
    match column_type {
        "timestamp with time zone" | "timestamptz" => {
            format!("(timestamptz 'epoch' + {v}::float8 * interval '1 microsecond')")
        }
        "timestamp without time zone" | "timestamp" => {
            format!("(timestamp 'epoch' + {v}::float8 * interval '1 microsecond')")
        }
        "date" => format!("(date 'epoch' + {})", v.div_euclid(86_400_000_000)),
        _ => v.to_string(),
    }
}

/// PURE: what emptying the target's slices of the changed chunks takes,
/// in one transaction: each slice's rows deleted (every space partition:
/// the target may not partition by space), and every part copied into
/// those slices unmarked, so that the copy fills them again.
pub fn empty_slices_sql(old: &Source, new: &Source, changed: &[String]) -> String {
    let mut sql = String::from("BEGIN;\n");
    let mut unmark: BTreeSet<String> = changed.iter().cloned().collect();
    let find = |item: &str| -> Option<&Chunk> {
        old.chunks
            .iter()
            .chain(new.chunks.iter())
            .find(|c| format!("chunk {}", c.name) == item)
    };
    let mut slices: BTreeSet<(QualifiedName, i64, i64)> = BTreeSet::new();
    for item in changed {
        if let Some(c) = find(item) {
            slices.insert((c.hypertable.clone(), c.range.0, c.range.1));
        }
    }
    for (h, from, to) in &slices {
        let Some(ht) = old.hypertable(h).or_else(|| new.hypertable(h)) else {
            continue;
        };
        let Some(dim) = ht.dimensions.iter().find(|d| d.interval.is_some()) else {
            continue;
        };
        let col = crate::quote::sql::ident(&dim.column);
        let mut cond = Vec::new();
        if *from != i64::MIN {
            cond.push(format!(
                "{col} >= {}",
                time_literal(&dim.column_type, *from)
            ));
        }
        if *to != i64::MAX {
            cond.push(format!("{col} < {}", time_literal(&dim.column_type, *to)));
        }
        let cond = if cond.is_empty() {
            "true".to_string()
        } else {
            cond.join(" AND ")
        };
        sql.push_str(&format!("DELETE FROM {} WHERE {cond};\n", h.sql()));
        for c in old.chunks.iter().chain(new.chunks.iter()) {
            if &c.hypertable == h && c.range.0 < *to && *from < c.range.1 {
                unmark.insert(format!("chunk {}", c.name));
            }
        }
    }
    let items: Vec<String> = unmark
        .iter()
        .map(|i| crate::quote::sql::literal(i))
        .collect();
    if !items.is_empty() {
        sql.push_str(&format!(
            "DELETE FROM tsmn_migrate.done WHERE item IN ({});\n",
            items.join(", ")
        ));
    }
    sql.push_str("COMMIT;");
    sql
}

/// The job scheduler's functions: `_timescaledb_functions` from 2.12,
/// `_timescaledb_internal` before.
async fn scheduler_schema(c: &Client) -> Result<String, tokio_postgres::Error> {
    Ok(c.query_one(
        "SELECT CASE WHEN to_regproc('_timescaledb_functions.stop_background_workers') IS NOT NULL \
         THEN '_timescaledb_functions' ELSE '_timescaledb_internal' END",
        &[],
    )
    .await?
    .get(0))
}

/// Freeze the writes: the database read-only for new sessions, its job
/// scheduler stopped, every other session of it ended; then wait until no
/// data node has a session of the cluster left but tsmn's.
pub async fn freeze(reach: &Reach, s: &Source) -> Result<(), MigrateError> {
    let an = &reach.plan.access_node;
    let db = &s.database;
    let admin = reach.node(an, "postgres").await?;
    let lit = crate::quote::sql::literal(db);
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            crate::quote::sql::ident(db)
        ))
        .await
        .map_err(|e| sql_error(&an.name, "freezing the writes (read-only by default)", &e))?;
    let c = reach.node(an, db).await?;
    let schema = scheduler_schema(&c)
        .await
        .map_err(|e| sql_error(&an.name, "finding the job scheduler", &e))?;
    c.batch_execute(&format!("SELECT {schema}.stop_background_workers()"))
        .await
        .map_err(|e| sql_error(&an.name, "stopping the job scheduler", &e))?;
    drop(c);
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {lit} \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ))
        .await
        .map_err(|e| sql_error(&an.name, "ending the sessions of the database", &e))?;
    wait_quiet(reach, s, Duration::from_secs(30)).await
}

/// Wait until every node of the cluster has no session of the cluster's
/// database but tsmn's (the access node's connections to the data nodes
/// close with the sessions that held them).
async fn wait_quiet(reach: &Reach, s: &Source, limit: Duration) -> Result<(), MigrateError> {
    let started = Instant::now();
    let mut nodes = vec![(&reach.plan.access_node, s.database.clone())];
    for d in &s.data_nodes {
        if let Some(n) = reach.plan.data_nodes.iter().find(|n| n.name == d.name) {
            nodes.push((n, d.database.clone()));
        }
    }
    for (node, db) in nodes {
        let c = reach.node(node, "postgres").await?;
        loop {
            let left: Vec<String> = c
                .query(
                    "SELECT format('pid %s (%s from %s)', pid, coalesce(nullif(application_name, ''), 'a client'), coalesce(client_addr::text, 'local')) \
                     FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() \
                     AND backend_type = 'client backend'",
                    &[&db],
                )
                .await
                .map_err(|e| sql_error(&node.name, "reading its sessions", &e))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if left.is_empty() {
                break;
            }
            if started.elapsed() > limit {
                return Err(MigrateError::Failed(format!(
                    "{}: sessions of {db} are still open {} s after the freeze: {}\n    fix: end them (SELECT pg_terminate_backend(pid) ...; an application connected to the data node directly writes past the freeze), then run tsmn migrate --online again: it goes on in the freeze",
                    node.name,
                    limit.as_secs(),
                    left.join(", ")
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// Lift the freeze (the migration is abandoned): writes allowed again and
/// the job scheduler started.
pub async fn lift(reach: &Reach, db: &str) -> Result<(), MigrateError> {
    let an = &reach.plan.access_node;
    let admin = reach.node(an, "postgres").await?;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} RESET default_transaction_read_only",
            crate::quote::sql::ident(db)
        ))
        .await
        .map_err(|e| sql_error(&an.name, "lifting the freeze", &e))?;
    let c = reach.node(an, db).await?;
    let schema = scheduler_schema(&c)
        .await
        .map_err(|e| sql_error(&an.name, "finding the job scheduler", &e))?;
    c.batch_execute(&format!("SELECT {schema}.start_background_workers()"))
        .await
        .map_err(|e| sql_error(&an.name, "starting the job scheduler", &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::{Dimension, Hypertable, Table};

    fn source() -> Source {
        let h = QualifiedName::new("public", "m");
        let chunk = |n: &str, from: i64| Chunk {
            hypertable: h.clone(),
            name: QualifiedName::new("_timescaledb_internal", n),
            compressed: false,
            range: (from, from + 10),
            nodes: vec![("dn1".into(), 1)],
        };
        Source {
            hypertables: vec![Hypertable {
                name: h.clone(),
                distributed: true,
                replication_factor: 1,
                dimensions: vec![Dimension {
                    column: "time".into(),
                    column_type: "timestamp with time zone".into(),
                    interval: Some(10),
                    partitions: None,
                }],
                compression: None,
                columns: vec![],
                bytes: vec![],
            }],
            chunks: vec![
                chunk("c1", 0),
                chunk("c2", 10),
                chunk("c3", 10),
                chunk("c4", 20),
            ],
            tables: vec![Table {
                name: QualifiedName::new("public", "notes"),
                columns: vec![],
                bytes: 0,
            }],
            ..Source::default()
        }
    }

    #[test]
    fn the_newest_slice_and_the_tables_wait_for_the_freeze() {
        let held: Vec<String> = held_back(&source()).into_iter().collect();
        assert_eq!(
            held,
            ["chunk _timescaledb_internal.c4", "table public.notes"]
        );
    }

    #[test]
    fn a_changed_chunk_empties_its_whole_slice() {
        let s = source();
        let sql = empty_slices_sql(&s, &s, &["chunk _timescaledb_internal.c2".into()]);
        assert!(
            sql.contains("DELETE FROM \"public\".\"m\" WHERE \"time\" >= (timestamptz 'epoch' + 10::float8 * interval '1 microsecond') AND \"time\" < (timestamptz 'epoch' + 20::float8"),
            "{sql}"
        );
        // c3 shares the slice (another space partition): copied again too.
        assert!(
            sql.contains("'chunk _timescaledb_internal.c2', 'chunk _timescaledb_internal.c3'"),
            "{sql}"
        );
        assert!(!sql.contains("c1'") && !sql.contains("c4'"), "{sql}");
        assert!(sql.starts_with("BEGIN;") && sql.ends_with("COMMIT;"));
    }

    #[test]
    fn internal_time_as_sql() {
        assert_eq!(time_literal("bigint", -5), "-5");
        assert_eq!(
            time_literal("date", 86_400_000_000 * 3),
            "(date 'epoch' + 3)"
        );
    }
}
