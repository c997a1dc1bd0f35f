//! A node given as a libpq connection string (`dsn = "postgresql://..."`
//! or `dsn = "host=... port=..."`) or as a service of pg_service.conf
//! (`service = "..."`), in place of host and port. Parsed by
//! tokio-postgres (libpq's syntax); what tsmn cannot use from it is a
//! problem that names the node and the key, never dropped in silence.

use super::model::{Node, Plan};
use super::problem::Problem;
use std::path::PathBuf;
use std::str::FromStr;
use tokio_postgres::config::{Config, Host};

/// Fill each node's host and port from its dsn or service; the problems
/// found on the way. `given(i, key)` says whether node `i` (0 = access
/// node) spelt out `key` in the plan file.
pub fn resolve(plan: &mut Plan, given: &dyn Fn(usize, &str) -> bool) -> Vec<Problem> {
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
        one(node, &ctx, &mut out);
    }
    out
}

/// Host and port from a connection string typed where a host goes (the
/// wizard's node form), or the first problem with it in words.
pub fn host_and_port(text: &str, plan: &Plan) -> Result<(String, Option<i64>), String> {
    let mut node = Node {
        name: "node".into(),
        host: String::new(),
        port: 0,
        connect_host: None,
        connect_port: None,
        dsn: Some(text.to_string()),
        service: None,
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
    one(&mut node, &ctx, &mut out);
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

struct Ctx<'a> {
    path: &'a str,
    superuser: &'a str,
    database: &'a str,
    sslmode_in_plan: bool,
    host_given: bool,
    port_given: bool,
}

fn one(node: &mut Node, ctx: &Ctx<'_>, out: &mut Vec<Problem>) {
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
        (None, Some(s)) => match service(s) {
            Ok(conninfo) => (conninfo, "service"),
            Err(why) => {
                out.push(Problem::new(format!("{}.service", ctx.path), why.0, why.1));
                return;
            }
        },
    };
    let field = format!("{}.{key}", ctx.path);
    let cfg = match Config::from_str(&text) {
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
    if cfg.get_password().is_some() {
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
fn unusable(cfg: &Config, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    if let Some(u) = cfg.get_user().filter(|u| *u != ctx.superuser) {
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
        .get_dbname()
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
    if cfg.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer && !ctx.sslmode_in_plan {
        out.push(Problem::new(
            field,
            "sets sslmode, which tsmn takes for all nodes at once",
            "move it to credentials.sslmode (or PGSSLMODE)",
        ));
    }
    if cfg.get_hosts().len() > 1 || cfg.get_ports().len() > 1 {
        out.push(Problem::new(
            field,
            "lists several hosts; a node is one server",
            "keep one host and port",
        ));
    }
    if !cfg.get_hostaddrs().is_empty() {
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
fn place(node: &mut Node, cfg: &Config, ctx: &Ctx<'_>, field: &str, out: &mut Vec<Problem>) {
    let port = cfg.get_ports().first().map(|p| i64::from(*p));
    match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            let h = super::address::normalize_host(h);
            if ctx.host_given && node.host != h {
                out.push(Problem::new(
                    format!("{}.host", ctx.path),
                    format!("is {} but {field} says {h}", node.host),
                    "remove host (the connection string gives it), or make them the same",
                ));
            }
            node.host = h;
        }
        Some(Host::Unix(dir)) => {
            node.connect_host = Some(dir.display().to_string());
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
            out.push(Problem::new(
                format!("{}.port", ctx.path),
                format!("is {} but {field} says {p}", node.port),
                "remove port (the connection string gives it), or make them the same",
            ));
        }
        node.port = p;
    }
}

/// The service's keys as a key=value string, from the user's service file
/// (PGSERVICEFILE, else ~/.pg_service.conf), then the system's
/// (PGSYSCONFDIR/pg_service.conf, else Debian's
/// /etc/postgresql-common/pg_service.conf), as libpq looks.
fn service(name: &str) -> Result<String, (String, String)> {
    let mut files: Vec<PathBuf> = Vec::new();
    match std::env::var_os("PGSERVICEFILE").filter(|v| !v.is_empty()) {
        Some(f) => files.push(f.into()),
        None => files.extend(crate::os::home_dir().map(|h| h.join(".pg_service.conf"))),
    }
    match std::env::var_os("PGSYSCONFDIR").filter(|v| !v.is_empty()) {
        Some(d) => files.push(PathBuf::from(d).join("pg_service.conf")),
        None => files.push("/etc/postgresql-common/pg_service.conf".into()),
    }
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        if let Some(pairs) = section(&text, name) {
            return Ok(pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", crate::quote::conninfo::value(v)))
                .collect::<Vec<_>>()
                .join(" "));
        }
    }
    let looked: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Err((
        format!("no service [{name}] in {}", looked.join(" or ")),
        "add the section to one of those files, or give the node's host and port".into(),
    ))
}

/// The key=value lines of `[name]` in a pg_service.conf text.
fn section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if inside {
                break;
            }
            inside = s == name;
            if inside {
                found = Some(Vec::new());
            }
            continue;
        }
        if let (true, Some((k, v))) = (inside, line.split_once('=')) {
            if let Some(f) = found.as_mut() {
                f.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(dsn: &str) -> Node {
        Node {
            name: "dn1".into(),
            host: String::new(),
            port: 5432,
            connect_host: None,
            connect_port: None,
            dsn: Some(dsn.into()),
            service: None,
        }
    }

    fn ctx(host_given: bool, port_given: bool) -> Ctx<'static> {
        Ctx {
            path: "data_nodes[0]",
            superuser: "postgres",
            database: "tsdb",
            sslmode_in_plan: false,
            host_given,
            port_given,
        }
    }

    fn run(n: &mut Node, c: &Ctx<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        one(n, c, &mut out);
        out
    }

    #[test]
    fn uris_and_key_value_strings_give_host_and_port() {
        for dsn in [
            "postgresql://db1.example.com:6432/tsdb",
            "host=db1.example.com port=6432 dbname=postgres",
        ] {
            let mut n = node(dsn);
            assert!(run(&mut n, &ctx(false, false)).is_empty(), "{dsn}");
            assert_eq!(
                (n.host.as_str(), n.port),
                ("db1.example.com", 6432),
                "{dsn}"
            );
        }
        let mut n = node("postgresql://[fe80::1]:5433");
        assert!(run(&mut n, &ctx(false, false)).is_empty());
        assert_eq!(n.host, "fe80::1");
    }

    #[test]
    fn what_tsmn_cannot_use_is_named() {
        let mut n = node("postgresql://alice:s3cret@db1/other?sslmode=require");
        let p = run(&mut n, &ctx(false, false));
        let all = format!("{p:?}");
        assert!(!all.contains("s3cret"), "{all}");
        for needle in [
            "holds a password",
            "user alice",
            "database other",
            "sslmode",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
        let mut n = node("host=db1 port=6432");
        n.host = "db2".into();
        n.port = 5432;
        let p = run(&mut n, &ctx(true, true));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].path.ends_with(".host") && p[1].path.ends_with(".port"));
        let mut n = node("port=6432");
        assert!(run(&mut n, &ctx(false, false))[0]
            .problem
            .contains("no host"));
        let mut n = node("host=/var/run/postgresql port=5433");
        let p = run(&mut n, &ctx(false, false));
        assert!(p[0].problem.contains("Unix socket"), "{p:?}");
        assert_eq!(n.connect_host.as_deref(), Some("/var/run/postgresql"));
    }

    #[test]
    fn service_sections() {
        let text = "# c\n[a]\nhost=h1\nport = 1\n[b]\nhost=h2\n";
        assert_eq!(
            section(text, "a"),
            Some(vec![
                ("host".into(), "h1".into()),
                ("port".into(), "1".into())
            ])
        );
        assert_eq!(section(text, "b").map(|s| s.len()), Some(1));
        assert_eq!(section(text, "c"), None);
    }
}
