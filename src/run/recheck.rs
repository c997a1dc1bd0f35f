//! ASYNC: the chunk a killed run left under its write pause, compared
//! again by the next run before it releases the pause
//! (moves_left::resume).
//!
//! Why: a run killed after the engine's copy attached a chunk's new copy
//! and before tsmn compared the two leaves both in the catalog. A drain's
//! next move of that chunk compares them before it drops the source; a
//! repair's next run makes no step for it (the chunk has its copies), so
//! without this the copy would count as good unchecked. Here every copy
//! of the chunk that can be read is compared; copies that differ stop the
//! run, each named with what it holds.

use super::session::{describe, Sessions};
use tokio_postgres::Client;

/// The chunk of the pause `gid` (`tsmn_drain_<chunk id>`), compared on
/// every data node that holds it: what was found, for people (None: no
/// such chunk any more). Err: its copies differ.
pub async fn compare_left(
    an: &Client,
    sessions: &Sessions<'_>,
    database: &str,
    functions_schema: &str,
    gid: &str,
) -> Result<Option<String>, String> {
    let Some(id) = gid
        .strip_prefix(super::moves::PAUSE_PREFIX)
        .and_then(|i| i.parse::<i32>().ok())
    else {
        return Ok(None);
    };
    let row = an
        .query_opt(
            "SELECT format('%I.%I', c.schema_name, c.table_name), \
             ARRAY(SELECT d.node_name::text FROM _timescaledb_catalog.chunk_data_node d WHERE d.chunk_id = c.id ORDER BY 1) \
             FROM _timescaledb_catalog.chunk c WHERE c.id = $1 AND NOT c.dropped",
            &[&id],
        )
        .await
        .map_err(|e| describe(&e))?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (chunk, holders): (String, Vec<String>) = (row.get(0), row.get(1));
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut unread = Vec::new();
    for node in &holders {
        match super::moves::fingerprint(sessions, node, database, &chunk).await {
            Ok(f) => seen.push((node.clone(), f)),
            Err(e) => unread.push(format!("{node} ({e})")),
        }
    }
    let all: Vec<String> = seen.iter().map(|(n, f)| format!("{n} {f}")).collect();
    if seen.windows(2).any(|w| w[0].1 != w[1].1) {
        return Err(format!(
            "the copies of {chunk} differ after a killed run (rows:checksum {}): tsmn changes nothing more, and its write pause {gid} stays held, so no write changes either copy; keep the copy that is right and drop the other on the access node (SELECT {functions_schema}.chunk_drop_replica({}, '<data node>')), then run {} again, which compares the copies left and releases the pause",
            all.join(", "),
            crate::quote::sql::literal(&chunk),
            sessions.kind.command()
        ));
    }
    Ok(Some(format!(
        "copies of {chunk} compared after the killed run: equal ({}){}",
        all.join(", "),
        if unread.is_empty() {
            String::new()
        } else {
            format!("; not read: {}", unread.join(", "))
        }
    )))
}
