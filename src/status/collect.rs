//! ASYNC: a `Watcher` keeps one session per node (and one per link, see
//! links.rs) open between refreshes and takes snapshots over them. Every
//! node is asked at once and bounded on its own: a node that hangs
//! delays only its own row, and its session is dropped and opened again
//! at the next refresh.

use super::links::Link;
use super::queries;
use super::{Counters, FailedJob, HypertableStatus, NodeStatus, Prepared, ServerStatus, Snapshot};
use crate::facts::{Connection, NodeRole};
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::ProbeOptions;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// What every node's and link's work needs to connect.
pub(super) struct Reach {
    pub plan: Plan,
    pub passwords: PasswordSource,
    pub tls: Tls,
    pub opts: ProbeOptions,
}

impl Reach {
    /// A session to `node`'s database `db`, bounded by the connect timeout.
    pub async fn open(&self, node: &Node, db: &str) -> Result<Client, Connection> {
        let cfg = crate::probe::config(
            node,
            &self.plan.superuser,
            db,
            &self.passwords,
            self.opts,
            &self.tls,
        );
        crate::probe::connect(&cfg, &self.tls, self.opts, None).await
    }

    /// How long one node's (or link's) part of a refresh may take.
    pub fn budget(&self) -> Duration {
        self.opts.connect_timeout * 2
    }
}

/// A node's open session, and whether it is in `postgres` because the
/// cluster database does not exist there.
struct Session {
    client: Client,
    in_postgres: bool,
}

pub struct Watcher {
    reach: Reach,
    sessions: Vec<Option<Session>>,
    links: Vec<Link>,
    origin: Instant,
}

/// The access node's catalog part of a snapshot.
#[derive(Default)]
struct AccessCatalog {
    hypertables: Vec<HypertableStatus>,
    remote_txn_backlog: Option<i64>,
    failed_jobs: Vec<FailedJob>,
}

impl Watcher {
    /// A watcher over the plan's nodes; nothing connects yet. Err: the
    /// plan's TLS files cannot be used (the message says which).
    pub fn new(plan: Plan, connect_timeout: Duration) -> Result<Watcher, String> {
        let tls = Tls::from_plan(&plan)?;
        let passwords = PasswordSource::from_plan(&plan);
        let links = plan.data_nodes.iter().map(Link::new).collect();
        let sessions = plan.nodes().map(|_| None).collect();
        Ok(Watcher {
            reach: Reach {
                plan,
                passwords,
                tls,
                opts: ProbeOptions::with_connect_timeout(connect_timeout),
            },
            sessions,
            links,
            origin: Instant::now(),
        })
    }

    /// Notes on where passwords come from (an unset variable, say).
    pub fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.reach.passwords.notes)
    }

    /// One snapshot: every node and every link at once.
    pub async fn snapshot(&mut self) -> Snapshot {
        let started = Instant::now();
        let taken_at = self.origin.elapsed().as_secs_f64();
        let reach = &self.reach;
        let nodes: Vec<Node> = reach.plan.nodes().cloned().collect();
        let node_work =
            self.sessions
                .iter_mut()
                .zip(&nodes)
                .enumerate()
                .map(|(i, (slot, node))| {
                    let role = if i == 0 {
                        NodeRole::Access
                    } else {
                        NodeRole::Data
                    };
                    node_status(reach, slot, node, role)
                });
        let an = reach.plan.access_node.clone();
        let link_work = self.links.iter_mut().map(|l| l.refresh(reach, &an));
        let (statuses, links) = futures_util::future::join(
            futures_util::future::join_all(node_work),
            futures_util::future::join_all(link_work),
        )
        .await;
        let mut snapshot = Snapshot {
            database: reach.plan.database.clone(),
            links,
            taken_at,
            ..Snapshot::default()
        };
        for (status, catalog) in statuses {
            if let Some(c) = catalog {
                snapshot.hypertables = c.hypertables;
                snapshot.remote_txn_backlog = c.remote_txn_backlog;
                snapshot.failed_jobs = c.failed_jobs;
            }
            snapshot.nodes.push(status);
        }
        snapshot.took_ms = started.elapsed().as_secs_f64() * 1000.0;
        snapshot
    }
}

/// One node's row (and on the access node its catalog), bounded by the
/// node's budget. A kept session that fails is dropped and opened once
/// more, so a restarted server shows up, and a stopped one shows the
/// connection error an operator can act on (not "connection closed").
async fn node_status(
    reach: &Reach,
    slot: &mut Option<Session>,
    node: &Node,
    role: NodeRole,
) -> (NodeStatus, Option<AccessCatalog>) {
    let mut status = NodeStatus {
        name: node.name.clone(),
        role,
        address: address(node),
        up: false,
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
            status.server = Some(server);
            (status, catalog)
        }
        Ok(Err(c)) => {
            *slot = None;
            status.error = c.problem();
            if let Connection::Failed { sqlstate, .. } = c {
                status.sqlstate = sqlstate;
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
    let Some(session) = slot.as_ref() else {
        return Err(Connection::Failed {
            sqlstate: None,
            message: "no session".into(),
        });
    };
    let c = &session.client;
    // The catalog statement fails where TimescaleDB is not created: that
    // leaves its part empty, and the node's own row stands.
    let catalog = async {
        match role {
            NodeRole::Access => crate::pg::one(c, queries::ACCESS_CATALOG, &[])
                .await
                .ok()
                .map(|r| (Some(access_catalog(&r)), Vec::new())),
            NodeRole::Data => crate::pg::one(c, queries::DATA_COUNTERS, &[])
                .await
                .ok()
                .map(|r| (None, parse::<Counters>(&r.get::<_, String>(0)))),
        }
    };
    let (row, extra) =
        futures_util::future::join(crate::pg::one(c, queries::NODE, &[]), catalog).await;
    let row = row.map_err(|e| crate::probe::failure(&e))?;
    let (catalog, counters) = extra.unwrap_or((None, Vec::new()));
    let server = ServerStatus {
        postgres_version: row.get(0),
        timescaledb_version: row.get(1),
        uptime_seconds: row.get(2),
        connections: row.get(3),
        max_connections: row.get(4),
        database_bytes: (!session.in_postgres).then(|| row.get(5)),
        prepared: parse::<Prepared>(&row.get::<_, String>(6)),
        counters,
    };
    Ok((server, catalog))
}

/// A session to the cluster database, else (it does not exist there) to
/// `postgres`, so the node's own row still shows.
async fn open(reach: &Reach, node: &Node) -> Result<Session, Connection> {
    match reach.open(node, &reach.plan.database).await {
        Ok(client) => Ok(Session {
            client,
            in_postgres: false,
        }),
        Err(Connection::Failed { sqlstate, .. }) if sqlstate.as_deref() == Some("3D000") => {
            Ok(Session {
                client: reach.open(node, "postgres").await?,
                in_postgres: true,
            })
        }
        Err(e) => Err(e),
    }
}

fn access_catalog(r: &tokio_postgres::Row) -> AccessCatalog {
    AccessCatalog {
        hypertables: parse(&r.get::<_, String>(0)),
        remote_txn_backlog: r.get(1),
        failed_jobs: parse(&r.get::<_, String>(2)),
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

/// Where tsmn connects, as the probe names it.
fn address(node: &Node) -> String {
    let host = node.effective_connect_host();
    if host.contains(':') && !host.starts_with('/') {
        format!("[{host}]:{}", node.effective_connect_port())
    } else {
        format!("{host}:{}", node.effective_connect_port())
    }
}
