//! ASYNC: what changes slowly and costs more than a refresh should: the
//! database's size (pg_database_size stats every file of the database:
//! 1.4 ms of a data node's CPU with 100 chunks), the free space under the
//! data directory (`df`, a process the server starts, so superuser only)
//! and the certificates' days left (read as check reads them). Read at a node's first snapshot and then at most
//! once every `EVERY`, so that a watch refresh stays one round trip per
//! node; between two readings a snapshot shows the last one.

use super::{queries, CertificateStatus, Disk};
use crate::facts::{ServerFacts, Setting};
use crate::plan::Plan;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// A minute: a filesystem that fills faster than that is noticed by the
/// server's own errors first, and a certificate's days do not move.
pub(super) const EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default)]
pub(super) struct Slow {
    /// The size of the database tsmn's session is in.
    pub database_bytes: i64,
    pub disk: Option<Disk>,
    pub certificates: Vec<CertificateStatus>,
    read_at: Option<Instant>,
}

impl Slow {
    pub fn due(&self) -> bool {
        self.read_at.is_none_or(|t| t.elapsed() >= EVERY)
    }
}

/// The node's settings that say where its files are (data directory, TLS
/// files, TimescaleDB's passfile and certificate directory).
pub(super) async fn settings(client: &Client) -> Result<ServerFacts, tokio_postgres::Error> {
    let rows = crate::pg::rows(client, queries::FILE_SETTINGS, &[]).await?;
    let mut facts = ServerFacts::default();
    for r in rows {
        facts.settings.insert(
            r.get(0),
            Setting {
                value: r.get(1),
                source: r.get(2),
                pending_restart: false,
            },
        );
    }
    Ok(facts)
}

/// Read both now. Anything that cannot be read stays unknown (None, or no
/// certificate): status reports, it does not fail on its extras.
pub(super) async fn read(client: &Client, plan: &Plan, access: bool) -> Slow {
    let mut slow = Slow {
        read_at: Some(Instant::now()),
        ..Slow::default()
    };
    if let Ok(r) = crate::pg::one(client, "SELECT pg_database_size(current_database())", &[]).await
    {
        slow.database_bytes = r.get(0);
    }
    let Ok(facts) = settings(client).await else {
        return slow;
    };
    if let Some(dir) = facts.setting("data_directory") {
        slow.disk = crate::probe::disk::read(client, dir).await;
    }
    slow.certificates = crate::probe::certs::certificates(client, &facts, plan, access)
        .await
        .into_iter()
        .map(|c| CertificateStatus {
            days_left: (c.not_after - c.checked_at).div_euclid(86_400),
            not_yet_valid: c.checked_at < c.not_before,
            what: c.what,
            path: c.path,
        })
        .collect();
    slow
}
