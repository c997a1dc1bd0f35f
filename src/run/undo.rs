//! Running `tsmn undo`'s file steps: a file the last run changed goes back
//! to its backup, one it made goes away; the file as it is now is kept
//! beside it first, as before every change tsmn makes.

use super::files::{self, program};
use super::hba::reload_unless_hba_errors;
use super::session::{describe, Sessions};
use super::step_io::{failed, node_session};
use super::Outcome;
use crate::quote::shell;
use crate::steps::Step;
use tokio_postgres::Client;

pub async fn restore(
    s: &Step,
    path: &str,
    backup: Option<&str>,
    sessions: &Sessions<'_>,
    stamp: &str,
) -> Outcome {
    let held = match node_session(s, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    let now = match files::remote_sha(client, path).await {
        Ok(sha) => sha,
        Err(e) => return failed(e),
    };
    let Some(backup) = backup else {
        if now.is_none() {
            return Outcome::AlreadyDone {
                detail: format!("{path} is gone already"),
            };
        }
        // The settings stay: a certificate, key or CA the server's TLS uses
        // stays too, or its next start would fail.
        match uses(client, path).await {
            Ok(Uses { tls: false, .. }) => {}
            Ok(Uses { tls: true, .. }) => {
                return Outcome::Skipped {
                    why: format!("{path} stays: the server runs with ssl = on and reads it (its next start would fail without it); turn ssl off there first, then remove it"),
                }
            }
            Err(e) => return failed(e),
        }
        let keep = match files::free_backup(client, path, stamp).await {
            Ok(k) => k,
            Err(e) => return failed(e),
        };
        let (p, k) = (shell::word(path), shell::word(&keep));
        return match program(client, &format!("mv -f {p} {k}")).await {
            Ok(()) => Outcome::Done {
                detail: format!("removed {path} (the last run made it); kept as {keep}"),
            },
            Err(e) => failed(format!("removing {path}: {e}")),
        };
    };
    let was = match files::remote_sha(client, backup).await {
        Ok(Some(sha)) => sha,
        Ok(None) => {
            return failed(format!(
                "the backup {backup} is gone; {path} was not changed"
            ))
        }
        Err(e) => return failed(e),
    };
    if now.as_deref() == Some(was.as_str()) {
        return Outcome::AlreadyDone {
            detail: format!("{path} is as it was before the last run"),
        };
    }
    // The server reads this file as its pg_hba.conf: checked after it is
    // put back, and restored on error.
    let hba = match uses(client, path).await {
        Ok(u) => u.hba,
        Err(e) => return failed(e),
    };
    let keep = match files::free_backup(client, path, stamp).await {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    let (p, k) = (shell::word(path), shell::word(&keep));
    if now.is_some() {
        if let Err(e) = program(client, &format!("cp -p {p} {k}")).await {
            return failed(format!("backing up {path}: {e}; nothing was changed"));
        }
    }
    if let Err(e) = files::restore(client, path, backup).await {
        return failed(e);
    }
    // Read back: the file is its backup again.
    match files::remote_sha(client, path).await {
        Ok(Some(sha)) if sha == was => {}
        _ => {
            return failed(format!(
                "{path} read back differs from {backup}; the file as it was is in {keep}"
            ))
        }
    }
    if hba {
        let errs = reload_unless_hba_errors(client).await;
        if !errs.is_empty() {
            let back = files::restore(client, path, &keep).await;
            return failed(format!(
                "{path} from {backup} would not load ({}); the file as it was is back{}",
                errs.join("; "),
                back.err()
                    .map(|e| format!(" -- BUT: {e}"))
                    .unwrap_or_default()
            ));
        }
    }
    Outcome::Done {
        detail: format!(
            "put back from {backup}{}; the file as it was is in {keep}",
            if hba { ", checked and reloaded" } else { "" }
        ),
    }
}

/// What the server reads `path` as: its pg_hba.conf, or (with ssl on)
/// its certificate, key or CA.
struct Uses {
    hba: bool,
    tls: bool,
}

async fn uses(client: &Client, path: &str) -> Result<Uses, String> {
    let row = crate::pg::one(
        client,
        "SELECT current_setting('hba_file') = $1, current_setting('ssl') = 'on' AND $1 IN (SELECT CASE WHEN f LIKE '/%' THEN f ELSE current_setting('data_directory') || '/' || f END \
         FROM unnest(ARRAY[current_setting('ssl_cert_file'), current_setting('ssl_key_file'), current_setting('ssl_ca_file')]) AS f WHERE f <> '')",
        &[crate::pg::Text::One(path)],
    )
    .await
    .map_err(|e| describe(&e))?;
    Ok(Uses {
        hba: row.get(0),
        tls: row.get(1),
    })
}
