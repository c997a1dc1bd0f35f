//! A verification mismatch copied again once, then reported if it
//! persists (issue 26, point 5); a continuous aggregate's: `aggregate`. Verification compares each hypertable
//! time range by range (the source's chunks of one range, every space
//! partition together, against the target's rows in that range: the
//! target may chunk it otherwise), and each table whole. A range or table
//! that differs is copied again in one transaction on the target: its
//! compressed chunks there decompressed, its rows deleted, the source's
//! chunks of the range (or the table) streamed in again from the node
//! each was copied from, tsmn's record of those parts updated, the chunks
//! compressed again; user triggers and foreign keys do not fire
//! (`session_replication_role = replica`: the rows are the source's,
//! checked there). Then it is counted again; the report names each part
//! copied again and whether that made it equal. A killed re-copy rolls
//! back whole, and a re-run verifies (and re-copies) again.

use super::connect::{sql_error, Reach, TargetAddr};
use super::replicas::ChunkTallies;
use super::source::{self, Chunk, Column, Hypertable, Source};
use super::tally::{tally, tally_sql, Tally};
use super::{MigrateError, QualifiedName};
use crate::quote::sql::{ident, literal};
use std::collections::BTreeMap;
use tokio_postgres::Client;

mod aggregate;
pub use aggregate::aggregate;

/// A part copied again after a mismatch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recopied {
    /// The hypertable's range or the table, as the operator reads it.
    pub what: String,
    pub source: Tally,
    /// The target before and after the copy.
    pub before: Tally,
    pub after: Tally,
}

impl Recopied {
    pub fn fixed(&self) -> bool {
        self.source == self.after
    }
    /// One line for the report.
    pub fn line(&self) -> String {
        format!(
            "{}: source {} row(s) (checksum {}), the target had {} (checksum {}); copied again: {} (checksum {}){}",
            self.what,
            self.source.rows,
            self.source.checksum,
            self.before.rows,
            self.before.checksum,
            self.after.rows,
            self.after.checksum,
            if self.fixed() { ", equal now" } else { ", STILL DIFFERENT" }
        )
    }
}

/// PURE: the SQL value of an internal time `v` of a dimension of type
/// `column_type` (TimescaleDB's own conversions: Unix microseconds for
/// time types, the value itself for integers).
fn bound(column_type: &str, v: i64) -> String {
    let f = match column_type {
        "timestamp with time zone" => "to_timestamp",
        "timestamp without time zone" => "to_timestamp_without_timezone",
        "date" => "to_date",
        _ => return v.to_string(),
    };
    format!("_timescaledb_functions.{f}({v})")
}

/// PURE: the condition that selects `range` of `h`'s time dimension
/// (alias `t`); None when `h` has none.
pub fn range_where(h: &Hypertable, range: (i64, i64)) -> Option<String> {
    let d = h.dimensions.iter().find(|d| d.interval.is_some())?;
    let col = format!("t.{}", ident(&d.column));
    let mut parts = Vec::new();
    if range.0 != i64::MIN {
        parts.push(format!("{col} >= {}", bound(&d.column_type, range.0)));
    }
    if range.1 != i64::MAX {
        parts.push(format!("{col} < {}", bound(&d.column_type, range.1)));
    }
    Some(if parts.is_empty() {
        "true".into()
    } else {
        parts.join(" AND ")
    })
}

/// PURE: the source's figures of a range of a distributed hypertable, as
/// read on the node each chunk was copied from; None when a chunk was not
/// counted.
fn source_of(
    chunks: &[&Chunk],
    t: &ChunkTallies,
    copied: &BTreeMap<String, String>,
) -> Option<Tally> {
    let (mut rows, mut sum) = (0i64, 0i128);
    for ch in chunks {
        let v = t.get(&ch.name)?;
        let node = copied.get(&format!("chunk {}", ch.name));
        let x = v.iter().find(|(n, _)| Some(n) == node).unwrap_or(&v[0]);
        rows += x.1.rows;
        sum += x.1.checksum.parse::<i128>().unwrap_or(0);
    }
    Some(Tally {
        rows,
        checksum: sum.to_string(),
    })
}

/// What a check of a part needs.
pub struct Ctx<'a> {
    pub reach: &'a Reach,
    pub s: &'a Source,
    pub t: &'a TargetAddr,
    pub target: &'a Client,
    /// The access node's read-only session.
    pub an: &'a Client,
    pub shown: &'a str,
}

/// The target's figures of each range of each hypertable, before any
/// is compared: they need nothing from the source, so a run counts them
/// while the data nodes count theirs (`verify_all`).
pub type TargetRanges = BTreeMap<(QualifiedName, (i64, i64)), Tally>;

/// A hypertable's range: the source's chunks of it, and the statement
/// that counts it.
type Range<'a> = (&'a Hypertable, (i64, i64), Vec<&'a Chunk>, String);

/// PURE: each hypertable's ranges (the source's chunks of each, every
/// space partition together) with the statement that counts one.
fn range_tallies(s: &Source) -> Vec<Range<'_>> {
    let mut out = Vec::new();
    for h in &s.hypertables {
        let mut by_range: BTreeMap<(i64, i64), Vec<&Chunk>> = BTreeMap::new();
        for c in s.chunks_of(&h.name) {
            by_range.entry(c.range).or_default().push(c);
        }
        for (range, chunks) in by_range {
            let Some(cond) = range_where(h, range) else {
                continue;
            };
            let sql = format!("{} WHERE {cond}", tally_sql(&h.name, &h.columns));
            out.push((h, range, chunks, sql));
        }
    }
    out
}

/// Every range of every hypertable counted on the target.
pub async fn target_ranges(cx: &Ctx<'_>) -> Result<TargetRanges, MigrateError> {
    let mut out = TargetRanges::new();
    for (h, range, _, sql) in range_tallies(cx.s) {
        let b = tally(cx.target, &sql)
            .await
            .map_err(|e| sql_error(cx.shown, &format!("counting {}", h.name), &e))?;
        out.insert((h.name.clone(), range), b);
    }
    Ok(out)
}

/// Every range of every hypertable compared (the target's figures from
/// `target_ranges`); each that differs copied again once. With the parts
/// copied again, each hypertable's figures on the target summed over its
/// ranges (as they are after the copies).
pub async fn ranges(
    cx: &Ctx<'_>,
    tallies: &ChunkTallies,
    on_target: &TargetRanges,
    copied: &BTreeMap<String, String>,
) -> Result<(Vec<Recopied>, BTreeMap<QualifiedName, Tally>), MigrateError> {
    let an_name = &cx.reach.plan.access_node.name;
    let mut out = Vec::new();
    let mut sums: BTreeMap<QualifiedName, (i64, i128)> = BTreeMap::new();
    for (h, range, chunks, sql) in range_tallies(cx.s) {
        let a = if h.distributed {
            match source_of(&chunks, tallies, copied) {
                Some(a) => a,
                None => continue,
            }
        } else {
            tally(cx.an, &sql)
                .await
                .map_err(|e| sql_error(an_name, &format!("counting {}", h.name), &e))?
        };
        let b = match on_target.get(&(h.name.clone(), range)) {
            Some(b) => b.clone(),
            None => tally(cx.target, &sql)
                .await
                .map_err(|e| sql_error(cx.shown, &format!("counting {}", h.name), &e))?,
        };
        if a == b {
            add(&mut sums, &h.name, &b);
            continue;
        }
        let shown = range_text(cx.target, h, range).await;
        recopy_range(cx, h, &chunks, copied).await?;
        let after = tally(cx.target, &sql)
            .await
            .map_err(|e| sql_error(cx.shown, &format!("counting {}", h.name), &e))?;
        add(&mut sums, &h.name, &after);
        out.push(Recopied {
            what: format!("hypertable {} {shown}", h.name),
            source: a,
            before: b,
            after,
        });
    }
    let sums = sums
        .into_iter()
        .map(|(h, (rows, sum))| {
            let checksum = sum.to_string();
            (h, Tally { rows, checksum })
        })
        .collect();
    Ok((out, sums))
}

fn add(sums: &mut BTreeMap<QualifiedName, (i64, i128)>, h: &QualifiedName, t: &Tally) {
    let e = sums.entry(h.clone()).or_default();
    e.0 += t.rows;
    e.1 += t.checksum.parse::<i128>().unwrap_or(0);
}

/// A hypertable's figures on the target: the sum over its ranges when
/// every row is in one of them (a plain count says so, far cheaper than
/// a checksum of every row again), else counted whole (`sql`).
pub async fn whole(
    target: &Client,
    h: &QualifiedName,
    ranges: Option<&Tally>,
    sql: &str,
) -> Result<Tally, tokio_postgres::Error> {
    if let Some(sum) = ranges {
        let n: i64 = target
            .query_one(&format!("SELECT count(*) FROM {}", h.sql()), &[])
            .await?
            .get(0);
        if n == sum.rows {
            return Ok(sum.clone());
        }
    }
    tally(target, sql).await
}

/// The range as the operator reads it (its bounds' text on the target).
async fn range_text(target: &Client, h: &Hypertable, range: (i64, i64)) -> String {
    let Some(d) = h.dimensions.iter().find(|d| d.interval.is_some()) else {
        return String::new();
    };
    let side = |v: i64, edge: i64| {
        if v == edge {
            "NULL".to_string()
        } else {
            format!("({})::text", bound(&d.column_type, v))
        }
    };
    let sql = format!(
        "SELECT coalesce({}, '-infinity') || ' to ' || coalesce({}, 'infinity')",
        side(range.0, i64::MIN),
        side(range.1, i64::MAX)
    );
    match target.query_one(&sql, &[]).await {
        Ok(r) => format!("rows from {}", r.get::<_, String>(0)),
        Err(_) => format!("range {range:?} (internal units)"),
    }
}

/// Where a chunk is read again: its node's plan entry and database.
fn node_of<'a>(
    cx: &Ctx<'a>,
    c: &Chunk,
    copied: &BTreeMap<String, String>,
) -> Option<(&'a crate::plan::Node, String, i32)> {
    let node = copied
        .get(&format!("chunk {}", c.name))
        .cloned()
        .or_else(|| c.nodes.first().map(|(n, _)| n.clone()))?;
    let id = c.nodes.iter().find(|(n, _)| n == &node)?.1;
    let plan = cx.reach.plan.data_nodes.iter().find(|n| n.name == node)?;
    let db =
        cx.s.data_nodes
            .iter()
            .find(|d| d.name == node)
            .map_or(cx.s.database.clone(), |d| d.database.clone());
    Some((plan, db, id))
}

/// The range's rows on the target replaced by the source's, in one
/// transaction.
async fn recopy_range(
    cx: &Ctx<'_>,
    h: &Hypertable,
    chunks: &[&Chunk],
    copied: &BTreeMap<String, String>,
) -> Result<(), MigrateError> {
    let fail = |e: String| {
        MigrateError::Failed(format!(
            "{}: copying {} again after a verification mismatch: {e}\n    fix: correct the cause and run tsmn migrate again (it verifies again; the copy was rolled back)",
            cx.shown, h.name
        ))
    };
    let range = chunks.first().map_or((0, 0), |c| c.range);
    let cond = range_where(h, range).unwrap_or_else(|| "false".into());
    let mut dst = cx.reach.target(cx.t, &cx.t.database).await?;
    let compressed: Vec<QualifiedName> = source::chunks(&dst, false)
        .await
        .map_err(|e| fail(crate::run::session::describe(&e)))?
        .into_iter()
        .filter(|c| c.hypertable == h.name && c.compressed)
        .filter(|c| c.range.0 < range.1 && range.0 < c.range.1)
        .map(|c| c.name)
        .collect();
    let describe = |e: tokio_postgres::Error| crate::run::session::describe(&e);
    let tx = dst.transaction().await.map_err(|e| fail(describe(e)))?;
    let mut sql = String::from("SET LOCAL session_replication_role = replica;\n");
    for c in &compressed {
        sql.push_str(&format!(
            "SELECT decompress_chunk({}::regclass);\n",
            literal(&c.sql())
        ));
    }
    sql.push_str(&format!("DELETE FROM {} t WHERE {cond};\n", h.name.sql()));
    tx.batch_execute(&sql)
        .await
        .map_err(|e| fail(describe(e)))?;
    let mut marks = String::new();
    for c in chunks {
        let (from, node, rel) = if h.distributed {
            let (plan, db, id) = node_of(cx, c, copied)
                .ok_or_else(|| fail(format!("no data node of the plan holds chunk {}", c.name)))?;
            let src = cx.reach.node(plan, &db).await?;
            let rel = source::node_chunks(&src, &plan.name)
                .await?
                .get(&id)
                .map(|(n, _)| n.clone())
                .ok_or_else(|| fail(format!("{} has no chunk {id}", plan.name)))?;
            (src, plan.name.clone(), rel)
        } else {
            let an = &cx.reach.plan.access_node;
            (
                cx.reach.node(an, &cx.s.database).await?,
                an.name.clone(),
                c.name.clone(),
            )
        };
        let n = stream(&from, &tx, &h.columns, &rel, &h.name)
            .await
            .map_err(|e| fail(format!("{node}: {e}")))?;
        marks.push_str(&mark_again(&format!("chunk {}", c.name), n, &node));
    }
    for c in &compressed {
        marks.push_str(&format!(
            "SELECT compress_chunk({}::regclass, if_not_compressed => true);\n",
            literal(&c.sql())
        ));
    }
    tx.batch_execute(&marks)
        .await
        .map_err(|e| fail(describe(e)))?;
    tx.commit().await.map_err(|e| fail(describe(e)))
}

/// PURE: tsmn's record of a part copied again.
fn mark_again(item: &str, rows: u64, node: &str) -> String {
    format!(
        "UPDATE tsmn_migrate.done SET rows = {rows}, note = {}, at = now() WHERE item = {};\n",
        literal(node),
        literal(item)
    )
}

/// `columns` of `rel` read on `from` (read-only) into `into` in `tx`.
async fn stream(
    from: &Client,
    tx: &tokio_postgres::Transaction<'_>,
    columns: &[Column],
    rel: &QualifiedName,
    into: &QualifiedName,
) -> Result<u64, String> {
    use futures_util::{SinkExt, StreamExt};
    let describe = |e: tokio_postgres::Error| crate::run::session::describe(&e);
    from.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(describe)?;
    let (out_sql, in_sql) = super::rows::copy_pair(columns, rel, into);
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&in_sql)
        .await
        .map_err(describe)?;
    let rows = from.copy_out(&out_sql).await.map_err(describe)?;
    futures_util::pin_mut!(sink);
    futures_util::pin_mut!(rows);
    while let Some(piece) = rows.next().await {
        // feed: no flush a row (see rows::copy_part).
        sink.feed(piece.map_err(describe)?)
            .await
            .map_err(describe)?;
    }
    sink.as_mut().finish().await.map_err(describe)
}

/// A table that differs copied again whole (from the access node), then
/// counted again.
pub async fn table(
    cx: &Ctx<'_>,
    name: &QualifiedName,
    columns: &[Column],
    source: Tally,
    before: Tally,
) -> Result<Recopied, MigrateError> {
    let fail = |e: tokio_postgres::Error| {
        MigrateError::Failed(format!(
            "{}: copying table {name} again after a verification mismatch: {}\n    fix: correct the cause and run tsmn migrate again (it verifies again; the copy was rolled back)",
            cx.shown,
            crate::run::session::describe(&e)
        ))
    };
    let mut dst = cx.reach.target(cx.t, &cx.t.database).await?;
    let tx = dst.transaction().await.map_err(fail)?;
    tx.batch_execute(&format!(
        "SET LOCAL session_replication_role = replica;\nDELETE FROM {};",
        name.sql()
    ))
    .await
    .map_err(fail)?;
    let an = &cx.reach.plan.access_node;
    let from = cx.reach.node(an, &cx.s.database).await?;
    let n = stream(&from, &tx, columns, name, name)
        .await
        .map_err(|e| MigrateError::Failed(format!("{}: table {name}: {e}", an.name)))?;
    tx.batch_execute(&mark_again(&format!("table {name}"), n, &an.name))
        .await
        .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    let after = tally(cx.target, &tally_sql(name, columns))
        .await
        .map_err(|e| sql_error(cx.shown, &format!("counting {name}"), &e))?;
    Ok(Recopied {
        what: format!("table {name}"),
        source,
        before,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::Dimension;

    fn ht(column_type: &str) -> Hypertable {
        Hypertable {
            name: QualifiedName::new("public", "m"),
            distributed: true,
            replication_factor: 1,
            dimensions: vec![Dimension {
                column: "time".into(),
                column_type: column_type.into(),
                interval: Some(7),
                partitions: None,
            }],
            compression: None,
            columns: vec![],
            bytes: vec![],
        }
    }

    #[test]
    fn ranges_by_the_engines_own_conversions() {
        assert_eq!(
            range_where(&ht("timestamp with time zone"), (10, 20)).unwrap(),
            "t.\"time\" >= _timescaledb_functions.to_timestamp(10) AND t.\"time\" < _timescaledb_functions.to_timestamp(20)"
        );
        assert_eq!(
            range_where(&ht("bigint"), (i64::MIN, 20)).unwrap(),
            "t.\"time\" < 20"
        );
        assert_eq!(
            range_where(&ht("date"), (5, i64::MAX)).unwrap(),
            "t.\"time\" >= _timescaledb_functions.to_date(5)"
        );
        assert_eq!(
            mark_again("chunk a'b", 3, "dn1"),
            "UPDATE tsmn_migrate.done SET rows = 3, note = 'dn1', at = now() WHERE item = 'chunk a''b';\n"
        );
    }
}
