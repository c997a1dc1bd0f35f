//! PURE: a data node that cannot log in to another data node as the
//! engine's chunk copy makes it (probe/peers.rs tested it from inside the
//! data node with the access node's connection options): a chunk move
//! between them (a drain, a rebalance, move_chunk) would wait for the
//! subscription's sync for up to an hour and fail.

use super::{Finding, Fix, Severity};
use crate::facts::Facts;
use crate::plan::{AuthMode, Plan};

pub(super) fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    for n in &facts.nodes {
        let Some(s) = &n.server else { continue };
        for link in &s.peer_links {
            let Some(error) = &link.error else { continue };
            if error.starts_with("not tested: ") {
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
                fix(plan),
            ));
        }
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

fn fix(plan: &Plan) -> Fix {
    let change = "it puts the access node's files on each data node at the access node's paths and admits the other data nodes in pg_hba.conf";
    let first = if plan.auth.data_node_links == Some(true) {
        Fix::apply(change)
    } else {
        Fix::apply_with("--data-node-links", change)
    };
    Fix::Or {
        first: Box::new(first),
        otherwise: "when the error is about the network (refused, timed out, no route), open the source's port to the destination".into(),
    }
}
