//! ASYNC: links, measured from inside the node they start from, with the
//! options TimescaleDB itself connects with (passfile, TLS files:
//! facts::ServerFacts::engine_conninfo).
//!
//! The access node's links to the data nodes share one session of tsmn's
//! to the access node, which keeps one named dblink connection per data
//! node open between refreshes; a refresh is one statement there
//! (queries::LINKS) that sends `SELECT 1` on every link at once and times
//! each on the access node. The engine's `ping_data_node` would open a new
//! connection on every call, and a session per link would be 64 sessions
//! on the access node at 64 data nodes (more than a small server's
//! max_connections). Between data nodes, on demand, each data node runs
//! the same statement over tsmn's own session to it and closes its links
//! when done (64 data nodes would otherwise hold 4,032 connections).

use super::queries;
use super::reach::Reach;
use super::LinkStatus;
use crate::plan::Node;
use std::time::Duration;
use tokio_postgres::Client;

/// The access node's links, over one kept session.
#[derive(Default)]
pub(super) struct AccessLinks {
    session: Option<Prepared>,
    /// How long the statement waits for a link's answer (None: the
    /// connect timeout). A watch keeps it under its refresh's wait, so a
    /// data node that starts to hang is reported down within the refresh
    /// instead of holding the other links' results.
    pub answer_wait: Option<Duration>,
}

/// A session whose link functions are made, with each target's dblink
/// name and connection options.
struct Prepared {
    client: Client,
    names: Vec<String>,
    infos: Vec<String>,
}

impl AccessLinks {
    /// Every access node -> data node link now, but those in `skip` (a
    /// data node that hangs: a connect to it would hold the statement up
    /// to its timeout), reported untested with the reason given. A data
    /// node that does not answer is closed after the wait and reported as
    /// such; the others answer in the same statement.
    pub async fn refresh(&mut self, reach: &Reach, skip: &[(String, String)]) -> Vec<LinkStatus> {
        let an = &reach.plan.access_node;
        let all: Vec<&Node> = reach.plan.data_nodes.iter().collect();
        let tested: Vec<bool> = all
            .iter()
            .map(|n| !skip.iter().any(|(s, _)| *s == n.name))
            .collect();
        let targets: Vec<&Node> = all
            .iter()
            .zip(&tested)
            .filter(|(_, t)| **t)
            .map(|(n, _)| *n)
            .collect();
        let mut out = self.measured(reach, &all, &tested, &targets).await;
        out.extend(skip.iter().map(|(to, why)| LinkStatus {
            from: an.name.clone(),
            to: to.clone(),
            up: None,
            rtt_ms: None,
            error: Some(why.clone()),
            tested_seconds_ago: None,
        }));
        let order = |name: &str| all.iter().position(|n| n.name == name);
        out.sort_by_key(|l| order(&l.to));
        out
    }

    async fn measured(
        &mut self,
        reach: &Reach,
        all: &[&Node],
        tested: &[bool],
        targets: &[&Node],
    ) -> Vec<LinkStatus> {
        let an = &reach.plan.access_node;
        if targets.is_empty() {
            return Vec::new();
        }
        let margin = Duration::from_secs(1);
        let work = async {
            if self.session.as_ref().is_none_or(|p| p.client.is_closed()) {
                let client = reach.open(an, &reach.plan.database).await.map_err(|e| {
                    format!(
                        "tsmn cannot reach the access node: {}",
                        e.problem().unwrap_or_default()
                    )
                })?;
                self.session = Some(prepare(client, reach, all).await?);
            }
            let Some(p) = &self.session else {
                return Err("no session".to_string());
            };
            let pick = |v: &[String]| -> Vec<String> {
                v.iter()
                    .zip(tested)
                    .filter(|(_, t)| **t)
                    .map(|(x, _)| x.clone())
                    .collect()
            };
            let wait = self.answer_wait.unwrap_or(reach.opts.connect_timeout);
            measure(&p.client, &pick(&p.names), &pick(&p.infos), wait, true).await
        };
        match tokio::time::timeout(reach.budget() + margin, work).await {
            Ok(Ok(rows)) => statuses(&an.name, targets, rows),
            Ok(Err(why)) => {
                self.drop_session().await;
                untested(&an.name, targets, &why)
            }
            Err(_) => {
                self.drop_session().await;
                untested(
                    &an.name,
                    targets,
                    &format!(
                        "the access node did not answer within {} s",
                        (reach.budget() + margin).as_secs()
                    ),
                )
            }
        }
    }

    /// The session goes, and its dblink connections with it; a statement
    /// still running there (a link that hangs) is cancelled first.
    async fn drop_session(&mut self) {
        if let Some(p) = self.session.take() {
            let _ = p
                .client
                .cancel_token()
                .cancel_query(tokio_postgres::NoTls)
                .await;
        }
    }
}

/// The access node's settings that name the files of the links between
/// data nodes, read once per test of those links and shared by every data
/// node's part (the first to need them reads them).
pub(super) type AnSettings =
    std::sync::Arc<tokio::sync::OnceCell<Result<crate::facts::ServerFacts, String>>>;

async fn an_settings(reach: &Reach) -> Result<crate::facts::ServerFacts, String> {
    let an = reach
        .open(&reach.plan.access_node, "postgres")
        .await
        .map_err(|e| {
            format!(
                "the access node's settings, which name the files these links use, cannot be read: {}",
                e.problem().unwrap_or_default()
            )
        })?;
    super::slow::settings(&an)
        .await
        .map_err(|e| remote_error(&e))
}

/// On demand: from the data node `from` (over tsmn's session to it) to
/// every other data node, each connected, asked and closed, with the
/// options the engine's chunk copy gives it: the access node's, its
/// relative paths found in this data node's own directory
/// (`ServerFacts::as_seen_from`).
pub(super) async fn between_data_nodes(
    client: &Client,
    from: &Node,
    reach: &Reach,
    an_once: &AnSettings,
) -> Vec<LinkStatus> {
    // Each data node starts with the one after it, so that the data nodes,
    // all asked at once, do not all connect to the same node first.
    let dns = &reach.plan.data_nodes;
    let at = dns.iter().position(|d| d.name == from.name).unwrap_or(0);
    let targets: Vec<&Node> = dns
        .iter()
        .cycle()
        .skip(at + 1)
        .take(dns.len().saturating_sub(1))
        .collect();
    let work = async {
        let an = an_once.get_or_init(|| an_settings(reach)).await.clone()?;
        let (names, infos) = prepare_on(client, reach, &targets, Some(&an)).await?;
        measure(client, &names, &infos, reach.opts.connect_timeout, false).await
    };
    let mut out = match tokio::time::timeout(reach.budget() * 4, work).await {
        Ok(Ok(rows)) => statuses(&from.name, &targets, rows),
        Ok(Err(why)) => untested(&from.name, &targets, &why),
        Err(_) => untested(&from.name, &targets, "no answer in time"),
    };
    out.sort_by(|a, b| a.to.cmp(&b.to));
    out
}

async fn prepare(client: Client, reach: &Reach, targets: &[&Node]) -> Result<Prepared, String> {
    let (names, infos) = prepare_on(&client, reach, targets, None).await?;
    Ok(Prepared {
        client,
        names,
        infos,
    })
}

/// The link functions made in the session; each target's dblink name and
/// connection options: from the node's own settings (the access node's
/// links), or from the access node's as this node sees them (`an`: the
/// links between data nodes).
async fn prepare_on(
    client: &Client,
    reach: &Reach,
    targets: &[&Node],
    an: Option<&crate::facts::ServerFacts>,
) -> Result<(Vec<String>, Vec<String>), String> {
    client
        .batch_execute(queries::LINK_FUNCTIONS)
        .await
        .map_err(|e| {
            format!(
            "dblink cannot be used there ({}); install PostgreSQL's contrib package on that node",
            remote_error(&e)
        )
        })?;
    let own = super::slow::settings(client)
        .await
        .map_err(|e| remote_error(&e))?;
    let facts = match an {
        Some(an) => an.as_seen_from(own.setting("data_directory").unwrap_or_default()),
        None => own,
    };
    let infos = targets
        .iter()
        .map(|to| {
            // The cluster database, where the engine's own links go.
            facts.engine_conninfo(
                &reach.plan.superuser,
                &reach.plan.database,
                (&to.host, to.port),
                reach.opts.connect_timeout,
            )
        })
        .collect();
    let names = targets.iter().map(|t| format!("tsmn:{}", t.name)).collect();
    Ok((names, infos))
}

/// Each link's (milliseconds, error), in the targets' order.
type Measured = Vec<(Option<f64>, Option<String>)>;

/// One statement over the session: every link at once.
async fn measure(
    client: &Client,
    names: &[String],
    infos: &[String],
    wait: Duration,
    keep: bool,
) -> Result<Measured, String> {
    // The statement's own wait for answers (a connect that hangs is
    // bounded by the connect timeout, inside libpq).
    let wait_ms = wait.as_millis().to_string();
    let keep = keep.to_string();
    let params = [
        crate::pg::Text::Many(names),
        crate::pg::Text::Many(infos),
        crate::pg::Text::One(&wait_ms),
        crate::pg::Text::One(&keep),
    ];
    let rows = crate::pg::rows(client, queries::LINKS, &params)
        .await
        .map_err(|e| remote_error(&e))?;
    Ok(rows.iter().map(|r| (r.get(1), r.get(2))).collect())
}

fn statuses(from: &str, targets: &[&Node], measured: Measured) -> Vec<LinkStatus> {
    targets
        .iter()
        .zip(measured)
        .map(|(to, (ms, error))| LinkStatus {
            from: from.to_string(),
            to: to.name.clone(),
            up: Some(error.is_none() && ms.is_some()),
            rtt_ms: ms,
            // libpq's messages carry line breaks and tabs: one line.
            error: error.map(|e| e.split_whitespace().collect::<Vec<_>>().join(" ")),
            tested_seconds_ago: None,
        })
        .collect()
}

fn untested(from: &str, targets: &[&Node], why: &str) -> Vec<LinkStatus> {
    targets
        .iter()
        .map(|to| LinkStatus {
            from: from.to_string(),
            to: to.name.clone(),
            up: None,
            rtt_ms: None,
            error: Some(why.to_string()),
            tested_seconds_ago: None,
        })
        .collect()
}

/// The node's own words: libpq's message is dblink's DETAIL.
fn remote_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => d.trim().to_string(),
            None => db.message().to_string(),
        },
        None => crate::run::session::describe(e),
    }
}
