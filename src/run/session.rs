//! The executor's connections: one per (node, database), kept for the run,
//! with the server's notices and warnings forwarded as events.

use super::{Event, Events};
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::ProbeOptions;
use futures_util::future::poll_fn;
use std::collections::HashMap;
use tokio_postgres::config::SslMode;
use tokio_postgres::{AsyncMessage, Client};
use tokio_postgres_rustls::MakeRustlsConnect;

pub struct Sessions<'a> {
    pub plan: &'a Plan,
    pub passwords: &'a PasswordSource,
    pub opts: ProbeOptions,
    pub tls: MakeRustlsConnect,
    pub mode: SslMode,
    pub events: Events,
    open: HashMap<(String, String), Client>,
}

impl<'a> Sessions<'a> {
    pub fn new(
        plan: &'a Plan,
        passwords: &'a PasswordSource,
        opts: ProbeOptions,
        tls: MakeRustlsConnect,
        mode: SslMode,
        events: Events,
    ) -> Self {
        Sessions {
            plan,
            passwords,
            opts,
            tls,
            mode,
            events,
            open: HashMap::new(),
        }
    }

    pub fn node(&self, name: &str) -> Option<&'a Node> {
        self.plan.nodes().find(|n| n.name == name)
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
            self.mode,
        );
        let connect = async {
            let (client, mut conn) = cfg
                .connect(self.tls.clone())
                .await
                .map_err(|e| describe(&e))?;
            let events = self.events.clone();
            let node = node.to_string();
            tokio::spawn(async move {
                while let Some(msg) = poll_fn(|cx| conn.poll_message(cx)).await {
                    match msg {
                        Ok(AsyncMessage::Notice(n)) => {
                            let _ = events.send(Event::Note {
                                node: node.clone(),
                                message: format!("{}: {}", n.severity(), n.message()),
                            });
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            });
            Ok::<Client, String>(client)
        };
        match tokio::time::timeout(self.opts.connect_timeout, connect).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {} s",
                self.opts.connect_timeout.as_secs()
            )),
        }
    }

    /// The cached connection to `db` on `node`, opened on first use.
    pub async fn get(&mut self, node: &str, db: &str) -> Result<&Client, String> {
        let key = (node.to_string(), db.to_string());
        let stale = self.open.get(&key).is_some_and(|c| c.is_closed());
        if stale {
            self.open.remove(&key);
        }
        if !self.open.contains_key(&key) {
            let client = self.fresh(node, db).await?;
            self.open.insert(key.clone(), client);
        }
        Ok(&self.open[&key])
    }

    /// Forget the connections to a node (it is being restarted).
    pub fn drop_node(&mut self, node: &str) {
        self.open.retain(|(n, _), _| n != node);
    }
}

/// The server's message (with DETAIL), or the chain of causes.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match crate::probe::failure(e) {
        crate::facts::Connection::Failed { message, .. } => message,
        other => format!("{other:?}"),
    }
}
