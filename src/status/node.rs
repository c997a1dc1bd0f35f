//! ASYNC: one node's row of a status refresh, over the session tsmn
//! keeps to it: its statements sent together (one round trip), bounded
//! by the node's budget; a kept session that fails is opened once more.

use super::queries;
use super::reach::Reach;
use super::sizes::ChunkSizes;
use super::slow::{self, Slow};
use super::{FailedJob, HypertableStatus, NodeState, NodeStatus, Prepared, ServerStatus};
use crate::facts::{Connection, NodeRole};
use crate::plan::Node;
use tokio_postgres::Client;

/// A node's open session, and whether it is in `postgres` because the
/// cluster database does not exist there.
pub(super) struct Session {
    pub client: Client,
    pub in_postgres: bool,
    /// Free space and certificates, read now and then (slow.rs).
    slow: Slow,
    /// On the access node: the last reading of the hypertables' placement,
    /// and the key of the catalog it was read from (queries::ACCESS_CATALOG).
    placement: (String, Vec<HypertableStatus>),
    node_statement: Option<tokio_postgres::Statement>,
    catalog_statement: Option<tokio_postgres::Statement>,
    /// On a data node: its chunks' sizes, kept between refreshes.
    sizes: ChunkSizes,
}

/// The access node's catalog part of a snapshot.
#[derive(Default, Clone)]
pub(super) struct AccessCatalog {
    /// None: the placement was not read again (the catalog is unchanged).
    pub hypertables: Option<Vec<HypertableStatus>>,
    pub remote_txn_backlog: Option<i64>,
    pub failed_jobs: Vec<FailedJob>,
    /// The chunk catalog's key (see queries::ACCESS_CATALOG).
    pub key: String,
}

/// One node's row (and on the access node its catalog), bounded by the
/// node's budget. A kept session that fails is dropped and opened once
/// more, so a restarted server shows up, and a stopped one shows the
/// connection error an operator can act on (not "connection closed").
pub(super) async fn node_status(
    reach: &Reach,
    slot: &mut Option<Session>,
    node: &Node,
    role: NodeRole,
) -> (NodeStatus, Option<AccessCatalog>) {
    let mut status = NodeStatus {
        name: node.name.clone(),
        role,
        address: node.connect_address(),
        up: false,
        state: NodeState::Down,
        error: None,
        sqlstate: None,
        server: None,
    };
    let work = async {
        let kept = slot.is_some();
        match ask(reach, slot, node, role).await {
            Err(_) if kept => {
                *slot = None;
                ask(reach, slot, node, role).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(reach.budget(), work).await {
        Ok(Ok((server, catalog))) => {
            status.up = true;
            status.state = NodeState::Up;
            status.server = Some(server);
            (status, catalog)
        }
        Ok(Err(c)) => {
            *slot = None;
            status.error = c.problem();
            if let Connection::Failed { sqlstate, .. } = c {
                status.sqlstate = sqlstate;
            }
            let message = status.error.as_deref().unwrap_or_default();
            if crate::findings::connect::explain(status.sqlstate.as_deref(), message)
                .server_answered()
            {
                status.state = NodeState::Refused;
            }
            (status, None)
        }
        Err(_) => {
            *slot = None;
            status.error = Some(format!("no answer within {} s", reach.budget().as_secs()));
            (status, None)
        }
    }
}

/// The node's statements, sent together on its session (opened first when
/// there is none).
async fn ask(
    reach: &Reach,
    slot: &mut Option<Session>,
    node: &Node,
    role: NodeRole,
) -> Result<(ServerStatus, Option<AccessCatalog>), Connection> {
    if slot.as_ref().is_none_or(|s| s.client.is_closed()) {
        *slot = Some(open(reach, node).await?);
    }
    let Some(session) = slot.as_mut() else {
        return Err(Connection::Failed {
            sqlstate: None,
            message: "no session".into(),
        });
    };
    prepare(session, role).await?;
    let c = &session.client;
    let key = session.placement.0.clone();
    let known = session.sizes.known(session.slow.due());
    let Some(node_statement) = &session.node_statement else {
        return Err(Connection::Failed {
            sqlstate: None,
            message: "no statement".into(),
        });
    };
    // No catalog statement where TimescaleDB is not created: that leaves
    // its part empty, and the node's own row stands.
    let catalog = async {
        let st = session.catalog_statement.as_ref()?;
        match role {
            NodeRole::Access => c
                .query_one(st, &[&key])
                .await
                .ok()
                .map(|r| (Some(access_catalog(&r)), String::new())),
            NodeRole::Data => c
                .query_one(st, &[&known])
                .await
                .ok()
                .map(|r| (None, r.get::<_, String>(0))),
        }
    };
    let (row, extra) = futures_util::future::join(c.query_one(node_statement, &[]), catalog).await;
    let row = row.map_err(|e| crate::probe::failure(&e))?;
    let (mut catalog, chunks) = extra.unwrap_or((None, String::new()));
    let counters = if chunks.is_empty() {
        Vec::new()
    } else {
        session.sizes.counters(&chunks)
    };
    // A new reading replaces the kept one; none (unchanged) shows it.
    if let Some(cat) = catalog.as_mut() {
        if let Some(read) = cat.hypertables.take() {
            session.placement = (cat.key.clone(), read);
        }
        cat.hypertables = Some(session.placement.1.clone());
    }
    if session.slow.due() {
        session.slow = slow::read(c, &reach.plan, role == NodeRole::Access).await;
    }
    let server = ServerStatus {
        postgres_version: row.get(0),
        timescaledb_version: row.get(1),
        uptime_seconds: row.get(2),
        connections: row.get(3),
        max_connections: row.get(4),
        database_bytes: (!session.in_postgres).then_some(session.slow.database_bytes),
        prepared: parse::<Prepared>(&row.get::<_, String>(5)),
        counters,
        disk: session.slow.disk.clone(),
        certificates: session.slow.certificates.clone(),
    };
    Ok((server, catalog))
}

/// The session's statements, prepared once (a refresh then skips parsing
/// and planning: a millisecond of a data node's CPU for its counters),
/// together in one round trip. The catalog's fails where TimescaleDB is
/// not created, and is tried again at the next refresh.
async fn prepare(session: &mut Session, role: NodeRole) -> Result<(), Connection> {
    if session.node_statement.is_some() && session.catalog_statement.is_some() {
        return Ok(());
    }
    let c = &session.client;
    let (sql, types): (&str, &[tokio_postgres::types::Type]) = match role {
        NodeRole::Access => (
            queries::ACCESS_CATALOG,
            &[tokio_postgres::types::Type::TEXT],
        ),
        NodeRole::Data => (
            queries::DATA_COUNTERS,
            &[tokio_postgres::types::Type::TEXT_ARRAY],
        ),
    };
    let node = async {
        match &session.node_statement {
            Some(st) => Ok(st.clone()),
            None => c.prepare(&queries::NODE).await,
        }
    };
    let (node, catalog) = futures_util::future::join(node, c.prepare_typed(sql, types)).await;
    let node = node.map_err(|e| crate::probe::failure(&e))?;
    session.node_statement = Some(node);
    session.catalog_statement = catalog.ok();
    Ok(())
}

/// A session to the cluster database, else (it does not exist there) to
/// `postgres`, so the node's own row still shows.
async fn open(reach: &Reach, node: &Node) -> Result<Session, Connection> {
    match reach.open(node, &reach.plan.database).await {
        Ok(client) => Ok(Session {
            client,
            in_postgres: false,
            slow: Slow::default(),
            placement: (String::new(), Vec::new()),
            node_statement: None,
            catalog_statement: None,
            sizes: ChunkSizes::default(),
        }),
        Err(Connection::Failed { sqlstate, .. }) if sqlstate.as_deref() == Some("3D000") => {
            Ok(Session {
                client: reach.open(node, "postgres").await?,
                in_postgres: true,
                slow: Slow::default(),
                placement: (String::new(), Vec::new()),
                node_statement: None,
                catalog_statement: None,
                sizes: ChunkSizes::default(),
            })
        }
        Err(e) => Err(e),
    }
}

fn access_catalog(r: &tokio_postgres::Row) -> AccessCatalog {
    AccessCatalog {
        hypertables: r.get::<_, Option<String>>(0).map(|t| parse(&t)),
        remote_txn_backlog: r.get(1),
        failed_jobs: parse(&r.get::<_, String>(2)),
        key: r.get::<_, Option<String>>(3).unwrap_or_default(),
    }
}

/// A JSON list the server built; an empty list if it cannot be read
/// (the statements above build exactly these shapes).
fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str(text).unwrap_or_else(|e| {
        tracing::warn!("status: unreadable list from the server ({e}): {text}");
        Vec::new()
    })
}
