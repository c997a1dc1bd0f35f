//! The checks, one function per concern.

use super::connect::{explain, Side};
use super::hba::quote;
use super::{Finding, Fix, HbaEdit, Severity::*, Then};
use crate::facts::{Connection, Facts, NodeFacts, NodeRole, ServerFacts};
use crate::plan::{AuthMode, Node, Plan};
use crate::quote::sql::{ident, literal};
use crate::timescale::{has_multinode, parse_version, pg_majors_for, MULTINODE_PG_MAJORS};
use std::net::IpAddr;

fn plan_node<'p>(plan: &'p Plan, name: &str) -> Option<&'p Node> {
    plan.nodes().find(|n| n.name == name)
}

pub fn per_node(plan: &Plan, facts: &Facts, n: &NodeFacts, out: &mut Vec<Finding>) {
    let Some(pn) = plan_node(plan, &n.name) else {
        return;
    };
    let s = match (&n.connection, &n.server) {
        (Connection::Connected { .. }, Some(s)) => s,
        (conn, _) => return connection_failed(plan, n, pn, conn, out),
    };
    if !s.superuser {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "not_superuser",
            format!("tsmn is connected as {}, which is not a superuser", s.current_user),
            "setting up multi-node edits settings and pg_hba.conf and runs add_data_node, which need a superuser",
            Fix::sql(&n.name, format!("ALTER ROLE {} SUPERUSER", ident(&s.current_user)), Then::Nothing)
                .or("set superuser in the plan to a role that is one"),
        ));
        return;
    }
    versions(n, s, out);
    timescaledb(n, s, out);
    if n.role == NodeRole::Data {
        prepared_transactions(n, s, out);
        listen(n, pn, s, out);
        roles(plan, n, s, out);
    }
    if plan.adopted && n.role == NodeRole::Access {
        recommendations(n, s, out);
    }
    pending_restart(n, s, out);
    ssl(plan, facts, n, s, out);
    certificates(plan, facts, n, s, out);
    tls_not_loaded(n, s, out);
    hba_not_loaded(n, s, out);
    hba_errors(plan, facts, n, s, out);
    super::files::unwritable(n, s, out);
    membership(facts, n, s, out);
    if n.role == NodeRole::Data {
        super::admission::hba_admits_access_node(plan, facts, n, s, out);
        super::admission::not_enforced(plan, facts, n, s, out);
    }
}

fn connection_failed(
    plan: &Plan,
    n: &NodeFacts,
    pn: &Node,
    conn: &Connection,
    out: &mut Vec<Finding>,
) {
    let Some(message) = conn.problem() else {
        return;
    };
    let cause = match conn {
        Connection::Failed { sqlstate, message } => explain(sqlstate.as_deref(), message),
        _ => explain(None, "timed out"),
    };
    out.push(Finding::new(
        Blocker,
        &n.name,
        cause.code,
        format!(
            "tsmn cannot connect to {} at {}: {}",
            n.name, n.address, cause.what
        ),
        whose_word(conn, &message),
        cause.fix(
            Side::Tsmn,
            pn.effective_connect_host(),
            pn.effective_connect_port(),
            &plan.superuser,
            &n.name,
        ),
    ));
}

/// The failure's text, labelled by who produced it: the server only when
/// it sent the error (a SQLSTATE came with it, or the text is one of its
/// FATAL or ERROR messages). TLS, a missing password, a timeout or a
/// refused connection are tsmn's own side, not the server's word.
fn whose_word(conn: &Connection, message: &str) -> String {
    let from_server = match conn {
        Connection::Failed { sqlstate, .. } => {
            sqlstate.is_some()
                || ["FATAL:", "ERROR:", "PANIC:"]
                    .iter()
                    .any(|s| message.starts_with(s))
        }
        _ => false,
    };
    if from_server {
        format!("the server said: {message}")
    } else {
        format!("tsmn's connection failed: {message}")
    }
}

fn versions(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let major = s.version_num / 10000;
    let ts = s.timescaledb_version();
    let window = ts
        .as_deref()
        .and_then(pg_majors_for)
        .filter(|_| ts.as_deref().and_then(has_multinode) == Some(true));
    let window = window.unwrap_or(MULTINODE_PG_MAJORS);
    if !window.contains(&major) {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "pg_version",
            format!("PostgreSQL {} is outside {}-{}, the versions multi-node supports{}", s.version, window.start(), window.end(), ts.map(|v| format!(" with TimescaleDB {v}")).unwrap_or_default()),
            "TimescaleDB 2.13 refuses every multi-node call on PostgreSQL 16 and later, and older releases do not build for newer PostgreSQL",
            Fix::manual(format!("run this node on PostgreSQL {}-{} with TimescaleDB 2.13.x (the same on every node)", window.start(), window.end())),
        ));
    }
}

fn timescaledb(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let major = s.version_num / 10000;
    let installed = s.database.as_ref().and_then(|d| d.timescaledb.as_deref());
    if s.timescaledb_available.is_empty() && installed.is_none() {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "timescaledb_missing",
            "TimescaleDB is not installed for this PostgreSQL",
            "the cluster phase (CREATE EXTENSION, add_data_node) needs the same TimescaleDB on every node; settings and authentication can be prepared without it",
            Fix::manual(format!("install TimescaleDB 2.13.x for PostgreSQL {major} on {} (Timescale's package timescaledb-2-postgresql-{major}), the same version as on the other nodes", n.name)),
        ));
        return;
    }
    let newest = installed
        .or(s.timescaledb_available.last().map(String::as_str))
        .unwrap_or_default();
    let usable = match installed {
        Some(v) => has_multinode(v) == Some(true),
        None => s.timescaledb_to_create().is_some(),
    };
    if !usable {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "multinode_removed",
            format!("TimescaleDB {newest} has no multi-node: it was removed in 2.14.0"),
            "add_data_node, distributed hypertables and distributed_exec do not exist from 2.14 on, and a 2.13 cluster cannot be upgraded to 2.14 in place",
            Fix::manual("either install TimescaleDB 2.13.x on PostgreSQL 13-15 on every node (multi-node is end-of-life and deprecated), or use single-node TimescaleDB (Timescale published a guide to migrate from multi-node)"),
        ));
        return;
    }
    if let Some(v) = installed {
        if parse_version(v).is_some_and(|(_, minor, _)| minor == 13) {
            out.push(Finding::new(
                Note,
                &n.name,
                "multinode_deprecated",
                format!("TimescaleDB {v}: multi-node is deprecated and prints a WARNING on every call"),
                "2.13 is the last release with multi-node; the warnings are normal output, not failures",
                Fix::nothing("nothing to do now; plan a move to single-node TimescaleDB for the long run"),
            ));
        }
    }
    let preload = s.setting("shared_preload_libraries").unwrap_or_default();
    if !preload
        .split(',')
        .any(|l| l.trim().trim_matches('"') == "timescaledb")
    {
        // One literal per library: one literal 'a,b' would name a single
        // library "a,b", and the server would not start.
        let new: Vec<String> = preload
            .split(',')
            .map(|l| l.trim().trim_matches('"'))
            .filter(|l| !l.is_empty())
            .chain(["timescaledb"])
            .map(literal)
            .collect();
        out.push(Finding::new(
            Blocker,
            &n.name,
            "not_preloaded",
            format!("shared_preload_libraries is '{preload}', without timescaledb"),
            "without it CREATE EXTENSION fails with `extension \"timescaledb\" must be preloaded`",
            Fix::sql(
                &n.name,
                format!(
                    "ALTER SYSTEM SET shared_preload_libraries = {}",
                    new.join(", ")
                ),
                Then::Restart,
            )
            .or_apply(),
        ));
    }
    if s.setting("timescaledb.license") == Some("apache") {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "apache_license",
            "timescaledb.license is 'apache'",
            "multi-node is community-licensed: under 'apache' add_data_node fails with `not supported under the current \"apache\" license`",
            Fix::manual(format!("install the community (TSL) TimescaleDB package on {} and set timescaledb.license = 'timescale'", n.name)),
        ));
    }
}

fn prepared_transactions(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let mpt: i64 = s
        .setting("max_prepared_transactions")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let maxc: i64 = s
        .setting("max_connections")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    if mpt == 0 {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "max_prepared_transactions_zero",
            "max_prepared_transactions is 0 on this data node",
            // Reference D.1: the check is skipped only for a database that
            // add_data_node creates itself.
            match &s.database {
                Some(db) => format!("distributed writes use two-phase commit, and database {} already exists here: add_data_node fails with `prepared transactions need to be enabled`", db.name),
                None => "distributed writes use two-phase commit: add_data_node still succeeds (it creates the database), but afterwards every insert, select and distributed_exec fails with `prepared transactions are disabled`".to_string(),
            },
            Fix::sql(&n.name, format!("ALTER SYSTEM SET max_prepared_transactions = {}", maxc.max(crate::timescale::PREPARED_TRANSACTIONS)), Then::Restart).or_apply(),
        ));
    } else if mpt < maxc {
        out.push(Finding::new(
            Note,
            &n.name,
            "max_prepared_transactions_low",
            format!("max_prepared_transactions ({mpt}) is below max_connections ({maxc})"),
            "under many concurrent distributed writes, `maximum number of prepared transactions reached`",
            Fix::sql(&n.name, format!("ALTER SYSTEM SET max_prepared_transactions = {}", maxc.max(crate::timescale::PREPARED_TRANSACTIONS)), Then::Restart),
        ));
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn listen(n: &NodeFacts, pn: &Node, s: &ServerFacts, out: &mut Vec<Finding>) {
    let Some(la) = s.setting("listen_addresses") else {
        return;
    };
    let items: Vec<&str> = la
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    let only_loopback = !items.is_empty() && items.iter().all(|i| is_loopback(i));
    if items.is_empty() || (only_loopback && !is_loopback(&pn.host)) {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "not_listening",
            format!(
                "listen_addresses is '{la}', so the access node cannot reach {} at {}",
                n.name, pn.host
            ),
            "the access node connects over TCP to the host in the plan",
            Fix::sql(
                &n.name,
                format!(
                    "ALTER SYSTEM SET listen_addresses = {}",
                    literal(&if items.is_empty() {
                        pn.host.clone()
                    } else {
                        format!("{la},{}", pn.host)
                    })
                ),
                Then::Restart,
            ),
        ));
    }
}

fn roles(plan: &Plan, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    for r in &s.roles {
        let superuser = r.name == plan.superuser;
        if r.exists && r.can_login {
            continue;
        }
        let (what, sql) = if !r.exists {
            (
                format!("role {} does not exist on this data node", r.name),
                format!("CREATE ROLE {} LOGIN", ident(&r.name)),
            )
        } else {
            (
                format!("role {} cannot log in on this data node", r.name),
                format!("ALTER ROLE {} LOGIN", ident(&r.name)),
            )
        };
        let fix = Fix::sql(&n.name, sql, Then::Nothing);
        let (sev, why, fix) = if superuser {
            (Blocker, "the access node connects to the data nodes as the role that runs the command, and add_data_node runs as the superuser", fix)
        } else {
            (Warning, "queries by this role through the access node fail with `role ... does not exist` on the data node", fix.or("let tsmn apply create it through distributed_exec"))
        };
        out.push(Finding::new(
            sev,
            &n.name,
            "role_missing_on_data_node",
            what,
            why,
            fix,
        ));
    }
}

/// On an adopted cluster tsmn sets only what multi-node needs; what it
/// would set on a new one is said here, as a note with its SQL.
fn recommendations(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    for (name, want, why) in [
        (
            "jit",
            "off",
            "JIT compilation interferes with distributed query plans",
        ),
        (
            "enable_partitionwise_aggregate",
            "on",
            "partitionwise aggregation pushes aggregates down to the data nodes",
        ),
    ] {
        let Some(v) = s.setting(name) else { continue };
        if v != want {
            out.push(Finding::new(
                Note,
                &n.name,
                "recommended_setting",
                format!("{name} is {v}; tsmn recommends {want} on the access node"),
                format!("{why}; this plan is adopted, so tsmn apply leaves it as it is"),
                Fix::sql(
                    &n.name,
                    format!("ALTER SYSTEM SET {name} = {}", literal(want)),
                    Then::Reload,
                ),
            ));
        }
    }
}

/// Days left on each certificate the node uses: a warning under 30 days,
/// a blocker once expired or not yet valid (TLS refuses both).
fn certificates(
    plan: &Plan,
    facts: &Facts,
    n: &NodeFacts,
    s: &ServerFacts,
    out: &mut Vec<Finding>,
) {
    const DAY: i64 = 86_400;
    // The cluster's own connections check certificates in certificate
    // mode, or when the access node has ssl on (TimescaleDB then requires
    // TLS and passes its CA); otherwise an expired certificate stops only
    // clients that verify it.
    let verified = plan.auth.mode == AuthMode::Certificate
        || facts
            .access()
            .and_then(|a| a.server.as_ref())
            .is_some_and(ServerFacts::ssl_on);
    let outside = if verified { Blocker } else { Warning };
    let own_ca = plan
        .auth
        .certificate
        .as_ref()
        .is_none_or(|c| c.ca_cert.is_empty());
    let renew = |c: &crate::facts::CertFacts| {
        if plan.auth.mode == AuthMode::Certificate && c.what == "CA" && own_ca {
            Fix::apply_with("--roll-ca", "it makes a new CA and issues every certificate from it; the nodes trust both CAs until the new certificates are in use and verified, then the old CA goes")
        } else if plan.auth.mode == AuthMode::Certificate && c.what == "CA" {
            Fix::manual("issue a new CA, set [auth.certificate] ca_cert and ca_key to it, and run tsmn apply --renew-certificates")
        } else if plan.auth.mode == AuthMode::Certificate {
            Fix::apply_with("--renew-certificates", "it reissues every server and client certificate from the same CA (raise [auth.certificate] validity_days first if it is short)")
        } else {
            Fix::manual(format!(
                "reissue it and put it in place on {} (then SELECT pg_reload_conf())",
                n.name
            ))
        }
    };
    for c in &s.certificates {
        let left = (c.not_after - c.checked_at).div_euclid(DAY);
        let (sev, code, what) = if c.checked_at < c.not_before {
            (
                outside,
                "certificate_not_yet_valid",
                format!(
                    "the {} {} is not valid until {} days from now",
                    c.what,
                    c.path,
                    (c.not_before - c.checked_at + DAY - 1).div_euclid(DAY)
                ),
            )
        } else if c.checked_at >= c.not_after {
            (
                outside,
                "certificate_expired",
                format!("the {} {} expired {} days ago", c.what, c.path, -left),
            )
        } else if left < super::CERTIFICATE_WARN_DAYS {
            (
                Warning,
                "certificate_expiring",
                format!("the {} {} expires in {left} days", c.what, c.path),
            )
        } else {
            continue;
        };
        out.push(Finding::new(
            sev,
            &n.name,
            code,
            what,
            if verified {
                "TLS refuses a certificate outside its validity: the access node's connections check it, and fail"
            } else {
                "TLS refuses a certificate outside its validity where a client checks it (sslmode verify-ca or verify-full); the access node does not check it in this mode"
            },
            renew(c),
        ));
    }
}

/// TLS files newer than the server's last reload: it still presents (and
/// trusts) the old ones, so a renewed certificate is not in use.
fn tls_not_loaded(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    if s.setting("ssl") != Some("on") || s.tls_files_not_loaded.is_empty() {
        return;
    }
    out.push(Finding::new(
        Warning,
        &n.name,
        "tls_files_not_loaded",
        format!(
            "{} changed after the server last read its configuration: it still uses the old ones",
            s.tls_files_not_loaded.join(", ")
        ),
        "PostgreSQL reads its certificate, key and CA at start and on reload only: until then a renewed certificate is not in use, and the old one runs out as before",
        Fix::sql(&n.name, "SELECT pg_reload_conf()", Then::Nothing),
    ));
}

/// pg_hba.conf changed after the server last read it: the rules it
/// enforces are the old ones, whatever the file says.
fn hba_not_loaded(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    if !s.hba_not_loaded || s.hba_rules.iter().any(|r| r.breaks_reload()) {
        return;
    }
    out.push(Finding::new(
        Warning,
        &n.name,
        "hba_not_loaded",
        format!(
            "{} changed after the server last read it: it still enforces the rules it had before",
            s.hba_file
        ),
        "PostgreSQL reads pg_hba.conf at start and on reload only; what the file says (and what tsmn reads from it) is not yet what the server does",
        Fix::sql(&n.name, "SELECT pg_reload_conf()", Then::Nothing),
    ));
}

fn pending_restart(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let pending = s.pending_restart();
    if !pending.is_empty() {
        out.push(Finding::new(
            Warning,
            &n.name,
            "pending_restart",
            format!(
                "settings changed but not yet in effect: {}",
                pending.join(", ")
            ),
            "these settings take effect only after a restart; until then the old values apply",
            Fix::Restart {
                node: n.name.clone(),
            },
        ));
    }
}

fn ssl(plan: &Plan, facts: &Facts, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    if plan.auth.mode == AuthMode::Certificate && !s.ssl_on() {
        let why = match n.role {
            NodeRole::Access => "certificate mode needs ssl = on on the access node too: only then does TimescaleDB offer each role's client certificate",
            NodeRole::Data => "certificate authentication happens inside TLS; with ssl = off no hostssl rule can match",
        };
        out.push(Finding::new(
            Blocker,
            &n.name,
            "ssl_off",
            "ssl is off, and certificate mode needs it",
            why,
            Fix::apply(format!("it turns ssl on on {} with a server certificate and key it issues from the plan's CA, then reloads", n.name)),
        ));
        return;
    }
    let an_ssl = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .is_some_and(ServerFacts::ssl_on);
    if n.role == NodeRole::Data && an_ssl && !s.ssl_on() {
        out.push(Finding::new(
            Blocker,
            &n.name,
            "ssl_off",
            "ssl is off on this data node while the access node has ssl = on",
            "with ssl = on on the access node TimescaleDB connects with sslmode=require in every mode: `server does not support SSL, but SSL was required`",
            Fix::manual(format!("turn ssl on on {} (ssl_cert_file and ssl_key_file, then SELECT pg_reload_conf())", n.name))
                .or("turn ssl off on the access node"),
        ));
    }
}

fn hba_errors(plan: &Plan, facts: &Facts, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    for r in s.hba_rules.iter().filter(|r| !r.breaks_reload()) {
        if let Some(e) = r.error.as_deref() {
            out.push(Finding::new(
                Note,
                &n.name,
                "hostssl_without_ssl",
                format!("pg_hba.conf {} cannot match: {e}", quote(&s.hba_lines, r)),
                "with ssl off the line is kept but never matches; it does not stop a reload or a restart",
                Fix::nothing("nothing, unless that rule is needed: then turn ssl on (in certificate mode tsmn apply does)"),
            ));
        }
    }
    for r in s.hba_rules.iter().filter(|r| r.breaks_reload()) {
        let err = r.error.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "the line does not parse (for example clientcert=1, invalid on PostgreSQL 14 and later)".into());
        // Changed since the server last read it: the rules in force are
        // the old ones, and this line may stand where a working rule was;
        // removing it would drop that rule at the next reload.
        // The file on disk is not what is in force: the reload after the
        // fix loads all of it. A data node whose file would then refuse the
        // access node is told so, with the line to change as well.
        let refused = (n.role == NodeRole::Data)
            .then(|| super::admission::refused_after_reload(plan, facts, &n.name, s))
            .flatten();
        let (what, fix) = if let Some(rule) = refused {
            (
                "PostgreSQL refuses to reload a pg_hba.conf with an error (the old rules stay), and a restart would fail",
                Fix::manual(format!(
                    "correct line {} of {} on {}; the reload then loads the whole file as it is on disk, and there {rule} would refuse the access node: change that too before SELECT pg_reload_conf()",
                    r.line_number, s.hba_file, n.name
                )),
            )
        } else if s.hba_not_loaded {
            (
                "PostgreSQL refused to load this file (the rules from before the change are still in force), and a restart would fail",
                Fix::manual(format!(
                    "correct line {} of {} on {} (removing it would also drop the rule it replaced), then SELECT pg_reload_conf()",
                    r.line_number, s.hba_file, n.name
                )),
            )
        } else {
            (
                "PostgreSQL refuses to reload a pg_hba.conf with an error (the old rules stay), and a restart would fail",
                Fix::hba(&n.name, &s.hba_file, HbaEdit::Remove { line: r.line_number as usize })
                    .or("correct that line"),
            )
        };
        out.push(Finding::new(
            Blocker,
            &n.name,
            "hba_error",
            format!("pg_hba.conf {} has an error: {err}", quote(&s.hba_lines, r)),
            what,
            fix,
        ));
    }
}

fn membership(facts: &Facts, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let Some(db) = &s.database else { return };
    let Some(dist) = &db.dist_uuid else { return };
    let an_db = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .and_then(|a| a.database.as_ref());
    let an_uuid = an_db.and_then(|d| d.uuid.clone());
    let listed = an_db.is_some_and(|d| d.data_nodes.contains(&n.name));
    match n.role {
        NodeRole::Access if db.uuid.as_ref() != Some(dist) => out.push(Finding::new(
            Blocker,
            &n.name,
            "member_of_other_cluster",
            format!("database {} on the access node is itself a data node of another cluster", db.name),
            "add_data_node fails here with `unable to assign data nodes from an existing distributed database`",
            Fix::manual("use another database name for the cluster, or detach this database from its access node first"),
        )),
        // This cluster's id, but the access node no longer lists the node:
        // a data node removed earlier keeps its database and the id.
        NodeRole::Data if an_uuid.as_ref() == Some(dist) && !listed => out.push(Finding::new(
            Blocker,
            &n.name,
            "removed_member_database",
            format!("database {} on this node is left from when it was a data node of this cluster (it was removed): it keeps the cluster's id (dist_uuid {dist})", db.name),
            "the access node no longer lists it, and add_data_node refuses it with `node is already a data node`",
            Fix::sql(&n.name, format!("DROP DATABASE {}", ident(&db.name)), Then::Nothing)
                .or("if its rows are needed, copy them out first, or choose another database name"),
        )),
        NodeRole::Data if an_uuid.as_ref() == Some(dist) => out.push(Finding::new(
            Note,
            &n.name,
            "already_member",
            format!("database {} is already a data node of this access node", db.name),
            "a re-run keeps it; add_data_node with if_not_exists skips it",
            Fix::nothing("nothing to do"),
        )),
        NodeRole::Data => out.push(Finding::new(
            Blocker,
            &n.name,
            "member_of_other_cluster",
            format!("database {} on this node already belongs to another distributed database (dist_uuid {dist})", db.name),
            "add_data_node fails with `cannot add ... as a data node` / `node is already a data node`",
            Fix::sql(&n.name, format!("DROP DATABASE {}", ident(&db.name)), Then::Nothing)
                .or("if its data is needed, choose another database name; next time remove data nodes with delete_data_node(..., drop_database => true)"),
        )),
        _ => {}
    }
}
