//! The running cluster as TimescaleDB uses it: from the access node, in the
//! cluster database, as each role of the plan, does every attached data
//! node answer (`ping_data_node`, which returns false rather than raising
//! when the access node cannot connect or log in, so its result is read)?
//! Where it does not, the access node's own reason. `tsmn check` asks
//! this; the verify step sends its one SQL text and, when that fails, asks
//! `why` for each pair: so check and apply cannot disagree.

use crate::facts::{DatabaseFacts, Reach};
use crate::plan::Plan;
use crate::quote::sql::{ident, literal};
use std::time::Duration;
use tokio_postgres::Client;

/// Every (role, attached data node) pair, from a superuser session in the
/// cluster database on the access node. The data nodes are tested at once,
/// each on a session of its own from `lanes` (the roles of one data node
/// one after another on it).
pub async fn probe(
    lanes: &super::Lanes<'_>,
    plan: &Plan,
    db: &DatabaseFacts,
    bound: Duration,
) -> Vec<Reach> {
    let schema = crate::timescale::functions_schema(db.timescaledb.as_deref());
    let attached = plan
        .data_nodes
        .iter()
        .map(|d| d.name.as_str())
        .filter(|n| db.data_nodes.iter().any(|m| m == n));
    let tests = attached.enumerate().map(|(i, dn)| {
        lanes.on(i == 0, async move |client: &Client| {
            let mut out = Vec::new();
            for role in &plan.auth.roles {
                out.push(Reach {
                    role: role.clone(),
                    data_node: dn.to_string(),
                    error: bounded(client, schema, role, dn, bound).await,
                });
            }
            out
        })
    });
    let per_node = futures_util::future::join_all(tests).await;
    // Role by role, as before: the report lists them in that order.
    let mut all: Vec<Reach> = per_node.into_iter().flatten().collect();
    all.sort_by_key(|r| plan.auth.roles.iter().position(|x| *x == r.role));
    all
}

/// The members no longer in the plan (leaving the cluster): whether the
/// access node reaches each now, as the superuser. A leaving member that
/// does not answer is lost: its removal cannot ask it anything (its
/// pg_hba.conf, its copies) and its chunks' other copies are what is left.
pub async fn leaving(client: &Client, plan: &Plan, db: &mut DatabaseFacts, bound: Duration) {
    let schema = crate::timescale::functions_schema(db.timescaledb.as_deref());
    for m in db
        .members
        .iter_mut()
        .filter(|m| !plan.data_nodes.iter().any(|d| d.name == m.name))
    {
        let error = bounded(client, schema, &plan.superuser, &m.name, bound).await;
        m.answers = Some(error.is_none());
    }
}

/// `reach`, bounded: a test that does not finish is cancelled and reported.
async fn bounded(
    client: &Client,
    schema: &str,
    role: &str,
    dn: &str,
    bound: Duration,
) -> Option<String> {
    let error = match tokio::time::timeout(bound, reach(client, schema, role, dn)).await {
        Ok(e) => e,
        Err(_) => {
            let _ = client
                .cancel_token()
                .cancel_query(tokio_postgres::NoTls)
                .await;
            Some(format!(
                "timeout expired: no answer within {} s",
                bound.as_secs()
            ))
        }
    };
    let _ = client.simple_query("RESET ROLE").await;
    error
}

/// None when the data node answers the access node as `role`; else why not.
async fn reach(client: &Client, schema: &str, role: &str, dn: &str) -> Option<String> {
    let ping = format!(
        "SET ROLE {}; SELECT {schema}.ping_data_node({})",
        ident(role),
        literal(dn)
    );
    match client.simple_query(&ping).await {
        Ok(msgs) => {
            let answered = msgs.iter().any(|m| {
                matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))
            });
            if answered {
                None
            } else {
                Some(why(client, role, dn).await.unwrap_or_else(|| {
                    "ping_data_node returned false, but a query through it then worked (a passing fault?)".into()
                }))
            }
        }
        Err(e) => Some(crate::probe::failure(&e).problem().unwrap_or_default()),
    }
}

/// The access node's own reason it cannot reach `dn` as `role`: a
/// connection it makes itself (`distributed_exec` raises with libpq's
/// message where `ping_data_node` only says false). Read-only: `SELECT 1`
/// on the data node. None when that works. Leaves the session's role reset.
pub async fn why(client: &Client, role: &str, dn: &str) -> Option<String> {
    let set = format!("SET ROLE {}", ident(role));
    let probe = format!(
        "CALL distributed_exec('SELECT 1', node_list => ARRAY[{}], transactional => false)",
        literal(dn)
    );
    let result = match client.simple_query(&set).await {
        Ok(_) => client.simple_query(&probe).await.err(),
        Err(e) => Some(e),
    };
    let _ = client.simple_query("RESET ROLE").await;
    result.map(|e| crate::probe::failure(&e).problem().unwrap_or_default())
}
