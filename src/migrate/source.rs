//! ASYNC, read-only: what the cluster holds, read from its access node
//! (catalogs of TimescaleDB 2.13) and its data nodes (where each chunk is,
//! under which name).

pub(super) use super::columns::columns;
pub use super::columns::Column;
use super::connect::{sql_error, Reach};
use super::{MigrateError, QualifiedName};
use crate::pg::{self, Text};
use std::collections::BTreeMap;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dimension {
    pub column: String,
    pub column_type: String,
    /// Open (time) dimension: the chunk interval, in microseconds for time
    /// types, in the column's units for integers.
    pub interval: Option<i64>,
    /// Closed (space) dimension: its number of partitions.
    pub partitions: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Compression {
    pub segmentby: Vec<String>,
    /// Column, ascending, nulls first.
    pub orderby: Vec<(String, bool, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Chunk {
    pub hypertable: QualifiedName,
    /// The chunk's name on the access node.
    pub name: QualifiedName,
    pub compressed: bool,
    /// The time dimension's range, in TimescaleDB's internal units.
    pub range: (i64, i64),
    /// The data nodes holding it, with the chunk's id there.
    pub nodes: Vec<(String, i32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hypertable {
    pub name: QualifiedName,
    pub distributed: bool,
    pub replication_factor: i32,
    pub dimensions: Vec<Dimension>,
    pub compression: Option<Compression>,
    pub columns: Vec<Column>,
    /// Bytes per data node (or "access node" for a local hypertable).
    pub bytes: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub name: QualifiedName,
    pub columns: Vec<Column>,
    pub bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cagg {
    /// The user's view.
    pub name: QualifiedName,
    /// false: the old format (before 2.7), which tsmn does not carry.
    pub finalized: bool,
    pub mat_id: i32,
    pub raw_id: i32,
    /// An aggregate over another aggregate: the parent's materialization id.
    pub parent_mat_id: Option<i32>,
    /// The hypertable it aggregates (a materialization hypertable when
    /// hierarchical).
    pub raw: QualifiedName,
    /// Its materialization hypertable on the access node.
    pub mat: QualifiedName,
    pub materialized_only: bool,
    /// Its query, every name schema-qualified.
    pub view_definition: String,
    pub owner: String,
    /// (grantee, privilege, grantable); grantee None: PUBLIC.
    pub grants: Vec<(Option<String>, String, bool)>,
    /// The materialization hypertable's columns.
    pub columns: Vec<Column>,
    /// Its own compression (`ALTER MATERIALIZED VIEW ... SET
    /// (timescaledb.compress ...)`), and the ranges of its compressed chunks.
    pub compression: Option<Compression>,
    pub compressed: Vec<(i64, i64)>,
}

#[cfg(test)]
impl Cagg {
    /// The tests' aggregate: `public.daily` over `public.m` (hypertable
    /// `raw_id`), materialized in `mat` (hypertable `mat_id`), finalized,
    /// owned by postgres, with nothing else set.
    pub fn example(mat_id: i32, raw_id: i32, mat: QualifiedName) -> Cagg {
        Cagg {
            name: QualifiedName::new("public", "daily"),
            finalized: true,
            mat_id,
            raw_id,
            parent_mat_id: None,
            raw: QualifiedName::new("public", "m"),
            mat,
            materialized_only: false,
            view_definition: String::new(),
            owner: "postgres".into(),
            grants: vec![],
            columns: vec![],
            compression: None,
            compressed: vec![],
        }
    }
}

/// An object that depends on a continuous aggregate (a view over it, a
/// materialized view, a function with an SQL body, their indexes and
/// triggers; through other such objects too): restored after the
/// aggregates are created (`toc`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dependent {
    /// Its catalog (`pg_class`, `pg_proc`, ...) and id there, as pg_dump's
    /// table of contents names it.
    pub classid: u32,
    pub objid: u32,
    /// What it is, as `pg_identify_object` says ("view", "function", ...).
    pub kind: String,
    /// Its schema and name (a function's without its arguments).
    pub name: QualifiedName,
}

impl Dependent {
    /// As the operator reads it: "view public.v"; an object without a
    /// schema of its own by its identity ("default value for public.t.c").
    pub fn shown(&self) -> String {
        if self.name.schema.is_empty() || self.name.name.contains(' ') {
            format!("{} {}", self.kind, self.name.name)
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    pub id: i32,
    pub application_name: String,
    /// `schema.name` of its procedure, unquoted parts.
    pub proc_schema: String,
    pub proc_name: String,
    /// `"schema"."name"`, for messages.
    pub proc: String,
    pub hypertable: Option<QualifiedName>,
    pub schedule_interval: String,
    pub max_runtime: String,
    pub max_retries: i32,
    pub retry_period: String,
    pub scheduled: bool,
    pub fixed_schedule: bool,
    /// jsonb as text.
    pub config: Option<String>,
    pub initial_start: Option<String>,
    pub timezone: Option<String>,
    /// The check function, `"schema"."name"`.
    pub check: Option<String>,
    /// The role that owns it (it runs as that role).
    pub owner: String,
}

/// A data node as the access node has it registered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataNode {
    pub name: String,
    pub database: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    pub database: String,
    pub pg_version: String,
    pub pg_version_num: i32,
    pub timescaledb: String,
    /// The access node's system identifier and database: which cluster a
    /// target's migration record belongs to.
    pub identity: String,
    pub data_nodes: Vec<DataNode>,
    pub hypertables: Vec<Hypertable>,
    pub chunks: Vec<Chunk>,
    pub tables: Vec<Table>,
    pub caggs: Vec<Cagg>,
    /// What depends on the aggregates.
    pub cagg_dependents: Vec<Dependent>,
    pub jobs: Vec<Job>,
    /// Sequences outside TimescaleDB's schemas, with their last value.
    pub sequences: Vec<(QualifiedName, Option<i64>)>,
    /// The access node's database plus every data node's chunks.
    pub total_bytes: i64,
}

impl Source {
    pub fn hypertable(&self, name: &QualifiedName) -> Option<&Hypertable> {
        self.hypertables.iter().find(|h| &h.name == name)
    }
    pub fn chunks_of<'a>(&'a self, h: &'a QualifiedName) -> impl Iterator<Item = &'a Chunk> {
        self.chunks.iter().filter(move |c| &c.hypertable == h)
    }
}

/// Schemas tsmn never copies: TimescaleDB's own and the system's.
pub const SKIPPED_SCHEMAS_SQL: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'timescaledb_information', 'timescaledb_experimental', 'tsmn_migrate') \
     AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'pg\\_%'";

pub(super) fn name(schema: String, table: String) -> QualifiedName {
    QualifiedName {
        schema,
        name: table,
    }
}

/// Everything about the source the migration needs, from the access node.
/// The source's tables and chunks, and the read-only session on the
/// access node they were read in (its aggregates, jobs and sequences are
/// read next, by `catalog::extras`).
pub async fn read(reach: &Reach) -> Result<(Source, Client), MigrateError> {
    let an = &reach.plan.access_node;
    let db = reach.plan.database.clone();
    let c = reach.node(an, &db).await?;
    c.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| sql_error(&an.name, "making the session read-only", &e))?;
    let q = |what: &'static str| {
        let n = an.name.clone();
        move |e: tokio_postgres::Error| sql_error(&n, what, &e)
    };
    let head = pg::one(
        &c,
        "SELECT split_part(current_setting('server_version'), ' ', 1), current_setting('server_version_num')::int, \
         coalesce((SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'), ''), \
         (SELECT system_identifier::text FROM pg_control_system()) || '/' || current_database(), \
         pg_database_size(current_database())",
        &[],
    )
    .await
    .map_err(q("reading its version"))?;
    let mut s = Source {
        database: db.clone(),
        pg_version: head.get(0),
        pg_version_num: head.get(1),
        timescaledb: head.get(2),
        identity: head.get(3),
        total_bytes: head.get(4),
        ..Source::default()
    };
    if s.timescaledb.is_empty() {
        return Err(MigrateError::Failed(format!(
            "{}: the database {db} has no timescaledb extension: it is not a multi-node access node\n    fix: check the plan's database and access node",
            an.name
        )));
    }
    s.data_nodes = pg::rows(
        &c,
        "SELECT s.srvname::text, coalesce((SELECT substr(o, 8) FROM unnest(s.srvoptions) o WHERE o LIKE 'dbname=%'), current_database()) \
         FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
         WHERE w.fdwname = 'timescaledb_fdw' ORDER BY 1",
        &[],
    )
    .await
    .map_err(q("listing the data nodes"))?
    .iter()
    .map(|r| DataNode {
        name: r.get(0),
        database: r.get(1),
    })
    .collect();
    s.hypertables = hypertables(&c)
        .await
        .map_err(q("reading the hypertables"))?;
    s.chunks = chunks(&c, true).await.map_err(q("reading the chunks"))?;
    for h in &mut s.hypertables {
        h.bytes = sizes(&c, h).await.map_err(q("reading hypertable sizes"))?;
        if h.distributed {
            s.total_bytes += h.bytes.iter().map(|(_, b)| b).sum::<i64>();
        }
    }
    s.tables = tables(&c).await.map_err(q("reading the tables"))?;
    Ok((s, c))
}

async fn hypertables(c: &Client) -> Result<Vec<Hypertable>, tokio_postgres::Error> {
    // compression_state 2: the internal table of a hypertable's compressed
    // chunks; materialization hypertables belong to their aggregates.
    let rows = pg::rows(
        c,
        "SELECT h.schema_name::text, h.table_name::text, coalesce(h.replication_factor, 0)::int4, h.compression_state = 1 \
         FROM _timescaledb_catalog.hypertable h \
         WHERE h.compression_state <> 2 \
         AND NOT EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_agg a WHERE a.mat_hypertable_id = h.id) \
         ORDER BY h.id",
        &[],
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let n = name(r.get(0), r.get(1));
        let rf: i32 = r.get(2);
        let dims = pg::rows(
            c,
            "SELECT d.column_name::text, d.column_type::regtype::text, d.interval_length, d.num_slices::int4 \
             FROM _timescaledb_catalog.dimension d JOIN _timescaledb_catalog.hypertable h ON h.id = d.hypertable_id \
             WHERE h.schema_name = $1 AND h.table_name = $2 ORDER BY (d.interval_length IS NULL), d.id",
            &[Text::One(&n.schema), Text::One(&n.name)],
        )
        .await?
        .iter()
        .map(|d| Dimension {
            column: d.get(0),
            column_type: d.get(1),
            interval: d.get(2),
            partitions: d.get(3),
        })
        .collect();
        let compression = if r.get::<_, bool>(3) {
            Some(compression(c, &n).await?)
        } else {
            None
        };
        out.push(Hypertable {
            columns: columns(c, &n).await?,
            name: n,
            distributed: rf > 0,
            replication_factor: rf,
            dimensions: dims,
            compression,
            bytes: Vec::new(),
        });
    }
    Ok(out)
}

pub(super) async fn compression(
    c: &Client,
    h: &QualifiedName,
) -> Result<Compression, tokio_postgres::Error> {
    let rows = pg::rows(
        c,
        "SELECT attname::text, segmentby_column_index, orderby_column_index, coalesce(orderby_asc, true), coalesce(orderby_nullsfirst, false) \
         FROM timescaledb_information.compression_settings WHERE hypertable_schema = $1 AND hypertable_name = $2",
        &[Text::One(&h.schema), Text::One(&h.name)],
    )
    .await?;
    let mut seg: Vec<(i16, String)> = Vec::new();
    let mut ord: Vec<(i16, (String, bool, bool))> = Vec::new();
    for r in rows {
        let col: String = r.get(0);
        if let Some(i) = r.get::<_, Option<i16>>(1) {
            seg.push((i, col.clone()));
        }
        if let Some(i) = r.get::<_, Option<i16>>(2) {
            ord.push((i, (col, r.get(3), r.get(4))));
        }
    }
    seg.sort();
    ord.sort_by_key(|(i, _)| *i);
    Ok(Compression {
        segmentby: seg.into_iter().map(|(_, c)| c).collect(),
        orderby: ord.into_iter().map(|(_, o)| o).collect(),
    })
}

/// Each chunk of the hypertables (not of TimescaleDB's internal ones), with
/// the range of its time dimension; `nodes`: where it is (an access node).
pub async fn chunks(c: &Client, nodes: bool) -> Result<Vec<Chunk>, tokio_postgres::Error> {
    let placement = if nodes {
        "coalesce((SELECT array_agg(cdn.node_name::text ORDER BY cdn.node_name) FROM _timescaledb_catalog.chunk_data_node cdn WHERE cdn.chunk_id = c.id), '{}'), \
         coalesce((SELECT array_agg(cdn.node_chunk_id ORDER BY cdn.node_name) FROM _timescaledb_catalog.chunk_data_node cdn WHERE cdn.chunk_id = c.id), '{}')"
    } else {
        "'{}'::text[], '{}'::int4[]"
    };
    let rows = pg::rows(
        c,
        &format!(
            "SELECT h.schema_name::text, h.table_name::text, c.schema_name::text, c.table_name::text, \
             (c.status & 1) = 1, s.range_start, s.range_end, {placement} \
             FROM _timescaledb_catalog.chunk c \
             JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id \
             JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id AND cc.dimension_slice_id IS NOT NULL \
             JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id \
             JOIN _timescaledb_catalog.dimension d ON d.id = s.dimension_id AND d.interval_length IS NOT NULL \
             WHERE NOT c.dropped AND h.compression_state <> 2 \
             AND NOT EXISTS (SELECT 1 FROM _timescaledb_catalog.continuous_agg a WHERE a.mat_hypertable_id = h.id) \
             ORDER BY h.id, s.range_start, c.id"
        ),
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let names: Vec<String> = r.get(7);
            let ids: Vec<i32> = r.get(8);
            Chunk {
                hypertable: name(r.get(0), r.get(1)),
                name: name(r.get(2), r.get(3)),
                compressed: r.get(4),
                range: (r.get(5), r.get(6)),
                nodes: names.into_iter().zip(ids).collect(),
            }
        })
        .collect())
}

async fn sizes(c: &Client, h: &Hypertable) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = pg::rows(
        c,
        "SELECT coalesce(node_name::text, 'access node'), coalesce(total_bytes, 0)::int8 \
         FROM hypertable_detailed_size(format('%I.%I', $1::text, $2::text)::regclass) ORDER BY 1",
        &[Text::One(&h.name.schema), Text::One(&h.name.name)],
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn tables(c: &Client) -> Result<Vec<Table>, tokio_postgres::Error> {
    let rows = pg::rows(
        c,
        &format!(
            "SELECT n.nspname::text, c.relname::text, pg_total_relation_size(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {SKIPPED_SCHEMAS_SQL} \
             AND NOT EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable h WHERE h.schema_name = n.nspname AND h.table_name = c.relname) \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') \
             ORDER BY 1, 2"
        ),
        &[],
    )
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let n = name(r.get(0), r.get(1));
        out.push(Table {
            columns: columns(c, &n).await?,
            name: n,
            bytes: r.get(2),
        });
    }
    Ok(out)
}

/// A data node's chunks: its chunk id -> (qualified name, compressed).
pub type NodeChunks = BTreeMap<i32, (QualifiedName, bool)>;

/// Read-only: the chunks a data node holds.
pub async fn node_chunks(c: &Client, node: &str) -> Result<NodeChunks, MigrateError> {
    let rows = pg::rows(
        c,
        "SELECT id, schema_name::text, table_name::text, (status & 1) = 1 FROM _timescaledb_catalog.chunk WHERE NOT dropped",
        &[],
    )
    .await
    .map_err(|e| sql_error(node, "reading its chunks", &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), (name(r.get(1), r.get(2)), r.get(3))))
        .collect())
}
