//! What the access node's cluster database is: its TimescaleDB and
//! membership, the distributed hypertables and where their chunks are,
//! prepared transactions, jobs, and what must agree across the nodes
//! (plain data filled by probe/).

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatabaseFacts {
    pub name: String,
    pub encoding: String,
    pub collate: String,
    pub ctype: String,
    /// TimescaleDB installed in this database (extversion).
    pub timescaledb: Option<String>,
    /// `_timescaledb_catalog.metadata` uuid and dist_uuid.
    pub uuid: Option<String>,
    pub dist_uuid: Option<String>,
    /// On an access node: its data nodes (node_name).
    pub data_nodes: Vec<String>,
    /// On an access node: where it reaches each of them (its foreign
    /// server's host and port options).
    pub members: Vec<Member>,
    /// On an access node: its distributed hypertables and where each puts
    /// its chunks.
    pub distributed_hypertables: Vec<DistributedHypertable>,
    /// On an access node: per data node, the chunks it holds and which of
    /// them exist nowhere else.
    pub chunks: Vec<NodeChunks>,
    /// On an access node: each chunk of a distributed hypertable, where its
    /// copies are and how big each is (what a drain places by).
    pub chunk_places: Vec<ChunkPlace>,
    /// On a data node, read by tsmn rebalance (probe::Reads::Placement):
    /// its own chunks (`schema.chunk`, quoted) and their bytes.
    pub chunk_bytes: Vec<(String, i64)>,
    /// On a data node, read with `chunk_bytes`: its compressed chunks'
    /// names (chunk, compressed chunk's table). Each data node numbers its
    /// own, and the engine's copy keeps the source's: two copies that
    /// bring the same name to one data node clash there.
    pub compressed_names: Vec<(String, String)>,
    /// Every prepared transaction of the server (all databases; see
    /// timescale::own_prepared for TimescaleDB's own, gid `ts-...`
    /// in this database). Those TimescaleDB prepared here (gid `ts-...`) and
    /// never committed or rolled back: an access node that went away
    /// between PREPARE and COMMIT PREPARED leaves them, holding their locks.
    pub prepared: Vec<PreparedXact>,
    /// On an access node: tsmn's maintenance jobs and their procedures.
    pub maintenance: crate::maintenance::MaintenanceFacts,
    /// On an access node: `_timescaledb_catalog.remote_txn` rows (None:
    /// not read).
    pub remote_txn_backlog: Option<i64>,
    /// On an access node: background jobs whose last run failed.
    pub failed_jobs: Vec<FailedJob>,
    /// What must agree between the access node and each data node
    /// (compression settings, the types and functions the distributed
    /// hypertables use); None when it could not be read.
    pub objects: Option<crate::drift::ObjectFacts>,
}

impl DatabaseFacts {
    /// TimescaleDB's own prepared transactions of this database (gid
    /// `ts-...`): what the engine's heal resolves.
    pub fn timescaledb_prepared(&self) -> impl Iterator<Item = &PreparedXact> {
        self.prepared
            .iter()
            .filter(|p| crate::timescale::own_prepared(&p.gid, &p.database, &self.name))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Member {
    pub name: String,
    pub host: String,
    pub port: i64,
    /// Login roles without USAGE on its foreign server (they cannot reach it).
    pub without_usage: Vec<String>,
    /// Marked unavailable (`alter_data_node(..., available => false)`):
    /// the access node reads other copies and places no new chunk there.
    pub unavailable: bool,
    /// A member no longer in the plan (leaving): whether the access node
    /// reaches it now (`ping_data_node`). None: not asked (a member in the
    /// plan has its own probe).
    pub answers: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PreparedXact {
    pub gid: String,
    /// The database it was prepared in.
    pub database: String,
    /// Seconds since it was prepared.
    pub age_seconds: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeChunks {
    pub data_node: String,
    pub total: i64,
    /// `schema.chunk` of each chunk whose only copy is on this node.
    pub only_copy: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChunkPlace {
    /// `schema.table`, quoted as SQL needs it.
    pub hypertable: String,
    /// The hypertable's schema and name, as they are.
    pub hypertable_name: (String, String),
    /// `schema.chunk`, quoted as SQL needs it.
    pub chunk: String,
    pub data_nodes: Vec<String>,
    /// Bytes per data node holding it (empty when the sizes could not be
    /// read: a data node did not answer).
    pub bytes: Vec<(String, i64)>,
    /// Its range of the time dimension, as the catalog shows it.
    pub range: Option<(String, String)>,
    /// Its rows as the access node's statistics estimate them (None: never
    /// analyzed).
    pub rows: Option<i64>,
    /// Per data node whose copy is compressed: its compressed chunk's
    /// table name there (read by tsmn rebalance only).
    pub compressed: Vec<(String, String)>,
}

/// `df -Pk` of the data directory, as the server's OS user sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Disk {
    pub data_directory: String,
    pub total_bytes: i64,
    pub free_bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FailedJob {
    pub job_id: i64,
    pub proc_name: String,
    pub hypertable: Option<String>,
    pub total_failures: i64,
    pub next_start: Option<String>,
    /// The error of its last failed run (timescaledb_information.job_errors).
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DistributedHypertable {
    pub schema: String,
    pub table: String,
    pub data_nodes: Vec<String>,
    /// Copies each chunk should have.
    pub replication_factor: i64,
}
