//! ASYNC: a continuous aggregate's own compression set again on the
//! target: `ALTER MATERIALIZED VIEW ... SET (timescaledb.compress = true,
//! ...)` with the source's segmentby and orderby (the engine forwards it
//! to the materialization hypertable: 2.13.1
//! tsl/src/continuous_aggs/options.c, cagg_alter_compression), and the
//! target's materialization chunks covering the source's compressed ones
//! compressed again. One transaction per aggregate with tsmn's record,
//! after its rows came (`migrate`) and before its policies are added
//! (`jobs`: add_compression_policy refuses an aggregate without
//! compression).

use super::super::connect::sql_error;
use super::super::source::{Cagg, Source};
use super::super::{journal, schema, MigrateError, QualifiedName};
use crate::quote::sql::literal;
use std::collections::BTreeSet;
use std::path::Path;
use tokio_postgres::Client;

/// PURE: the statement that enables `c`'s compression as on the source.
pub fn alter_sql(c: &Cagg) -> Option<String> {
    let mut opts = vec!["timescaledb.compress = true".to_string()];
    opts.extend(schema::compression_options(c.compression.as_ref()?));
    Some(format!(
        "ALTER MATERIALIZED VIEW {} SET ({});",
        c.name.sql(),
        opts.join(", ")
    ))
}

/// Hypertable `h`'s chunks (a materialization hypertable has one
/// dimension) with their range and whether each is compressed.
pub async fn chunks(
    c: &Client,
    h: &QualifiedName,
) -> Result<Vec<(QualifiedName, (i64, i64), bool)>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT c.schema_name::text, c.table_name::text, s.range_start, s.range_end, (c.status & 1) = 1 \
         FROM _timescaledb_catalog.chunk c \
         JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id \
         JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id AND cc.dimension_slice_id IS NOT NULL \
         JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id \
         WHERE NOT c.dropped AND h.schema_name = {} AND h.table_name = {} ORDER BY s.range_start",
        literal(&h.schema),
        literal(&h.name)
    );
    Ok(c.query(&sql, &[])
        .await?
        .iter()
        .map(|r| {
            (
                QualifiedName::new(r.get(0), r.get(1)),
                (r.get(2), r.get(3)),
                r.get(4),
            )
        })
        .collect())
}

/// Every aggregate compressed on the source and not done yet.
pub async fn compress(
    target: &mut Client,
    s: &Source,
    done: &BTreeSet<String>,
    path: &Path,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(), MigrateError> {
    for c in &s.caggs {
        let Some(alter) = alter_sql(c) else {
            continue;
        };
        let item = format!("compression {}", c.name);
        if done.contains(&item) {
            continue;
        }
        let fail =
            |e: tokio_postgres::Error| sql_error(shown, &format!("compressing {}", c.name), &e);
        let Some((mat, _, _)) = super::target_mat(&*target, &c.name).await.map_err(fail)? else {
            return Err(MigrateError::Failed(format!(
                "{shown}: continuous aggregate {} is missing on the target\n    fix: run tsmn migrate again (it makes the aggregate first)",
                c.name
            )));
        };
        let mine: Vec<QualifiedName> = chunks(target, &mat)
            .await
            .map_err(fail)?
            .into_iter()
            .filter(|(_, r, _)| c.compressed.iter().any(|x| r.0 < x.1 && x.0 < r.1))
            .map(|(n, _, _)| n)
            .collect();
        let mut sql = format!("BEGIN;\n{alter}\n");
        for n in &mine {
            sql.push_str(&super::super::copy::compress_chunk_sql(n));
        }
        sql.push_str(&journal::mark_sql(&item, Some(mine.len() as u64), None));
        sql.push_str(";\nCOMMIT;");
        target.batch_execute(&sql).await.map_err(fail)?;
        journal::record(
            path,
            serde_json::json!({ "done": item, "chunks": mine.len() }),
        );
        say(&format!(
            "continuous aggregate {}: compression set, {} chunk(s) compressed",
            c.name,
            mine.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::Compression;

    #[test]
    fn an_aggregates_compression_by_its_view() {
        let mut c = Cagg::example(
            4,
            3,
            QualifiedName::new("_timescaledb_internal", "_materialized_hypertable_4"),
        );
        assert_eq!(alter_sql(&c), None);
        c.compression = Some(Compression {
            segmentby: vec!["device".into()],
            orderby: vec![("bucket".into(), false, true)],
        });
        assert_eq!(
            alter_sql(&c).unwrap(),
            "ALTER MATERIALIZED VIEW \"public\".\"daily\" SET (timescaledb.compress = true, timescaledb.compress_segmentby = '\"device\"', timescaledb.compress_orderby = '\"bucket\" DESC NULLS FIRST');"
        );
    }
}
