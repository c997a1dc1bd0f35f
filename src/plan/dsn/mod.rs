//! A node given as a libpq connection string (`dsn = "postgresql://..."`
//! or `dsn = "host=... port=..."`) or as a service of pg_service.conf
//! (`service = "..."`), in place of host and port. Every key libpq takes
//! is read ([`keys`]): used, or ignored with a note that names it and why,
//! or (a password, or a key whose loss would weaken the connection) a
//! problem that names the node and the key. The parsing is tsmn's own
//! (`parse.rs`, pure); the service files and the environment are the
//! caller's ([`Libpq`]; tsmn's is plan/system): this module stays pure.

pub mod keys;
mod lift;
mod parse;

pub use keys::{Env, Key, Role};
pub use lift::field as credential_field;
pub use parse::{ConnHost, Conninfo};

use super::model::{Node, Plan};
use super::problem::Problem;

/// libpq's side of a plan: its service files, its default user (PGUSER),
/// and where notes about ignored keys go.
pub trait Libpq {
    /// The service's keys, or (problem, fix).
    fn service(&self, name: &str) -> Result<Conninfo, (String, String)>;
    fn default_user(&self) -> Option<String>;
    /// A key that was read and is not used, and why (for the operator).
    fn note(&self, _text: String) {}
}

/// No libpq files at hand (the pure plan parser): connection strings are
/// read, a service cannot be; the superuser defaults to postgres.
pub struct NoLibpq;

const NO_LIBPQ: &str = "cannot be read by the pure plan parser; tsmn reads it when it loads the plan (tsmn::plan::system::load_plan)";

impl Libpq for NoLibpq {
    fn service(&self, _: &str) -> Result<Conninfo, (String, String)> {
        Err((
            NO_LIBPQ.into(),
            "load the plan with tsmn::plan::system::load_plan".into(),
        ))
    }
    fn default_user(&self) -> Option<String> {
        None
    }
}

/// The connection string `text` with the keys of the service it names
/// (`service=...`) under it, as libpq reads one.
pub fn read(text: &str, libpq: &dyn Libpq) -> Result<Conninfo, (String, String)> {
    let own = Conninfo::parse(text).map_err(|e| {
        (
            format!("is not a libpq connection string: {e}"),
            "write a postgresql:// URI or key=value pairs (host=db1 port=5432)".to_string(),
        )
    })?;
    match own.get("service").filter(|s| !s.is_empty()) {
        None => Ok(own),
        Some(name) => {
            let service = libpq.service(name)?;
            Ok(own.over(&service))
        }
    }
}

/// Fill each node's host and port from its dsn or service, and the
/// plan's credentials from what they say for all nodes; the problems
/// found on the way. `given(i, key)` says whether node `i` (0 = the
/// access node) spelt out `key` in the plan file.
pub fn resolve(
    plan: &mut Plan,
    given: &dyn Fn(usize, &str) -> bool,
    libpq: &dyn Libpq,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut read = Vec::new();
    let (superuser, database) = (plan.superuser.clone(), plan.database.clone());
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
            host_given: given(i, "host"),
            port_given: given(i, "port"),
            connect_host_given: given(i, "connect_host"),
        };
        if let Some((field, c)) = one(node, &ctx, libpq, &mut out) {
            read.push((field, c));
        }
    }
    lift::credentials(&mut plan.credentials, &read, &mut out);
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
        host_given: false,
        port_given: false,
        connect_host_given: false,
    };
    let mut out = Vec::new();
    if let Some((field, c)) = one(&mut node, &ctx, libpq, &mut out) {
        let mut credentials = plan.credentials.clone();
        lift::credentials(&mut credentials, &[(field, c)], &mut out);
    }
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
    pub(crate) host_given: bool,
    pub(crate) port_given: bool,
    pub(crate) connect_host_given: bool,
}

/// One node: its connection string read and placed; (its field, what it
/// says) for the plan-wide keys, unless it could not be read.
pub(crate) fn one(
    node: &mut Node,
    ctx: &Ctx<'_>,
    libpq: &dyn Libpq,
    out: &mut Vec<Problem>,
) -> Option<(String, Conninfo)> {
    let (text, key) = match (&node.dsn, &node.service) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            out.push(Problem::new(
                format!("{}.service", ctx.path),
                format!("{} gives both dsn and service", node.name),
                "keep one of them",
            ));
            return None;
        }
        (Some(d), None) => (d.clone(), "dsn"),
        (None, Some(s)) => (
            format!("service={}", crate::quote::conninfo::value(s)),
            "service",
        ),
    };
    let field = format!("{}.{key}", ctx.path);
    // The text may hold a password: no message echoes it.
    let cfg = match read(&text, libpq) {
        Ok(c) => c,
        Err((problem, fix)) => {
            out.push(Problem::new(&field, problem, fix));
            return None;
        }
    };
    each_key(&cfg, &field, libpq, out);
    unusable(&cfg, ctx, &field, out);
    place(node, &cfg, ctx, &field, out);
    Some((field, cfg))
}

/// Secrets and refused keys are problems; keys tsmn does not use, notes.
fn each_key(cfg: &Conninfo, field: &str, libpq: &dyn Libpq, out: &mut Vec<Problem>) {
    for (key, value) in cfg.iter().filter(|(_, v)| !v.is_empty()) {
        if key.role == Role::Secret {
            out.push(Problem::new(
                field,
                format!("holds {} (its value is not shown)", secret_name(key.name)),
                "remove it: a plan never holds a secret (PGPASSWORD, a passfile or the prompt give it)",
            ));
        } else if let Some(why) = key.refused_why(value) {
            out.push(Problem::new(
                field,
                format!("sets {}={value}, which tsmn cannot honour: {why}", key.name),
                format!("remove {} from it", key.name),
            ));
        } else if let Some(why) = key.ignored_why(value, true) {
            libpq.note(format!("{field}: {} is ignored: {why}", key.name));
        }
    }
}

/// How a secret key is named in a message.
pub fn secret_name(key: &str) -> &'static str {
    if key == "sslpassword" {
        "the client key's password (sslpassword)"
    } else {
        "a password"
    }
}

/// What the connection string says that tsmn does not take from it.
fn unusable(cfg: &Conninfo, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    if let Some(u) = cfg
        .get("user")
        .filter(|u| !u.is_empty() && *u != ctx.superuser)
    {
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
        .get("dbname")
        .filter(|d| !d.is_empty() && *d != ctx.database && *d != "postgres")
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
    let ports = match cfg.ports() {
        Ok(p) => p,
        Err(e) => {
            out.push(Problem::new(field, e, "give a port from 1 to 65535"));
            Vec::new()
        }
    };
    if cfg.hosts().len() > 1 || cfg.hostaddrs().len() > 1 || ports.len() > 1 {
        out.push(Problem::new(
            field,
            "lists several hosts; a node is one server",
            "keep one host and port",
        ));
    }
}

/// Host and port from the string: a TCP host is the node's address; a
/// socket directory, or a hostaddr beside the host, is where tsmn
/// connects (the access node reaches a data node by host, which must then
/// be given).
fn place(node: &mut Node, cfg: &Conninfo, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    let port = cfg.ports().ok().and_then(|p| p.first().copied());
    let hostaddr = cfg.hostaddrs().into_iter().next();
    let host = match (cfg.hosts().into_iter().next(), &hostaddr) {
        (None, Some(a)) => Some(ConnHost::Tcp(a.clone())),
        (h, _) => h,
    };
    match host {
        Some(ConnHost::Tcp(h)) => {
            let h = super::address::normalize_host(&h);
            if ctx.host_given && node.host != h {
                out.push(disagrees(ctx, "host", &node.host, field, &h));
            }
            node.host = h;
            if let Some(a) = hostaddr.filter(|a| *a != node.host) {
                connect_at(node, a, ctx, field, out);
            }
        }
        Some(ConnHost::Socket(dir)) => {
            connect_at(node, dir, ctx, field, out);
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
    if let Some(p) = port.map(i64::from) {
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

/// Where tsmn connects (a socket directory, or hostaddr), unless the
/// node's table says otherwise.
fn connect_at(node: &mut Node, at: String, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    match &node.connect_host {
        Some(c) if ctx.connect_host_given && *c != at => {
            out.push(disagrees(ctx, "connect_host", &c.clone(), field, &at));
        }
        _ => node.connect_host = Some(at),
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
