//! PURE: what a snapshot shows wrong, each with a code that `tsmn check`
//! uses for the same cause where one fits (a node down: check's
//! connection codes; a link down: its `access_node_*` codes).

use super::{Limits, LinkStatus, NodeState, NodeStatus, Prepared, Problem, Snapshot};
use crate::facts::NodeRole;
use crate::findings::connect::explain;
use crate::findings::health;
use crate::findings::Severity;

/// PURE: every problem in the snapshot: nodes, links, then the access
/// node's catalog.
pub fn problems(s: &Snapshot, limits: &Limits) -> Vec<Problem> {
    let mut out = Vec::new();
    for n in &s.nodes {
        node(s, n, limits, &mut out);
    }
    for l in &s.links {
        link(s, l, &mut out);
    }
    catalog(s, limits, &mut out);
    out
}

fn problem(code: &'static str, node: &str, severity: Severity, what: String) -> Problem {
    Problem {
        code,
        node: node.to_string(),
        severity,
        what,
    }
}

fn node(s: &Snapshot, n: &NodeStatus, limits: &Limits, out: &mut Vec<Problem>) {
    if !n.up {
        let message = n.error.clone().unwrap_or_default();
        let code = if message.starts_with("no answer") {
            "timeout"
        } else {
            explain(n.sqlstate.as_deref(), &message).code
        };
        let (severity, what) = match n.state {
            NodeState::Refused => (
                Severity::Blocker,
                format!("{} runs but refuses tsmn's session: {message}", n.name),
            ),
            // Still asked, bounded on its own: the next refresh tells.
            NodeState::Waiting => (Severity::Warning, format!("{}: {message}", n.name)),
            _ => (Severity::Blocker, format!("{} is down: {message}", n.name)),
        };
        out.push(problem(code, &n.name, severity, what));
        if n.state != NodeState::Waiting {
            return;
        }
    }
    let Some(server) = &n.server else { return };
    if server.database_bytes.is_none() {
        out.push(problem(
            "database_missing",
            &n.name,
            Severity::Warning,
            format!("the cluster database {} does not exist here", s.database),
        ));
    }
    certificates(n, limits, out);
    disk(n, out);
    let limit = i64::try_from(limits.prepared_age.as_secs()).unwrap_or(i64::MAX);
    // TimescaleDB's own on a data node (the heal resolves them: check's
    // prepared_transactions_left), and anyone else's.
    let own = |p: &Prepared| {
        n.role == NodeRole::Data && crate::timescale::own_prepared(&p.gid, &p.database, &s.database)
    };
    let old: Vec<&Prepared> = server
        .prepared
        .iter()
        .filter(|p| p.age_seconds >= limit && own(p))
        .collect();
    if let Some(oldest) = old.iter().max_by_key(|p| p.age_seconds) {
        // status shows no fix: the footer sends the operator to check.
        out.push(from_finding(health::own_prepared_left(
            &n.name,
            &oldest.database,
            old.len(),
            (&oldest.gid, oldest.age_seconds),
            crate::findings::Fix::Manual {
                text: "tsmn check gives the fix".into(),
            },
        )));
    }
    let (pauses, others): (Vec<&Prepared>, Vec<&Prepared>) = server
        .prepared
        .iter()
        .filter(|p| !own(p))
        .partition(|p| crate::timescale::write_pause(&p.gid));
    let others: Vec<(&str, &str, i64)> = others
        .iter()
        .map(|p| (p.gid.as_str(), p.database.as_str(), p.age_seconds))
        .collect();
    // A chunk move's write pause while a tsmn run holds its lock is a move
    // under way: a note, so that whoever watches sees why writes wait. One
    // without a run (killed, a lost terminal) or past the limit (a copy
    // rarely takes that long) is check's blocker.
    let (held, left): (Vec<&Prepared>, Vec<&Prepared>) = pauses
        .into_iter()
        .partition(|p| p.run_held && p.age_seconds < limit);
    let left: Vec<(&str, &str, i64)> = left
        .iter()
        .map(|p| (p.gid.as_str(), p.database.as_str(), p.age_seconds))
        .collect();
    out.extend(health::write_pauses(&n.name, &left).map(from_finding));
    if let Some(oldest) = held.iter().max_by_key(|p| p.age_seconds) {
        let mut tables: Vec<&str> = held.iter().filter_map(|p| p.locks.as_deref()).collect();
        tables.sort_unstable();
        tables.dedup();
        out.push(problem(
            "write_pause_held",
            &n.name,
            Severity::Note,
            format!(
                "{} chunk move(s) of a tsmn run under way: writes to {} wait, the longest for {} so far ({}); past {} it is reported as left behind",
                held.len(),
                if tables.is_empty() {
                    "the hypertable moved".to_string()
                } else {
                    tables.join(", ")
                },
                crate::timescale::age(oldest.age_seconds),
                held.iter().map(|p| p.gid.as_str()).collect::<Vec<_>>().join(", "),
                crate::timescale::age(limit)
            ),
        ));
    }
    out.extend(health::others_prepared(&n.name, &others, limit).map(from_finding));
}

/// Check's codes and limits: a certificate outside its validity, or with
/// fewer days left than the limit.
fn certificates(n: &NodeStatus, limits: &Limits, out: &mut Vec<Problem>) {
    let Some(server) = &n.server else { return };
    for c in &server.certificates {
        let (code, what) = if c.not_yet_valid {
            ("certificate_not_yet_valid", "is not valid yet".to_string())
        } else if c.days_left < 0 {
            (
                "certificate_expired",
                format!("expired {} day(s) ago", -c.days_left),
            )
        } else if c.days_left < limits.certificate_days {
            (
                "certificate_expiring",
                format!("expires in {} day(s)", c.days_left),
            )
        } else {
            continue;
        };
        out.push(problem(
            code,
            &n.name,
            Severity::Warning,
            format!("the {} {} {what}", c.what, c.path),
        ));
    }
}

fn disk(n: &NodeStatus, out: &mut Vec<Problem>) {
    if let Some(d) = n.server.as_ref().and_then(|s| s.disk.as_ref()) {
        out.extend(health::disk_low(&n.name, d).map(from_finding));
    }
}

/// A finding check would give, as status shows it: its code and words.
fn from_finding(f: crate::findings::Finding) -> Problem {
    Problem {
        code: f.code,
        node: f.node,
        severity: f.severity,
        what: f.what,
    }
}

fn link(s: &Snapshot, l: &LinkStatus, out: &mut Vec<Problem>) {
    let from_access = s
        .nodes
        .iter()
        .any(|n| n.name == l.from && n.role == NodeRole::Access);
    match (l.up, &l.error) {
        (Some(false), e) => {
            let message = e.clone().unwrap_or_default();
            let cause = explain(None, &message);
            let when = l
                .tested_seconds_ago
                .map(|a| format!(" (tested {a:.0} s ago)"))
                .unwrap_or_default();
            // From the access node: check's access_node_* codes, a blocker
            // on the data node. Between data nodes: check's
            // data_node_link_fails, a warning on the node the link starts
            // from (only chunk moves use it; the cause's code in the text).
            if from_access {
                let code = if message.starts_with("timeout expired") {
                    "access_node_timeout"
                } else {
                    cause.access_code
                };
                out.push(problem(
                    code,
                    &l.to,
                    Severity::Blocker,
                    format!("{} cannot reach {}: {message}{when}", l.from, l.to),
                ));
            } else if s.nodes.iter().any(|n| n.name == l.to && !n.up) {
                // Toward a node that does not answer tsmn either: its own
                // row and problem say so; no link fix could clear this one
                // (check leaves it out the same way).
            } else {
                let code = if message.starts_with("timeout expired") {
                    "timeout"
                } else {
                    cause.code
                };
                out.push(problem(
                    "data_node_link_fails",
                    &l.from,
                    Severity::Warning,
                    format!(
                        "{} cannot log in to {} as the engine's chunk copy does ({code}): {message}{when}",
                        l.from, l.to
                    ),
                ));
            }
        }
        // Not tested because the access node is down: its own row says so.
        (None, Some(why)) if s.nodes.iter().any(|n| n.name == l.from && n.up) => {
            out.push(problem(
                "access_side_not_tested",
                &l.from,
                Severity::Warning,
                format!("the link to {} was not tested: {why}", l.to),
            ));
        }
        _ => {}
    }
}

fn catalog(s: &Snapshot, limits: &Limits, out: &mut Vec<Problem>) {
    let an = s
        .nodes
        .iter()
        .find(|n| n.role == NodeRole::Access)
        .map_or("", |n| n.name.as_str());
    let nothing = || crate::findings::Fix::nothing("");
    for h in s.hypertables.iter().filter(|h| h.under_replicated > 0) {
        out.push(from_finding(health::under_replicated(
            an,
            &h.name,
            h.replication_factor,
            h.under_replicated,
            nothing(),
        )));
    }
    if let Some(n) = s
        .remote_txn_backlog
        .filter(|n| *n >= limits.remote_txn_backlog)
    {
        out.push(from_finding(health::remote_txn_backlog(
            an,
            &s.database,
            n,
            None,
        )));
    }
    for j in &s.failed_jobs {
        out.push(from_finding(health::job_failed(an, &s.database, j)));
    }
}
