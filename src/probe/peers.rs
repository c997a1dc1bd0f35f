//! ASYNC: each data node -> each other data node, as the engine's chunk
//! copy connects (check only). The destination of `copy_chunk`/`move_chunk`
//! subscribes to the source with the connection string the access node
//! builds (`remote_connection_get_connstr`, tsl/src/remote/connection.c):
//! the access node's options (passfile, TLS files) for the role running the
//! move, used by libpq on the destination's host, as its server's OS user,
//! in its data directory. tsmn asks the same of libpq there: from inside
//! the data node (dblink's function in a session of tsmn's in the cluster
//! database, so the extension has unset libpq's variables as in the
//! engine's own backends), one connection per other data node with those
//! options, relative paths taken in the data node's own data directory.

use super::access_side::{connect_out, DBLINK_FUNCTION};
use super::credentials::PasswordSource;
use super::{config, connect, tls::Tls, ProbeOptions};
use crate::facts::{Facts, Reach, ServerFacts};
use crate::plan::Plan;

/// Every data node's links to the others, into its facts (where tsmn got
/// in as a superuser and knows the access node's settings).
pub async fn probe(plan: &Plan, passwords: &PasswordSource, opts: ProbeOptions, facts: &mut Facts) {
    probe_pairs(plan, passwords, opts, facts, None).await;
}

/// `probe`, of the links `pairs` names only (from, to: the destination of
/// a chunk copy logs in to its source), when given: tsmn rebalance proves
/// the links its moves use, not all N x (N - 1).
pub async fn probe_pairs(
    plan: &Plan,
    passwords: &PasswordSource,
    opts: ProbeOptions,
    facts: &mut Facts,
    pairs: Option<&[(String, String)]>,
) {
    let Ok(tls) = Tls::from_plan(plan) else {
        return;
    };
    let Some(an) = facts
        .node(&plan.access_node.name)
        .and_then(|n| n.server.clone())
        .filter(|s| s.setting("data_directory").is_some())
    else {
        return;
    };
    let mut tasks = Vec::new();
    for dn in &plan.data_nodes {
        let to: Option<Vec<String>> = pairs.map(|p| {
            p.iter()
                .filter(|(from, _)| *from == dn.name)
                .map(|(_, to)| to.clone())
                .collect()
        });
        if to.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        let Some(dir) = facts
            .node(&dn.name)
            .and_then(|n| n.server.as_ref())
            .filter(|s| s.superuser)
            .and_then(|s| s.setting("data_directory"))
        else {
            continue;
        };
        let seen = an.as_seen_from(dir);
        let cfg = config(dn, &plan.superuser, &plan.database, passwords, opts, &tls);
        let (tls, plan, from) = (tls.clone(), plan.clone(), dn.name.clone());
        tasks.push(tokio::spawn(async move {
            let links = from_one(&plan, (&from, to.as_deref()), &seen, cfg, &tls, opts).await;
            (from, links)
        }));
    }
    for t in tasks {
        let Ok((from, links)) = t.await else {
            continue;
        };
        if let Some(s) = facts
            .nodes
            .iter_mut()
            .find(|n| n.name == from)
            .and_then(|n| n.server.as_mut())
        {
            s.peer_links = links;
        }
    }
}

async fn from_one(
    plan: &Plan,
    (from, only): (&str, Option<&[String]>),
    seen: &ServerFacts,
    cfg: tokio_postgres::Config,
    tls: &Tls,
    opts: ProbeOptions,
) -> Vec<Reach> {
    let others: Vec<&crate::plan::Node> = plan
        .data_nodes
        .iter()
        .filter(|d| d.name != from && only.is_none_or(|o| o.contains(&d.name)))
        .collect();
    let untested = |why: String| -> Vec<Reach> {
        others
            .iter()
            .map(|to| Reach {
                role: plan.superuser.clone(),
                data_node: to.name.clone(),
                error: Some(format!("not tested: {why}")),
            })
            .collect()
    };
    let client = match connect(&cfg, tls, opts, None).await {
        Ok(c) => c,
        Err(c) => return untested(c.problem().unwrap_or_default()),
    };
    if let Err(e) = client.batch_execute(DBLINK_FUNCTION).await {
        return untested(format!(
            "dblink cannot be used on {from} ({e}); install PostgreSQL's contrib package there"
        ));
    }
    let mut out = Vec::new();
    for to in others {
        let info = seen.engine_conninfo(
            &plan.superuser,
            &plan.database,
            (&to.host, to.port),
            opts.connect_timeout,
        );
        let tried = connect_out(&client, &info, opts.connect_timeout).await;
        out.push(Reach {
            role: plan.superuser.clone(),
            data_node: to.name.clone(),
            error: tried.err(),
        });
    }
    out
}
