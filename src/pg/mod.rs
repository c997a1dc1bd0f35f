//! Queries in one round trip. tokio-postgres's `query` first prepares the
//! statement (Parse/Describe, a round trip of its own) and then runs it;
//! `query_typed` sends Parse, Bind and Execute together, with the parameter
//! types given here. A node 20 ms away pays 40 ms for every round trip, so
//! the probe (check) and the executor (apply) send every query through
//! these; one-off commands (discover, sandbox status) keep tokio-postgres's
//! own. tsmn's parameters are all text: one value, an optional one, or an
//! array.

pub mod hash_by_value;

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Error, Row};

/// One text parameter, with its type.
#[derive(Clone, Copy)]
pub enum Text<'a> {
    One(&'a str),
    Maybe(Option<&'a str>),
    Many(&'a [String]),
}

impl Text<'_> {
    fn pair(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Text::One(v) => (v as &(dyn ToSql + Sync), Type::TEXT),
            Text::Maybe(v) => (v as &(dyn ToSql + Sync), Type::TEXT),
            Text::Many(v) => (v as &(dyn ToSql + Sync), Type::TEXT_ARRAY),
        }
    }
}

fn pairs<'a>(params: &'a [Text<'a>]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params.iter().map(Text::pair).collect()
}

pub async fn rows(client: &Client, sql: &str, params: &[Text<'_>]) -> Result<Vec<Row>, Error> {
    traced(sql, params);
    client.query_typed(sql, &pairs(params)).await
}

pub async fn one(client: &Client, sql: &str, params: &[Text<'_>]) -> Result<Row, Error> {
    traced(sql, params);
    client.query_typed_one(sql, &pairs(params)).await
}

pub async fn opt(client: &Client, sql: &str, params: &[Text<'_>]) -> Result<Option<Row>, Error> {
    traced(sql, params);
    client.query_typed_opt(sql, &pairs(params)).await
}

/// TimescaleDB's version in the session's database (None: not created
/// there, or not readable).
pub async fn timescaledb_version(client: &Client) -> Option<String> {
    opt(
        client,
        "SELECT extversion::text FROM pg_extension WHERE extname = 'timescaledb'",
        &[],
    )
    .await
    .ok()
    .flatten()
    .map(|r| r.get(0))
}

/// `-vv`: each read's statement (its first line) and how many parameters
/// it sends; never the parameters (role names at most, but the log is the
/// operator's to send).
fn traced(sql: &str, params: &[Text<'_>]) {
    tracing::trace!(
        "query ({} parameter(s)): {}",
        params.len(),
        sql.lines().next().unwrap_or_default().trim()
    );
}
