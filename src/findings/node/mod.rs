//! The checks of one node, one function per concern: this file runs them
//! in order and reports a node tsmn cannot connect to; the concerns are in
//! the files beside it.

mod data_node;
mod hba_file;
mod membership;
mod settings;
mod software;
mod tls;

use super::connect::{explain, Side};
use super::{Finding, Fix, Severity::*, Then};
use crate::facts::{Connection, Facts, NodeFacts, NodeRole};
use crate::plan::{Node, Plan};
use crate::quote::sql::ident;
use data_node::{listen, prepared_transactions, roles};
use hba_file::{hba_errors, hba_not_loaded};
use membership::membership;
use settings::{pending_restart, recommendations};
use software::{timescaledb, versions};
use tls::{certificates, ssl, tls_not_loaded};

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
