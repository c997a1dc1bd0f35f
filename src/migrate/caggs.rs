//! Continuous aggregates with their results and refresh state (issue 26,
//! point 4). Recomputing an aggregate from the raw rows loses the buckets
//! whose raw rows retention dropped, and inserting rows into a fresh
//! aggregate does not keep them either: creation logs a `[-inf, +inf]`
//! invalidation, so the first refresh deletes them. So each aggregate is
//! created `WITH NO DATA` from its definition, the source's materialized
//! rows are streamed into the new materialization hypertable, and the
//! source's refresh state replaces the creation's: the watermark, the raw
//! hypertable's invalidation threshold, the pending invalidations of the
//! access node's logs and of each data node's logs (the data nodes key
//! their entries by the access node's ids; they go in under the target's).
//! All of it in one transaction on the target with tsmn's record.
//!
//! Pending invalidations over ranges retention dropped on the source are
//! left out: no raw row is left there, so a refresh over them could only
//! delete the aggregate's buckets (that is what `drop_chunks` logs them
//! for), and keeping those buckets is why the results are carried at all.

use super::connect::{sql_error, Reach};
use super::source::{Cagg, Source};
use super::{journal, MigrateError, QualifiedName};
use crate::quote::sql::ident;
use std::collections::BTreeSet;
use tokio_postgres::Client;

pub mod compress;

/// An aggregate's refresh state on the source, in the raw hypertable's
/// internal time units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub watermark: Option<i64>,
    pub threshold: Option<i64>,
    /// The aggregate's own pending invalidations (materialization log).
    pub mat_log: Vec<(i64, i64)>,
    /// The raw hypertable's pending invalidations (access node and data nodes).
    pub ht_log: Vec<(i64, i64)>,
    /// The time ranges of the raw hypertable's chunks retention dropped.
    pub dropped: Vec<(i64, i64)>,
}

/// PURE: `[lo, hi]` (inclusive, as the logs hold them) without the
/// half-open ranges `cut`.
pub fn clip(entries: &[(i64, i64)], cut: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = entries.to_vec();
    for &(start, end) in cut {
        let mut next = Vec::new();
        for (lo, hi) in out {
            if hi < start || lo >= end {
                next.push((lo, hi));
                continue;
            }
            if lo < start {
                next.push((lo, start - 1));
            }
            if hi >= end {
                next.push((end, hi));
            }
        }
        out = next;
    }
    out
}

/// PURE: `entries` (inclusive ranges) as the fewest ranges covering the
/// same values: overlapping and adjacent ones merged, as the engine merges
/// them when it processes a log. The data nodes each log every write, so
/// the same ranges come several times; none is lost by merging.
pub fn merge(entries: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut sorted = entries.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (lo, hi) in sorted {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// PURE: the entries carried: merged, without the ranges retention dropped.
pub fn carried(entries: &[(i64, i64)], dropped: &[(i64, i64)]) -> Vec<(i64, i64)> {
    merge(&clip(&merge(entries), dropped))
}

/// PURE: the statements that give the new aggregate (materialization
/// hypertable `mat`, raw hypertable `raw`) the source's state. `ht_log`:
/// whether this aggregate brings the raw hypertable's log (the first one
/// over that hypertable does; the log is shared by its aggregates).
pub fn state_sql(st: &State, mat: i32, raw: i32, ht_log: bool) -> String {
    let cat = "_timescaledb_catalog";
    let mut sql = String::new();
    if let Some(w) = st.watermark {
        sql.push_str(&format!(
            "UPDATE {cat}.continuous_aggs_watermark SET watermark = {w} WHERE mat_hypertable_id = {mat};\n"
        ));
    }
    if let Some(t) = st.threshold {
        sql.push_str(&format!(
            "INSERT INTO {cat}.continuous_aggs_invalidation_threshold (hypertable_id, watermark) VALUES ({raw}, {t}) \
             ON CONFLICT (hypertable_id) DO UPDATE SET watermark = excluded.watermark;\n"
        ));
    }
    // The creation's [-inf, +inf] entry goes with whatever else is there.
    sql.push_str(&format!(
        "DELETE FROM {cat}.continuous_aggs_materialization_invalidation_log WHERE materialization_id = {mat};\n"
    ));
    for (lo, hi) in carried(&st.mat_log, &st.dropped) {
        sql.push_str(&format!(
            "INSERT INTO {cat}.continuous_aggs_materialization_invalidation_log VALUES ({mat}, {lo}, {hi});\n"
        ));
    }
    if ht_log {
        for (lo, hi) in carried(&st.ht_log, &st.dropped) {
            sql.push_str(&format!(
                "INSERT INTO {cat}.continuous_aggs_hypertable_invalidation_log VALUES ({raw}, {lo}, {hi});\n"
            ));
        }
    }
    sql
}

/// PURE: the aggregate made again on the target, empty.
pub fn create_sql(c: &Cagg) -> String {
    let def = c.view_definition.trim().trim_end_matches(';');
    let mut sql = format!(
        "CREATE MATERIALIZED VIEW {} WITH (timescaledb.continuous, timescaledb.materialized_only = {}) AS\n{def}\nWITH NO DATA;\n",
        c.name.sql(),
        c.materialized_only
    );
    sql.push_str(&format!(
        "ALTER MATERIALIZED VIEW {} OWNER TO {};\n",
        c.name.sql(),
        ident(&c.owner)
    ));
    for (grantee, privilege, grantable) in &c.grants {
        sql.push_str(&format!(
            "GRANT {privilege} ON {} TO {}{};\n",
            c.name.sql(),
            grantee.as_deref().map_or("PUBLIC".into(), ident),
            if *grantable { " WITH GRANT OPTION" } else { "" }
        ));
    }
    sql
}

async fn pairs(
    c: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<(i64, i64)>, tokio_postgres::Error> {
    Ok(c.query(sql, params)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The source's state of `c`, from the access node `an` (read-only) and
/// the data nodes' hypertable logs when its raw hypertable is distributed.
async fn read_state(
    reach: &Reach,
    s: &Source,
    an: &Client,
    c: &Cagg,
) -> Result<State, MigrateError> {
    let an_name = &reach.plan.access_node.name;
    let q = |e: tokio_postgres::Error| {
        sql_error(an_name, &format!("reading the state of {}", c.name), &e)
    };
    let cat = "_timescaledb_catalog";
    let one = |sql: String, id: i32| async move {
        an.query_opt(&sql, &[&id])
            .await
            .map(|r| r.map(|r| r.get::<_, i64>(0)))
    };
    let mut st = State {
        watermark: one(format!("SELECT watermark FROM {cat}.continuous_aggs_watermark WHERE mat_hypertable_id = $1"), c.mat_id).await.map_err(q)?,
        threshold: one(format!("SELECT watermark FROM {cat}.continuous_aggs_invalidation_threshold WHERE hypertable_id = $1"), c.raw_id).await.map_err(q)?,
        ..State::default()
    };
    st.mat_log = pairs(an, &format!("SELECT lowest_modified_value, greatest_modified_value FROM {cat}.continuous_aggs_materialization_invalidation_log WHERE materialization_id = $1"), &[&c.mat_id]).await.map_err(q)?;
    st.ht_log = pairs(an, &format!("SELECT lowest_modified_value, greatest_modified_value FROM {cat}.continuous_aggs_hypertable_invalidation_log WHERE hypertable_id = $1"), &[&c.raw_id]).await.map_err(q)?;
    // Chunks dropped while an aggregate existed keep their catalog row
    // (dropped = true) with their dimension slices.
    st.dropped = pairs(
        an,
        &format!(
            "SELECT s.range_start, s.range_end FROM {cat}.chunk c \
             JOIN {cat}.chunk_constraint cc ON cc.chunk_id = c.id AND cc.dimension_slice_id IS NOT NULL \
             JOIN {cat}.dimension_slice s ON s.id = cc.dimension_slice_id \
             JOIN {cat}.dimension d ON d.id = s.dimension_id AND d.interval_length IS NOT NULL \
             WHERE c.dropped AND c.hypertable_id = $1 ORDER BY 1"
        ),
        &[&c.raw_id],
    )
    .await
    .map_err(q)?;
    let distributed = s.hypertable(&c.raw).is_some_and(|h| h.distributed);
    if distributed {
        for dn in &s.data_nodes {
            let Some(node) = reach.plan.data_nodes.iter().find(|n| n.name == dn.name) else {
                continue;
            };
            let dc = reach.node(node, &dn.database).await?;
            dc.batch_execute("SET default_transaction_read_only = on")
                .await
                .map_err(|e| sql_error(&dn.name, "making the session read-only", &e))?;
            // The data nodes' logs are keyed by the ACCESS NODE's ids (the
            // invalidation trigger's second argument, and what the access
            // node's refresh passes to the data nodes), not by their own ids.
            // A distributed raw hypertable's logs live only there: its
            // materialization log too (creation, drop_chunks and the
            // refreshes write and move entries on the data nodes).
            let read = |sql: String, id: i32| {
                let dc = &dc;
                async move { pairs(dc, &sql, &[&id]).await }
            };
            let what = |e: tokio_postgres::Error| {
                sql_error(
                    &dn.name,
                    &format!("reading the invalidations of {}", c.name),
                    &e,
                )
            };
            let more = read(format!("SELECT lowest_modified_value, greatest_modified_value FROM {cat}.continuous_aggs_hypertable_invalidation_log WHERE hypertable_id = $1"), c.raw_id).await.map_err(what)?;
            st.ht_log.extend(more);
            let more = read(format!("SELECT lowest_modified_value, greatest_modified_value FROM {cat}.continuous_aggs_materialization_invalidation_log WHERE materialization_id = $1"), c.mat_id).await.map_err(what)?;
            st.mat_log.extend(more);
        }
    }
    Ok(st)
}

/// What the target made of an aggregate: its materialization hypertable.
pub async fn target_mat(
    t: &impl tokio_postgres::GenericClient,
    view: &QualifiedName,
) -> Result<Option<(QualifiedName, i32, i32)>, tokio_postgres::Error> {
    Ok(t.query_opt(
        "SELECT h.schema_name::text, h.table_name::text, a.mat_hypertable_id, a.raw_hypertable_id \
         FROM _timescaledb_catalog.continuous_agg a JOIN _timescaledb_catalog.hypertable h ON h.id = a.mat_hypertable_id \
         WHERE a.user_view_schema = $1 AND a.user_view_name = $2",
        &[&view.schema, &view.name],
    )
    .await?
    .map(|r| (QualifiedName::new(r.get(0), r.get(1)), r.get(2), r.get(3))))
}

/// Every aggregate not done yet, parents first (by the source's ids).
pub async fn migrate(
    reach: &Reach,
    s: &Source,
    target: &mut Client,
    done: &BTreeSet<String>,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), MigrateError> {
    if s.caggs.iter().all(|c| done.contains(&item(c))) {
        return Ok(());
    }
    let an = reach.node(&reach.plan.access_node, &s.database).await?;
    an.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| {
            sql_error(
                &reach.plan.access_node.name,
                "making the session read-only",
                &e,
            )
        })?;
    let mut logs_brought: BTreeSet<&QualifiedName> = BTreeSet::new();
    for c in &s.caggs {
        // The raw hypertable's log comes with its first aggregate.
        let first = logs_brought.insert(&c.raw);
        if done.contains(&item(c)) {
            continue;
        }
        let st = read_state(reach, s, &an, c).await?;
        let rows = one(&an, target, c, &st, first && !done.contains(&log_item(&c.raw)))
            .await
            .map_err(|e| MigrateError::Failed(format!("{shown}: continuous aggregate {}: {e}\n    fix: correct the cause and run tsmn migrate again (the aggregate's transaction was rolled back)", c.name)))?;
        let left = carried(&st.mat_log, &st.dropped).len() + carried(&st.ht_log, &st.dropped).len();
        let cut = carried(&st.mat_log, &st.dropped) != merge(&st.mat_log)
            || carried(&st.ht_log, &st.dropped) != merge(&st.ht_log);
        say(&format!(
            "continuous aggregate {}: {rows} materialized row(s), watermark and {left} pending invalidation(s) carried{}",
            c.name,
            if cut {
                " (those over ranges retention dropped on the source left out: a refresh there could only delete buckets)".to_string()
            } else {
                String::new()
            }
        ));
    }
    Ok(())
}

fn item(c: &Cagg) -> String {
    format!("aggregate {}", c.name)
}

fn log_item(raw: &QualifiedName) -> String {
    format!("invalidations {raw}")
}

/// One aggregate in one transaction: created, filled, its state set, recorded.
async fn one(
    an: &Client,
    target: &mut Client,
    c: &Cagg,
    st: &State,
    with_ht_log: bool,
) -> Result<u64, String> {
    use futures_util::{SinkExt, StreamExt};
    let describe = |e: tokio_postgres::Error| crate::run::session::describe(&e);
    let tx = target.transaction().await.map_err(describe)?;
    tx.batch_execute(&create_sql(c)).await.map_err(describe)?;
    let (mat, mat_id, raw_id) = target_mat(&tx, &c.name)
        .await
        .map_err(describe)?
        .ok_or("created, but not in the target's catalog")?;
    let (out_sql, in_sql) = super::rows::copy_pair(&c.columns, &c.mat, &mat);
    let sink = tx
        .copy_in::<_, bytes::Bytes>(&in_sql)
        .await
        .map_err(describe)?;
    let stream = an.copy_out(&out_sql).await.map_err(describe)?;
    futures_util::pin_mut!(sink);
    futures_util::pin_mut!(stream);
    while let Some(piece) = stream.next().await {
        // feed: no flush a row (see rows::copy_part).
        sink.feed(piece.map_err(describe)?)
            .await
            .map_err(describe)?;
    }
    let rows = sink.as_mut().finish().await.map_err(describe)?;
    let mut sql = state_sql(st, mat_id, raw_id, with_ht_log);
    if with_ht_log {
        sql.push_str(&journal::mark_sql(&log_item(&c.raw), None, None));
        sql.push_str(";\n");
    }
    sql.push_str(&journal::mark_sql(
        &item(c),
        Some(rows),
        Some(&mat.to_string()),
    ));
    tx.batch_execute(&sql).await.map_err(describe)?;
    tx.commit().await.map_err(describe)?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_leaves_out_the_dropped_ranges() {
        let cut = [(100, 200)];
        assert_eq!(clip(&[(150, 160)], &cut), vec![]);
        assert_eq!(clip(&[(50, 99)], &cut), vec![(50, 99)]);
        assert_eq!(clip(&[(50, 150)], &cut), vec![(50, 99)]);
        assert_eq!(clip(&[(150, 300)], &cut), vec![(200, 300)]);
        assert_eq!(
            clip(&[(i64::MIN, i64::MAX)], &cut),
            vec![(i64::MIN, 99), (200, i64::MAX)]
        );
        assert_eq!(clip(&[(0, 10)], &[]), vec![(0, 10)]);
    }

    #[test]
    fn merging_keeps_every_value() {
        assert_eq!(
            merge(&[(30, 40), (0, 10), (5, 12), (13, 20), (30, 35), (50, 60)]),
            vec![(0, 20), (30, 40), (50, 60)]
        );
        assert_eq!(
            merge(&[(0, i64::MAX), (i64::MAX, i64::MAX)]),
            vec![(0, i64::MAX)]
        );
        assert_eq!(merge(&[]), vec![]);
        assert_eq!(carried(&[(0, 10), (5, 30)], &[(0, 20)]), vec![(20, 30)]);
    }

    #[test]
    fn the_creation_entry_is_replaced() {
        let st = State {
            watermark: Some(42),
            threshold: Some(77),
            mat_log: vec![(80, i64::MAX)],
            ht_log: vec![(10, 20), (30, 40)],
            dropped: vec![(0, 25)],
        };
        let sql = state_sql(&st, 7, 3, true);
        assert!(
            sql.contains("SET watermark = 42 WHERE mat_hypertable_id = 7"),
            "{sql}"
        );
        assert!(sql.contains("VALUES (3, 77)"), "{sql}");
        assert!(sql.contains("DELETE FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log WHERE materialization_id = 7"), "{sql}");
        assert!(
            sql.contains(&format!("VALUES (7, 80, {})", i64::MAX)),
            "{sql}"
        );
        assert!(
            !sql.contains("VALUES (3, 10, 20)"),
            "dropped range left out: {sql}"
        );
        assert!(sql.contains("VALUES (3, 30, 40)"), "{sql}");
        assert!(!state_sql(&st, 7, 3, false).contains("hypertable_invalidation_log"));
    }
}
