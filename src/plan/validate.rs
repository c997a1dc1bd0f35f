//! Validation of a plan: every problem at once, each with its field path and fix.

use super::address::{check_host, check_source_address};
use super::model::{AuthMode, Node, Plan, MAX_IDENTIFIER_BYTES};
use super::problem::Problem;
use crate::quote::text::{self, Kind};
use std::collections::HashMap;

pub fn validate(plan: &Plan) -> Vec<Problem> {
    let unwritable = characters(plan);
    let mut out = fields(plan);
    // One problem per field: a character no quoting can write is the one
    // to fix first (a host with a line break is not also "not a DNS name").
    out.retain(|p| !unwritable.iter().any(|u| u.path == p.path));
    unwritable.into_iter().chain(out).collect()
}

/// Every text value of the plan, with its field path and kind.
fn texts(plan: &Plan) -> Vec<(String, &str, Kind)> {
    let c = &plan.credentials;
    let mut v: Vec<(String, &str, Kind)> = vec![
        ("database".into(), &plan.database, Kind::Name),
        ("superuser".into(), &plan.superuser, Kind::Name),
        (
            "credentials.password_env".into(),
            &c.password_env,
            Kind::Text,
        ),
        ("credentials.passfile".into(), &c.passfile, Kind::Text),
        ("credentials.sslrootcert".into(), &c.sslrootcert, Kind::Text),
        ("credentials.sslmode".into(), &c.sslmode, Kind::Text),
        ("credentials.sslcert".into(), &c.sslcert, Kind::Text),
        ("credentials.sslkey".into(), &c.sslkey, Kind::Text),
    ];
    for (i, a) in plan.access_node_addresses.iter().enumerate() {
        v.push((format!("access_node_addresses[{i}]"), a, Kind::Text));
    }
    let nodes = std::iter::once(("access_node".to_string(), &plan.access_node)).chain(
        plan.data_nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("data_nodes[{i}]"), n)),
    );
    for (path, n) in nodes {
        v.push((field(&path, "name"), &n.name, Kind::Name));
        v.push((field(&path, "host"), &n.host, Kind::Text));
        for (key, value) in [
            ("connect_host", &n.connect_host),
            ("dsn", &n.dsn),
            ("service", &n.service),
        ] {
            if let Some(value) = value {
                v.push((field(&path, key), value, Kind::Text));
            }
        }
        for (j, h) in n.hypertables.iter().flatten().enumerate() {
            v.push((format!("{path}.hypertables[{j}]"), h, Kind::Text));
        }
    }
    for (i, r) in plan.auth.roles.iter().enumerate() {
        v.push((format!("auth.roles[{i}]"), r, Kind::Name));
    }
    if let Some(p) = &plan.auth.password {
        v.push(("auth.password.passfile".into(), &p.passfile, Kind::Text));
        v.push((
            "auth.password.password_env_prefix".into(),
            &p.password_env_prefix,
            Kind::Text,
        ));
    }
    if let Some(c) = &plan.auth.certificate {
        v.push(("auth.certificate.ssl_dir".into(), &c.ssl_dir, Kind::Text));
        v.push(("auth.certificate.ca_cert".into(), &c.ca_cert, Kind::Text));
        v.push(("auth.certificate.ca_key".into(), &c.ca_key, Kind::Text));
    }
    v
}

/// The values holding a character no quoting can write (quote::text's
/// rule, the one pg_hba.conf, SQL and setup.sh are written by). A name is
/// shown escaped; other text is not shown (a dsn may be close to a secret).
fn characters(plan: &Plan) -> Vec<Problem> {
    texts(plan)
        .into_iter()
        .filter_map(|(path, value, kind)| {
            let why = text::check(value, kind).err()?;
            let problem = match kind {
                Kind::Name => format!("`{}` {why}", value.escape_default()),
                Kind::Text => why,
            };
            Some(Problem::new(path, problem, text::fix(kind)))
        })
        .collect()
}

/// Every other check, field by field.
fn fields(plan: &Plan) -> Vec<Problem> {
    let mut out = Vec::new();
    identifier(&mut out, "database", &plan.database, "database");
    identifier(&mut out, "superuser", &plan.superuser, "role");
    env_name(
        &mut out,
        "credentials.password_env",
        &plan.credentials.password_env,
    );
    absolute_or_empty(&mut out, "credentials.passfile", &plan.credentials.passfile);
    tls(&mut out, &plan.credentials);

    node(&mut out, "access_node", &plan.access_node);
    if plan.access_node.hypertables.is_some() {
        out.push(Problem::new(
            "access_node.hypertables",
            "only a data node joins distributed hypertables",
            "remove hypertables from [access_node]; set it on the [[data_nodes]] entry that joins",
        ));
    }
    if plan.data_nodes.is_empty() {
        out.push(Problem::new(
            "data_nodes",
            "no data nodes are listed; a multi-node cluster needs at least one",
            "add a [[data_nodes]] table with name, host and port for each data node",
        ));
    }
    for (i, dn) in plan.data_nodes.iter().enumerate() {
        node(&mut out, &format!("data_nodes[{i}]"), dn);
        for (j, h) in dn.hypertables.iter().flatten().enumerate() {
            let parts: Vec<&str> = h.split('.').collect();
            if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                out.push(Problem::new(
                    format!("data_nodes[{i}].hypertables[{j}]"),
                    format!("`{h}` is not schema.table"),
                    "name each distributed hypertable with its schema, e.g. public.metrics (as timescaledb_information.hypertables lists it)",
                ));
            }
        }
    }
    duplicates(&mut out, plan);

    for (i, addr) in plan.access_node_addresses.iter().enumerate() {
        if let Err(why) = check_source_address(addr) {
            out.push(Problem::new(
                format!("access_node_addresses[{i}]"),
                format!("`{addr}`: {why}"),
                "give an IP address (10.0.0.5) or a CIDR block (10.0.0.0/24), or leave the list empty to detect it",
            ));
        }
    }
    auth(&mut out, plan);
    super::maintenance::validate(&plan.maintenance, &mut out);
    out
}

fn tls(out: &mut Vec<Problem>, c: &super::model::Credentials) {
    for (path, value) in [
        ("credentials.sslrootcert", &c.sslrootcert),
        ("credentials.sslcert", &c.sslcert),
        ("credentials.sslkey", &c.sslkey),
    ] {
        absolute_or_empty(out, path, value);
    }
    if !c.sslmode.is_empty() && super::SslMode::parse(&c.sslmode).is_none() {
        out.push(Problem::new(
            "credentials.sslmode",
            format!("`{}` is not one of libpq's sslmodes", c.sslmode),
            format!("use one of {}, or leave it empty", super::SslMode::names()),
        ));
    }
    if c.sslcert.is_empty() != c.sslkey.is_empty() {
        let (given, missing) = if c.sslcert.is_empty() {
            ("credentials.sslkey", "credentials.sslcert")
        } else {
            ("credentials.sslcert", "credentials.sslkey")
        };
        out.push(Problem::new(
            missing,
            format!("is empty while {given} is set; a client certificate needs both"),
            format!("set {missing} too, or clear {given}"),
        ));
    }
}

fn field(path: &str, field: &str) -> String {
    format!("{path}.{field}")
}

fn node(out: &mut Vec<Problem>, path: &str, n: &Node) {
    let name_path = field(path, "name");
    if n.name.is_empty() {
        out.push(Problem::new(
            name_path,
            "is empty",
            "give the node a name such as `dn1`",
        ));
    } else if n.name.len() > MAX_IDENTIFIER_BYTES {
        out.push(Problem::new(
            name_path,
            format!(
                "`{}` is {} bytes; PostgreSQL truncates server names at 63",
                n.name,
                n.name.len()
            ),
            "use a name of at most 63 bytes",
        ));
    } else if let Some(c) = n
        .name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        out.push(Problem::new(
            name_path,
            format!(
                "`{}` contains `{}`; node names become foreign server names",
                n.name,
                c.escape_default()
            ),
            "keep to letters, digits, `_` and `-` (e.g. `dn1`)",
        ));
    }
    let placed_elsewhere = n.dsn.is_some() || n.service.is_some();
    if n.host.is_empty() && !placed_elsewhere {
        out.push(Problem::new(
            field(path, "host"),
            "is empty (or missing)",
            "give host = the address the access node reaches the node at, or a dsn or service in its place",
        ));
    } else if n.host.is_empty() {
        // The dsn or service could not give it: said where it was read.
    } else if let Err(why) = check_host(&n.host) {
        out.push(Problem::new(
            field(path, "host"),
            format!("`{}` {why}", n.host),
            "give a DNS name (db1.example.com), an IPv4 address (10.0.0.1) or an IPv6 address ([::1] or ::1)",
        ));
    }
    port(out, &field(path, "port"), n.port);
    if let Some(ch) = &n.connect_host {
        // A Unix socket directory is a valid place for tsmn itself to connect.
        if !ch.starts_with('/') {
            if let Err(why) = check_host(ch) {
                out.push(Problem::new(
                    field(path, "connect_host"),
                    format!("`{ch}` {why}"),
                    "give a DNS name, an IP address, or the absolute path of a Unix socket directory; or remove it to use `host`",
                ));
            }
        }
    }
    if let Some(p) = n.connect_port {
        port(out, &field(path, "connect_port"), p);
    }
}

fn port(out: &mut Vec<Problem>, path: &str, p: i64) {
    if !(1..=65535).contains(&p) {
        out.push(Problem::new(
            path,
            format!("{p} is not a TCP port"),
            "use a port from 1 to 65535 (PostgreSQL's default is 5432)",
        ));
    }
}

fn identifier(out: &mut Vec<Problem>, path: &str, value: &str, what: &str) {
    if value.is_empty() {
        out.push(Problem::new(
            path,
            format!("the {what} name is empty"),
            format!("give a {what} name"),
        ));
    } else if value.len() > MAX_IDENTIFIER_BYTES {
        out.push(Problem::new(
            path,
            format!(
                "the {what} name is {} bytes; PostgreSQL truncates names at 63",
                value.len()
            ),
            format!("use a {what} name of at most 63 bytes"),
        ));
    }
}

fn env_name(out: &mut Vec<Problem>, path: &str, value: &str) {
    let ok = value.is_empty()
        || (value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !value.starts_with(|c: char| c.is_ascii_digit()));
    if !ok {
        out.push(Problem::new(
            path,
            format!("`{value}` is not an environment variable name"),
            "use letters, digits and `_`, not starting with a digit (e.g. TSMN_PASSWORD), or leave it empty",
        ));
    }
}

fn absolute_or_empty(out: &mut Vec<Problem>, path: &str, value: &str) {
    if !value.is_empty() && !value.starts_with('/') {
        out.push(Problem::new(
            path,
            format!("`{value}` is a relative path; the server would resolve it inside its data directory"),
            "give an absolute path, or leave it empty for the default",
        ));
    }
}

fn duplicates(out: &mut Vec<Problem>, plan: &Plan) {
    let paths: Vec<(String, &Node)> =
        std::iter::once(("access_node".to_string(), &plan.access_node))
            .chain(
                plan.data_nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (format!("data_nodes[{i}]"), n)),
            )
            .collect();
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut endpoints: HashMap<(String, i64), &str> = HashMap::new();
    for (path, n) in &paths {
        if !n.name.is_empty() {
            if let Some(first) = names.insert(&n.name, path) {
                out.push(Problem::new(
                    format!("{path}.name"),
                    format!("`{}` is also the name of {first}", n.name),
                    "give every node its own name",
                ));
            }
        }
        let key = (
            super::address::normalize_host(&n.host).to_ascii_lowercase(),
            n.port,
        );
        if let Some(first) = endpoints.insert(key, path) {
            let (problem, fix) = if first == "access_node" {
                (
                    format!("{}:{} is the access node's address; the access node cannot also be a data node", n.host, n.port),
                    "remove this data node, or correct its host or port",
                )
            } else {
                (
                    format!("{}:{} is also the address of {first}", n.host, n.port),
                    "each node must be its own PostgreSQL server: correct the host or port",
                )
            };
            out.push(Problem::new(format!("{path}.host"), problem, fix));
        }
    }
}

fn auth(out: &mut Vec<Problem>, plan: &Plan) {
    let a = &plan.auth;
    let mut seen = HashMap::new();
    for (i, role) in a.roles.iter().enumerate() {
        identifier(out, &format!("auth.roles[{i}]"), role, "role");
        if let Some(first) = seen.insert(role.as_str(), i) {
            out.push(Problem::new(
                format!("auth.roles[{i}]"),
                format!("`{role}` is listed twice (also auth.roles[{first}])"),
                "list each role once",
            ));
        }
    }
    if a.password.is_some() && a.mode != AuthMode::Password {
        out.push(wrong_mode("password", a.mode));
    }
    if a.certificate.is_some() && a.mode != AuthMode::Certificate {
        out.push(wrong_mode("certificate", a.mode));
    }
    if let (AuthMode::Password, Some(p)) = (a.mode, &a.password) {
        absolute_or_empty(out, "auth.password.passfile", &p.passfile);
        env_name(
            out,
            "auth.password.password_env_prefix",
            &p.password_env_prefix,
        );
    }
    if let (AuthMode::Certificate, Some(c)) = (a.mode, &a.certificate) {
        absolute_or_empty(out, "auth.certificate.ssl_dir", &c.ssl_dir);
        if !(1..=3650).contains(&c.validity_days) {
            out.push(Problem::new(
                "auth.certificate.validity_days",
                format!("{} days is not a usable validity", c.validity_days),
                "use 1 to 3650 days (the default is 825)",
            ));
        }
        match (c.ca_cert.is_empty(), c.ca_key.is_empty()) {
            (false, true) => out.push(Problem::new(
                "auth.certificate.ca_key",
                "a CA certificate is given without its private key",
                "set ca_key to the CA's key file, or clear ca_cert to let tsmn generate a CA",
            )),
            (true, false) => out.push(Problem::new(
                "auth.certificate.ca_cert",
                "a CA key is given without its certificate",
                "set ca_cert to the CA's certificate file, or clear ca_key to let tsmn generate a CA",
            )),
            _ => {}
        }
        absolute_or_empty(out, "auth.certificate.ca_cert", &c.ca_cert);
        absolute_or_empty(out, "auth.certificate.ca_key", &c.ca_key);
    }
}

fn wrong_mode(section: &str, mode: AuthMode) -> Problem {
    Problem::new(
        format!("auth.{section}"),
        format!(
            "options for {section} mode are given, but auth.mode is \"{}\"",
            mode.as_str()
        ),
        format!("remove the [auth.{section}] table, or set auth.mode = \"{section}\""),
    )
}
