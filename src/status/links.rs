//! ASYNC: the link access node -> data node, kept open between refreshes.
//! Each link has a session of its own to the access node (so a data node
//! that hangs delays only its own link), holding one dblink connection to
//! the data node made with the options TimescaleDB itself uses (passfile,
//! TLS files: probe::access_side::options_as). A refresh is then one query
//! over that open connection, timed on the access node: the engine's
//! `ping_data_node` would open a new connection every time.

use super::collect::Reach;
use super::queries;
use super::LinkStatus;
use crate::facts::{ServerFacts, Setting};
use crate::plan::Node;
use tokio_postgres::Client;

pub(super) struct Link {
    to: Node,
    /// A session to the access node whose dblink connection is open.
    session: Option<Client>,
}

/// Why the link was not tested, or how it failed.
enum Outcome {
    Up(f64),
    Down(String),
    NotTested(String),
}

impl Link {
    pub fn new(to: &Node) -> Link {
        Link {
            to: to.clone(),
            session: None,
        }
    }

    /// The link now, bounded by the reach's budget.
    pub async fn refresh(&mut self, reach: &Reach, an: &Node) -> LinkStatus {
        let outcome = match tokio::time::timeout(reach.budget(), self.measure(reach, an)).await {
            Ok(o) => o,
            Err(_) => Outcome::Down(format!(
                "timeout expired: no answer within {} s",
                reach.budget().as_secs()
            )),
        };
        let mut status = LinkStatus {
            from: an.name.clone(),
            to: self.to.name.clone(),
            up: None,
            rtt_ms: None,
            error: None,
        };
        match outcome {
            Outcome::Up(ms) => {
                status.up = Some(true);
                status.rtt_ms = Some(ms);
            }
            Outcome::Down(e) => {
                self.drop_session().await;
                status.up = Some(false);
                status.error = Some(e);
            }
            Outcome::NotTested(why) => {
                self.drop_session().await;
                status.error = Some(why);
            }
        }
        status
    }

    /// The session goes, and its dblink connection with it; a query still
    /// running there (a hung data node) is cancelled first.
    async fn drop_session(&mut self) {
        if let Some(c) = self.session.take() {
            let _ = c.cancel_token().cancel_query(tokio_postgres::NoTls).await;
        }
    }

    async fn measure(&mut self, reach: &Reach, an: &Node) -> Outcome {
        if self.session.as_ref().is_none_or(Client::is_closed) {
            match self.connect(reach, an).await {
                Ok(c) => self.session = Some(c),
                Err(o) => return o,
            }
        }
        let Some(c) = &self.session else {
            return Outcome::NotTested("no session".into());
        };
        match crate::pg::one(c, queries::LINK_RTT, &[]).await {
            Ok(row) => Outcome::Up(row.get(0)),
            Err(e) => Outcome::Down(remote_error(&e)),
        }
    }

    /// A session to the access node with the link's dblink connection open.
    async fn connect(&self, reach: &Reach, an: &Node) -> Result<Client, Outcome> {
        let c = reach.open(an, &reach.plan.database).await.map_err(|e| {
            Outcome::NotTested(format!(
                "tsmn cannot reach the access node: {}",
                e.problem().unwrap_or_default()
            ))
        })?;
        c.batch_execute(queries::LINK_FUNCTIONS).await.map_err(|e| {
            Outcome::NotTested(format!(
                "dblink cannot be used on the access node ({}); install PostgreSQL's contrib package there",
                remote_error(&e)
            ))
        })?;
        let rows = crate::pg::rows(&c, queries::LINK_SETTINGS, &[])
            .await
            .map_err(|e| Outcome::NotTested(remote_error(&e)))?;
        let mut an_facts = ServerFacts::default();
        for r in rows {
            an_facts.settings.insert(
                r.get(0),
                Setting {
                    value: r.get(1),
                    source: r.get(2),
                    pending_restart: false,
                },
            );
        }
        // The cluster database, where the engine's own links go.
        let info = crate::probe::access_side::options_as(
            &reach.plan.superuser,
            &reach.plan.database,
            &an_facts,
            &self.to.host,
            self.to.port,
            reach.opts,
        );
        let params = [crate::pg::Text::One(&info)];
        crate::pg::one(&c, queries::LINK_CONNECT, &params)
            .await
            .map_err(|e| Outcome::Down(remote_error(&e)))?;
        Ok(c)
    }
}

/// The access node's own words: libpq's message is dblink's DETAIL.
fn remote_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => d.trim().to_string(),
            None => db.message().to_string(),
        },
        None => crate::run::session::describe(e),
    }
}
