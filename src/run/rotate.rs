//! Running a password rotation step (`steps/rotate.rs`): the passfile is
//! read first, so that between the data node's new verifier and the
//! passfile line that matches it there is only the write itself.

use super::files;
use super::session::{describe, Sessions};
use super::step_io::{failed, server_path};
use super::{Outcome, RunOptions};
use crate::quote::{pgpass, sql};
use crate::steps::{Part, ServerPath, Step, Template};
use secrecy::ExposeSecret;
use tokio_postgres::Client;

pub struct Rotation<'a> {
    pub role: &'a str,
    pub data_node: &'a str,
    pub host: &'a str,
    pub port: i64,
    pub database: &'a str,
    pub passfile: &'a ServerPath,
    pub last: bool,
}

pub async fn run(
    s: &Step,
    r: &Rotation<'_>,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    stamp: &str,
) -> Outcome {
    let hint = "the role password variables";
    let password = match o.secrets.password(r.role, hint) {
        Ok(p) => p,
        Err(e) => return failed(e.to_string()),
    };
    let (an, dn) = match (
        sessions.get(&s.node, "postgres").await,
        sessions.get(r.data_node, "postgres").await,
    ) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) => return failed(format!("cannot connect to {}: {e}", s.node)),
        (_, Err(e)) => return failed(format!("cannot connect to {}: {e}", r.data_node)),
    };
    let (an, dn): (&Client, &Client) = (&an, &dn);
    let path = match server_path(an, r.passfile).await {
        Ok(p) => p,
        Err(e) => return e,
    };
    let old = match crate::pg::one(
        an,
        "SELECT pg_read_file($1, 0, 100000000, true)",
        &[crate::pg::Text::One(&path)],
    )
    .await
    {
        Ok(row) => row.get::<_, Option<String>>(0),
        Err(e) => return failed(format!("reading {path}: {}", describe(&e))),
    };
    let port = u16::try_from(r.port).unwrap_or(5432);
    let text = old.clone().unwrap_or_default();
    let mut new = pgpass::rotate(&text, r.host, port, r.database, r.role, password);
    if r.last {
        new.text = pgpass::without_stale(&new.text, r.role, password);
    }
    let file_changed = new.text != text;
    // The backup first, while nothing has changed yet.
    let mut backup = None;
    if file_changed && old.is_some() {
        let name = match files::free_backup(an, &path, stamp).await {
            Ok(b) => b,
            Err(e) => return failed(e),
        };
        if let Err(e) = files::write_fresh(an, &name, 0o600, new.backup.as_bytes(), stamp).await {
            return failed(format!("backing up {path}: {e}; nothing was changed"));
        }
        backup = Some(name);
    }
    let dn_changed = match set_verifier(dn, r.role, password, o, hint).await {
        Ok(changed) => changed,
        Err(e) => return failed(format!("on {}: {e}", r.data_node)),
    };
    // At once: from here until the line is written, the data node refuses
    // the role's new connections from the access node.
    if file_changed {
        if let Err(e) = files::write_fresh(an, &path, 0o600, new.text.as_bytes(), stamp).await {
            return failed(format!(
                "{e}; {} already has the new password: run tsmn apply --rotate-password {} again",
                r.data_node, r.role
            ));
        }
    }
    let mut detail = Vec::new();
    if dn_changed {
        detail.push(format!("{} has {}'s new password", r.data_node, r.role));
    }
    if file_changed {
        detail.push(format!(
            "{path}: the line for {}:{} holds it",
            r.host, r.port
        ));
    }
    if let Some(b) = backup {
        detail.push(format!("backup {b}, without {}'s old password", r.role));
    }
    if detail.is_empty() {
        return Outcome::AlreadyDone {
            detail: format!(
                "{} already has {}'s new password, and the passfile line too",
                r.data_node, r.role
            ),
        };
    }
    Outcome::Done {
        detail: detail.join("; "),
    }
}

/// The role's verifier on the data node, unless it already belongs to the
/// password: Ok(whether it changed).
async fn set_verifier(
    dn: &Client,
    role: &str,
    password: &str,
    o: &RunOptions<'_>,
    hint: &str,
) -> Result<bool, String> {
    if super::step_io::has_password(dn, role, password).await? {
        return Ok(false);
    }
    let mut t = Template::lit(format!("ALTER ROLE {} PASSWORD ", sql::ident(role)));
    t.push(Part::VerifierLiteral(role.to_string()));
    let text = o.secrets.fill(&t, hint).map_err(|e| e.to_string())?;
    tracing::debug!("sending: {}", t.masked());
    dn.simple_query(text.expose_secret())
        .await
        .map_err(|e| describe(&e))?;
    Ok(true)
}
