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

/// One node's part: `facts` with the connection's outcome and, when tsmn
/// got in, a server whose cluster database holds what was read.
pub(super) async fn read(plan: &Plan, mut facts: NodeFacts, work: &NodeWork) -> NodeFacts {
    let client = match connect(&work.db_cfg, &work.tls, work.opts, None).await {
        Ok(c) => c,
        Err(c) => {
            facts.connection = c;
            return facts;
        }
    };
    let (version, tls) = tokio::join!(
        crate::pg::timescaledb_version(&client),
        crate::pg::opt(
            &client,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[]
        ),
    );
    facts.connection = Connection::Connected {
        tls: tls.ok().flatten().is_some_and(|r| r.get(0)),
    };
    let mut db = DatabaseFacts {
        name: plan.database.clone(),
        timescaledb: version,
        ..Default::default()
    };
    if db.timescaledb.is_some() {
        if work.role == NodeRole::Access {
            catalog::read(&client).await.into(&mut db);
            outside_the_plan(&client, plan, &mut db).await;
        } else {
            let schema = crate::timescale::functions_schema(db.timescaledb.as_deref());
            // Not read (an error of the data node): its chunks stay without
            // bytes, and the plan names them.
            db.chunk_bytes = sizes::local(&client, schema).await.unwrap_or_default();
        }
    }
    facts.server = Some(ServerFacts {
        database: Some(db),
        ..Default::default()
    });
    facts
}

/// The copies on data nodes of the cluster that the plan does not list
/// (tsmn does not connect to them): their bytes as the engine reads them,
/// through the access node (sizes::sizes_within), only when there are any.
async fn outside_the_plan(client: &tokio_postgres::Client, plan: &Plan, db: &mut DatabaseFacts) {
    let outside = |n: &str| !plan.data_nodes.iter().any(|d| d.name == n);
    if !db
        .chunk_places
        .iter()
        .any(|p| p.data_nodes.iter().any(|n| outside(n)))
    {
        return;
    }
    let sizes = sizes::sizes_within(client)
        .await
        .into_iter()
        .filter(|(_, n, _)| outside(n))
        .collect();
    catalog::with_bytes(&mut db.chunk_places, sizes);
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
    let mut sizes = Vec::new();
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
    }
    catalog::with_bytes(&mut db.chunk_places, sizes);
    Some(db)
}
