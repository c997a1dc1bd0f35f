//! ASYNC: connecting to every node in parallel and filling `Facts`.
//! Read-only: nothing here changes a server (the access node's dblink test
//! runs inside a transaction that is rolled back).

mod access_side;
pub mod credentials;
mod queries;
pub mod tls;

use crate::facts::{AccessProbes, Connection, Facts, NodeFacts, NodeRole};
use crate::plan::{Node, Plan};
use credentials::PasswordSource;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, Config};

#[derive(Debug, Clone, Copy)]
pub struct ProbeOptions {
    /// Bound on establishing each connection (TCP, TLS, authentication).
    pub connect_timeout: Duration,
    /// Bound on everything done with one node, connection included.
    pub node_budget: Duration,
}

impl ProbeOptions {
    pub fn with_connect_timeout(connect_timeout: Duration) -> ProbeOptions {
        ProbeOptions {
            connect_timeout,
            node_budget: connect_timeout * 2 + Duration::from_secs(10),
        }
    }
}

/// Why probing could not even start (a bad CA file, say).
#[derive(Debug, thiserror::Error)]
#[error("{0}\n    fix: correct credentials.sslrootcert in the plan, or clear it")]
pub struct ProbeSetupError(String);

/// Probe every node at once; one dead or hung node never holds up the rest.
pub async fn probe_all(
    plan: &Plan,
    passwords: &PasswordSource,
    opts: ProbeOptions,
) -> Result<Facts, ProbeSetupError> {
    let names: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    probe_some(plan, passwords, opts, &names).await
}

/// Probe the named nodes only (a retry of one node, or after a password prompt).
pub async fn probe_some(
    plan: &Plan,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    names: &[String],
) -> Result<Facts, ProbeSetupError> {
    let (tls, mode) = tls::connector(&plan.credentials.sslrootcert).map_err(ProbeSetupError)?;
    let plan = Arc::new(plan.clone());
    let mut tasks = Vec::new();
    for (i, node) in plan.nodes().enumerate() {
        if !names.contains(&node.name) {
            continue;
        }
        let role = if i == 0 {
            NodeRole::Access
        } else {
            NodeRole::Data
        };
        let cfg = config(node, &plan.superuser, "postgres", passwords, opts, mode);
        let db_cfg = config(node, &plan.superuser, &plan.database, passwords, opts, mode);
        let (plan, tls, node) = (plan.clone(), tls.clone(), node.clone());
        tasks.push(tokio::spawn(async move {
            let work = probe_node(&plan, &node, role, cfg, db_cfg, tls, opts);
            match tokio::time::timeout(opts.node_budget, work).await {
                Ok(facts) => facts,
                Err(_) => NodeFacts {
                    name: node.name.clone(),
                    role,
                    address: address(&node),
                    connection: Connection::TimedOut {
                        seconds: opts.node_budget.as_secs(),
                    },
                    server: None,
                    access_probes: AccessProbes::NotApplicable,
                },
            }
        }));
    }
    let mut facts = Facts::default();
    for t in tasks {
        facts.nodes.push(t.await.expect("probe task panicked"));
    }
    // Second phase, once every node's own facts are in: the access node's
    // view of the data nodes that tsmn itself could reach.
    let an_cfg = config(
        &plan.access_node,
        &plan.superuser,
        "postgres",
        passwords,
        opts,
        mode,
    );
    if let Some(an) = facts.nodes.iter().position(|n| n.role == NodeRole::Access) {
        let ready = facts.nodes[an]
            .server
            .as_ref()
            .filter(|s| s.superuser)
            .cloned();
        if let Some(server) = ready {
            let skip: Vec<String> = facts
                .nodes
                .iter()
                .filter(|n| n.role == NodeRole::Data && unreachable_at_same_address(&plan, n))
                .map(|n| n.name.clone())
                .collect();
            facts.nodes[an].access_probes = match connect(&an_cfg, tls, opts).await {
                Ok(client) => access_side::probe(&client, &plan, &server, &skip, opts).await,
                Err(_) => AccessProbes::NotTested {
                    reason: "tsmn could not open a second connection to the access node".into(),
                },
            };
        }
    }
    Ok(facts)
}

/// tsmn found nothing listening, or no answer, at the very address the
/// access node uses: testing from the access node would only wait again.
fn unreachable_at_same_address(plan: &Plan, n: &NodeFacts) -> bool {
    let Some(node) = plan.data_nodes.iter().find(|d| d.name == n.name) else {
        return false;
    };
    let same = node.connect_host.is_none() && node.connect_port.is_none();
    let network = match &n.connection {
        Connection::TimedOut { .. } => true,
        Connection::Failed {
            sqlstate: None,
            message,
        } => {
            matches!(
                crate::findings::connect::explain(None, message).code,
                "refused" | "timeout" | "unknown_host" | "unreachable"
            )
        }
        _ => false,
    };
    same && network
}

fn address(node: &Node) -> String {
    let host = node.effective_connect_host();
    if host.contains(':') && !host.starts_with('/') {
        format!("[{host}]:{}", node.effective_connect_port())
    } else {
        format!("{host}:{}", node.effective_connect_port())
    }
}

fn config(
    node: &Node,
    user: &str,
    db: &str,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    mode: tokio_postgres::config::SslMode,
) -> Config {
    let host = node.effective_connect_host();
    let port = u16::try_from(node.effective_connect_port()).unwrap_or(5432);
    let mut cfg = Config::new();
    if host.starts_with('/') {
        cfg.host_path(host);
    } else {
        cfg.host(host);
    }
    cfg.port(port)
        .user(user)
        .dbname(db)
        .application_name("tsmn")
        .connect_timeout(opts.connect_timeout)
        .ssl_mode(mode);
    if let Some(pw) = passwords.password_for(host, port, db, user) {
        use secrecy::ExposeSecret;
        cfg.password(pw.expose_secret().as_bytes());
    }
    cfg
}

async fn probe_node(
    plan: &Plan,
    node: &Node,
    role: NodeRole,
    cfg: Config,
    db_cfg: Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    opts: ProbeOptions,
) -> NodeFacts {
    let mut facts = NodeFacts {
        name: node.name.clone(),
        role,
        address: address(node),
        connection: Connection::TimedOut {
            seconds: opts.connect_timeout.as_secs(),
        },
        server: None,
        access_probes: AccessProbes::NotApplicable,
    };
    let client = match connect(&cfg, tls.clone(), opts).await {
        Ok(c) => c,
        Err(conn) => {
            facts.connection = conn;
            return facts;
        }
    };
    let tls_used = queries::uses_tls(&client).await;
    facts.connection = Connection::Connected { tls: tls_used };
    let mut server = queries::server_facts(&client, plan).await;
    if let Some(db) = &mut server.database {
        // The extension's catalog lives in the cluster database itself.
        if let Ok(db_client) = connect(&db_cfg, tls, opts).await {
            queries::database_details(&db_client, db).await;
        }
    }
    facts.server = Some(server);
    facts
}

/// Connect, bounded by the connect timeout as a whole: a listener that
/// accepts and never answers cannot hold tsmn longer than that.
pub async fn connect(
    cfg: &Config,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    opts: ProbeOptions,
) -> Result<Client, Connection> {
    match tokio::time::timeout(opts.connect_timeout, cfg.connect(tls)).await {
        Err(_) => Err(Connection::TimedOut {
            seconds: opts.connect_timeout.as_secs(),
        }),
        Ok(Err(e)) => Err(failure(&e)),
        Ok(Ok((client, conn))) => {
            tokio::spawn(conn);
            Ok(client)
        }
    }
}

/// The whole error: the server's message with its SQLSTATE, or the chain of
/// causes for network and TLS failures.
pub fn failure(e: &tokio_postgres::Error) -> Connection {
    if let Some(db) = e.as_db_error() {
        let mut message = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            message.push_str(&format!(" (DETAIL: {d})"));
        }
        return Connection::Failed {
            sqlstate: Some(db.code().code().to_string()),
            message,
        };
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    Connection::Failed {
        sqlstate: None,
        message,
    }
}
