//! The access node's links to one data node, tried the way TimescaleDB
//! makes them (each role, the access node's passfile and certificates,
//! through dblink inside the access node): the engine's answer to "does
//! this change break what worked?", asked before and after a data node's
//! pg_hba.conf changes.

use super::session::Sessions;
use super::RunOptions;
use crate::probe::access_side::{options_as, DBLINK_FUNCTION};
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
) -> Option<Vec<(String, Result<(), String>)>> {
    let dn = o.plan.data_nodes.iter().find(|d| d.name == data_node)?;
    let (client, an) = asker(o, sessions).await?;
    Some(roles_to(&client, &an, o, dn).await)
}

/// Every link of the plan (each data node, each role), tried at once.
pub async fn all(o: &RunOptions<'_>, sessions: &Sessions<'_>) -> Option<Vec<LinkState>> {
    let (client, an) = asker(o, sessions).await?;
    let tries = o.plan.data_nodes.iter().map(|dn| {
        let (client, an) = (&client, &an);
        async move {
            roles_to(client, an, o, dn)
                .await
                .into_iter()
                .map(|(role, works)| LinkState {
                    data_node: dn.name.clone(),
                    role,
                    before: None,
                    error: works.err(),
                })
                .collect::<Vec<_>>()
        }
    });
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
) -> Vec<(String, Result<(), String>)> {
    let tries = o.plan.auth.roles.iter().map(|role| {
        let info = options_as(role, an, &dn.host, dn.port, o.probe);
        async move {
            (
                role.clone(),
                one(client, &info, o.probe.connect_timeout).await,
            )
        }
    });
    futures_util::future::join_all(tries).await
}

/// One connection from inside the access node, bounded by tsmn's timeout.
async fn one(client: &Client, info: &str, timeout: std::time::Duration) -> Result<(), String> {
    let params = [crate::pg::Text::One(info)];
    let tried = crate::pg::one(
        client,
        "SELECT 1 FROM pg_temp.tsmn_dblink($1, 'SELECT 1') AS t(x int)",
        &params,
    );
    match tokio::time::timeout(timeout + std::time::Duration::from_secs(2), tried).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(match e.as_db_error() {
            Some(db) => db.detail().unwrap_or(db.message()).trim().to_string(),
            None => e.to_string(),
        }),
        Err(_) => {
            let _ = client
                .cancel_token()
                .cancel_query(tokio_postgres::NoTls)
                .await;
            Err(format!("no answer within {} s", timeout.as_secs()))
        }
    }
}

/// PURE: the links that worked `before` and do not `after`, with the
/// error the access node has now.
pub fn broken(
    before: &[(String, Result<(), String>)],
    after: &[(String, Result<(), String>)],
) -> Vec<(String, String)> {
    before
        .iter()
        .filter(|(_, b)| b.is_ok())
        .filter_map(|(role, _)| {
            after
                .iter()
                .find(|(r, _)| r == role)
                .and_then(|(_, a)| a.as_ref().err())
                .map(|e| (role.clone(), e.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_links_that_worked_can_break() {
        let before = vec![
            ("postgres".to_string(), Ok(())),
            ("app".to_string(), Err("no pg_hba.conf entry".to_string())),
        ];
        let after = vec![
            (
                "postgres".to_string(),
                Err("fe_sendauth: no password supplied".to_string()),
            ),
            ("app".to_string(), Err("still none".to_string())),
        ];
        assert_eq!(
            super::broken(&before, &after),
            vec![(
                "postgres".to_string(),
                "fe_sendauth: no password supplied".to_string()
            )]
        );
        assert!(super::broken(&before, &before).is_empty());
    }
}
