//! ASYNC: tsmn rebalance's narrower probe (`Reads::Placement`): what its plan
//! needs, read in the cluster database only, one session per node and
//! every node at once: on the access node its catalog (catalog.rs: the
//! data nodes, the distributed hypertables, each chunk's places), on each
//! data node the bytes of its own chunks (sizes.rs). Check's probe reads
//! the sizes through the access node instead (chunks_detailed_size), which
//! opens its connections to the data nodes one after another and asks
//! them in turn: over 3 s at 64 data nodes x 10,000 chunks, against 1 s
//! for the whole of tsmn rebalance --check.

/// What a probe reads of each node. check, apply and the wizard read
/// everything; tsmn rebalance reads only what its plan and its moves
/// need, so that a cluster of 64 data nodes and 10,000 chunks is planned
/// within a second (placement.rs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reads {
    #[default]
    All,
    /// The server's own facts (version, superuser, settings, pg_hba.conf,
    /// roles) on its session, kept when asked: nothing of the cluster
    /// database, no files, free space or links.
    Server,
    /// In the cluster database only: on the access node its catalog
    /// (catalog.rs), on a data node its own chunks' bytes (sizes.rs).
    Placement,
}

use super::{catalog, connect, sizes, NodeWork};
use crate::facts::{Connection, DatabaseFacts, NodeFacts, NodeRole, ServerFacts};
use crate::plan::Plan;
use std::sync::Arc;
use tokio::sync::watch;

/// The data nodes that hold chunk copies, as the access node's catalog
/// says: told by the access node's task, awaited by the data nodes'. A
/// session in a database where TimescaleDB is created costs the server
/// about 13 ms of CPU to open, against 5 ms in `postgres` (measured at 64
/// data nodes, the CPU of the 65 servers summed): a data node that holds
/// nothing (48 of 64 after a grow) only answers, in `postgres`.
#[derive(Clone)]
pub(super) struct Holders(Arc<watch::Sender<Option<Vec<String>>>>);

impl Holders {
    /// For a probe of `names`: without the access node among them, no
    /// catalog says which hold copies, so every data node reads its own.
    pub(super) fn new(plan: &Plan, names: &[String]) -> Holders {
        let all = (!names.contains(&plan.access_node.name))
            .then(|| plan.data_nodes.iter().map(|d| d.name.clone()).collect());
        Holders(Arc::new(watch::channel(all).0))
    }

    async fn hold(&self, node: &str) -> bool {
        let mut rx = self.0.subscribe();
        let told = rx.wait_for(Option::is_some).await;
        told.is_ok_and(|h| h.as_ref().is_some_and(|h| h.iter().any(|n| n == node)))
    }
}

/// Tells the data nodes which hold copies when the access node's task
/// ends, however it ends (a timeout drops it): none unless the catalog
/// was read.
struct Tell<'a>(&'a Holders, Vec<String>);

impl Drop for Tell<'_> {
    fn drop(&mut self) {
        let holders = std::mem::take(&mut self.1);
        self.0 .0.send_if_modified(|v| {
            let first = v.is_none();
            if first {
                *v = Some(holders);
            }
            first
        });
    }
}

/// One node's part: `facts` with the connection's outcome and, when tsmn
/// got in, a server whose cluster database holds what was read (a data
/// node that holds no copy: no database, it only answered).
pub(super) async fn read(plan: &Plan, mut facts: NodeFacts, work: &NodeWork) -> NodeFacts {
    let access = work.role == NodeRole::Access;
    let mut tell = access.then(|| Tell(&work.holders, Vec::new()));
    let holds = access || work.holders.hold(&facts.name).await;
    let cfg = if holds { &work.db_cfg } else { &work.cfg };
    let client = match connect(cfg, &work.tls, work.opts, None).await {
        Ok(c) => c,
        Err(c) => {
            facts.connection = c;
            return facts;
        }
    };
    // On the access node, which data nodes hold copies is asked first,
    // pipelined with the rest and told at once: the data nodes read their
    // own sizes while the access node still reads its catalog (the whole
    // catalog first held them back some 200 ms at 10,000 chunks).
    let (version, tls, ()) = tokio::join!(
        async {
            match holds {
                true => crate::pg::timescaledb_version(&client).await,
                false => None,
            }
        },
        crate::pg::opt(
            &client,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[]
        ),
        async {
            if let Some(t) = tell.take() {
                t.told(plan, crate::pg::rows(&client, HOLDERS_SQL, &[]).await);
            }
        },
    );
    facts.connection = Connection::Connected {
        tls: tls.ok().flatten().is_some_and(|r| r.get(0)),
    };
    let mut server = ServerFacts::default();
    if holds {
        let mut db = DatabaseFacts {
            name: plan.database.clone(),
            timescaledb: version,
            ..Default::default()
        };
        if db.timescaledb.is_some() && access {
            // A data node attached but not in the plan is refused by the
            // plan (flow::rebalance): nothing of it is read.
            catalog::read(&client).await.into(&mut db);
        } else if db.timescaledb.is_some() {
            // Not read (an error of the data node): its chunks stay without
            // bytes, and the plan names them.
            (db.chunk_bytes, db.compressed_names) = sizes::local(&client).await.unwrap_or_default();
        }
        server.database = Some(db);
    }
    facts.server = Some(server);
    facts
}

/// The data nodes that hold a chunk copy, as the access node's catalog
/// says (the same in every multi-node version, 2.0 to 2.13).
const HOLDERS_SQL: &str =
    "SELECT DISTINCT node_name::text FROM _timescaledb_catalog.chunk_data_node";

impl Tell<'_> {
    /// Tells the plan's data nodes among `rows` (none when the catalog
    /// could not be read: no cluster database, no TimescaleDB).
    fn told(mut self, plan: &Plan, rows: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>) {
        let names: Vec<String> = rows.unwrap_or_default().iter().map(|r| r.get(0)).collect();
        self.1 = held(plan, &names);
    }
}

/// PURE: the plan's data nodes among those the catalog names as holders.
fn held(plan: &Plan, holders: &[String]) -> Vec<String> {
    plan.data_nodes
        .iter()
        .filter(|d| holders.contains(&d.name))
        .map(|d| d.name.clone())
        .collect()
}

/// PURE: the access node's cluster database with each chunk copy's bytes
/// filled in from the data nodes' own (`chunk_bytes`), where the catalog's
/// reader left them out.
pub fn placed(facts: &crate::facts::Facts, access_node: &str) -> Option<DatabaseFacts> {
    let mut db = facts.node(access_node)?.server.as_ref()?.database.clone()?;
    // Those read already (through the access node) stay as they are.
    let known: std::collections::HashSet<(&str, &str)> = db
        .chunk_places
        .iter()
        .flat_map(|p| p.bytes.iter().map(|(n, _)| (p.chunk.as_str(), n.as_str())))
        .collect();
    // And each compressed copy's name on its data node.
    let mut sizes = Vec::new();
    let mut names: std::collections::HashMap<&str, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for n in facts.nodes.iter().filter(|n| n.name != access_node) {
        let Some(own) = n.server.as_ref().and_then(|s| s.database.as_ref()) else {
            continue;
        };
        sizes.extend(
            own.chunk_bytes
                .iter()
                .filter(|(c, _)| !known.contains(&(c.as_str(), n.name.as_str())))
                .map(|(c, b)| (c.clone(), n.name.clone(), *b)),
        );
        for (chunk, name) in &own.compressed_names {
            names
                .entry(chunk.as_str())
                .or_default()
                .push((n.name.clone(), name.clone()));
        }
    }
    catalog::with_bytes(&mut db.chunk_places, sizes);
    for p in &mut db.chunk_places {
        if let Some(c) = names.remove(p.chunk.as_str()) {
            p.compressed = c;
        }
    }
    Some(db)
}

#[cfg(test)]
mod tests {
    use crate::facts::{ChunkPlace, DatabaseFacts, Facts, NodeFacts, ServerFacts};

    fn node(name: &str, db: DatabaseFacts) -> NodeFacts {
        NodeFacts {
            name: name.into(),
            role: crate::facts::NodeRole::Data,
            address: String::new(),
            connection: crate::facts::Connection::Connected { tls: false },
            server: Some(ServerFacts {
                database: Some(db),
                ..Default::default()
            }),
            access_probes: crate::facts::AccessProbes::NotApplicable,
            cluster_reach: Vec::new(),
        }
    }

    #[test]
    fn each_copy_gets_the_bytes_its_data_node_read_and_known_ones_stay() {
        let place = |chunk: &str, nodes: &[&str], bytes: Vec<(String, i64)>| ChunkPlace {
            chunk: chunk.into(),
            data_nodes: nodes.iter().map(|n| n.to_string()).collect(),
            bytes,
            ..Default::default()
        };
        let an = DatabaseFacts {
            chunk_places: vec![
                place("c1", &["dn1", "dn2"], Vec::new()),
                // Sized through the access node (a data node outside the plan).
                place("c2", &["dn9"], vec![("dn9".into(), 5)]),
            ],
            ..Default::default()
        };
        let own = |bytes: &[(&str, i64)]| DatabaseFacts {
            chunk_bytes: bytes.iter().map(|(c, b)| (c.to_string(), *b)).collect(),
            ..Default::default()
        };
        let facts = Facts {
            nodes: vec![
                node("an", an),
                node("dn1", own(&[("c1", 10)])),
                node("dn2", own(&[("c1", 12)])),
                node("dn9", own(&[("c2", 99)])),
            ],
        };
        let db = super::placed(&facts, "an").expect("the access node's database");
        assert_eq!(
            db.chunk_places[0].bytes,
            vec![("dn1".to_string(), 10), ("dn2".to_string(), 12)]
        );
        assert_eq!(db.chunk_places[1].bytes, vec![("dn9".to_string(), 5)]);
    }
}
