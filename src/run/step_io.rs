//! What every kind of action needs of its step: the step's session on its
//! node, its failure as an outcome, a server path made absolute, a role's
//! password checked. The action modules (exec, hba, rotate, undo, verify)
//! use these; none of them uses another's.

use super::session::{describe, Sessions};
use super::Outcome;
use crate::steps::{ServerPath, Step};
use tokio_postgres::Client;

/// A step's failure, as its outcome.
pub(super) fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
    }
}

/// Whether `role`'s stored SCRAM verifier on this server belongs to
/// `password` (false for no such role, or no password).
pub(super) async fn has_password(
    client: &Client,
    role: &str,
    password: &str,
) -> Result<bool, String> {
    let stored = crate::pg::opt(
        client,
        "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
        &[crate::pg::Text::One(role)],
    )
    .await
    .map_err(|e| describe(&e))?;
    Ok(stored
        .and_then(|row| row.get::<_, Option<String>>(0))
        .is_some_and(|v| crate::steps::secrets::verifier_matches(password, &v)))
}

/// A server path made absolute on the server it names.
pub(super) async fn server_path(client: &Client, path: &ServerPath) -> Result<String, Outcome> {
    match path {
        ServerPath::Absolute(p) => Ok(p.clone()),
        ServerPath::DataDir(rel) => {
            match crate::pg::one(client, "SELECT current_setting('data_directory')", &[]).await {
                Ok(r) => Ok(format!(
                    "{}/{rel}",
                    r.get::<_, String>(0).trim_end_matches('/')
                )),
                Err(e) => Err(failed(describe(&e))),
            }
        }
    }
}

/// The step's node's session in `postgres`, or the step's failure.
pub(super) async fn node_session(
    s: &Step,
    sessions: &Sessions<'_>,
) -> Result<std::sync::Arc<Client>, Outcome> {
    sessions
        .get(&s.node, "postgres")
        .await
        .map_err(|e| failed(format!("cannot connect to {}: {e}", s.node)))
}

/// The step's node's session in `database`, or the step's failure.
pub(super) async fn session_in(
    s: &Step,
    database: &str,
    lane: usize,
    sessions: &Sessions<'_>,
) -> Result<std::sync::Arc<Client>, Outcome> {
    sessions.get_on(&s.node, database, lane).await.map_err(|e| {
        failed(format!(
            "cannot connect to database {database} on {}: {e}",
            s.node
        ))
    })
}
