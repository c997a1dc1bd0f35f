//! ASYNC: the rows of a migration: each data node's parts streamed into
//! the target (all nodes at once, see `rows`), and the ranges compressed on
//! the source compressed again on the target.

use super::connect::{sql_error, Reach, TargetAddr};
use super::rows::{self, Part};
use super::schema;
use super::source::{self, Source};
use super::{journal, MigrateError, QualifiedName};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[allow(clippy::too_many_arguments)]
pub async fn copy_node(
    reach: &Reach,
    s: &Source,
    t: &TargetAddr,
    node: &str,
    parts: &[Part],
    path: &Path,
    say: &(dyn Fn(&str) + Sync),
    counter: &AtomicUsize,
    rows_total: &AtomicU64,
) -> Result<(), String> {
    let (plan_node, db) = if node == reach.plan.access_node.name {
        (&reach.plan.access_node, s.database.clone())
    } else {
        let n = reach
            .plan
            .data_nodes
            .iter()
            .find(|n| n.name == node)
            .ok_or_else(|| format!("{node}: not in the plan"))?;
        let db = s
            .data_nodes
            .iter()
            .find(|d| d.name == node)
            .map_or(s.database.clone(), |d| d.database.clone());
        (n, db)
    };
    let mut src = reach
        .node(plan_node, &db)
        .await
        .map_err(|e| e.to_string())?;
    src.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| format!("{node}: {}", crate::run::session::describe(&e)))?;
    let chunks = if node == reach.plan.access_node.name {
        Default::default()
    } else {
        source::node_chunks(&src, node)
            .await
            .map_err(|e| e.to_string())?
    };
    let mut dst = reach
        .target(t, &t.database)
        .await
        .map_err(|e| e.to_string())?;
    // Each chunk's write counter, read before the snapshot the copies read
    // from: a write the copy misses moves it (online.rs).
    let relations: Vec<String> = parts
        .iter()
        .filter(|p| matches!(p.from, rows::From::NodeChunk(_)))
        .filter_map(|p| rows::source_relation(p, &chunks))
        .map(|r| r.sql())
        .collect();
    let counted = super::online::counters(&src, &relations)
        .await
        .map_err(|e| {
            format!(
                "{node}: reading the chunks' write counters: {}",
                crate::run::session::describe(&e)
            )
        })?;
    let tx = src
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(|e| format!("{node}: {}", crate::run::session::describe(&e)))?;
    for p in parts {
        let from = rows::source_relation(p, &chunks)
            .ok_or_else(|| format!("{node}: has no chunk for {} (the access node's catalog and the data node's disagree)", p.id))?;
        let record = match p.from {
            rows::From::NodeChunk(_) => super::online::counter_sql(
                &p.id,
                node,
                &from.sql(),
                counted.get(&from.sql()).copied().flatten(),
            ),
            rows::From::Named(_) => String::new(),
        };
        let n = rows::copy_part(&tx, &mut dst, p, &from, &record)
            .await
            .map_err(|e| format!("{}: {e}", p.id))?;
        journal::record(
            path,
            serde_json::json!({ "copied": p.id, "node": node, "rows": n }),
        );
        rows_total.fetch_add(n, Ordering::SeqCst);
        counter.fetch_add(1, Ordering::SeqCst);
        tracing::info!("copied {} from {node}: {n} rows", p.id);
    }
    say(&format!("{node}: {} part(s) copied", parts.len()));
    Ok(())
}

/// Compression re-applied, and the target's chunks covering the ranges of
/// the source's compressed chunks compressed again; one transaction per
/// hypertable, recorded.
pub async fn compress(
    target: &mut tokio_postgres::Client,
    s: &Source,
    done: &BTreeSet<String>,
    path: &Path,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), MigrateError> {
    let target_chunks = source::chunks(target, false)
        .await
        .map_err(|e| sql_error(shown, "reading the target's chunks", &e))?;
    for h in &s.hypertables {
        let item = format!("compression {}", h.name);
        let Some(alter) = schema::compression_sql(h) else {
            continue;
        };
        if done.contains(&item) {
            continue;
        }
        let compressed: Vec<(i64, i64)> = s
            .chunks_of(&h.name)
            .filter(|c| c.compressed)
            .map(|c| c.range)
            .collect();
        let mine: Vec<&QualifiedName> = target_chunks
            .iter()
            .filter(|c| c.hypertable == h.name)
            .filter(|c| {
                compressed
                    .iter()
                    .any(|r| c.range.0 < r.1 && r.0 < c.range.1)
            })
            .map(|c| &c.name)
            .collect();
        let mut sql = format!("BEGIN;\n{alter}\n");
        for c in &mine {
            sql.push_str(&compress_chunk_sql(c));
        }
        sql.push_str(&journal::mark_sql(&item, Some(mine.len() as u64), None));
        sql.push_str(";\nCOMMIT;");
        target
            .batch_execute(&sql)
            .await
            .map_err(|e| sql_error(shown, &format!("compressing {}", h.name), &e))?;
        journal::record(
            path,
            serde_json::json!({ "done": item, "chunks": mine.len() }),
        );
        say(&format!(
            "{}: compression set, {} chunk(s) compressed",
            h.name,
            mine.len()
        ));
    }
    Ok(())
}

/// PURE: chunk `c` compressed (unless it is).
pub(super) fn compress_chunk_sql(c: &QualifiedName) -> String {
    format!(
        "SELECT compress_chunk({}::regclass, if_not_compressed => true);\n",
        crate::quote::sql::literal(&c.sql())
    )
}
