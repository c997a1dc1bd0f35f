//! A relation's rows as the servers count them: the row count and an
//! order-independent checksum (the sum of `hashtext` over each row's text,
//! its columns named), the same statement on the source and the target.

use super::source::Column;
use super::QualifiedName;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub rows: i64,
    pub checksum: String,
}

/// PURE: the statement that counts and sums `rel`'s rows.
pub fn tally_sql(rel: &QualifiedName, columns: &[Column]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("t.{}", crate::quote::sql::ident(&c.name)))
        .collect();
    format!(
        "SELECT count(*), coalesce(sum(hashtext(ROW({})::text)::int8), 0)::text FROM {} t",
        cols.join(", "),
        rel.sql()
    )
}

pub async fn tally(c: &Client, sql: &str) -> Result<Tally, tokio_postgres::Error> {
    let r = c.query_one(sql, &[]).await?;
    Ok(Tally {
        rows: r.get(0),
        checksum: r.get(1),
    })
}
