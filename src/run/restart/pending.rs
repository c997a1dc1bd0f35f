//! What a node says over its connection: the settings waiting for a
//! restart, where its files and programs are, and who it is.

use crate::run::session::Sessions;

/// What a node waits for: its pending-restart settings, and where it runs.
#[derive(Clone)]
pub(super) struct Pending {
    pub(super) settings: String,
    pub(super) data: String,
    pub(super) bindir: String,
    pub(super) config_file: String,
    /// Who the server says it is, to prove the one on this host is it.
    pub(super) identity: Identity,
    /// Its logging collector's directory (relative to the data directory
    /// when not absolute); empty when it logs to stderr.
    pub(super) log_directory: String,
}

/// What a server says of itself over its connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Identity {
    pub(super) port: String,
    /// pg_postmaster_start_time(), in seconds since the epoch.
    pub(super) started: i64,
    pub(super) system_identifier: String,
}

/// One node asked, on its kept session (opened again when the node was
/// restarted). A node that does not answer loses its cached session, so the
/// next ask connects anew.
pub(super) async fn pending(sessions: &Sessions<'_>, n: &str) -> Result<Pending, String> {
    let r = async {
        let client = sessions.get(n, "postgres").await?;
        ask(&client).await
    }
    .await;
    if r.is_err() {
        sessions.drop_node(n);
    }
    r
}

/// What `ask` reads: the settings pending a restart, where the server's
/// files and programs are, who it is, where it logs.
/// A setting waits for a restart when the server says so (pending_restart,
/// which a session sees only once it has processed the reload: right after
/// `pg_reload_conf()` it may still say no) or when the configuration files
/// hold a value for a postmaster setting that the server could not apply
/// (pg_file_settings reads the files at once).
const ASK_SQL: &str = "SELECT coalesce((SELECT string_agg(s.name, ', ' ORDER BY s.name) FROM pg_settings s WHERE s.pending_restart \
     OR (s.context = 'postmaster' AND EXISTS (SELECT FROM pg_file_settings f WHERE f.name = s.name AND NOT f.applied AND f.error IS NOT NULL \
         AND f.seqno = (SELECT max(g.seqno) FROM pg_file_settings g WHERE g.name = s.name)))), ''), \
     current_setting('data_directory'), coalesce((SELECT setting FROM pg_config WHERE name = 'BINDIR'), ''), current_setting('config_file'), \
     current_setting('port'), extract(epoch FROM pg_postmaster_start_time())::int8, \
     (SELECT system_identifier::text FROM pg_control_system()), \
     CASE WHEN current_setting('logging_collector') = 'on' THEN current_setting('log_directory') ELSE '' END";

/// What a server says of its pending settings and of itself.
pub(super) async fn ask(client: &tokio_postgres::Client) -> Result<Pending, String> {
    {
        let row = crate::pg::one(client, ASK_SQL, &[])
            .await
            .map_err(|e| crate::run::session::describe(&e))?;
        Ok(Pending {
            settings: row.get(0),
            data: row.get(1),
            bindir: row.get(2),
            config_file: row.get(3),
            identity: Identity {
                port: row.get(4),
                started: row.get(5),
                system_identifier: row.get(6),
            },
            log_directory: row.get(7),
        })
    }
}

/// Every node asked at once.
pub(super) async fn pending_all(
    sessions: &Sessions<'_>,
    nodes: &[String],
) -> Vec<(String, Result<Pending, String>)> {
    let asks = nodes
        .iter()
        .map(|n| async move { (n.clone(), pending(sessions, n).await) });
    futures_util::future::join_all(asks).await
}

/// Back with nothing pending.
pub(super) fn settled(p: &Result<Pending, String>) -> bool {
    matches!(p, Ok(p) if p.settings.is_empty())
}
