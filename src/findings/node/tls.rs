//! TLS on the node: ssl on where the mode or the access node needs it,
//! certificates within their validity, and renewed files in use.

use crate::facts::{Facts, NodeFacts, NodeRole, ServerFacts};
use crate::findings::{Finding, Fix, Severity::*, Then};
use crate::plan::{AuthMode, Plan};

pub(super) fn ssl(
    plan: &Plan,
    facts: &Facts,
    n: &NodeFacts,
    s: &ServerFacts,
    out: &mut Vec<Finding>,
) {
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

/// Days left on each certificate the node uses: a warning under 30 days,
/// a blocker once expired or not yet valid (TLS refuses both).
pub(super) fn certificates(
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
        } else if left < crate::findings::CERTIFICATE_WARN_DAYS {
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
pub(super) fn tls_not_loaded(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
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
