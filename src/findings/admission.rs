//! Whether each data node's pg_hba.conf admits the access node the way
//! TimescaleDB connects (its addresses, the roles, the mode's method).

use super::hba::{evaluate, evaluate_prefer, quote, Attempt, Verdict};
use super::{Finding, Fix, HbaEdit, Severity::*};
use crate::facts::{AccessProbes, Facts, NodeFacts, ServerFacts, HOSTSSL_WITHOUT_SSL};
use crate::plan::{AuthMode, Plan};
use std::net::IpAddr;

/// The addresses the data nodes will see the access node come from.
pub(super) fn access_node_addresses(plan: &Plan, facts: &Facts, data_node: &str) -> Vec<IpAddr> {
    let from_plan: Vec<IpAddr> = plan
        .access_node_addresses
        .iter()
        .filter_map(|a| a.split('/').next().and_then(|ip| ip.parse().ok()))
        .collect();
    if !from_plan.is_empty() {
        return from_plan;
    }
    if let Some(AccessProbes::Tested { results }) = facts.access().map(|a| &a.access_probes) {
        let seen: Vec<IpAddr> = results
            .iter()
            .filter(|r| r.data_node == data_node)
            .filter_map(|r| r.source_address.as_deref()?.parse().ok())
            .collect();
        if !seen.is_empty() {
            return seen;
        }
    }
    plan.access_node.host.parse().into_iter().collect()
}

fn accepted_methods(mode: AuthMode) -> &'static [&'static str] {
    match mode {
        AuthMode::Trust => &["trust"],
        AuthMode::Password => &["scram-sha-256", "md5"],
        AuthMode::Certificate => &["cert"],
    }
}

pub(super) fn hba_admits_access_node(
    plan: &Plan,
    facts: &Facts,
    n: &NodeFacts,
    s: &ServerFacts,
    out: &mut Vec<Finding>,
) {
    if s.hba_rules.is_empty() {
        return;
    }
    // The data node named where the access node came from, and the plan's
    // addresses do not cover it: the model would judge the wrong address
    // (the access node's own finding names the one to add).
    let named = refusal(facts, &n.name).and_then(super::connect::named_source);
    if named.is_some_and(|ip| !plan.access_node_addresses.is_empty() && !addrs_cover(plan, ip)) {
        return;
    }
    let addrs = access_node_addresses(plan, facts, &n.name);
    if addrs.is_empty() {
        out.push(Finding::new(
            Note,
            &n.name,
            "hba_not_evaluated",
            "pg_hba.conf was not checked for the access node: its address is unknown",
            "the access node's host is a name, and access_node_addresses is empty",
            Fix::manual("set access_node_addresses in the plan to the address(es) the data nodes see the access node connect from"),
        ));
        return;
    }
    let an_ssl = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .is_some_and(ServerFacts::ssl_on);
    let accepted = accepted_methods(plan.auth.mode);
    // The cluster database only: tsmn creates it on each data node itself,
    // and add_data_node (`bootstrap => false`) connects there.
    let databases = [plan.database.as_str()];
    for address in &addrs {
        for database in databases.iter().copied() {
            // What the engine showed decides: a link the access node made
            // is admitted, whatever tsmn's reading of the rules says.
            if observed(plan, facts, &n.name) == Some(true) {
                continue;
            }
            let attempt = Attempt {
                ssl: an_ssl,
                database,
                user: &plan.superuser,
                address: *address,
            };
            // TimescaleDB requires TLS when the access node has ssl on;
            // else libpq's default `prefer` tries TLS where the data node
            // offers it and retries without.
            let verdict = if !an_ssl && s.ssl_on() {
                evaluate_prefer(&s.hba_rules, &attempt, accepted)
            } else {
                evaluate(&s.hba_rules, &attempt, accepted)
            };
            let who = format!("{} from {address} to database {database}", plan.superuser);
            // Through the one quoting module: a superuser named like a
            // keyword or with a quote must be written quoted.
            let needed = format!(
                "{} all {} {} {}",
                if plan.auth.mode == AuthMode::Certificate {
                    "hostssl"
                } else {
                    "host"
                },
                crate::quote::hba::field(&plan.superuser)
                    .unwrap_or_else(|_| plan.superuser.clone()),
                crate::quote::hba::address(&address.to_string()),
                accepted[0]
            );
            if !matches!(verdict, Verdict::Admitted(_))
                && admitted_once_ssl_is_on(s, &attempt, accepted)
                && out.iter().any(|f| f.node == n.name && f.code == "ssl_off")
            {
                // The rule is there and only waits for ssl: the ssl_off
                // finding says what to do; asking for the rule again would
                // be wrong.
                continue;
            }
            let finding = match verdict {
                // Admitted, or only the server can tell (the access node's
                // own test, when it fails, says why).
                Verdict::Admitted(_) | Verdict::Unknown(_) => continue,
                Verdict::NoRule => Finding::new(
                    Blocker,
                    &n.name,
                    "hba_no_rule",
                    format!("no pg_hba.conf rule admits the access node ({who})"),
                    "the access node's connections are refused with `no pg_hba.conf entry`",
                    Fix::hba(&n.name, &s.hba_file, HbaEdit::Insert { rule: needed, above: None }).or_apply(),
                ),
                Verdict::Shadowed { first, would: Some(would) } => Finding::new(
                    Blocker,
                    &n.name,
                    "hba_shadowed",
                    format!("pg_hba.conf rule {} shadows the rule that would admit the access node, {} ({who})", quote(&s.hba_lines, first), quote(&s.hba_lines, would)),
                    format!("the first matching rule wins, and it {}", method_phrase(first.method.as_deref())),
                    Fix::hba(&n.name, &s.hba_file, HbaEdit::Move { line: would.line_number as usize, above: first.line_number as usize })
                        .or(format!("narrow line {} so that it no longer matches", first.line_number)),
                ),
                Verdict::Shadowed { first, would: None } => Finding::new(
                    Blocker,
                    &n.name,
                    "hba_wrong_method",
                    format!("pg_hba.conf rule {} matches the access node ({who}) but {}", quote(&s.hba_lines, first), method_phrase(first.method.as_deref())),
                    format!("{} mode needs the method {}", plan.auth.mode.as_str(), accepted.join(" or ")),
                    Fix::hba(&n.name, &s.hba_file, HbaEdit::Insert { rule: needed, above: Some(first.line_number as usize) }).or_apply(),
                ),
            };
            out.push(finding);
            return; // one finding per data node is enough to act on
        }
    }
}

/// What the access node showed of its link to `dn` in the cluster
/// database as the superuser: Some(true) it got in, Some(false) it was
/// refused, None not tried. The running cluster's own check, else the
/// access-side probe.
fn observed(plan: &Plan, facts: &Facts, dn: &str) -> Option<bool> {
    let an = facts.access()?;
    let in_cluster = an
        .cluster_reach
        .iter()
        .find(|r| r.data_node == dn && r.role == plan.superuser)
        .map(|r| r.error.is_none());
    in_cluster.or_else(|| {
        let AccessProbes::Tested { results } = &an.access_probes else {
            return None;
        };
        let r = results.iter().find(|r| r.data_node == dn)?;
        r.not_tested.is_none().then_some(r.error.is_none())
    })
}

/// The access node's own error connecting to `dn` (the access-side probe).
fn refusal<'f>(facts: &'f Facts, dn: &str) -> Option<&'f str> {
    let AccessProbes::Tested { results } = &facts.access()?.access_probes else {
        return None;
    };
    results.iter().find(|r| r.data_node == dn)?.error.as_deref()
}

fn addrs_cover(plan: &Plan, ip: IpAddr) -> bool {
    super::access_cause::covers(&plan.access_node_addresses, ip)
}

fn method_phrase(method: Option<&str>) -> String {
    match method {
        Some("reject") => "rejects the connection".into(),
        Some(m) => format!("asks for {m}"),
        None => "has no method".into(),
    }
}

/// Whether a hostssl rule that cannot match now (ssl is off) would admit
/// the connection once ssl is on.
fn admitted_once_ssl_is_on(s: &ServerFacts, attempt: &Attempt, accepted: &[&str]) -> bool {
    let rules: Vec<crate::facts::HbaRule> = s
        .hba_rules
        .iter()
        .cloned()
        .map(|mut r| {
            if r.error
                .as_deref()
                .is_some_and(|e| e.contains(HOSTSSL_WITHOUT_SSL))
            {
                r.error = None;
            }
            r
        })
        .collect();
    let with_ssl = Attempt {
        ssl: true,
        ..attempt.clone()
    };
    matches!(evaluate(&rules, &with_ssl, accepted), Verdict::Admitted(_))
}

/// For an adopted cluster: the existing rule that admits the access node
/// to `dn` the way the mode needs, for every role of the plan, from every
/// address it comes from, to the bootstrap and cluster databases. None when
/// any of those would not be admitted (then tsmn's block is needed).
pub fn admitting_rule(plan: &Plan, facts: &Facts, dn: &str) -> Option<String> {
    let s = facts.node(dn)?.server.as_ref()?;
    let addrs = access_node_addresses(plan, facts, dn);
    if addrs.is_empty() || s.hba_rules.is_empty() {
        return None;
    }
    let an_ssl = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .is_some_and(ServerFacts::ssl_on);
    let accepted = accepted_methods(plan.auth.mode);
    let mut roles = vec![plan.superuser.as_str()];
    roles.extend(plan.auth.roles.iter().map(String::as_str));
    let mut first = None;
    for address in &addrs {
        for database in [plan.database.as_str()] {
            for user in &roles {
                let attempt = Attempt {
                    ssl: an_ssl || s.ssl_on(),
                    database,
                    user,
                    address: *address,
                };
                match evaluate(&s.hba_rules, &attempt, accepted) {
                    Verdict::Admitted(r) => {
                        first.get_or_insert_with(|| quote(&s.hba_lines, r));
                    }
                    _ => return None,
                }
            }
        }
    }
    first
}

/// A pg_hba.conf on disk that the server refused to load (a broken line):
/// the rule that file would put in force against the access node once
/// the broken lines are gone, quoted, when it refuses it. The reload that
/// follows the fix loads every change of the file, not only the fix.
pub(super) fn refused_after_reload(
    plan: &Plan,
    facts: &Facts,
    dn: &str,
    s: &ServerFacts,
) -> Option<String> {
    let rules: Vec<crate::facts::HbaRule> = s
        .hba_rules
        .iter()
        .filter(|r| !r.breaks_reload())
        .cloned()
        .collect();
    let an_ssl = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .is_some_and(ServerFacts::ssl_on);
    let accepted = accepted_methods(plan.auth.mode);
    for address in access_node_addresses(plan, facts, dn) {
        let attempt = Attempt {
            ssl: an_ssl,
            database: &plan.database,
            user: &plan.superuser,
            address,
        };
        match evaluate(&rules, &attempt, accepted) {
            Verdict::Shadowed { first, .. } => return Some(quote(&s.hba_lines, first)),
            Verdict::NoRule => return Some("no rule (none matches it)".into()),
            Verdict::Admitted(_) | Verdict::Unknown(_) => {}
        }
    }
    None
}

/// Password or certificate mode, and the access node got in to `n`
/// bringing neither a password nor a client certificate: a rule of the data
/// node lets it in some other way, and the verify step would fail. Named
/// with the rule where tsmn's reading of the file finds it.
pub(super) fn not_enforced(
    plan: &Plan,
    facts: &Facts,
    n: &NodeFacts,
    s: &ServerFacts,
    out: &mut Vec<Finding>,
) {
    let Some(AccessProbes::Tested { results }) = facts.access().map(|a| &a.access_probes) else {
        return;
    };
    let Some(sslmode) = results
        .iter()
        .find(|r| r.data_node == n.name)
        .and_then(|r| r.admits_without.clone())
    else {
        return;
    };
    let without = if plan.auth.mode == AuthMode::Certificate {
        "a client certificate"
    } else {
        "a password"
    };
    let rule = access_node_addresses(plan, facts, &n.name)
        .into_iter()
        .find_map(|address| {
            let attempt = Attempt {
                ssl: sslmode != "disable",
                database: &plan.database,
                user: &plan.superuser,
                address,
            };
            match evaluate(&s.hba_rules, &attempt, &["trust"]) {
                Verdict::Admitted(r) => Some(r),
                _ => None,
            }
        });
    // What apply mends itself is not in the way: tsmn's own block (written
    // again), and any rule below where its block goes (before the first
    // rule) when its block covers the attempt: every attempt in password
    // mode, the TLS one in certificate mode. An adopted cluster keeps its
    // rules, so there every such rule stands.
    let in_block = rule.is_some_and(|r| inside_tsmn_block(&s.hba_lines, r.line_number as usize));
    let block_covers = plan.auth.mode == AuthMode::Password || sslmode != "disable";
    if in_block || (!plan.adopted && block_covers) {
        return;
    }
    let fix = match rule {
        Some(r) => Fix::manual(format!(
            "remove or narrow line {} of {} on {} ({}) so that the access node meets the mode's rule, then SELECT pg_reload_conf()",
            r.line_number,
            s.hba_file,
            n.name,
            quote(&s.hba_lines, r)
        )),
        None => Fix::manual(format!(
            "find the rule of {}'s pg_hba.conf that admits the access node without {without} (sslmode={sslmode}) and remove or narrow it, then SELECT pg_reload_conf()",
            n.name
        )),
    };
    out.push(Finding::new(
        Blocker,
        &n.name,
        "mode_not_enforced",
        format!(
            "{} lets the access node in as {} without {without} (sslmode={sslmode}): {} mode is not enforced",
            n.name,
            plan.superuser,
            plan.auth.mode.as_str()
        ),
        "the access node's own login (tsmn check tries it as the verify step does); anyone who can connect from that address gets in the same way, and apply's verify step fails",
        fix,
    ));
}

/// Whether line `line` (1-based) of pg_hba.conf is inside tsmn's block.
fn inside_tsmn_block(lines: &[String], line: usize) -> bool {
    let begin = lines
        .iter()
        .position(|l| l.starts_with(crate::quote::hba::BLOCK_BEGIN));
    let end = lines
        .iter()
        .position(|l| l.starts_with(crate::quote::hba::BLOCK_END));
    matches!((begin, end), (Some(b), Some(e)) if b < line && line <= e)
}
