//! Why the access node cannot get in to a data node, said as precisely as
//! the facts allow, and filed under the node that must change: the cause
//! from the one table, then what tsmn knows besides the message (the
//! passfile as TimescaleDB uses it, the client certificate paths, how the
//! role's password is stored on the data node).

use super::connect::{explain, Side};
use super::{Finding, Fix, Severity::*};
use crate::facts::{Facts, NodeFacts};
use crate::plan::Node;

/// One failed connection from the access node to `dn` as `role`.
pub(super) struct Failure<'a> {
    pub facts: &'a Facts,
    pub an: &'a NodeFacts,
    pub dn: &'a Node,
    pub role: &'a str,
    pub message: &'a str,
    /// How the connection was made, for the `what` line.
    pub how: String,
    /// The plan's access_node_addresses (IP or CIDR).
    pub plan_addresses: &'a [String],
    /// The plan's auth mode.
    pub mode: crate::plan::AuthMode,
    /// The plan adopts a cluster built by hand (its passfile is its own).
    pub adopted: bool,
}

/// Whether one of the plan's addresses (IP or CIDR) covers `ip`.
pub(super) fn covers(addresses: &[String], ip: std::net::IpAddr) -> bool {
    addresses
        .iter()
        .any(|a| crate::plan::cidr_covers(a, ip) == Some(true))
}

pub(super) fn finding(f: &Failure) -> Finding {
    let cause = explain(None, f.message);
    let (dn, role) = (f.dn, f.role);
    let an_server = f.an.server.as_ref();
    let mut what = format!("{}: {}", f.how, cause.what);
    let mut fix = cause.fix(Side::AccessNode, &dn.host, dn.port, role, &dn.name);
    // The access node's own files are the access node's to change.
    let mut node = dn.name.as_str();
    let own_passfile = an_server
        .and_then(|s| s.passfile.as_ref())
        .filter(|p| p.exists && f.adopted && f.mode == crate::plan::AuthMode::Password);
    match cause.code {
        // An adopted cluster's passfile is its own: tsmn keeps it (its
        // other lines serve links that work), so the line is added by hand.
        "no_password" | "password_failed" if own_passfile.is_some() => {
            node = &f.an.name;
            let path = own_passfile.map_or("", |p| p.path.as_str());
            fix = Fix::manual(format!(
                "put the line {}:{}:*:{role}:PASSWORD at the top of {path} on {}, with the password {role} has on {} (tsmn keeps this cluster's own passfile; or set adopted = false in the plan to let tsmn manage it and every role's password)",
                crate::quote::pgpass::escape(&dn.host),
                dn.port,
                f.an.name,
                dn.name
            ));
        }
        // In trust mode the access node has no password to give: the
        // data node's rule that asks for one is what stands in the way.
        "no_password" if f.mode == crate::plan::AuthMode::Trust => {
            what = format!(
                "{}: a rule in {}'s pg_hba.conf asks for a password, and in trust mode the access node has none",
                f.how, dn.name
            );
            fix = Fix::apply(format!(
                "it puts its block admitting the access node by trust above that rule in {}'s pg_hba.conf, and reloads {}",
                dn.name, dn.name
            ));
        }
        "no_password" => {
            node = &f.an.name;
            if let Some((w, x)) = passfile(&f.an.name, an_server, dn, role) {
                (what, fix) = (format!("{}: {w}", f.how), x);
            }
        }
        "client_cert_missing"
        | "client_cert_rejected"
        | "client_cert_unknown_ca"
        | "client_key" => {
            node = &f.an.name;
            if let Some(s) = an_server {
                let (crt, key) = s.client_certificate(role);
                what.push_str(&format!(" (TimescaleDB offers {crt} and {key} for {role})"));
            }
        }
        "password_failed" if stored_as_md5(f.facts, &dn.name, role) => {
            what = format!(
                "{}: {role}'s password on {} is stored as an md5 hash, and a scram-sha-256 rule cannot use one",
                f.how, dn.name
            );
            fix = Fix::apply(format!(
                "it sets {role}'s password on {} again as a SCRAM verifier it computes (by hand: SET password_encryption = 'scram-sha-256', then ALTER ROLE ... PASSWORD)",
                dn.name
            ));
        }
        "no_hba_entry" | "hba_rejects" => {
            // The plan names the addresses, and the data node saw another:
            // tsmn's block would not cover it, so apply alone cannot help.
            if let Some(ip) = super::connect::named_source(f.message)
                .filter(|ip| !f.plan_addresses.is_empty() && !covers(f.plan_addresses, *ip))
            {
                fix = Fix::manual(format!(
                    "add \"{ip}\" to access_node_addresses in the plan ({} saw the access node come from {ip}), then run tsmn apply",
                    dn.name
                ));
            }
        }
        _ => {}
    }
    Finding::new(
        Blocker,
        node,
        cause.access_code,
        what,
        format!("the access node said: {}", f.message),
        fix,
    )
}

/// The passfile, when the facts say why it gives no password.
fn passfile(
    an_name: &str,
    an: Option<&crate::facts::ServerFacts>,
    dn: &Node,
    role: &str,
) -> Option<(String, Fix)> {
    let pf = an?.passfile.as_ref()?;
    let line = format!("{}:{}:*:{role}:<password>", dn.host, dn.port);
    Some(if !pf.exists {
        (
            format!("the access node's passfile {} does not exist", pf.path),
            Fix::apply(format!("it writes {} on the access node with the line {line}, owned by the server's OS user, mode 0600", pf.path)),
        )
    } else if pf.has_entry(&dn.host, dn.port, role) {
        (
            format!(
                "the access node's passfile {} has a line for {}:{} and {role}, but libpq ignores the file: group or others can read it, or the server's OS user does not own it",
                pf.path, dn.host, dn.port
            ),
            Fix::Mode { node: an_name.to_string(), path: pf.path.clone(), mode: 0o600 }.or_apply(),
        )
    } else {
        (
            format!(
                "the access node's passfile {} has no line for {}:{} and {role} (the host must be written as the node's host: `localhost` does not match `127.0.0.1`)",
                pf.path, dn.host, dn.port
            ),
            Fix::apply(format!("it adds {line} to {}", pf.path)),
        )
    })
}

fn stored_as_md5(facts: &Facts, node: &str, role: &str) -> bool {
    facts
        .node(node)
        .and_then(|n| n.server.as_ref())
        .and_then(|s| s.roles.iter().find(|r| r.name == role))
        .is_some_and(|r| r.verifier.as_deref() == Some("md5"))
}
