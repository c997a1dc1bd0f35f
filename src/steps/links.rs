//! PURE: the links between data nodes that the engine's chunk copy uses.
//!
//! `copy_chunk`/`move_chunk` make the destination data node subscribe to
//! the source (`CREATE SUBSCRIPTION ... CONNECTION '<connstr>'`, stage
//! create_subscription of tsl/src/chunk_copy.c), with a connection string
//! the access node builds for the role running the move
//! (`remote_connection_get_connstr`, tsl/src/remote/connection.c): the
//! source's foreign server options (host, port, dbname as the access node
//! reaches it), the role's user mapping if any, `user`, and then
//! `passfile` = timescaledb.passfile or `<access node's PGDATA>/passfile`,
//! and, only when the access node has `ssl = on`, `sslmode=require`,
//! `sslrootcert` = its `ssl_ca_file` as set, `sslcert`/`sslkey` =
//! `<timescaledb.ssl_dir, else <access node's PGDATA>/timescaledb/certs>/
//! md5(role).crt/.key`. The subscription's worker runs on the destination,
//! as its server's OS user, in its data directory: an absolute path is
//! looked up on the destination's host, a relative one in the
//! destination's own data directory.
//!
//! So each destination gets the files at those paths (password mode: a
//! passfile with a line per other data node for the role that runs the
//! moves, and nothing else; certificate mode: that role's client
//! certificate and key; the root certificate `root.crt` is relative and
//! each data node already has tsmn's), and each source a pg_hba.conf rule
//! admitting the other data nodes' addresses for the cluster database with
//! the mode's method (beside the access node's rules in tsmn's block;
//! skipped where the access node's rule already admits that address).

mod moves;
pub(crate) use moves::for_moves;

use super::moving::{drain_sources, repair_wished};
use super::{
    step, Action, Content, Ctx, Order, Part, Phase, Precheck, ServerPath, Step, StepState, Template,
};
use crate::plan::AuthMode;
use crate::quote::{hba, pgpass};

/// Whether this run sets the links up: the plan's `auth.data_node_links`,
/// else when the run moves or copies chunks (a drain with only copies to
/// move, a replication repair, a lost data node replaced).
pub(crate) fn wanted(ctx: &Ctx) -> bool {
    ctx.plan.auth.data_node_links.unwrap_or_else(|| moving(ctx))
}

/// The run moves chunks between data nodes (a rebalance's builder says so).
fn moving(ctx: &Ctx) -> bool {
    ctx.copies_chunks || !drain_sources(ctx).is_empty() || repair_wished(ctx)
}

/// A data node the engine may copy from: the plan's data nodes, and the
/// leaving ones a drain copies from (where the access node reaches them).
struct Peer {
    name: String,
    host: String,
    port: i64,
}

fn peers(ctx: &Ctx) -> Vec<Peer> {
    let mut out: Vec<Peer> = ctx
        .data_nodes()
        .map(|d| Peer {
            name: d.name.clone(),
            host: d.host.clone(),
            port: d.port,
        })
        .collect();
    let members = ctx.an_database().map(|d| d.members.as_slice());
    for gone in drain_sources(ctx) {
        let m = members.unwrap_or_default().iter().find(|m| m.name == gone);
        if let Some(m) = m.filter(|_| !out.iter().any(|p| p.name == gone)) {
            out.push(Peer {
                name: m.name.clone(),
                host: m.host.clone(),
                port: m.port,
            });
        }
    }
    out
}

/// A path as the engine hands it to libpq, where the data node's libpq
/// finds it: absolute on its host, relative in its own data directory.
fn on_data_node(p: &str) -> ServerPath {
    if p.starts_with('/') {
        ServerPath::Absolute(p.to_string())
    } else {
        ServerPath::DataDir(p.to_string())
    }
}

/// The access node's data directory, as the probe read it.
fn an_data_dir(ctx: &Ctx) -> Result<String, String> {
    let an = &ctx.plan.access_node.name;
    ctx.server(an)
        .and_then(|s| s.setting("data_directory"))
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('/').to_string())
        .ok_or_else(|| format!("the paths the engine names are the access node's, and {an}'s data directory is unknown (tsmn could not read it); run tsmn check --plan <plan> to see why"))
}

/// A TimescaleDB path setting on the access node: the plan's value (what
/// this run sets), else the node's own when set, else `default` under the
/// access node's data directory.
fn an_path(ctx: &Ctx, planned: &str, setting: &str, default: &str) -> Result<ServerPath, String> {
    if !planned.is_empty() {
        return Ok(on_data_node(planned));
    }
    let own = ctx
        .server(&ctx.plan.access_node.name)
        .and_then(|s| s.settings.get(setting))
        .filter(|s| s.source != "default" && !s.value.is_empty());
    match own {
        Some(s) => Ok(on_data_node(&s.value)),
        None => Ok(ServerPath::Absolute(format!(
            "{}/{default}",
            an_data_dir(ctx)?
        ))),
    }
}

/// Where the engine names the passfile (password mode).
fn passfile_path(ctx: &Ctx) -> Result<ServerPath, String> {
    let planned = ctx.plan.auth.password.clone().unwrap_or_default().passfile;
    an_path(ctx, &planned, "timescaledb.passfile", "passfile")
}

/// Where the engine names a role's client certificate or key (`ext`).
fn client_path(ctx: &Ctx, role: &str, ext: &str) -> Result<ServerPath, String> {
    let planned = ctx
        .plan
        .auth
        .certificate
        .clone()
        .unwrap_or_default()
        .ssl_dir;
    let dir = an_path(ctx, &planned, "timescaledb.ssl_dir", "timescaledb/certs")?;
    let file = format!("{}.{ext}", crate::timescale::cert_file_stem(role));
    Ok(match dir {
        ServerPath::Absolute(d) => {
            ServerPath::Absolute(format!("{}/{file}", d.trim_end_matches('/')))
        }
        ServerPath::DataDir(d) => {
            ServerPath::DataDir(format!("{}/{file}", d.trim_end_matches('/')))
        }
    })
}

/// Why chunk moves cannot run in this plan, if they cannot: the one gate
/// drain (and rebalance) ask before a move.
pub(crate) fn gate(ctx: &Ctx) -> Option<String> {
    let mode = ctx.plan.auth.mode;
    if !wanted(ctx) {
        if mode == AuthMode::Trust {
            // Trust needs only the source's pg_hba.conf, which the access
            // node's rule covers where all share an address.
            return None;
        }
        return Some("auth.data_node_links = false in the plan: tsmn does not set up the links between data nodes that the engine's chunk copy uses (the destination logs in to the source with the access node's passfile or client certificate paths), and a copy over a link that fails waits for an hour. Fix: remove data_node_links = false from [auth] in the plan".into());
    }
    let su = &ctx.plan.superuser;
    let why = match mode {
        AuthMode::Trust => None,
        AuthMode::Password => passfile_path(ctx).err(),
        AuthMode::Certificate => client_path(ctx, su, "crt").err().or_else(|| {
            let m = ctx.inputs.material?;
            (!m.clients.contains_key(su)).then(|| format!("the certificate material in {} has no client certificate for {su}, the role that runs the moves: add {su} to auth.roles", m.dir.display()))
        }),
    };
    why.map(|w| {
        format!("the data nodes cannot be given the links the engine's chunk copy uses: {w}")
    })
}

/// The pg_hba.conf rules on `source` that admit the other data nodes (as
/// destinations of a copy), for the cluster database and the role that
/// runs the moves, in the mode's `kind` and `method`; none where the
/// access node's rules (`an_cidrs`) already admit the address.
pub(crate) fn hba_lines(
    ctx: &Ctx,
    source: &str,
    kind: &str,
    method: &str,
    an_cidrs: &[String],
) -> Vec<String> {
    if !wanted(ctx) {
        return Vec::new();
    }
    let (Ok(db), Ok(su)) = (
        hba::field(&ctx.plan.database),
        hba::field(&ctx.plan.superuser),
    ) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for d in ctx.data_nodes().filter(|d| d.name != source) {
        let cidr = hba::address(&d.host);
        let line = format!("{kind} {db} {su} {cidr} {method}");
        if !an_cidrs.contains(&cidr) && !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// The leaving data nodes a drain copies from: tsmn's block there, with
/// the rules that admit the destinations (the block goes with the node).
pub(crate) fn leaving_hba(ctx: &Ctx, an_lines: &[String], kind: &str, method: &str) -> Vec<Step> {
    let an_cidrs = ctx.access_node_cidrs();
    drain_sources(ctx)
        .into_iter()
        .filter(|g| !ctx.data_nodes().any(|d| &d.name == g))
        .filter_map(|gone| {
            let extra = hba_lines(ctx, &gone, kind, method, &an_cidrs);
            if extra.is_empty() {
                return None;
            }
            let mut s = step(
                &gone,
                Phase::Auth,
                "hba-links",
                "pg_hba.conf: admit the data nodes that copy its chunks",
                "the destination of a chunk copy logs in to the source as the role that runs the move, from its own address",
                Action::HbaBlock {
                    lines: an_lines.iter().cloned().chain(extra).collect(),
                },
            );
            s.order = Order::Last;
            Some(s)
        })
        .collect()
}

/// One file a data node gets: step id, title, why, where, mode, content.
type Item = (
    String,
    String,
    String,
    Result<ServerPath, String>,
    u32,
    Content,
);

/// The files one data node gets (password mode: the passfile; certificate
/// mode: the superuser's client certificate and key).
fn items(ctx: &Ctx, dn: &str, peers: &[Peer]) -> Vec<Item> {
    let su = &ctx.plan.superuser;
    match ctx.plan.auth.mode {
        AuthMode::Password => {
            let mut text = Template::lit(
                    "# written by tsmn: this data node's passwords for the other data nodes (the engine's chunk copy)\n",
                );
            for p in peers.iter().filter(|p| p.name != dn) {
                text.push_str(&format!(
                    "{}:{}:*:{}:",
                    pgpass::escape(&p.host),
                    p.port,
                    pgpass::escape(su)
                ));
                text.push(Part::PgpassPassword(su.clone()));
                text.push_str("\n");
            }
            vec![(
                    "link-passfile".into(),
                    "Passfile for the other data nodes, at the access node's path".into(),
                    format!("the engine's chunk copy makes {} log in to the source data node with the access node's passfile path; it holds only {su}'s lines for the other data nodes", dn),
                    passfile_path(ctx),
                    0o600,
                    Content::Text { text },
                )]
        }
        AuthMode::Certificate => {
            let stem = crate::timescale::cert_file_stem(su);
            let cert = ctx
                .inputs
                .material
                .and_then(|m| m.clients.get(su))
                .map(|(c, _)| c.clone())
                .unwrap_or_default();
            vec![
                    (
                        format!("link-{stem}.crt"),
                        format!("Client certificate for {su}, at the access node's path"),
                        format!("the engine's chunk copy makes {} log in to the source data node as {su} with the access node's client certificate path (md5 of the role name)", dn),
                        client_path(ctx, su, "crt"),
                        0o644,
                        Content::Text { text: Template::lit(cert) },
                    ),
                    (
                        format!("link-{stem}.key"),
                        format!("Client key for {su}, at the access node's path"),
                        "libpq refuses a key file others can read".into(),
                        client_path(ctx, su, "key"),
                        0o600,
                        Content::PrivateKey { name: format!("client-{stem}") },
                    ),
                ]
        }
        AuthMode::Trust => Vec::new(),
    }
}

/// The files each data node of the plan needs to log in to the others as
/// the engine's copy does, at the paths the access node names.
/// Without the links wanted, a rotation of the superuser's password
/// still writes the passfile again where a link from the data node works
/// now (check's probe proved it, `Flow::ready`): else the link goes on
/// with the old password and fails at the next move.
pub(crate) fn files(ctx: &Ctx) -> Vec<Step> {
    if ctx.plan.auth.mode == AuthMode::Trust {
        return Vec::new();
    }
    if !wanted(ctx) {
        return rotated(ctx);
    }
    let peers = peers(ctx);
    let an = &ctx.plan.access_node;
    let an_dir = an_data_dir(ctx).ok();
    let mut out = Vec::new();
    for dn in ctx.data_nodes() {
        let items = items(ctx, &dn.name, &peers);
        for (what, title, why, path, mode, content) in items {
            let (path, blocked) = match path {
                Ok(p) => (p, None),
                Err(e) => (ServerPath::DataDir("?".into()), Some(e)),
            };
            let shared = matches!(path, ServerPath::Absolute(_));
            let mut s = step(
                &dn.name,
                Phase::Auth,
                &what,
                title,
                why,
                Action::File {
                    path,
                    mode,
                    content,
                },
            );
            let blocked = match (shared, &an_dir) {
                (true, Some(d)) => {
                    s.precheck = Some(Precheck::SeesServer {
                        data_directory: d.clone(),
                        port: an.port,
                    });
                    blocked
                }
                // Without the access node's data directory tsmn cannot
                // tell a host of the data node's own from the access
                // node's, where this file is the access node's own.
                (true, None) => blocked.or_else(|| Some(format!("tsmn cannot tell whether {} shares the access node's host and files: {}'s data directory is unknown (offline, or it did not answer the probe); run it online", dn.name, an.name))),
                (false, _) => blocked,
            };
            if let Some(why) = blocked {
                s.state = StepState::Blocked { why };
            }
            out.push(s);
        }
    }
    out
}

/// The link passfiles a rotation of the superuser's password writes
/// again (links not wanted in this run): on the data nodes a link from
/// which works now, so holds the superuser's password as it was.
fn rotated(ctx: &Ctx) -> Vec<Step> {
    let su = &ctx.plan.superuser;
    if ctx.plan.auth.mode != AuthMode::Password || !ctx.inputs.rotate.contains(su) {
        return Vec::new();
    }
    let linked = |dn: &str| {
        ctx.server(dn)
            .is_some_and(|s| s.peer_links.iter().any(|r| r.error.is_none()))
    };
    let all = Ctx {
        plan: ctx.plan,
        inputs: ctx.inputs,
        copies_chunks: true,
    };
    if !wanted(&all) {
        return Vec::new();
    }
    files(&all)
        .into_iter()
        .filter(|s| linked(&s.node))
        .map(|mut s| {
            s.reason = format!("{}; the superuser's password changes in this run (--rotate-password) and a link from {} works now: it would go on with the old one", s.reason, s.node);
            s
        })
        .collect()
}

#[cfg(test)]
mod tests;
