//! `tsmn status`: the cluster at a glance. The snapshot is plain data
//! (this file), collected by `collect.rs` over sessions that stay open
//! between refreshes, judged by the pure `problems` below, and spoken by
//! `render.rs` (text) and `json.rs` (schema `tsmn-status/1`).

pub mod collect;
pub mod json;
mod links;
mod node;
mod part;
mod problems;
mod queries;
mod reach;
pub mod render;
mod sizes;
mod slow;

pub use crate::facts::{Disk, FailedJob};
pub use problems::problems;

use crate::facts::NodeRole;
use crate::findings::Severity;
use serde::Serialize;
use std::time::Duration;

/// One look at the cluster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// The cluster database.
    pub database: String,
    pub nodes: Vec<NodeStatus>,
    pub links: Vec<LinkStatus>,
    /// The access node's distributed hypertables (empty when it is down).
    pub hypertables: Vec<HypertableStatus>,
    /// The access node's `_timescaledb_catalog.remote_txn` rows: two-phase
    /// transactions whose outcome it still keeps for healing.
    pub remote_txn_backlog: Option<i64>,
    /// Background jobs of the access node whose last run failed.
    pub failed_jobs: Vec<FailedJob>,
    /// Seconds since the watch began, when this snapshot was taken (rates
    /// are counted between two of them).
    pub taken_at: f64,
    /// How long collecting it took, in milliseconds.
    pub took_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub role: NodeRole,
    /// Where tsmn connects (host:port or socket directory).
    pub address: String,
    /// tsmn read it (state `up`).
    pub up: bool,
    pub state: NodeState,
    /// Why tsmn could not get in (or lost the session).
    pub error: Option<String>,
    /// The SQLSTATE of that error, when the server sent one.
    #[serde(skip)]
    pub sqlstate: Option<String>,
    /// Present when up; when waiting, its last answer's.
    pub server: Option<ServerStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// tsmn read it.
    Up,
    /// No server answered: stopped, unreachable, or it hangs.
    Down,
    /// The server answered and turned tsmn's session down (its login, TLS,
    /// a missing role, no connection slot free): it runs, but tsmn cannot
    /// read it.
    Refused,
    /// In a watch: no answer by this refresh's deadline (it is still asked,
    /// bounded on its own); the values shown are its last answer's.
    Waiting,
}

impl NodeState {
    pub fn label(self) -> &'static str {
        match self {
            NodeState::Up => "up",
            NodeState::Down => "DOWN",
            NodeState::Refused => "REFUSED",
            NodeState::Waiting => "WAITING",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerStatus {
    pub postgres_version: String,
    /// In the cluster database; None when not created there.
    pub timescaledb_version: Option<String>,
    pub uptime_seconds: i64,
    pub connections: i64,
    pub max_connections: i64,
    /// The cluster database's size; None when tsmn is in `postgres`
    /// because the cluster database does not exist here.
    pub database_bytes: Option<i64>,
    /// Every prepared transaction on the server (all databases).
    pub prepared: Vec<Prepared>,
    /// On a data node: per hypertable (`schema.table`), its chunks'
    /// counters summed: rows inserted (n_tup_ins) and bytes on disk.
    pub counters: Vec<Counters>,
    /// The filesystem under the data directory; None: unknown (tsmn is not
    /// a superuser there, or `df` could not be run). Read at the first
    /// snapshot and then once a minute (see slow.rs).
    pub disk: Option<Disk>,
    /// The TLS certificates the server uses (none when ssl is off), read
    /// as check reads them, with their days left; refreshed with `disk`.
    pub certificates: Vec<CertificateStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertificateStatus {
    /// `server certificate`, `CA`, `client certificate of <role>`.
    pub what: String,
    pub path: String,
    /// Whole days until it expires (negative: expired that long ago).
    pub days_left: i64,
    /// Not valid yet (its notBefore is in the future).
    pub not_yet_valid: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Prepared {
    pub gid: String,
    pub database: String,
    pub age_seconds: i64,
    /// The tables it locks, when prepared in the cluster database.
    #[serde(default)]
    pub locks: Option<String>,
    /// A tsmn run holds its lock in that database (flow/lock.rs).
    #[serde(default)]
    pub run_held: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counters {
    pub hypertable: String,
    pub chunks: i64,
    pub rows_inserted: i64,
    pub bytes: i64,
}

/// A connection from inside one node to a data node, made as TimescaleDB
/// makes it: the access node's to each data node (every refresh), and on
/// demand each data node's to each other data node.
#[derive(Debug, Clone, Serialize)]
pub struct LinkStatus {
    pub from: String,
    pub to: String,
    /// None: not tested (the access node is down, or has no dblink).
    pub up: Option<bool>,
    /// One query over the link, timed on the node it starts from, from its
    /// send to its answer (the connect left out; the first query of a new
    /// link is slower: the remote session loads its caches).
    pub rtt_ms: Option<f64>,
    /// The access node's own error, or why the link was not tested.
    pub error: Option<String>,
    /// A link between data nodes tested at an earlier refresh (the watch's
    /// l key): how long ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tested_seconds_ago: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct HypertableStatus {
    /// `schema.table`.
    pub name: String,
    pub replication_factor: i64,
    /// Per attached data node: chunks placed there, from the access node's catalog.
    pub placement: Vec<Placement>,
    /// Chunks with fewer copies than the replication factor.
    pub under_replicated: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Placement {
    pub data_node: String,
    pub chunks: i64,
}

/// What counts as a problem: prepared transactions older than
/// `prepared_age` (TimescaleDB commits its own within milliseconds, so a
/// minute means the access node went away between the two phases).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub prepared_age: Duration,
    /// TimescaleDB keeps a remote_txn row for every distributed two-phase
    /// commit until `remote_txn_heal_data_node` clears it, so a backlog is
    /// normal; one this large means nothing heals it.
    pub remote_txn_backlog: i64,
    /// A certificate with fewer days left is a warning (check's limit).
    pub certificate_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            prepared_age: Duration::from_secs(
                crate::findings::health::PREPARED_AGE_SECONDS.unsigned_abs(),
            ),
            remote_txn_backlog: crate::findings::health::REMOTE_TXN_BACKLOG,
            certificate_days: crate::findings::CERTIFICATE_WARN_DAYS,
        }
    }
}

impl Limits {
    /// The limits, with the test hook: a debug build honours
    /// `TSMN_TEST_PREPARED_AGE_SECS` (a test cannot wait a minute).
    pub fn from_env() -> Limits {
        let mut l = Limits::default();
        if cfg!(debug_assertions) {
            if let Some(s) = std::env::var("TSMN_TEST_PREPARED_AGE_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                l.prepared_age = Duration::from_secs(s);
            }
        }
        l
    }
}

/// One problem the snapshot shows, with a code `tsmn check` also uses
/// where one fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub node: String,
    pub severity: Severity,
    pub what: String,
}

/// Every node and every tested link is up (warnings do not count).
pub fn all_up(s: &Snapshot) -> bool {
    s.nodes.iter().all(|n| n.up) && s.links.iter().all(|l| l.up != Some(false))
}

/// Rows and bytes per second of one hypertable between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub hypertable: String,
    pub rows_per_second: f64,
    pub bytes_per_second: f64,
    /// The same, per data node that answered both times.
    pub data_nodes: Vec<NodeRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRate {
    pub data_node: String,
    pub rows_per_second: f64,
    pub bytes_per_second: f64,
}

/// PURE: per hypertable, the change of its counters summed over the data
/// nodes that answered both times, per second. A data node missing from
/// either snapshot is left out (its counters would read as a jump).
pub fn rates(before: &Snapshot, now: &Snapshot) -> Vec<Rate> {
    let seconds = now.taken_at - before.taken_at;
    if seconds <= 0.0 {
        return Vec::new();
    }
    let counters = |s: &Snapshot, node: &str| -> Vec<Counters> {
        s.nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.server.as_ref())
            .map(|sv| sv.counters.clone())
            .unwrap_or_default()
    };
    #[allow(clippy::cast_precision_loss)]
    let per_second = |v: i64| v as f64 / seconds;
    let mut out: Vec<Rate> = Vec::new();
    for h in &now.hypertables {
        let (mut rows, mut bytes) = (0i64, 0i64);
        let mut data_nodes = Vec::new();
        for n in now.nodes.iter().filter(|n| n.role == NodeRole::Data) {
            let (a, b) = (counters(before, &n.name), counters(now, &n.name));
            let pick = |c: &[Counters]| c.iter().find(|c| c.hypertable == h.name).cloned();
            if let (Some(a), Some(b)) = (pick(&a), pick(&b)) {
                let (r, by) = (
                    (b.rows_inserted - a.rows_inserted).max(0),
                    b.bytes - a.bytes,
                );
                rows += r;
                bytes += by;
                data_nodes.push(NodeRate {
                    data_node: n.name.clone(),
                    rows_per_second: per_second(r),
                    bytes_per_second: per_second(by),
                });
            }
        }
        out.push(Rate {
            hypertable: h.name.clone(),
            rows_per_second: per_second(rows),
            bytes_per_second: per_second(bytes),
            data_nodes,
        });
    }
    out
}

#[cfg(test)]
mod tests;
