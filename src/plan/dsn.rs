//! A node given as a libpq connection string (`dsn = "postgresql://..."`
//! or `dsn = "host=... port=..."`) or as a service of pg_service.conf
//! (`service = "..."`), in place of host and port. What tsmn cannot use
//! from it is a problem that names the node and the key, never dropped in
//! silence. The parsing (tokio-postgres, libpq's syntax), the service
//! files and the environment are the caller's ([`Libpq`]; tsmn's is
//! probe/conninfo.rs): this file stays pure.

use super::model::{Node, Plan};
use super::problem::Problem;

/// What a connection string says, as libpq's parser reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conninfo {
    pub has_password: bool,
    pub user: Option<String>,
    pub dbname: Option<String>,
    /// An sslmode other than libpq's default.
    pub sets_sslmode: bool,
    pub hosts: Vec<ConnHost>,
    pub ports: Vec<u16>,
    pub has_hostaddr: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnHost {
    Tcp(String),
    /// A Unix socket directory.
    Socket(String),
}

/// libpq's side of a plan: its connection-string parser, its service
/// files and its default user (PGUSER).
pub trait Libpq {
    fn parse(&self, text: &str) -> Result<Conninfo, String>;
    /// The service's keys as a key=value string, or (problem, fix).
    fn service(&self, name: &str) -> Result<String, (String, String)>;
    fn default_user(&self) -> Option<String>;
}

/// No libpq at hand (the pure parser): a dsn or service cannot be read,
/// and says so; the superuser defaults to postgres.
pub struct NoLibpq;

const NO_LIBPQ: &str = "cannot be read by the pure plan parser; tsmn reads it when it loads the plan (tsmn::probe::conninfo::load_plan)";

impl Libpq for NoLibpq {
    fn parse(&self, _: &str) -> Result<Conninfo, String> {
        Err(NO_LIBPQ.into())
    }
    fn service(&self, _: &str) -> Result<String, (String, String)> {
        Err((
            NO_LIBPQ.into(),
            "load the plan with tsmn::probe::conninfo::load_plan".into(),
        ))
    }
    fn default_user(&self) -> Option<String> {
        None
    }
}

/// Fill each node's host and port from its dsn or service; the problems
/// found on the way. `given(i, key)` says whether node `i` (0 = access
/// node) spelt out `key` in the plan file.
pub fn resolve(
    plan: &mut Plan,
    given: &dyn Fn(usize, &str) -> bool,
    libpq: &dyn Libpq,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let superuser = plan.superuser.clone();
    let database = plan.database.clone();
    let sslmode_in_plan = !plan.credentials.sslmode.is_empty();
    let nodes = std::iter::once(&mut plan.access_node).chain(plan.data_nodes.iter_mut());
    for (i, node) in nodes.enumerate() {
        let path = if i == 0 {
            "access_node".to_string()
        } else {
            format!("data_nodes[{}]", i - 1)
        };
        let ctx = Ctx {
            path: &path,
            superuser: &superuser,
            database: &database,
            sslmode_in_plan,
            host_given: given(i, "host"),
            port_given: given(i, "port"),
        };
        one(node, &ctx, libpq, &mut out);
    }
    out
}

/// Host and port from a connection string typed where a host goes (the
/// wizard's node form), or the first problem with it in words.
pub fn host_and_port(
    text: &str,
    plan: &Plan,
    libpq: &dyn Libpq,
) -> Result<(String, Option<i64>), String> {
    let mut node = Node {
        name: "node".into(),
        host: String::new(),
        port: 0,
        connect_host: None,
        connect_port: None,
        dsn: Some(text.to_string()),
        service: None,
        hypertables: None,
    };
    let ctx = Ctx {
        path: "node",
        superuser: &plan.superuser,
        database: &plan.database,
        sslmode_in_plan: !plan.credentials.sslmode.is_empty(),
        host_given: false,
        port_given: false,
    };
    let mut out = Vec::new();
    one(&mut node, &ctx, libpq, &mut out);
    match out.first() {
        Some(p) => Err(format!("{}; fix: {}", p.problem, p.fix)),
        None => Ok((node.host, (node.port != 0).then_some(node.port))),
    }
}

/// Whether a host field holds a connection string rather than a host.
pub fn looks_like_one(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("postgresql://") || t.starts_with("postgres://") || t.contains('=')
}

pub(crate) struct Ctx<'a> {
    pub(crate) path: &'a str,
    pub(crate) superuser: &'a str,
    pub(crate) database: &'a str,
    pub(crate) sslmode_in_plan: bool,
    pub(crate) host_given: bool,
    pub(crate) port_given: bool,
}

pub(crate) fn one(node: &mut Node, ctx: &Ctx<'_>, libpq: &dyn Libpq, out: &mut Vec<Problem>) {
    let (text, key) = match (&node.dsn, &node.service) {
        (None, None) => return,
        (Some(_), Some(_)) => {
            out.push(Problem::new(
                format!("{}.service", ctx.path),
                format!("{} gives both dsn and service", node.name),
                "keep one of them",
            ));
            return;
        }
        (Some(d), None) => (d.clone(), "dsn"),
        (None, Some(s)) => match libpq.service(s) {
            Ok(conninfo) => (conninfo, "service"),
            Err(why) => {
                out.push(Problem::new(format!("{}.service", ctx.path), why.0, why.1));
                return;
            }
        },
    };
    let field = format!("{}.{key}", ctx.path);
    let cfg = match libpq.parse(&text) {
        Ok(c) => c,
        Err(e) => {
            // The text may hold a password: never echo it.
            out.push(Problem::new(
                &field,
                format!("is not a libpq connection string: {e}"),
                "write a postgresql:// URI or key=value pairs (host=db1 port=5432)",
            ));
            return;
        }
    };
    if cfg.has_password {
        out.push(Problem::new(
            &field,
            "holds a password (its value is not shown)",
            "remove it: a plan never holds a secret (PGPASSWORD, a passfile or the prompt give it)",
        ));
    }
    unusable(&cfg, ctx, &field, out);
    place(node, &cfg, ctx, &field, out);
}

/// What the connection string says that tsmn does not take from it.
fn unusable(cfg: &Conninfo, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    if let Some(u) = cfg.user.as_deref().filter(|u| *u != ctx.superuser) {
        out.push(Problem::new(
            field,
            format!(
                "names the user {u}, but tsmn connects to every node as the plan's superuser {}",
                ctx.superuser
            ),
            format!("remove the user from it, or set superuser = \"{u}\" for the whole plan"),
        ));
    }
    if let Some(d) = cfg
        .dbname
        .as_deref()
        .filter(|d| *d != ctx.database && *d != "postgres")
    {
        out.push(Problem::new(
            field,
            format!(
                "names the database {d}; tsmn uses postgres and the plan's database {}",
                ctx.database
            ),
            format!("remove the database from it, or set database = \"{d}\" for the whole plan"),
        ));
    }
    if cfg.sets_sslmode && !ctx.sslmode_in_plan {
        out.push(Problem::new(
            field,
            "sets sslmode, which tsmn takes for all nodes at once",
            "move it to credentials.sslmode (or PGSSLMODE)",
        ));
    }
    if cfg.hosts.len() > 1 || cfg.ports.len() > 1 {
        out.push(Problem::new(
            field,
            "lists several hosts; a node is one server",
            "keep one host and port",
        ));
    }
    if cfg.has_hostaddr {
        out.push(Problem::new(
            field,
            "sets hostaddr, which tsmn does not use",
            "put the address in host instead",
        ));
    }
}

/// Host and port from the string: a TCP host is the node's address; a
/// socket directory is where tsmn connects (the access node reaches a
/// data node by host, which must then be given).
fn place(node: &mut Node, cfg: &Conninfo, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    let port = cfg.ports.first().map(|p| i64::from(*p));
    match cfg.hosts.first() {
        Some(ConnHost::Tcp(h)) => {
            let h = super::address::normalize_host(h);
            if ctx.host_given && node.host != h {
                out.push(disagrees(ctx, "host", &node.host, field, &h));
            }
            node.host = h;
        }
        Some(ConnHost::Socket(dir)) => {
            node.connect_host = Some(dir.clone());
            if !ctx.host_given {
                out.push(Problem::new(
                    format!("{}.host", ctx.path),
                    format!("{field} is a Unix socket, where tsmn connects; the access node needs the node's network address"),
                    "add host = the address the access node reaches the node at",
                ));
            }
        }
        None if !ctx.host_given => out.push(Problem::new(
            field,
            "names no host",
            "add host=... to it (or give host in the node's table)",
        )),
        None => {}
    }
    if let Some(p) = port {
        if ctx.port_given && node.port != p {
            out.push(disagrees(
                ctx,
                "port",
                &node.port.to_string(),
                field,
                &p.to_string(),
            ));
        }
        node.port = p;
    }
}

/// The node's table gives `key` as `ours`, its connection string as `theirs`.
fn disagrees(ctx: &Ctx<'_>, key: &str, ours: &str, field: &str, theirs: &str) -> Problem {
    Problem::new(
        format!("{}.{key}", ctx.path),
        format!("is {ours} but {field} says {theirs}"),
        format!("remove {key} (the connection string gives it), or make them the same"),
    )
}
