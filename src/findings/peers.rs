//! PURE: a data node that cannot log in to another data node as the
//! engine's chunk copy makes it (probe/peers.rs tested it from inside the
//! data node with the access node's connection options): a chunk move
//! between them (a drain, a rebalance, move_chunk) would wait for the
//! subscription's sync for up to an hour and fail.

use super::{Finding, Fix, Severity};
use crate::facts::Facts;
use crate::plan::{AuthMode, Plan};

pub(super) fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    // The nodes tsmn itself cannot reach (each has its own finding that
    // says why). A link toward one of them fails whatever the link's set-up,
    // and tsmn apply changes nothing while a node of its run cannot be
    // probed: neither is a link problem with apply for a fix.
    let unreachable: Vec<&str> = plan
        .nodes()
        .filter(|n| {
            facts
                .node(&n.name)
                .is_some_and(|f| f.connection.problem().is_some())
        })
        .map(|n| n.name.as_str())
        .collect();
    let mut untested: Vec<(&str, Vec<&str>)> = Vec::new();
    for n in &facts.nodes {
        let Some(s) = &n.server else { continue };
        for link in &s.peer_links {
            let Some(error) = &link.error else { continue };
            if error.starts_with("not tested: ") {
                continue;
            }
            if let Some(to) = unreachable.iter().find(|u| **u == link.data_node) {
                match untested.iter_mut().find(|(t, _)| t == to) {
                    Some((_, from)) => from.push(&n.name),
                    None => untested.push((to, vec![&n.name])),
                }
                continue;
            }
            out.push(Finding::new(
                Severity::Warning,
                &n.name,
                "data_node_link_fails",
                format!(
                    "{} cannot log in to {} as the engine's chunk copy does ({} to {}): {error}",
                    n.name, link.data_node, link.role, plan.database
                ),
                why(plan),
                fix(plan, &unreachable),
            ));
        }
    }
    for (to, from) in untested {
        out.push(Finding::new(
            Severity::Note,
            to,
            "data_node_links_not_tested",
            format!(
                "the links from {} to {to} (the engine's chunk copy) are not tested: {to} does not answer tsmn (see its finding)",
                from.join(", ")
            ),
            format!("a link toward a server that does not answer fails whatever its set-up; once {to} answers, tsmn check tests them"),
            Fix::nothing(format!("nothing for the links: bring {to} back as its own finding says, and tsmn check tests them again")),
        ));
    }
}
fn why(plan: &Plan) -> String {
    let needs = match plan.auth.mode {
        AuthMode::Trust => "a pg_hba.conf rule on the source admitting the destination's address",
        AuthMode::Password => "the access node's passfile (timescaledb.passfile, else <access node data directory>/passfile) at the same path on the destination's host, with a line for the source, and a pg_hba.conf rule on the source admitting the destination",
        AuthMode::Certificate => "the role's client certificate and key at the access node's paths (timescaledb.ssl_dir, else <access node data directory>/timescaledb/certs) on the destination's host, and a pg_hba.conf rule on the source admitting the destination",
    };
    format!("copy_chunk and move_chunk (tsmn's drain, rebalance) make the destination subscribe to the source with the access node's connection string, used on the destination's host: it needs {needs}; a move over a link that fails waits up to an hour for its sync and fails")
}

/// `tsmn apply --data-node-links`; while a node tsmn cannot reach is in
/// the plan, apply refuses to run (flow/run.rs), so that node comes back first.
fn fix(plan: &Plan, unreachable: &[&str]) -> Fix {
    let change = "it puts the access node's files on each data node at the access node's paths and admits the other data nodes in pg_hba.conf";
    let otherwise = "when the error is about the network (refused, timed out, no route), open the source's port to the destination";
    if !unreachable.is_empty() {
        let command = if plan.auth.data_node_links == Some(true) {
            "tsmn apply"
        } else {
            "tsmn apply --data-node-links"
        };
        return Fix::manual(format!(
            "bring {} back first (its own finding says why tsmn cannot reach it; apply changes nothing while a node of its run cannot be probed), then run {command}: {change}; or {otherwise}",
            unreachable.join(", ")
        ));
    }
    let first = if plan.auth.data_node_links == Some(true) {
        Fix::apply(change)
    } else {
        Fix::apply_with("--data-node-links", change)
    };
    Fix::Or {
        first: Box::new(first),
        otherwise: otherwise.into(),
    }
}
