//! The statements of a status refresh. Each returns one row (lists as
//! JSON text, so tokio-postgres needs no JSON feature), and a node's
//! statements are sent together: one round trip per node. Only server
//! counters and catalogs are read, never a table's rows (`count(*)` of a
//! big hypertable would cost more than the whole refresh).

/// Every node: versions, uptime, connections, and every prepared
/// transaction (the database's size, which stats every file of the
/// database, is read with the slow facts: slow.rs) (all databases: one
/// left in another database holds its locks as well). With each, as the
/// server has it: the tables it locks (named in this session's database;
/// a prepared transaction's locks have no pid and share the virtual
/// transaction of its transaction id's own lock), and whether a tsmn run
/// holds its lock for that database (run/run_lock.rs's key, named after the
/// cluster database, taken in whichever database the run's session is):
/// a chunk move's write pause without a run is one a killed run left.
pub static NODE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT split_part(current_setting('server_version'), ' ', 1), \
     (SELECT extversion::text FROM pg_extension WHERE extname = 'timescaledb'), \
     extract(epoch FROM now() - pg_postmaster_start_time())::bigint, \
     (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), \
     current_setting('max_connections')::bigint, \
     coalesce((SELECT json_agg(json_build_object('gid', p.gid, 'database', p.database, \
        'age_seconds', extract(epoch FROM now() - p.prepared)::bigint, \
        'locks', (SELECT string_agg(l.relation::regclass::text, ', ' ORDER BY l.relation) FROM pg_locks l \
           WHERE l.locktype = 'relation' AND l.pid IS NULL \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND l.virtualtransaction = (SELECT x.virtualtransaction FROM pg_locks x \
               WHERE x.locktype = 'transactionid' AND x.transactionid = p.transaction AND x.pid IS NULL LIMIT 1)), \
        'run_held', EXISTS (SELECT FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
           AND l.objid::int4 = {})) \
        ORDER BY p.prepared) \
        FROM pg_prepared_xacts p), '[]')::text",
        crate::run::run_lock::key_sql("p.database")
    )
});

/// A data node: each chunk of each hypertable of this database (a
/// distributed hypertable's member table has the same name as on the
/// access node) with its counters: rows inserted, and all changes; its
/// size only when `$1` (`relid:changes` of the sizes tsmn keeps) does not
/// name it with these changes (sizes.rs). A compressed chunk's rows live
/// in its compressed chunk (of the engine's internal hypertable, not
/// listed on its own): its bytes and changes count with the chunk's, as
/// chunks_detailed_size counts them.
pub const DATA_COUNTERS: &str = "SELECT coalesce(json_agg(json_build_object( \
     'hypertable', x.name, 'relid', x.relid, 'inserted', x.ins, 'changes', x.changes, \
     'bytes', CASE WHEN x.relid || ':' || x.changes = ANY($1::text[]) THEN NULL \
                   ELSE pg_total_relation_size(x.relid::oid) \
                        + coalesce(pg_total_relation_size(x.zrelid), 0) END)), '[]')::text FROM ( \
     SELECT h.schema_name || '.' || h.table_name AS name, s.relid::bigint AS relid, \
        s.n_tup_ins AS ins, \
        s.n_tup_ins + s.n_tup_upd + s.n_tup_del + coalesce(z.n_tup_ins + z.n_tup_upd + z.n_tup_del, 0) AS changes, \
        z.relid AS zrelid \
     FROM _timescaledb_catalog.hypertable h \
     JOIN _timescaledb_catalog.chunk c ON c.hypertable_id = h.id AND NOT c.dropped \
     JOIN pg_stat_user_tables s ON s.schemaname = c.schema_name AND s.relname = c.table_name \
     LEFT JOIN _timescaledb_catalog.chunk cc ON cc.id = c.compressed_chunk_id \
     LEFT JOIN pg_stat_user_tables z ON z.schemaname = cc.schema_name AND z.relname = cc.table_name \
     WHERE NOT EXISTS (SELECT FROM _timescaledb_catalog.hypertable p WHERE p.compressed_hypertable_id = h.id)) x";

/// The access node: its distributed hypertables with the chunks placed on
/// each attached data node and those short of copies; the remote_txn
/// backlog; jobs whose last run failed. The chunk catalog is read once
/// (the two CTEs), not once per hypertable and data node (correlated
/// counts cost 56 ms of the access node's CPU per refresh at 16 data
/// nodes with 100 chunks each), and only when it changed: `$1` is the
/// key of the last reading (the catalog tables' own insert, update and
/// delete counters, the last column); when it is the same, the first
/// column is NULL and the last reading stands. The counters reach the
/// statistics within a second of a change, so a new chunk shows at the
/// next refresh or the one after.
pub const ACCESS_CATALOG: &str = concat!(
    "WITH key AS (SELECT concat_ws(':', \
     pg_stat_get_tuples_inserted(t), pg_stat_get_tuples_updated(t), pg_stat_get_tuples_deleted(t)) \
       || concat_ws(':', pg_stat_get_tuples_inserted(p), pg_stat_get_tuples_updated(p), \
            pg_stat_get_tuples_deleted(p), pg_stat_get_tuples_inserted(d), \
            pg_stat_get_tuples_updated(d), pg_stat_get_tuples_deleted(d)) AS k \
     FROM (SELECT '_timescaledb_catalog.chunk'::regclass AS t, \
       '_timescaledb_catalog.chunk_data_node'::regclass AS p, \
       '_timescaledb_catalog.hypertable_data_node'::regclass AS d) r) \
   SELECT CASE WHEN (SELECT k FROM key) = $1 THEN NULL ELSE \
   (WITH copies AS MATERIALIZED ( \
      SELECT c.hypertable_id, c.id, count(cdn.chunk_id) AS n \
      FROM _timescaledb_catalog.chunk c \
      LEFT JOIN _timescaledb_catalog.chunk_data_node cdn ON cdn.chunk_id = c.id \
      WHERE NOT c.dropped GROUP BY c.hypertable_id, c.id), \
    placed AS MATERIALIZED ( \
      SELECT c.hypertable_id, cdn.node_name, count(*) AS chunks \
      FROM _timescaledb_catalog.chunk c \
      JOIN _timescaledb_catalog.chunk_data_node cdn ON cdn.chunk_id = c.id \
      WHERE NOT c.dropped GROUP BY c.hypertable_id, cdn.node_name) \
    SELECT coalesce(json_agg(json_build_object('name', h.schema_name || '.' || h.table_name, \
      'replication_factor', h.replication_factor, \
      'placement', (SELECT coalesce(json_agg(json_build_object('data_node', hdn.node_name, \
          'chunks', coalesce(p.chunks, 0)) ORDER BY hdn.node_name), '[]') \
        FROM _timescaledb_catalog.hypertable_data_node hdn \
        LEFT JOIN placed p ON p.hypertable_id = hdn.hypertable_id AND p.node_name = hdn.node_name \
        WHERE hdn.hypertable_id = h.id), \
      'under_replicated', (SELECT count(*) FROM copies k \
         WHERE k.hypertable_id = h.id AND k.n < h.replication_factor)) \
      ORDER BY h.schema_name, h.table_name), '[]') \
    FROM _timescaledb_catalog.hypertable h WHERE h.replication_factor > 0)::text END, \
   (SELECT count(*) FROM _timescaledb_catalog.remote_txn), \
   ",
    crate::probe::health::failed_jobs_json!(),
    ", \
   (SELECT k FROM key)"
);

/// A node's settings that say where its files are and how TimescaleDB
/// connects out from it (passfile, TLS files): the links' connection
/// options and the certificates to read are built from them.
pub const FILE_SETTINGS: &str = "SELECT name, setting, source FROM pg_settings WHERE name IN \
   ('data_directory', 'ssl', 'ssl_cert_file', 'ssl_ca_file', 'timescaledb.passfile', \
    'timescaledb.ssl_dir')";

/// dblink's functions for a link session, as temporary functions of that
/// session (nothing installed, gone with the session), and
/// `tsmn_links(names, conninfos, wait_ms, keep)`: every link in one
/// statement. Links not open yet are connected first (one after the
/// other: dblink has no asynchronous connect), then `SELECT 1` is sent on
/// all of them at once and each is timed, on this node itself, from its send to
/// its answer (polled after 0.1, 0.2, 0.4 ms, then every half millisecond
/// for 50 ms, then every 4 ms: a fast link is timed to half a millisecond,
/// a slow one costs few polls).
/// A link that has not answered `wait_ms` after its send is closed and
/// reported as such; with `keep` the others stay open for the next refresh (the
/// access node's), without it every link is closed (between data nodes,
/// where 64 nodes would hold 4,032 connections).
pub const LINK_FUNCTIONS: &str = r#"
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_connect(text, text) RETURNS text
  AS '$libdir/dblink', 'dblink_connect' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_disconnect(text) RETURNS text
  AS '$libdir/dblink', 'dblink_disconnect' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_connections() RETURNS text[]
  AS '$libdir/dblink', 'dblink_get_connections' LANGUAGE C;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_send(text, text) RETURNS int4
  AS '$libdir/dblink', 'dblink_send_query' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_busy(text) RETURNS int4
  AS '$libdir/dblink', 'dblink_is_busy' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink_result(text) RETURNS SETOF record
  AS '$libdir/dblink', 'dblink_get_result' LANGUAGE C STRICT;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_link_close(n text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM pg_temp.tsmn_dblink_disconnect(n);
EXCEPTION WHEN OTHERS THEN NULL;
END $f$;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_link_send(n text, info text, connect bool)
RETURNS timestamptz LANGUAGE plpgsql AS $f$
BEGIN
  IF connect THEN
    PERFORM pg_temp.tsmn_dblink_connect(n, info);
  END IF;
  -- dblink reports a send that failed as 0 (and a NOTICE), not an error.
  IF pg_temp.tsmn_dblink_send(n, 'SELECT 1') <> 1 THEN
    RAISE EXCEPTION 'could not send a query over the link';
  END IF;
  RETURN clock_timestamp();
END $f$;
CREATE OR REPLACE FUNCTION pg_temp.tsmn_links(names text[], infos text[], wait_ms int, keep bool)
RETURNS TABLE(link text, ms float8, error text) LANGUAGE plpgsql AS $f$
DECLARE
  n int := coalesce(cardinality(names), 0);
  open text[] := coalesce(pg_temp.tsmn_dblink_connections(), '{}');
  wait interval := wait_ms * interval '1 ms';
  sent timestamptz[] := array_fill(NULL::timestamptz, ARRAY[n]);
  took float8[] := array_fill(NULL::float8, ARRAY[n]);
  err text[] := array_fill(NULL::text, ARRAY[n]);
  kept bool[] := array_fill(false, ARRAY[n]);
  waiting bool;
  nap float8 := 0.0001;
  polling timestamptz;
  d text;
BEGIN
  -- Every link not open yet is connected before any is timed: a connect
  -- that takes long must not count in the round trip of a link sent
  -- before it.
  FOR i IN 1..n LOOP
    kept[i] := names[i] = ANY(open);
    CONTINUE WHEN kept[i];
    BEGIN
      PERFORM pg_temp.tsmn_dblink_connect(names[i], infos[i]);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
      err[i] := coalesce(nullif(trim(d), ''), SQLERRM);
      PERFORM pg_temp.tsmn_link_close(names[i]);
    END;
  END LOOP;
  FOR i IN 1..n LOOP
    CONTINUE WHEN err[i] IS NOT NULL;
    BEGIN
      sent[i] := pg_temp.tsmn_link_send(names[i], infos[i], false);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
      err[i] := coalesce(nullif(trim(d), ''), SQLERRM);
      PERFORM pg_temp.tsmn_link_close(names[i]);
    END;
  END LOOP;
  polling := clock_timestamp();
  LOOP
    waiting := false;
    FOR i IN 1..n LOOP
      -- A kept link that broke (its data node restarted since the last
      -- refresh) is made anew, once.
      IF err[i] IS NOT NULL AND kept[i] THEN
        kept[i] := false;
        err[i] := NULL;
        took[i] := NULL;
        BEGIN
          PERFORM pg_temp.tsmn_link_close(names[i]);
          sent[i] := pg_temp.tsmn_link_send(names[i], infos[i], true);
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
          err[i] := coalesce(nullif(trim(d), ''), SQLERRM);
          PERFORM pg_temp.tsmn_link_close(names[i]);
        END;
      END IF;
      CONTINUE WHEN sent[i] IS NULL OR took[i] IS NOT NULL OR err[i] IS NOT NULL;
      IF pg_temp.tsmn_dblink_busy(names[i]) = 0 THEN
        BEGIN
          -- The answer, then the empty result that frees the connection.
          PERFORM * FROM pg_temp.tsmn_dblink_result(names[i]) AS r(x int);
          PERFORM * FROM pg_temp.tsmn_dblink_result(names[i]) AS r(x int);
          took[i] := extract(epoch FROM clock_timestamp() - sent[i]) * 1000;
        EXCEPTION WHEN OTHERS THEN
          GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
          err[i] := coalesce(nullif(trim(d), ''), SQLERRM);
          PERFORM pg_temp.tsmn_link_close(names[i]);
          waiting := waiting OR kept[i];
        END;
      ELSIF clock_timestamp() > sent[i] + wait THEN
        err[i] := format('timeout expired: no answer within %s ms', wait_ms);
        kept[i] := false;
        PERFORM pg_temp.tsmn_link_close(names[i]);
      ELSE
        waiting := true;
      END IF;
    END LOOP;
    EXIT WHEN NOT waiting;
    PERFORM pg_sleep(nap);
    -- Every half millisecond for the first 50 ms (each link's time is its
    -- own to that), then every 4 ms (a slow link costs few polls).
    nap := least(nap * 2, CASE WHEN clock_timestamp() - polling < interval '50 ms'
                               THEN 0.0005 ELSE 0.004 END);
  END LOOP;
  IF NOT keep THEN
    FOR i IN 1..n LOOP
      PERFORM pg_temp.tsmn_link_close(names[i]);
    END LOOP;
  END IF;
  RETURN QUERY SELECT names[i], took[i], err[i] FROM generate_series(1, n) AS i;
END $f$;
"#;

pub const LINKS: &str = "SELECT link, ms, error FROM pg_temp.tsmn_links($1::text[], $2::text[], $3::text::int, $4::text::bool)";
