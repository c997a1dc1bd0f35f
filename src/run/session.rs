//! The executor's connections: one per (node, database), opened on first use
//! and kept for the whole run (the probe's own connections are adopted, so a
//! node sees one tsmn session for a whole `tsmn apply`). The server's notices
//! and warnings are forwarded as events. Shared by the data nodes' parallel
//! tasks, hence the lock around the map (held only to look up or insert).

use super::{Event, Events};
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::{OnNotice, ProbeOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_postgres::Client;

pub struct Sessions<'a> {
    pub plan: &'a Plan,
    pub passwords: &'a PasswordSource,
    pub opts: ProbeOptions,
    pub tls: Tls,
    notices: OnNotice,
    /// Data nodes that leave the cluster in this run (not in the plan).
    pub leaving: Vec<Node>,
    /// The steps of this run that changed a server (for a step that acts
    /// only after them: a TLS reload).
    pub changed: Mutex<std::collections::HashSet<String>>,
    /// The access node's facts as the link proofs read them, with how many
    /// of this run's steps had changed it then (read again after another).
    pub an_facts: Mutex<Option<(usize, crate::facts::ServerFacts)>>,
    /// (node, database, lane): lane 0 is the node's usual session; steps
    /// that run together on one node take one lane each.
    open: Mutex<HashMap<(String, String, usize), Arc<Client>>>,
}

/// Server notices as the executor's events.
pub fn notices_to(events: Events) -> OnNotice {
    Arc::new(move |node: &str, message: String| {
        let _ = events.send(Event::Note {
            node: node.to_string(),
            message: crate::timescale::notice_for_people(&message),
        });
    })
}

impl<'a> Sessions<'a> {
    pub fn new(
        plan: &'a Plan,
        passwords: &'a PasswordSource,
        opts: ProbeOptions,
        tls: Tls,
        events: Events,
    ) -> Self {
        Sessions {
            plan,
            passwords,
            opts,
            tls,
            notices: notices_to(events),
            leaving: Vec::new(),
            changed: Mutex::new(std::collections::HashSet::new()),
            an_facts: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
        }
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.plan
            .nodes()
            .find(|n| n.name == name)
            .or_else(|| self.leaving.iter().find(|n| n.name == name))
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, usize), Arc<Client>>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh connection (not cached): used to prove that tsmn can still
    /// get in after a pg_hba.conf change.
    pub async fn fresh(&self, node: &str, db: &str) -> Result<Client, String> {
        let n = self
            .node(node)
            .ok_or_else(|| format!("no node {node} in the plan"))?;
        let cfg = crate::probe::config(
            n,
            &self.plan.superuser,
            db,
            self.passwords,
            self.opts,
            &self.tls,
        );
        let on_notice = Some((node.to_string(), self.notices.clone()));
        crate::probe::connect(&cfg, &self.tls, self.opts, on_notice)
            .await
            .map_err(|c| c.problem().unwrap_or_default())
    }

    /// The cached connection to `db` on `node`, opened on first use (again
    /// when the cached one has closed).
    pub async fn get(&self, node: &str, db: &str) -> Result<Arc<Client>, String> {
        self.get_on(node, db, 0).await
    }

    /// `get` on one lane of the node: a session of its own, for a step that
    /// runs at the same time as others on the same node.
    pub async fn get_on(&self, node: &str, db: &str, lane: usize) -> Result<Arc<Client>, String> {
        let key = (node.to_string(), db.to_string(), lane);
        if let Some(c) = self.map().get(&key).filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let client = Arc::new(self.fresh(node, db).await?);
        self.map().insert(key, client.clone());
        Ok(client)
    }

    /// Keep a connection opened elsewhere (the probe's) for `db` on `node`.
    pub fn adopt(&self, node: &str, db: &str, client: Client) {
        self.map()
            .insert((node.to_string(), db.to_string(), 0), Arc::new(client));
    }

    /// Forget the connections to a node (it is being restarted, or one failed).
    pub fn drop_node(&self, node: &str) {
        self.map().retain(|(n, _, _), _| n != node);
    }
}

/// The server's message (with DETAIL), or the chain of causes.
pub fn describe(e: &tokio_postgres::Error) -> String {
    crate::probe::failure(e).problem().unwrap_or_default()
}
