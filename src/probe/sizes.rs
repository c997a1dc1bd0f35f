//! The access node's chunk sizes, asked of the data nodes by the engine,
//! within a time limit of their own.

/// Each chunk replica's bytes, from the data nodes (fails as a whole when
/// one does not answer: the places stay, without sizes). The engine asks
/// the data nodes over connections of its own, with no time limit: a data
/// node that hangs would hold the access node's whole probe, and without
/// the access node's facts nothing can be judged. So within a time limit
/// of its own, local to the one message (an implicit transaction: it ends
/// with it, also on a timeout, and the session keeps its own setting).
pub(super) async fn sizes_within(client: &tokio_postgres::Client) -> Vec<(String, String, i64)> {
    let sql =
        format!("SELECT set_config('statement_timeout', '{SIZES_TIMEOUT_MS}', true); {SIZES_SQL}");
    let Ok(msgs) = client.simple_query(&sql).await else {
        return Vec::new();
    };
    msgs.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) if r.len() == 3 => Some((
                r.get(0)?.to_string(),
                r.get(1)?.to_string(),
                r.get(2)?.parse().ok()?,
            )),
            _ => None,
        })
        .collect()
}

/// How long the sizes may take (a data node that does not answer).
const SIZES_TIMEOUT_MS: u32 = 3000;

const SIZES_SQL: &str = "SELECT format('%I.%I', s.chunk_schema, s.chunk_name), s.node_name::text, coalesce(s.total_bytes, 0)::bigint \
     FROM timescaledb_information.hypertables h \
     CROSS JOIN LATERAL chunks_detailed_size(format('%I.%I', h.hypertable_schema, h.hypertable_name)::regclass) s \
     WHERE h.is_distributed AND s.node_name IS NOT NULL";

/// A data node's own chunks and their bytes, as the engine's
/// chunks_detailed_size gets them: it sends each data node
/// `chunks_local_size(schema, table)` (tsl/src/dist_util.c,
/// dist_util_remote_chunk_info), one data node after another over the
/// access node's connections, each opened first. tsmn rebalance asks the
/// same function on each data node itself, all at once on its own
/// sessions (Reads::Placement): the same bytes, without 64 connections
/// opened one after another. Every hypertable of the data node (its
/// distributed members, replication_factor -1); chunk names are those of
/// the access node's catalog.
pub(super) async fn local(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT format('%I.%I', s.chunk_schema, s.chunk_name), coalesce(s.total_bytes, 0)::bigint \
         FROM _timescaledb_catalog.hypertable h \
         CROSS JOIN LATERAL {schema}.chunks_local_size(h.schema_name, h.table_name) s \
         WHERE h.replication_factor = -1"
    );
    Ok(crate::pg::rows(client, &sql, &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}
