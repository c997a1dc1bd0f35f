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
    /// Password mode: the superuser's password as the access node uses it
    /// (tsmn set it on the data nodes): a leaving data node is reached
    /// where the access node reaches it, whose rule asks for it.
    pub leaving_password: Option<secrecy::SecretString>,
    /// Certificate mode: TLS with the superuser's client certificate from
    /// the material (as the access node logs in), for the leaving nodes.
    pub leaving_tls: Option<Tls>,
    /// The steps of this run that changed a server (for a step that acts
    /// only after them: a TLS reload).
    pub changed: Mutex<std::collections::HashSet<String>>,
    /// The access node's facts as the link proofs read them, with how many
    /// of this run's steps had changed it then (read again after another).
    pub an_facts: Mutex<Option<(usize, crate::facts::ServerFacts)>>,
    /// (node, database, lane): lane 0 is the node's usual session; steps
    /// that run together on one node take one lane each.
    open: Mutex<HashMap<(String, String, usize), Arc<Client>>>,
    /// The command that runs (RunOptions::kind), for messages made below
    /// the options.
    pub kind: super::RunKind,
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
            leaving_password: None,
            leaving_tls: None,
            changed: Mutex::new(std::collections::HashSet::new()),
            an_facts: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
            kind: super::RunKind::Apply,
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
        let is_leaving = self.leaving.iter().any(|l| l.name == node);
        let tls = match &self.leaving_tls {
            Some(t) if is_leaving => t,
            _ => &self.tls,
        };
        let mut cfg =
            crate::probe::config(n, &self.plan.superuser, db, self.passwords, self.opts, tls);
        if let Some(pw) = self
            .leaving_password
            .as_ref()
            .filter(|_| is_leaving && cfg.get_password().is_none())
        {
            use secrecy::ExposeSecret;
            cfg.password(pw.expose_secret().as_bytes());
        }
        let on_notice = Some((node.to_string(), self.notices.clone()));
        crate::probe::connect(&cfg, tls, self.opts, on_notice)
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

    /// A session this run already has open on `node` (any database, any
    /// lane), opening none: for a question at the end of the run that must
    /// not wait for a node the run never reached.
    pub fn any_open(&self, node: &str) -> Option<Arc<Client>> {
        self.map()
            .iter()
            .find(|((n, _, _), c)| n == node && !c.is_closed())
            .map(|(_, c)| c.clone())
    }

    /// Keep a connection opened elsewhere (the probe's) for `db` on `node`.
    pub fn adopt(&self, node: &str, db: &str, client: Client) {
        self.map()
            .insert((node.to_string(), db.to_string(), 0), Arc::new(client));
    }

    /// How tsmn logs in to a leaving data node, where the access node
    /// reaches it (its rule asks for what the access node presents): in
    /// password mode the superuser's role password, in certificate mode
    /// its client certificate from the material.
    pub fn leaving_credentials(&mut self, o: &super::RunOptions<'_>) {
        use crate::plan::AuthMode;
        match o.plan.auth.mode {
            AuthMode::Password => {
                self.leaving_password = o
                    .secrets
                    .password(&o.plan.superuser, "")
                    .ok()
                    .map(|p| secrecy::SecretString::from(p.to_string()));
            }
            AuthMode::Certificate => {
                self.leaving_tls = o
                    .material
                    .and_then(|m| leaving_tls(&m.dir, &o.plan.superuser));
            }
            AuthMode::Trust => {}
        }
    }

    /// Forget the connections to a node (it is being restarted, or one failed).
    pub fn drop_node(&self, node: &str) {
        self.map().retain(|(n, _, _), _| n != node);
    }
}

/// Certificate mode: tsmn reaches a leaving data node where the access
/// node does, whose rule asks for a client certificate: the superuser's
/// from the material (the one the access node uses), over TLS checked
/// against tsmn's CA.
fn leaving_tls(dir: &std::path::Path, superuser: &str) -> Option<crate::probe::tls::Tls> {
    use crate::probe::tls::{Sourced, TlsSettings};
    let file = |name: String| Sourced {
        value: dir.join(name).display().to_string(),
        from: "the certificate material".into(),
    };
    let stem = crate::timescale::cert_file_stem(superuser);
    Tls::new(&TlsSettings {
        mode: crate::plan::SslMode::Require,
        mode_from: "certificate mode".into(),
        root: Some(file("ca.crt".into())),
        client: Some((
            file(format!("client-{stem}.crt")),
            file(format!("client-{stem}.key")),
        )),
    })
    .ok()
}

/// The server's message (with DETAIL), or the chain of causes.
pub fn describe(e: &tokio_postgres::Error) -> String {
    crate::probe::failure(e).problem().unwrap_or_default()
}
