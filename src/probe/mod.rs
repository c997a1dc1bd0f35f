//! ASYNC: connecting to every node in parallel and filling `Facts`.
//! Read-only: nothing here changes a server (the access node's dblink test
//! uses a temporary function that ends with the session).

pub mod access_side;
mod catalog;
pub(crate) mod certs;
pub mod credentials;
pub mod disk;
pub mod drift;
pub(crate) mod health;
pub mod peers;
mod placement;
pub use placement::{placed, Reads};
pub mod queries;
pub mod reach;
mod sizes;
pub mod tls;
mod writable;

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
            node_budget: connect_timeout.saturating_mul(2) + Duration::from_secs(10),
        }
    }
}

/// Why probing could not even start (a bad CA file, say).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
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
    probe_reporting(plan, passwords, opts, names, None).await
}

/// Each node's result as soon as it is in: (node, whether tsmn got in).
pub type Progress = tokio::sync::mpsc::UnboundedSender<(String, bool)>;

/// `probe_some`, telling `progress` about each node the moment it is done
/// (the wizard shows nodes finishing one by one).
pub async fn probe_reporting(
    plan: &Plan,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    names: &[String],
    progress: Option<Progress>,
) -> Result<Facts, ProbeSetupError> {
    Ok(
        probe_watching(plan, passwords, opts, names, progress, None, Reads::All)
            .await?
            .0,
    )
}

/// Where a kept connection's server notices go: (node, "SEVERITY: message").
pub type OnNotice = Arc<dyn Fn(&str, String) + Send + Sync>;

/// Connections the probe leaves open: (node, client to its `postgres` database).
pub type Kept = Vec<(String, Client)>;

/// The probe with everything a face may want: each node's result as soon
/// as it is in, (with `keep`) the connections left open for the steps, and
/// what is read of each node (`reads`).
pub async fn probe_watching(
    plan: &Plan,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    names: &[String],
    progress: Option<Progress>,
    keep: Option<OnNotice>,
    reads: Reads,
) -> Result<(Facts, Kept), ProbeSetupError> {
    let tls = tls::Tls::from_plan(plan).map_err(ProbeSetupError)?;
    let plan = Arc::new(plan.clone());
    let mut tasks = Vec::new();
    let holders = placement::Holders::new(&plan, names);
    for (i, node) in plan.nodes().enumerate() {
        if !names.contains(&node.name) {
            continue;
        }
        let role = if i == 0 {
            NodeRole::Access
        } else {
            NodeRole::Data
        };
        let work = NodeWork {
            role,
            cfg: config(node, &plan.superuser, "postgres", passwords, opts, &tls),
            db_cfg: config(node, &plan.superuser, &plan.database, passwords, opts, &tls),
            tls: tls.clone(),
            opts,
            keep: keep.clone(),
            reads,
            holders: holders.clone(),
        };
        let (plan, node) = (plan.clone(), node.clone());
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            let (facts, kept) = match tokio::time::timeout(
                opts.node_budget,
                probe_node(&plan, &node, work),
            )
            .await
            {
                Ok(done) => done,
                Err(_) => (
                    NodeFacts {
                        name: node.name.clone(),
                        role,
                        address: node.connect_address(),
                        connection: Connection::TimedOut {
                            seconds: opts.node_budget.as_secs(),
                        },
                        server: None,
                        access_probes: AccessProbes::NotApplicable,
                        cluster_reach: Vec::new(),
                    },
                    None,
                ),
            };
            if let Some(p) = progress {
                let _ = p.send((
                    facts.name.clone(),
                    matches!(facts.connection, Connection::Connected { .. }),
                ));
            }
            (facts, kept)
        }));
    }
    let mut facts = Facts::default();
    let mut kept = Kept::new();
    for t in tasks {
        let (f, client) = t.await.expect("probe task panicked");
        if let Some(c) = client {
            kept.push((f.name.clone(), c));
        }
        facts.nodes.push(f);
    }
    Ok((facts, kept))
}

/// Sessions to one node for tests that run at once: each test connects out
/// to a data node, so one after another they would wait for every data
/// node in turn. The first test uses the session at hand; each other gets a
/// session of its own (at most `AT_ONCE` at a time) or, where one cannot be
/// opened, waits its turn on the session at hand (what a test sets there,
/// SET ROLE say, is per session).
pub struct Lanes<'a> {
    home: &'a Client,
    cfg: Config,
    tls: tls::Tls,
    opts: ProbeOptions,
    /// Sent first on each new session (dblink's temporary function, say).
    setup: Option<&'static str>,
    home_turn: tokio::sync::Mutex<()>,
    slots: tokio::sync::Semaphore,
}

/// At most this many sessions per node for tests that run at once.
const AT_ONCE: usize = 16;

impl<'a> Lanes<'a> {
    /// More sessions like `cfg` beside `home`.
    fn new(
        home: &'a Client,
        cfg: &Config,
        tls: &tls::Tls,
        opts: ProbeOptions,
        setup: Option<&'static str>,
    ) -> Self {
        Lanes {
            home,
            cfg: cfg.clone(),
            tls: tls.clone(),
            opts,
            setup,
            home_turn: tokio::sync::Mutex::new(()),
            slots: tokio::sync::Semaphore::new(AT_ONCE),
        }
    }

    /// The session at hand.
    pub fn home(&self) -> &'a Client {
        self.home
    }

    /// A new session, set up; None when it cannot be had.
    async fn open(&self) -> Option<Client> {
        let c = connect(&self.cfg, &self.tls, self.opts, None).await.ok()?;
        match self.setup {
            Some(sql) => c.batch_execute(sql).await.ok().map(|()| c),
            None => Some(c),
        }
    }

    /// Run `work` on the session at hand (`first`) or on a session of its own.
    pub async fn on<T>(&self, first: bool, work: impl AsyncFnOnce(&Client) -> T) -> T {
        let _slot = self.slots.acquire().await;
        let own = if first { None } else { self.open().await };
        let _turn = match own {
            None => Some(self.home_turn.lock().await),
            Some(_) => None,
        };
        work(own.as_ref().unwrap_or(self.home)).await
    }
}

/// What one node's task needs.
struct NodeWork {
    role: NodeRole,
    cfg: Config,
    db_cfg: Config,
    tls: tls::Tls,
    opts: ProbeOptions,
    /// Keep the connection, its notices going here.
    keep: Option<OnNotice>,
    reads: Reads,
    holders: placement::Holders,
}

async fn probe_node(plan: &Plan, node: &Node, work: NodeWork) -> (NodeFacts, Option<Client>) {
    let mut facts = NodeFacts {
        name: node.name.clone(),
        role: work.role,
        address: node.connect_address(),
        connection: Connection::TimedOut {
            seconds: work.opts.connect_timeout.as_secs(),
        },
        server: None,
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    };
    if work.reads == Reads::Placement {
        return (placement::read(plan, facts, &work).await, None);
    }
    let keep = work.keep.is_some();
    let on_notice = work.keep.map(|f| (node.name.clone(), f));
    let connected = connect(&work.cfg, &work.tls, work.opts, on_notice).await;
    if let Err(conn) = &connected {
        facts.connection = conn.clone();
    }
    let Ok(client) = connected else {
        return (facts, None);
    };
    let (mut server, tls_used) = queries::server_facts(&client, plan).await;
    facts.connection = Connection::Connected { tls: tls_used };
    if work.reads == Reads::Server {
        facts.server = Some(server);
        return (facts, keep.then_some(client));
    }
    let access = work.role == NodeRole::Access;
    // What the facts lead to, at once: the cluster database's details (a
    // connection of its own) beside the files its settings name (the
    // passfile, the certificates) on this session.
    let mut database = server.database.take();
    let superuser = server.superuser;
    let in_database = async {
        let db = database.as_mut()?;
        // The extension's catalog lives in the cluster database itself.
        let db_client = connect(&work.db_cfg, &work.tls, work.opts, None)
            .await
            .ok()?;
        queries::database_details(&db_client, db).await;
        drift::read(&db_client, db, access).await;
        // A running cluster: check it as the verify step does.
        if access && superuser && db.timescaledb.is_some() && !db.data_nodes.is_empty() {
            reach::leaving(&db_client, plan, db, work.opts.connect_timeout * 2).await;
            let lanes = Lanes::new(&db_client, &work.db_cfg, &work.tls, work.opts, None);
            return Some(reach::probe(&lanes, plan, db, work.opts.connect_timeout * 2).await);
        }
        None
    };
    let outside = writable::outside_data_directory(plan, &server, access);
    let files = async {
        if !superuser {
            return (None, Vec::new(), Vec::new());
        }
        let (passfile, certificates, unwritable) = futures_util::future::join3(
            async {
                if access {
                    queries::passfile(&client, &server).await
                } else {
                    None
                }
            },
            certs::certificates(&client, &server, plan, access),
            writable::unwritable(&client, &outside),
        )
        .await;
        (passfile, certificates, unwritable)
    };
    let disk = async {
        match server.setting("data_directory") {
            Some(dir) if superuser => disk::read(&client, dir).await,
            _ => None,
        }
    };
    let (reach, (passfile, certificates, unwritable), disk) =
        futures_util::future::join3(in_database, files, disk).await;
    server.disk = disk;
    facts.cluster_reach = reach.unwrap_or_default();
    server.unwritable = unwritable;
    server.database = database;
    if access && superuser {
        server.passfile = passfile;
    }
    server.certificates = certificates;
    if work.role == NodeRole::Access && server.superuser {
        let lanes = Lanes::new(
            &client,
            &work.cfg,
            &work.tls,
            work.opts,
            Some(access_side::DBLINK_FUNCTION),
        );
        facts.access_probes = access_side::probe(&lanes, plan, &server, work.opts).await;
    }
    facts.server = Some(server);
    (facts, keep.then_some(client))
}

pub fn config(
    node: &Node,
    user: &str,
    db: &str,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    tls: &tls::Tls,
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
        .application_name(crate::plan::system::application_name())
        .connect_timeout(opts.connect_timeout)
        .ssl_mode(tls.ssl_mode_for(host));
    if let Some(pw) = passwords.password_for(host, port, db, user) {
        use secrecy::ExposeSecret;
        cfg.password(pw.expose_secret().as_bytes());
    }
    cfg
}

/// Connect, bounded by the connect timeout as a whole: a listener that
/// accepts and never answers cannot hold tsmn longer than that. With
/// `on_notice`, the server's notices and warnings on this connection go
/// there, named by the node; without, they are dropped.
pub async fn connect(
    cfg: &Config,
    tls: &tls::Tls,
    opts: ProbeOptions,
    on_notice: Option<(String, OnNotice)>,
) -> Result<Client, Connection> {
    let target = describe_target(cfg);
    tracing::debug!("connecting to {target} (sslmode {})", tls.mode().as_str());
    let attempt = tokio::time::timeout(opts.connect_timeout, cfg.connect(tls.connector())).await;
    // sslmode allow: refused without TLS, so once more with it.
    let attempt = match attempt {
        Ok(Err(e)) if e.as_db_error().is_some() && allows_retry(cfg, tls) => {
            let mut with_tls = cfg.clone();
            with_tls.ssl_mode(tokio_postgres::config::SslMode::Require);
            tokio::time::timeout(opts.connect_timeout, with_tls.connect(tls.connector())).await
        }
        other => other,
    };
    match attempt {
        Err(_) => {
            tracing::info!(
                "{target}: no answer within {} s",
                opts.connect_timeout.as_secs()
            );
            Err(Connection::TimedOut {
                seconds: opts.connect_timeout.as_secs(),
            })
        }
        Ok(Err(e)) => {
            let f = failure(&e);
            tracing::info!("{target}: {f:?}");
            Err(f)
        }
        Ok(Ok((client, mut conn))) => {
            tracing::debug!("{target}: connected");
            match on_notice {
                None => {
                    tokio::spawn(conn);
                }
                Some((node, tell)) => {
                    tokio::spawn(async move {
                        use futures_util::future::poll_fn;
                        use tokio_postgres::AsyncMessage;
                        while let Some(msg) = poll_fn(|cx| conn.poll_message(cx)).await {
                            match msg {
                                Ok(AsyncMessage::Notice(n)) => {
                                    tell(&node, format!("{}: {}", n.severity(), n.message()));
                                }
                                Ok(_) => {}
                                Err(_) => break,
                            }
                        }
                    });
                }
            }
            Ok(client)
        }
    }
}

/// `host:port as user, database db`, for the log (no password in it).
fn describe_target(cfg: &Config) -> String {
    let host = match cfg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "?".into(),
    };
    format!(
        "{host}:{} as {}, database {}",
        cfg.get_ports().first().copied().unwrap_or(5432),
        cfg.get_user().unwrap_or("?"),
        cfg.get_dbname().unwrap_or("?")
    )
}

fn allows_retry(cfg: &Config, tls: &tls::Tls) -> bool {
    cfg.get_ssl_mode() == tokio_postgres::config::SslMode::Disable
        && match cfg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => tls.retries_with_tls(h),
            _ => false,
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
