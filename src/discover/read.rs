//! Reading a running cluster from its access node, as its superuser. No
//! password is ever read into memory from the passfile: only the host,
//! port and user fields of its lines.

use super::{Discovered, Target};
use crate::plan::{AuthMode, CertificateOptions, Node, PasswordOptions, Plan};
use crate::timescale::server_options;
use std::time::Duration;
use tokio_postgres::Client;

/// One connection to the access node, made the way the probe makes its
/// own (`probe::config`: the password as libpq would find it, PGPASSWORD,
/// PGPASSFILE, ~/.pgpass), with TLS when offered except over a socket, and
/// what the target's connection string says of the connection (hostaddr,
/// TLS files, passfile, application_name, options).
async fn connect(t: &Target, db: &str, timeout: Duration) -> Result<Client, String> {
    let node = Node {
        name: "an".into(),
        host: t.host.clone(),
        port: i64::from(t.port),
        connect_host: t.conn.hostaddr.clone(),
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    };
    let plan = Plan {
        superuser: t.user.clone(),
        credentials: t.conn.credentials.clone(),
        ..crate::plan::new_plan()
    };
    let passwords = crate::probe::credentials::PasswordSource::from_plan(&plan);
    let opts = crate::probe::ProbeOptions::with_connect_timeout(timeout);
    // TLS as the string, then libpq's environment, says; none over a socket.
    let tls = crate::probe::tls::Tls::from_plan(&plan)?;
    let mut cfg = crate::probe::config(&node, &t.user, db, &passwords, opts, &tls);
    cfg.application_name(crate::plan::system::env::application_name_from(
        t.conn.application_name.as_deref(),
        t.conn.fallback_application_name.as_deref(),
    ));
    if let Some(o) = &t.conn.options {
        cfg.options(o);
    }
    crate::probe::connect(&cfg, &tls, opts, None)
        .await
        .map_err(|c| {
            format!(
                "cannot connect to the access node at {} as {} (database {db}): {}",
                t.shown(),
                t.user,
                c.problem().unwrap_or_default()
            )
        })
}

/// The databases on the server that are access nodes (they have data nodes).
async fn access_node_databases(t: &Target, timeout: Duration) -> Result<Vec<String>, String> {
    let client = connect(t, "postgres", timeout).await?;
    let rows = client
        .query(
            "SELECT datname::text FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname",
            &[],
        )
        .await
        .map_err(|e| crate::run::session::describe(&e))?;
    let mut found = Vec::new();
    for r in rows {
        let db: String = r.get(0);
        let Ok(c) = connect(t, &db, timeout).await else {
            continue;
        };
        let has = c
            .query_one(
                "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'timescaledb')",
                &[],
            )
            .await
            .is_ok_and(|r| r.get::<_, bool>(0));
        if has
            && c.query_one(
                "SELECT count(*) FROM timescaledb_information.data_nodes",
                &[],
            )
            .await
            .is_ok_and(|r| r.get::<_, i64>(0) > 0)
        {
            found.push(db);
        }
    }
    Ok(found)
}

/// The cluster database: the one given, else the one database on the
/// server that has data nodes.
async fn cluster_database(t: &Target, timeout: Duration) -> Result<String, String> {
    if let Some(d) = &t.database {
        return Ok(d.clone());
    }
    let dbs = access_node_databases(t, timeout).await?;
    match dbs.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "no database on {} has data nodes: it is not the access node of a multi-node cluster (or --superuser cannot see them)\n    fix: give the access node's address, or the cluster database with --database",
            t.shown()
        )),
        many => Err(format!(
            "several databases on {} are access nodes: {}\n    fix: choose one with --database",
            t.shown(),
            many.join(", ")
        )),
    }
}

/// What the access node says of itself, with TimescaleDB's file paths
/// resolved as the extension resolves them: the defaults and a relative
/// path are taken from PGDATA, the server's working directory.
struct Server {
    user: String,
    ssl: bool,
    server_addr: Option<String>,
    /// timescaledb.passfile / ssl_dir when set (not the default).
    passfile_set: bool,
    ssl_dir_set: bool,
    passfile: String,
    ssl_dir: String,
}

async fn server(c: &Client) -> Result<Server, tokio_postgres::Error> {
    let me = c
        .query_one(
            "SELECT current_user::text, current_setting('data_directory'), current_setting('ssl'), \
             (SELECT setting FROM pg_settings WHERE name = 'timescaledb.passfile' AND source <> 'default'), \
             (SELECT setting FROM pg_settings WHERE name = 'timescaledb.ssl_dir' AND source <> 'default'), \
             host(inet_server_addr())",
            &[],
        )
        .await?;
    let pgdata: String = me.get(1);
    let resolve = |v: Option<String>, default: &str| match v {
        None => format!("{pgdata}/{default}"),
        Some(v) if v.starts_with('/') => v,
        Some(v) if v.is_empty() => pgdata.clone(),
        Some(v) => format!("{pgdata}/{v}"),
    };
    let (pf, sd): (Option<String>, Option<String>) = (me.get(3), me.get(4));
    Ok(Server {
        user: me.get(0),
        ssl: me.get::<_, String>(2) == "on",
        server_addr: me.get(5),
        passfile_set: pf.is_some(),
        ssl_dir_set: sd.is_some(),
        passfile: resolve(pf, "passfile"),
        ssl_dir: resolve(sd, "timescaledb/certs"),
    })
}

/// The roles each mode's own evidence names: login roles with a client
/// certificate, the passfile's users, or (trust) the login roles allowed to
/// use every data node. The auth mode follows from which evidence there is.
async fn mode_and_roles(
    c: &Client,
    s: &Server,
) -> Result<(AuthMode, Vec<String>), tokio_postgres::Error> {
    let names =
        |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get(0)).collect::<Vec<String>>();
    let cert_roles = names(
        c.query(
            "SELECT rolname::text FROM pg_roles WHERE rolcanlogin \
             AND (pg_stat_file($1 || '/' || md5(rolname::text) || '.crt', true)).size IS NOT NULL ORDER BY rolname",
            &[&s.ssl_dir],
        )
        .await?,
    );
    let pass_users = passfile_users(c, &s.passfile).await;
    let (mode, mut roles) = if s.ssl && cert_roles.contains(&s.user) {
        (AuthMode::Certificate, cert_roles)
    } else if !pass_users.is_empty() {
        (AuthMode::Password, pass_users)
    } else {
        let usage = c
            .query(
                "SELECT r.rolname::text FROM pg_roles r WHERE r.rolcanlogin AND NOT r.rolsuper \
                 AND NOT EXISTS (SELECT FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw \
                                 WHERE w.fdwname = 'timescaledb_fdw' AND NOT has_server_privilege(r.oid, s.oid, 'USAGE')) \
                 ORDER BY r.rolname",
                &[],
            )
            .await?;
        (AuthMode::Trust, names(usage))
    };
    roles.retain(|r| *r != s.user);
    roles.insert(0, s.user.clone());
    Ok((mode, roles))
}

/// The data nodes from their foreign servers' options.
fn data_nodes(rows: &[tokio_postgres::Row], database: &str, notes: &mut Vec<String>) -> Vec<Node> {
    let mut out = Vec::new();
    for r in rows {
        let (name, options): (String, Vec<String>) = (r.get(0), r.get(1));
        let (host, port, dbname) = server_options(&options);
        let Some(host) = host else {
            notes.push(format!(
                "data node {name} has no host option; it is left out"
            ));
            continue;
        };
        if let Some(d) = dbname.filter(|d| d != database) {
            notes.push(format!(
                "data node {name} uses database {d}, not {database}: tsmn assumes one name on every node"
            ));
        }
        out.push(Node {
            name,
            host,
            port: port.unwrap_or(5432),
            connect_host: None,
            connect_port: None,
            dsn: None,
            service: None,
            hypertables: None,
        });
    }
    notes.push("tsmn connects to each data node at the host and port the access node uses; where it must connect elsewhere (another address, a socket), set connect_host and connect_port".into());
    out
}

fn access_node(t: &Target, s: &Server, notes: &mut Vec<String>) -> Node {
    let socket = t.host.starts_with('/');
    if socket {
        notes.push("discovered over a Unix socket: the access node's host is a guess; set it to the address the data nodes see it connect from, or list those in access_node_addresses".into());
    }
    notes.push(
        "the access node's name (an) is tsmn's own: it is stored nowhere in the cluster".into(),
    );
    Node {
        name: "an".into(),
        host: if socket {
            s.server_addr.clone().unwrap_or_else(|| "localhost".into())
        } else {
            t.host.clone()
        },
        port: i64::from(t.port),
        connect_host: if socket {
            Some(t.host.clone())
        } else {
            t.conn.hostaddr.clone()
        },
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    }
}

/// The mode's options as the access node has them.
fn auth_options(
    plan: &mut Plan,
    s: &Server,
    mappings_with_password: bool,
    notes: &mut Vec<String>,
) {
    match plan.auth.mode {
        AuthMode::Password => {
            plan.auth.password = Some(PasswordOptions {
                passfile: if s.passfile_set {
                    s.passfile.clone()
                } else {
                    String::new()
                },
                user_mapping: mappings_with_password,
                ..PasswordOptions::default()
            });
            notes.push(format!("the role passwords stay where they are (the access node's passfile {}): tsmn apply keeps it while the access node reaches every data node as every role, and asks for a role's password (or reads it from password_env_prefix's variables) only where that fails", s.passfile));
        }
        AuthMode::Certificate => {
            plan.auth.certificate = Some(CertificateOptions {
                ssl_dir: if s.ssl_dir_set {
                    s.ssl_dir.clone()
                } else {
                    String::new()
                },
                ..CertificateOptions::default()
            });
            notes.push(format!("the client certificates are in {}; tsmn has no copy of the CA that issued them: tsmn apply keeps the cluster's certificates while the access node proves they work, and to issue any (a new role, --renew-certificates) set ca_cert and ca_key to that CA", s.ssl_dir));
        }
        AuthMode::Trust => {}
    }
}

/// The plan of the cluster whose access node `t` is.
pub async fn discover(t: &Target, timeout: Duration) -> Result<Discovered, String> {
    let database = cluster_database(t, timeout).await?;
    let c = connect(t, &database, timeout).await?;
    let q = |e: tokio_postgres::Error| {
        format!(
            "reading the cluster from {database}: {} (is TimescaleDB 2.x with multi-node installed in {database}?)",
            crate::run::session::describe(&e)
        )
    };
    let nodes = c
        .query(
            "SELECT node_name::text, coalesce(options, '{}')::text[] FROM timescaledb_information.data_nodes ORDER BY node_name",
            &[],
        )
        .await
        .map_err(q)?;
    // A database given by name that has no data nodes: not an access node
    // (a plan without data nodes would be refused by validate).
    if nodes.is_empty() {
        return Err(format!(
            "database {database} on {} has no data nodes: it is not the access node of a multi-node cluster (or --superuser cannot see them)\n    fix: give the access node's address and its cluster database (--database)",
            t.shown()
        ));
    }
    let s = server(&c).await.map_err(q)?;
    let (mode, roles) = mode_and_roles(&c, &s).await.map_err(q)?;
    let mappings_with_password = c
        .query_one(
            "SELECT count(*) FROM pg_user_mappings WHERE array_to_string(umoptions, ',') LIKE '%password=%'",
            &[],
        )
        .await
        .is_ok_and(|r| r.get::<_, i64>(0) > 0);
    let mut notes = Vec::new();
    let data_nodes = data_nodes(&nodes, &database, &mut notes);
    let access_node = access_node(t, &s, &mut notes);
    let mut plan = Plan {
        database,
        superuser: s.user.clone(),
        // How tsmn reached the access node is how it reaches every node.
        credentials: t.conn.credentials.clone(),
        access_node,
        data_nodes,
        adopted: true,
        ..crate::plan::new_plan()
    };
    plan.auth.mode = mode;
    plan.auth.roles = roles;
    auth_options(&mut plan, &s, mappings_with_password, &mut notes);
    maintenance(&c, &mut plan, &mut notes).await;
    Ok(Discovered {
        plan: plan.normalized(),
        notes,
    })
}

/// tsmn's maintenance jobs found on the access node: the plan asks for
/// them, on the schedules they run on (a cluster without them, or a
/// TimescaleDB whose jobs cannot be read, gets none).
async fn maintenance(c: &Client, plan: &mut Plan, notes: &mut Vec<String>) {
    use crate::maintenance::Job;
    let Ok(rows) = c
        .query(
            "SELECT proc_name::text, min(extract(epoch FROM schedule_interval))::bigint \
             FROM timescaledb_information.jobs WHERE proc_schema = 'public' AND proc_name = ANY($1) GROUP BY 1",
            &[&Job::ALL.iter().map(|j| j.procedure()).collect::<Vec<_>>()],
        )
        .await
    else {
        return;
    };
    for r in &rows {
        let (name, seconds): (String, i64) = (r.get(0), r.get(1));
        let every = crate::plan::interval_text(seconds);
        match Job::ALL.iter().find(|j| j.procedure() == name) {
            Some(Job::Heal) => plan.maintenance.heal_every = every,
            Some(Job::Analyze) => plan.maintenance.analyze_every = every,
            None => continue,
        }
        plan.maintenance.jobs = true;
    }
    if plan.maintenance.jobs {
        notes.push(format!(
            "tsmn's maintenance jobs run on the access node: [maintenance] jobs = true (heal every {}, analyze every {})",
            plan.maintenance.heal_every, plan.maintenance.analyze_every
        ));
    }
}

/// The user field of each passfile line (never the password).
async fn passfile_users(c: &Client, path: &str) -> Vec<String> {
    let Ok(row) = c
        .query_one("SELECT pg_read_file($1, 0, 1000000, true)", &[&path])
        .await
    else {
        return Vec::new();
    };
    let text: Option<String> = row.get(0);
    let mut users: Vec<String> = Vec::new();
    for line in text.unwrap_or_default().lines() {
        if let Some([_, _, _, user, _]) = crate::quote::pgpass::split(line) {
            if user != "*" && !users.contains(&user) {
                users.push(user);
            }
        }
    }
    users
}
