//! ASYNC: the columns of a table tsmn copies and verifies, read on the
//! source: their names, whether their type is built in (binary COPY) and
//! whether it is hashed by value in the verification's checksum
//! (`crate::pg::hash_by_value`, and a server that has
//! `hash_record_extended`). Below both the source's model and the tally,
//! which use them.

use super::QualifiedName;
use crate::pg::{self, Text};
use tokio_postgres::Client;

/// A column tsmn copies (generated columns are left to the target).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    pub name: String,
    /// A built-in type (its binary COPY form does not carry an OID that
    /// differs between servers).
    pub builtin: bool,
    /// Its type is one whose extended hash depends on the value alone
    /// (`crate::pg::hash_by_value`: `hash_record_extended` hashes its
    /// values; else the verification hashes its text, as for an enum,
    /// whose hash is its label's OID, different on each server): see
    /// `tally`.
    pub hashed: bool,
}

pub(super) async fn columns(
    c: &Client,
    rel: &QualifiedName,
) -> Result<Vec<Column>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT a.attname::text, a.atttypid < 16384, a.atttypid = ANY ({}) FROM pg_attribute a \
         WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 \
         AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        crate::pg::hash_by_value::sql_array()
    );
    let rows = pg::rows(c, &sql, &[Text::One(&rel.schema), Text::One(&rel.name)]).await?;
    let mut cols: Vec<Column> = rows
        .iter()
        .map(|r| Column {
            name: r.get(0),
            builtin: r.get(1),
            hashed: r.get(2),
        })
        .collect();
    hashable(c, rel, &mut cols).await?;
    Ok(cols)
}

/// Of `rel`'s columns whose type is hashed by value (`Column::hashed`,
/// from `hash_by_value`), which the server can hash so: a row of NULLs of
/// `rel`'s type hashed whole, and when that fails with 42883 (no
/// `hash_record_extended` before PostgreSQL 14), each column alone. The
/// function looks a column's hash function up before it looks at the
/// value, so a NULL tells as much as a value.
async fn hashable(
    c: &Client,
    rel: &QualifiedName,
    cols: &mut [Column],
) -> Result<(), tokio_postgres::Error> {
    let probe = |cols: &[&Column]| {
        let names: Vec<String> = cols
            .iter()
            .map(|c| format!("t.{}", crate::quote::sql::ident(&c.name)))
            .collect();
        format!(
            "SELECT hash_record_extended(ROW({}), 0) FROM (SELECT (NULL::{}).*) t",
            names.join(", "),
            rel.sql()
        )
    };
    let undefined = |e: &tokio_postgres::Error| {
        e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FUNCTION)
    };
    let all: Vec<&Column> = cols.iter().filter(|c| c.hashed).collect();
    if all.is_empty() {
        return Ok(());
    }
    match c.batch_execute(&probe(&all)).await {
        Ok(()) => return Ok(()),
        Err(e) if undefined(&e) => {}
        Err(e) => return Err(e),
    }
    for col in cols.iter_mut().filter(|c| c.hashed) {
        col.hashed = match c.batch_execute(&probe(&[&*col])).await {
            Ok(()) => true,
            Err(e) if undefined(&e) => false,
            Err(e) => return Err(e),
        };
    }
    Ok(())
}
