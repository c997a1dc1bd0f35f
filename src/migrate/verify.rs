//! Verification by the servers: per hypertable and per table, the row count
//! and an order-independent checksum (the sum of `hashtext` over each row's
//! text, its columns named) computed on the source (hypertables through the
//! access node) and on the target, in sessions with the same settings.

use super::source::Column;
use super::QualifiedName;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub rows: i64,
    pub checksum: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Compared {
    pub table: String,
    pub kind: &'static str,
    pub source: Tally,
    pub target: Tally,
}

impl Compared {
    pub fn equal(&self) -> bool {
        self.source == self.target
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_names_its_columns() {
        let cols = vec![
            Column {
                name: "time".into(),
                builtin: true,
            },
            Column {
                name: "v".into(),
                builtin: true,
            },
        ];
        assert_eq!(
            tally_sql(&QualifiedName::new("public", "m"), &cols),
            "SELECT count(*), coalesce(sum(hashtext(ROW(t.\"time\", t.\"v\")::text)::int8), 0)::text FROM \"public\".\"m\" t"
        );
    }
}
