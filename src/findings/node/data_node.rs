//! What a data node must give the access node: prepared transactions for
//! two-phase commit, an address it listens on, and the roles it logs in as.

use crate::facts::{NodeFacts, ServerFacts};
use crate::findings::{Finding, Fix, Severity::*, Then};
use crate::plan::{Node, Plan};
use crate::quote::sql::{ident, literal};
use std::net::IpAddr;

pub(super) fn prepared_transactions(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
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
            // add_data_node checks max_prepared_transactions only in a
            // database it does not create itself (tsl/src/data_node.c).
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

pub(super) fn listen(n: &NodeFacts, pn: &Node, s: &ServerFacts, out: &mut Vec<Finding>) {
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

pub(super) fn roles(plan: &Plan, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
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
