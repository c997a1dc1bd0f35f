//! A continuous aggregate whose materialized rows differ after the copy,
//! copied again once: in one transaction on the target its
//! materialization hypertable emptied and filled again from the access
//! node's, tsmn's record of it updated (triggers do not fire:
//! `session_replication_role = replica`, so an aggregate over this one
//! logs no invalidation for rows that end as the source's), then counted
//! again. Its refresh state is not touched: it came with the aggregate
//! and the rows do not change it.

use super::super::connect::sql_error;
use super::super::source::Cagg;
use super::super::tally::{tally, tally_sql, Tally};
use super::super::{MigrateError, QualifiedName};
use super::{stream, Ctx, Recopied};
use crate::quote::sql::literal;

/// `c` (its materialization hypertable `mat` on the target) copied again,
/// then counted again.
pub async fn aggregate(
    cx: &Ctx<'_>,
    c: &Cagg,
    mat: &QualifiedName,
    source: Tally,
    before: Tally,
) -> Result<Recopied, MigrateError> {
    let fail = |e: String| {
        MigrateError::Failed(format!(
            "{}: copying continuous aggregate {} again after a verification mismatch: {e}\n    fix: correct the cause and run tsmn migrate again (it verifies again; the copy was rolled back)",
            cx.shown, c.name
        ))
    };
    let describe = |e: tokio_postgres::Error| fail(crate::run::session::describe(&e));
    let mut dst = cx.reach.target(cx.t, &cx.t.database).await?;
    let tx = dst.transaction().await.map_err(describe)?;
    tx.batch_execute(&format!(
        "SET LOCAL session_replication_role = replica;\nDELETE FROM {};",
        mat.sql()
    ))
    .await
    .map_err(describe)?;
    let an = &cx.reach.plan.access_node.name;
    let n = stream(cx.an, &tx, &c.columns, &c.mat, mat)
        .await
        .map_err(|e| fail(format!("{an}: {e}")))?;
    tx.batch_execute(&format!(
        "UPDATE tsmn_migrate.done SET rows = {n}, at = now() WHERE item = {};",
        literal(&format!("aggregate {}", c.name))
    ))
    .await
    .map_err(describe)?;
    tx.commit().await.map_err(describe)?;
    let after = tally(cx.target, &tally_sql(mat, &c.columns))
        .await
        .map_err(|e| sql_error(cx.shown, &format!("counting {}", c.name), &e))?;
    Ok(Recopied {
        what: format!("aggregate {}", c.name),
        source,
        before,
        after,
    })
}
