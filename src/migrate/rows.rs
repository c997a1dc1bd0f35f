//! The rows: each chunk read once, on a data node that holds it, streamed
//! into the target (`COPY (SELECT <columns> FROM <chunk>) TO STDOUT` into
//! `COPY <table> (<columns>) FROM STDIN`, binary when every column has a
//! built-in type), one data node's chunks after another, all data nodes at
//! once. Each part in one transaction on the target with tsmn's record of
//! it; the journal line after the commit.

use super::source::{Column, NodeChunks, Source};
use super::QualifiedName;
use std::collections::{BTreeMap, BTreeSet};

/// One part to copy: a chunk or a table, from one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// tsmn's record of it (`chunk <name>` or `table <name>`).
    pub id: String,
    /// Where it is read: a data node's name, or the access node's.
    pub node: String,
    /// The relation read: the chunk's id on the data node, or a name on the
    /// access node.
    pub from: From,
    /// Where the rows go.
    pub into: QualifiedName,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    NodeChunk(i32),
    Named(QualifiedName),
}

/// PURE: the parts not yet done, by the node that reads them. A chunk on
/// several data nodes (replicated) is read once, on the one with the
/// fewest parts so far.
pub fn parts(
    s: &Source,
    access_node: &str,
    done: &BTreeSet<String>,
) -> BTreeMap<String, Vec<Part>> {
    let mut by_node: BTreeMap<String, Vec<Part>> = BTreeMap::new();
    for c in &s.chunks {
        let Some(h) = s.hypertable(&c.hypertable) else {
            continue;
        };
        let id = format!("chunk {}", c.name);
        if done.contains(&id) {
            continue;
        }
        let (node, from) = if h.distributed {
            let Some((n, chunk_id)) = c
                .nodes
                .iter()
                .min_by_key(|(n, _)| by_node.get(n).map_or(0, Vec::len))
            else {
                continue;
            };
            (n.clone(), From::NodeChunk(*chunk_id))
        } else {
            (access_node.to_string(), From::Named(c.name.clone()))
        };
        by_node.entry(node.clone()).or_default().push(Part {
            id,
            node,
            from,
            into: h.name.clone(),
            columns: h.columns.clone(),
        });
    }
    for t in &s.tables {
        let id = format!("table {}", t.name);
        if done.contains(&id) {
            continue;
        }
        by_node
            .entry(access_node.to_string())
            .or_default()
            .push(Part {
                id,
                node: access_node.to_string(),
                from: From::Named(t.name.clone()),
                into: t.name.clone(),
                columns: t.columns.clone(),
            });
    }
    by_node
}

/// PURE: the two COPY statements of a part read from `from`.
pub fn copy_sql(p: &Part, from: &QualifiedName) -> (String, String) {
    copy_pair(&p.columns, from, &p.into)
}

/// PURE: `columns` of `from` read into `into`: an explicit column list on
/// both sides (a data node's table may carry dropped columns), binary when
/// every type is built in (no OID that differs between servers).
pub fn copy_pair(
    columns: &[Column],
    from: &QualifiedName,
    into: &QualifiedName,
) -> (String, String) {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| crate::quote::sql::ident(&c.name))
        .collect();
    let cols = cols.join(", ");
    let format = if columns.iter().all(|c| c.builtin) {
        " (FORMAT binary)"
    } else {
        ""
    };
    (
        format!("COPY (SELECT {cols} FROM {}) TO STDOUT{format}", from.sql()),
        format!("COPY {} ({cols}) FROM STDIN{format}", into.sql()),
    )
}

/// The relation a part reads on its node.
pub fn source_relation(p: &Part, chunks: &NodeChunks) -> Option<QualifiedName> {
    match &p.from {
        From::Named(n) => Some(n.clone()),
        From::NodeChunk(id) => chunks.get(id).map(|(n, _)| n.clone()),
    }
}

/// Copy one part: read in `src`'s (read-only) transaction, written and
/// recorded (with `record`, more of tsmn's record of it) in one transaction
/// on `dst`. The rows copied.
pub async fn copy_part(
    src: &tokio_postgres::Transaction<'_>,
    dst: &mut tokio_postgres::Client,
    p: &Part,
    from: &QualifiedName,
    record: &str,
) -> Result<u64, String> {
    use futures_util::{SinkExt, StreamExt};
    let (out_sql, in_sql) = copy_sql(p, from);
    let describe = |e: tokio_postgres::Error| crate::run::session::describe(&e);
    let tx = dst.transaction().await.map_err(describe)?;
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&in_sql)
        .await
        .map_err(describe)?;
    let stream = src
        .copy_out(&out_sql)
        .await
        .map_err(|e| format!("{}: reading {from}: {}", p.node, describe(e)))?;
    futures_util::pin_mut!(sink);
    futures_util::pin_mut!(stream);
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| format!("{}: reading {from}: {}", p.node, describe(e)))?;
        // feed, not send: send flushes after every item, and the server's
        // COPY OUT gives one item a row (a write a row, 4x slower).
        sink.feed(piece).await.map_err(describe)?;
    }
    let rows = sink.as_mut().finish().await.map_err(describe)?;
    let mark = super::journal::mark_sql(&p.id, Some(rows), Some(&p.node));
    tx.batch_execute(&format!("{mark};\n{record}"))
        .await
        .map_err(describe)?;
    tx.commit().await.map_err(describe)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::{Chunk, Hypertable, Table};

    fn col(n: &str, builtin: bool) -> Column {
        Column {
            name: n.into(),
            builtin,
            hashed: true,
        }
    }

    fn source() -> Source {
        let h = QualifiedName::new("public", "m");
        let chunk = |n: &str, nodes: &[(&str, i32)]| Chunk {
            hypertable: h.clone(),
            name: QualifiedName::new("_timescaledb_internal", n),
            compressed: false,
            range: (0, 1),
            nodes: nodes.iter().map(|(a, b)| (a.to_string(), *b)).collect(),
        };
        Source {
            hypertables: vec![Hypertable {
                name: h.clone(),
                distributed: true,
                replication_factor: 2,
                dimensions: vec![],
                compression: None,
                columns: vec![col("time", true)],
                bytes: vec![],
            }],
            chunks: vec![
                chunk("c1", &[("dn1", 11), ("dn2", 21)]),
                chunk("c2", &[("dn1", 12), ("dn2", 22)]),
                chunk("c3", &[("dn2", 23)]),
            ],
            tables: vec![Table {
                name: QualifiedName::new("public", "notes"),
                columns: vec![col("id", true), col("mood", false)],
                bytes: 0,
            }],
            ..Source::default()
        }
    }

    #[test]
    fn each_chunk_once_spread_over_its_nodes() {
        let p = parts(&source(), "an", &BTreeSet::new());
        let ids = |n: &str| -> Vec<String> { p[n].iter().map(|x| x.id.clone()).collect() };
        assert_eq!(ids("dn1"), ["chunk _timescaledb_internal.c1"]);
        assert_eq!(
            ids("dn2"),
            [
                "chunk _timescaledb_internal.c2",
                "chunk _timescaledb_internal.c3"
            ]
        );
        assert_eq!(ids("an"), ["table public.notes"]);
        let done: BTreeSet<String> = ["chunk _timescaledb_internal.c1".to_string()].into();
        let p = parts(&source(), "an", &done);
        let all: usize = p.values().map(Vec::len).sum();
        assert_eq!(all, 3);
    }

    #[test]
    fn copy_statements_name_every_column() {
        let p = parts(&source(), "an", &BTreeSet::new());
        let chunk = &p["dn1"][0];
        let (out, into) = copy_sql(chunk, &QualifiedName::new("_timescaledb_internal", "c1"));
        assert_eq!(out, "COPY (SELECT \"time\" FROM \"_timescaledb_internal\".\"c1\") TO STDOUT (FORMAT binary)");
        assert_eq!(
            into,
            "COPY \"public\".\"m\" (\"time\") FROM STDIN (FORMAT binary)"
        );
        let table = &p["an"][0];
        let (out, _) = copy_sql(table, &table.into);
        assert!(out.ends_with("TO STDOUT"), "a custom type: text: {out}");
    }
}
