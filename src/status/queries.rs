//! The statements of a status refresh. Each returns one row (lists as
//! JSON text, so tokio-postgres needs no JSON feature), and a node's
//! statements are sent together: one round trip per node. Only server
//! counters and catalogs are read, never a table's rows (`count(*)` of a
//! big hypertable would cost more than the whole refresh).

/// Every node: versions, uptime, connections, the database's size, and
/// every prepared transaction (all databases: one left in another
/// database holds its locks as well).
pub const NODE: &str = "SELECT split_part(current_setting('server_version'), ' ', 1), \
     (SELECT extversion::text FROM pg_extension WHERE extname = 'timescaledb'), \
     extract(epoch FROM now() - pg_postmaster_start_time())::bigint, \
     (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
     current_setting('max_connections')::bigint, \
     pg_database_size(current_database()), \
     coalesce((SELECT json_agg(json_build_object('gid', gid, 'database', database, \
        'age_seconds', extract(epoch FROM now() - prepared)::bigint) ORDER BY prepared) \
        FROM pg_prepared_xacts), '[]')::text";

/// A data node: per hypertable of this database (a distributed
/// hypertable's member table has the same name as on the access node),
/// its chunks' counters summed: rows inserted and bytes.
pub const DATA_COUNTERS: &str = "SELECT coalesce(json_agg(json_build_object('hypertable', x.name, \
     'chunks', x.chunks, 'rows_inserted', x.ins, 'bytes', x.bytes) ORDER BY x.name), '[]')::text FROM ( \
     SELECT h.schema_name || '.' || h.table_name AS name, count(s.relid) AS chunks, \
        coalesce(sum(s.n_tup_ins), 0)::bigint AS ins, \
        coalesce(sum(pg_total_relation_size(s.relid)), 0)::bigint AS bytes \
     FROM _timescaledb_catalog.hypertable h \
     JOIN _timescaledb_catalog.chunk c ON c.hypertable_id = h.id AND NOT c.dropped \
     JOIN pg_stat_user_tables s ON s.schemaname = c.schema_name AND s.relname = c.table_name \
     GROUP BY 1) x";

/// The access node: its distributed hypertables with the chunks placed on
/// each attached data node and those short of copies; the remote_txn
/// backlog; jobs whose last run failed.
pub const ACCESS_CATALOG: &str = "SELECT \
   (SELECT coalesce(json_agg(json_build_object('name', h.schema_name || '.' || h.table_name, \
      'replication_factor', h.replication_factor, \
      'placement', (SELECT coalesce(json_agg(json_build_object('data_node', hdn.node_name, 'chunks', \
          (SELECT count(*) FROM _timescaledb_catalog.chunk_data_node cdn \
             JOIN _timescaledb_catalog.chunk c ON c.id = cdn.chunk_id \
           WHERE c.hypertable_id = h.id AND NOT c.dropped AND cdn.node_name = hdn.node_name)) \
          ORDER BY hdn.node_name), '[]') \
        FROM _timescaledb_catalog.hypertable_data_node hdn WHERE hdn.hypertable_id = h.id), \
      'under_replicated', (SELECT count(*) FROM _timescaledb_catalog.chunk c \
         WHERE c.hypertable_id = h.id AND NOT c.dropped \
           AND (SELECT count(*) FROM _timescaledb_catalog.chunk_data_node cdn WHERE cdn.chunk_id = c.id) \
               < h.replication_factor)) \
      ORDER BY h.schema_name, h.table_name), '[]') \
    FROM _timescaledb_catalog.hypertable h WHERE h.replication_factor > 0)::text, \
   (SELECT count(*) FROM _timescaledb_catalog.remote_txn), \
   (SELECT coalesce(json_agg(json_build_object('job_id', j.job_id, 'proc_name', j.proc_name, \
      'hypertable', CASE WHEN j.hypertable_name IS NULL THEN NULL \
                         ELSE j.hypertable_schema || '.' || j.hypertable_name END, \
      'total_failures', s.total_failures, 'next_start', s.next_start::text) ORDER BY j.job_id), '[]') \
    FROM timescaledb_information.jobs j JOIN timescaledb_information.job_stats s USING (job_id) \
    WHERE s.last_run_status = 'Failed')::text";

/// The access node's settings that decide how TimescaleDB connects out
/// (passfile, TLS files): the link's connection options are built from them.
pub const LINK_SETTINGS: &str = "SELECT name, setting, source FROM pg_settings WHERE name IN \
   ('data_directory', 'ssl', 'ssl_ca_file', 'timescaledb.passfile', 'timescaledb.ssl_dir')";

/// dblink's functions for a link session, as temporary functions of that
/// session (nothing installed, gone with the session): a named connection
/// to the data node, kept open, and one query over it timed on the access
/// node itself (tsmn's own round trip to the access node left out).
pub const LINK_FUNCTIONS: &str = "\
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink(text, text) RETURNS SETOF record \
  AS '$libdir/dblink', 'dblink_record' LANGUAGE C STRICT; \
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_connect(text, text) RETURNS text \
  AS '$libdir/dblink', 'dblink_connect' LANGUAGE C STRICT; \
CREATE OR REPLACE FUNCTION pg_temp.tsmn_link_rtt() RETURNS float8 LANGUAGE plpgsql AS $f$ \
DECLARE t0 timestamptz := clock_timestamp(); \
BEGIN \
  PERFORM * FROM pg_temp.tsmn_dblink('tsmn_link', 'SELECT 1') AS t(x int); \
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000; \
END $f$";

pub const LINK_CONNECT: &str = "SELECT pg_temp.tsmn_dblink_connect('tsmn_link', $1)";
pub const LINK_RTT: &str = "SELECT pg_temp.tsmn_link_rtt()";
