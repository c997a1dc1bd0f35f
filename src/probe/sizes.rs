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
/// chunks_detailed_size counts them: it sends each data node
/// `chunks_local_size(schema, table)` (tsl/src/dist_util.c), one data node
/// after another over the access node's connections, each opened first.
/// tsmn rebalance asks each data node itself, all at once on its own
/// sessions (Reads::Placement), and reads the same total the engine's
/// `hypertable_chunk_local_size` view does (sql/size_utils.sql: a chunk's
/// `pg_total_relation_size` plus its compressed chunk's) without the heap,
/// index and toast parts it also works out: 43 ms of the server's CPU
/// against 52 ms for 624 chunks. Every hypertable of the data node (its
/// distributed members, replication_factor -1); chunk names are those of
/// the access node's catalog. The catalog's columns read are the same in
/// every multi-node version (2.0 to 2.13).
/// With them, each compressed chunk's table name (`compressed_names`).
#[allow(clippy::type_complexity)]
pub(super) async fn local(
    client: &tokio_postgres::Client,
) -> Result<(Vec<(String, i64)>, Vec<(String, String)>), tokio_postgres::Error> {
    let rows = crate::pg::rows(client, LOCAL_SQL, &[]).await?;
    let bytes = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let names = rows
        .iter()
        .filter_map(|r| Some((r.get(0), r.get::<_, Option<String>>(2)?)))
        .collect();
    Ok((bytes, names))
}

const LOCAL_SQL: &str = "SELECT format('%I.%I', c.schema_name, c.table_name), \
       (pg_total_relation_size(cl.oid) + coalesce(pg_total_relation_size(ccl.oid), 0))::bigint, \
       comp.table_name::text \
     FROM _timescaledb_catalog.hypertable h \
     JOIN _timescaledb_catalog.chunk c ON c.hypertable_id = h.id AND NOT c.dropped \
     JOIN pg_namespace n ON n.nspname = c.schema_name \
     JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relname = c.table_name AND cl.relkind = 'r' \
     LEFT JOIN _timescaledb_catalog.chunk comp ON comp.id = c.compressed_chunk_id \
     LEFT JOIN pg_namespace cn ON cn.nspname = comp.schema_name \
     LEFT JOIN pg_class ccl ON ccl.relnamespace = cn.oid AND ccl.relname = comp.table_name \
     WHERE h.replication_factor = -1";
