//! What every node's and link's part of a status refresh needs to connect.

use crate::facts::Connection;
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::ProbeOptions;
use std::time::Duration;
use tokio_postgres::Client;

/// What every node's and link's work needs to connect.
pub struct Reach {
    pub plan: Plan,
    pub passwords: PasswordSource,
    pub tls: Tls,
    pub opts: ProbeOptions,
}

impl Reach {
    /// A session to `node`'s database `db`, bounded by the connect timeout.
    pub async fn open(&self, node: &Node, db: &str) -> Result<Client, Connection> {
        let cfg = crate::probe::config(
            node,
            &self.plan.superuser,
            db,
            &self.passwords,
            self.opts,
            &self.tls,
        );
        crate::probe::connect(&cfg, &self.tls, self.opts, None).await
    }

    /// How long one node's (or link's) part of a refresh may take.
    pub fn budget(&self) -> Duration {
        self.opts.connect_timeout * 2
    }
}
