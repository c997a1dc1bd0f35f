//! The access node's links to one data node, tried the way TimescaleDB
//! makes them (each role, the access node's passfile and certificates,
//! through dblink inside the access node): the engine's answer to "does
//! this change break what worked?", asked before and after a data node's
//! pg_hba.conf changes.

use super::session::Sessions;
use super::RunOptions;
use crate::probe::access_side::{connect_out, missing_database, DBLINK_FUNCTION};
use tokio_postgres::Client;

/// Each role of the plan, and whether the access node reaches `data_node`
/// as it now (Err: the access node's own error). None when the access
/// node cannot be asked (no dblink there, tsmn cannot connect to it, the
/// data node is not in the plan): then nothing can be proved here, and
/// the run's verification decides.
pub async fn of(
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    data_node: &str,
) -> Option<Vec<LinkState>> {
    let dn = o.plan.data_nodes.iter().find(|d| d.name == data_node)?;
    let (client, an) = asker(o, sessions).await?;
    Some(roles_to(&client, &an, o, dn).await)
}

/// Every link of the plan (each data node, each role), tried at once.
pub async fn all(o: &RunOptions<'_>, sessions: &Sessions<'_>) -> Option<Vec<LinkState>> {
    let (client, an) = asker(o, sessions).await?;
    let tries = o
        .plan
        .data_nodes
        .iter()
        .map(|dn| roles_to(&client, &an, o, dn));
    Some(
        futures_util::future::join_all(tries)
            .await
            .into_iter()
            .flatten()
            .collect(),
    )
}

/// One link as the access node has it now, and as it had it before the
/// run (None: not known).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkState {
    pub data_node: String,
    pub role: String,
    pub before: Option<bool>,
    /// None: it works now.
    pub error: Option<String>,
}

impl LinkState {
    /// It worked before the run and does not now.
    pub fn broken(&self) -> bool {
        self.before == Some(true) && self.error.is_some()
    }
}

/// PURE: the links now, each with whether it worked before.
pub fn beside(now: Vec<LinkState>, before: &[LinkState]) -> Vec<LinkState> {
    now.into_iter()
        .map(|mut l| {
            l.before = before
                .iter()
                .find(|b| b.data_node == l.data_node && b.role == l.role)
                .map(|b| b.error.is_none());
            l
        })
        .collect()
}

/// The access node's session with dblink's function ready, and its facts
/// (its passfile, TLS files and settings, as TimescaleDB reads them now).
/// The facts are read again only after a step of this run changed the
/// access node (a data node's proofs, one after another, cost one round
/// trip each then); the function is made in the same round trip as the
/// facts' first query, or alone when the facts are known.
async fn asker(
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Option<(std::sync::Arc<Client>, crate::facts::ServerFacts)> {
    let an_name = &o.plan.access_node.name;
    let client = sessions.get(an_name, "postgres").await.ok()?;
    let changes = {
        let changed = sessions.changed.lock().unwrap_or_else(|p| p.into_inner());
        let prefix = format!("{an_name}/");
        changed.iter().filter(|id| id.starts_with(&prefix)).count()
    };
    let cached = sessions
        .an_facts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .filter(|(n, _)| *n == changes)
        .map(|(_, f)| f);
    let (an, made) = match cached {
        Some(an) => (an, client.batch_execute(DBLINK_FUNCTION).await),
        None => {
            let (made, (an, _)) = futures_util::future::join(
                client.batch_execute(DBLINK_FUNCTION),
                crate::probe::queries::server_facts(&client, o.plan),
            )
            .await;
            *sessions.an_facts.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((changes, an.clone()));
            (an, made)
        }
    };
    if !an.dblink_available || made.is_err() {
        return None;
    }
    Some((client, an))
}

/// Each role to one data node, at once.
async fn roles_to(
    client: &Client,
    an: &crate::facts::ServerFacts,
    o: &RunOptions<'_>,
    dn: &crate::plan::Node,
) -> Vec<LinkState> {
    let tries = o.plan.auth.roles.iter().map(|role| {
        // The cluster database, where the links go; before the cluster
        // phase makes it, "does not exist" means the login got through.
        let db = &o.plan.database;
        let info = an.engine_conninfo(role, db, (&dn.host, dn.port), o.probe.connect_timeout);
        // libpq inside the server waits at least 2 s.
        let timeout = o.probe.connect_timeout + std::time::Duration::from_secs(2);
        async move {
            LinkState {
                data_node: dn.name.clone(),
                role: role.clone(),
                before: None,
                error: connect_out(client, &info, timeout)
                    .await
                    .err()
                    .filter(|e| !missing_database(e, db)),
            }
        }
    });
    futures_util::future::join_all(tries).await
}

#[cfg(test)]
mod tests {
    use super::{beside, LinkState};

    fn link(role: &str, error: Option<&str>) -> LinkState {
        LinkState {
            data_node: "dn1".into(),
            role: role.into(),
            before: None,
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn only_links_that_worked_can_break() {
        let before = vec![
            link("postgres", None),
            link("app", Some("no pg_hba.conf entry")),
        ];
        let after = vec![
            link("postgres", Some("fe_sendauth: no password supplied")),
            link("app", Some("still none")),
        ];
        let broken: Vec<String> = beside(after, &before)
            .into_iter()
            .filter(LinkState::broken)
            .map(|l| l.role)
            .collect();
        assert_eq!(broken, ["postgres"]);
        assert!(!beside(before.clone(), &before)
            .iter()
            .any(LinkState::broken));
    }
}
