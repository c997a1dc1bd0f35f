//! Running one step's action.

use super::files::{self, Written};
use super::session::{describe, Sessions};
use super::step_io::{failed, has_password, node_session, server_path, session_in};
use super::{Events, Outcome, RunOptions};
use crate::steps::{
    setting_statement, Action, Content, Precheck, ServerPath, SettingValue, Statement, Step,
};
use secrecy::ExposeSecret;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Actions the executor checks against the live server itself (so a step
/// the facts showed as done is still verified, not trusted).
pub fn rechecks(a: &Action) -> bool {
    !matches!(a, Action::Sql { .. })
}

/// Run one step. `lane`: which of the node's sessions SQL and checks use
/// (0 but for steps that run together on one node).
pub async fn step(
    s: &Step,
    lane: usize,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
    stamp: &str,
) -> Outcome {
    if let Some(Precheck::PasswordIs { role }) = &s.precheck {
        if let (Ok(pw), Ok(client)) = (
            o.secrets.password(role, ""),
            sessions.get(&s.node, "postgres").await,
        ) {
            if has_password(&client, role, pw).await == Ok(true) {
                return Outcome::AlreadyDone {
                    detail: format!("{role} already has this password"),
                };
            }
        }
    }
    if let Some(Precheck::SeesServer {
        data_directory,
        port,
    }) = &s.precheck
    {
        if let Ok(client) = sessions.get(&s.node, "postgres").await {
            // Fails closed: a file that may be the access node's own is
            // not written over.
            match files::sees_server(&client, data_directory, *port).await {
                Ok(true) => return Outcome::AlreadyDone {
                    detail: format!("{} shares the access node's host and files (it sees {data_directory} with its running server): the access node's own files are there already", s.node),
                },
                Ok(false) => {}
                Err(e) => return failed(format!("cannot tell whether {} shares the access node's files ({e}): nothing written", s.node)),
            }
        }
    }
    match &s.action {
        Action::Settings { database, changes } => settings(s, database, changes, sessions).await,
        Action::HbaBlock { lines } => super::hba::write(s, lines, o, sessions, stamp).await,
        Action::HbaBlockRemoved { host, port } => {
            // A node that is gone for good (switched off) has no rule to
            // keep: said, not failed.
            if let Err(e) = sessions.get(&s.node, "postgres").await {
                return Outcome::Skipped {
                    why: format!("tsmn cannot connect to {} at {host}:{port} ({e}); if it comes back, delete tsmn's block from its pg_hba.conf by hand", s.node),
                };
            }
            super::hba::write(s, &[], o, sessions, stamp).await
        }
        Action::ReloadTls { after } => reload_tls(s, after, sessions).await,
        Action::RestoreFile { path, backup } => {
            super::undo::restore(s, path, backup.as_deref(), sessions, stamp).await
        }
        Action::File {
            path,
            mode,
            content,
        } => file(s, path, *mode, content, o, sessions, stamp).await,
        Action::Sql {
            database,
            statements,
        } => sql(s, database, statements, lane, o, sessions).await,
        Action::RestartGate { nodes } => super::restart::gate(nodes, o, sessions, events).await,
        Action::MoveChunk(m) => super::moves::move_chunk(s, m, lane, o, sessions).await,
        Action::DrainResume {
            database,
            functions_schema,
        } => super::moves_left::resume(s, database, functions_schema, o, sessions, events).await,
        Action::Verify {
            database,
            reaches,
            sql,
        } => super::verify::run(s, database, reaches, sql, lane, o, sessions).await,
        Action::RotatePassword {
            role,
            data_node,
            host,
            port,
            database,
            passfile,
            last,
        } => {
            let r = super::rotate::Rotation {
                role,
                data_node,
                host,
                port: *port,
                database,
                passfile,
                last: *last,
            };
            super::rotate::run(s, &r, o, sessions, stamp).await
        }
    }
}

/// Run one statement alone; a generator's rows are run next, each alone.
/// Returns how many statements ran.
async fn run_statement(client: &Client, text: &str, generate: bool) -> Result<usize, String> {
    if !generate {
        client.simple_query(text).await.map_err(|e| describe(&e))?;
        return Ok(1);
    }
    let generated = generated_rows(client, text).await?;
    for stmt in &generated {
        client.simple_query(stmt).await.map_err(|e| describe(&e))?;
    }
    Ok(generated.len())
}

/// The statements a generator selects, one a row (none: its condition holds).
async fn generated_rows(client: &Client, generator: &str) -> Result<Vec<String>, String> {
    let msgs = client
        .simple_query(generator)
        .await
        .map_err(|e| describe(&e))?;
    Ok(msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect())
}

/// What a statement runs: a generator's rows (none: its condition holds),
/// else its own text. A generator costs a round trip; a plain one none.
async fn generate(client: &Client, st: &Statement) -> Result<Vec<String>, String> {
    let text = st.sql.masked();
    if !st.generate {
        return Ok(vec![text]);
    }
    generated_rows(client, &text).await
}

async fn settings(
    s: &Step,
    database: &str,
    changes: &[crate::steps::SettingChange],
    sessions: &Sessions<'_>,
) -> Outcome {
    let held = match sessions.get(&s.node, database).await {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot connect to {}: {e}", s.node)),
    };
    let client: &Client = &held;
    // Where each setting stands and what each generator would run, all
    // sent at once; then the statements of those to change, all at once:
    // two round trips, however many settings.
    let statements: Vec<Statement> = changes.iter().map(setting_statement).collect();
    let (stands, generated) = futures_util::future::join(
        futures_util::future::join_all(changes.iter().map(|c| configured(client, c))),
        futures_util::future::join_all(statements.iter().map(|st| generate(client, st))),
    )
    .await;
    let mut waiting = Vec::new();
    let mut to_run: Vec<(&str, String)> = Vec::new();
    for ((c, stand), generated) in changes.iter().zip(stands).zip(generated) {
        match stand {
            Ok(Configured::InEffect) => continue,
            Ok(Configured::AwaitsRestart) => {
                waiting.push(c.name.clone());
                continue;
            }
            Ok(Configured::No) => {}
            Err(e) => return failed(format!("{}: {e}", c.name)),
        }
        match generated {
            Ok(texts) => to_run.extend(texts.into_iter().map(|t| (c.name.as_str(), t))),
            Err(e) => return failed(format!("{}: {e}", c.name)),
        }
    }
    for (_, text) in &to_run {
        tracing::debug!("[{}] sending: {text}", s.node);
    }
    let ran = futures_util::future::join_all(
        to_run
            .iter()
            .map(|(_, text)| client.simple_query(text.as_str())),
    )
    .await;
    let mut changed: Vec<String> = Vec::new();
    let mut failure = None;
    for ((name, _), r) in to_run.iter().zip(ran) {
        match r {
            Ok(_) if !changed.iter().any(|c| c == name) => changed.push(name.to_string()),
            Ok(_) => {}
            Err(e) if failure.is_none() => failure = Some(format!("{name}: {}", describe(&e))),
            Err(_) => {}
        }
    }
    if let Some(f) = failure {
        // Sent together, the others ran all the same.
        let also = if changed.is_empty() {
            String::new()
        } else {
            format!(
                " ({} set all the same, not reloaded: the next reload applies it)",
                changed.join(", ")
            )
        };
        return failed(format!("{f}{also}"));
    }
    if changed.is_empty() && !waiting.is_empty() {
        return Outcome::AlreadyDone {
            detail: format!("set; {} take effect after a restart", waiting.join(", ")),
        };
    }
    if changed.is_empty() {
        return Outcome::AlreadyDone {
            detail: "every setting already has its value".into(),
        };
    }
    // The reload, and which of the changes wait for a restart (by context,
    // not pending_restart: the reload is asynchronous), in one round trip.
    let pending: Vec<String> = match crate::pg::one(
        client,
        "SELECT pg_reload_conf(), array(SELECT name FROM pg_settings WHERE context = 'postmaster' AND name = ANY($1))",
        &[crate::pg::Text::Many(&changed)],
    )
    .await
    {
        Ok(r) => r.get(1),
        Err(e) => return failed(format!("reload: {}", describe(&e))),
    };
    // The reload reaches this session asynchronously; the next step (an
    // add_data_node right after timescaledb.ssl_dir, say) must see it.
    let reloaded: Vec<&crate::steps::SettingChange> = changes
        .iter()
        .filter(|c| changed.contains(&c.name) && !pending.contains(&c.name))
        .collect();
    if !in_effect_soon(client, &reloaded).await {
        return failed(format!(
            "set {}, but after the reload the server still runs with the old value (see its log for a rejected setting)",
            changed.join(", ")
        ));
    }
    let mut detail = format!("set {}; reloaded", changed.join(", "));
    if !pending.is_empty() {
        detail.push_str(&format!(
            "; {} take effect after a restart",
            pending.join(", ")
        ));
    }
    Outcome::Done { detail }
}

/// Whether every change is in effect in this session within about two
/// seconds of the reload.
async fn in_effect_soon(client: &Client, changes: &[&crate::steps::SettingChange]) -> bool {
    for _ in 0..100 {
        let stands =
            futures_util::future::join_all(changes.iter().map(|c| configured(client, c))).await;
        if stands.iter().all(|s| matches!(s, Ok(Configured::InEffect))) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

enum Configured {
    /// The running server has the wanted value.
    InEffect,
    /// The configuration files have it; the server needs a restart.
    AwaitsRestart,
    No,
}

/// A setting ($1) as it runs, as the files have it, whether it waits for a
/// restart, and the setting it is compared with ($2, for "at least").
const CONFIGURED_SQL: &str = "SELECT current_setting($1, true), \
     (SELECT setting FROM pg_file_settings WHERE name = $1 ORDER BY seqno DESC LIMIT 1), \
     coalesce((SELECT pending_restart FROM pg_settings WHERE name = $1), false), \
     current_setting(coalesce($2, 'port'), true)";

/// Where a setting stands: running, in the files awaiting a restart, or not set.
async fn configured(
    client: &Client,
    c: &crate::steps::SettingChange,
) -> Result<Configured, String> {
    let other = match &c.new {
        SettingValue::AtLeast(_, other) => Some(other.as_str()),
        _ => None,
    };
    let params = [crate::pg::Text::One(&c.name), crate::pg::Text::Maybe(other)];
    let row = crate::pg::one(client, CONFIGURED_SQL, &params)
        .await
        .map_err(|e| describe(&e))?;
    let (running, file, pending, other_value): (
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
    ) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let ok = |v: &Option<String>| {
        v.as_deref()
            .map(|v| crate::steps::setting_satisfied(v, &c.new, other_value.as_deref()))
    };
    Ok(match (ok(&running), ok(&file), pending) {
        (Some(true), Some(false), _) => Configured::No,
        (Some(true), _, false) => Configured::InEffect,
        (_, Some(true), true) => Configured::AwaitsRestart,
        (Some(true), _, true) => Configured::InEffect,
        _ => Configured::No,
    })
}

/// A reload when a step of this run wrote one of the node's TLS files, or
/// the server says one is newer than its last reload.
async fn reload_tls(s: &Step, after: &[String], sessions: &Sessions<'_>) -> Outcome {
    let held = match node_session(s, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    let written: Vec<String> = {
        let changed = sessions.changed.lock().unwrap_or_else(|p| p.into_inner());
        after
            .iter()
            .filter(|id| changed.contains(*id))
            .cloned()
            .collect()
    };
    let newer: Vec<String> = if written.is_empty() {
        match crate::pg::one(
            client,
            &format!("SELECT {}", crate::facts::TLS_FILES_NOT_LOADED),
            &[],
        )
        .await
        {
            Ok(r) => r.get(0),
            Err(e) => return failed(describe(&e)),
        }
    } else {
        Vec::new()
    };
    if written.is_empty() && newer.is_empty() {
        return Outcome::AlreadyDone {
            detail: "the server runs with its TLS files as they are".into(),
        };
    }
    if let Err(e) = client.simple_query("SELECT pg_reload_conf()").await {
        return failed(format!("reload: {}", describe(&e)));
    }
    Outcome::Done {
        detail: if written.is_empty() {
            format!(
                "reloaded: {} changed since the last reload",
                newer.join(", ")
            )
        } else {
            "reloaded: a step of this run changed its TLS files".into()
        },
    }
}

async fn file(
    s: &Step,
    path: &ServerPath,
    mode: u32,
    content: &Content,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    stamp: &str,
) -> Outcome {
    let held = match node_session(s, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    let target = match server_path(client, path).await {
        Ok(t) => t,
        Err(failure) => return failure,
    };
    let bytes: secrecy::SecretString = match content {
        Content::Text { text } => match o.secrets.fill(text, "the role password variables") {
            Ok(t) => t,
            Err(e) => return failed(e.to_string()),
        },
        Content::PrivateKey { name } => match o.material.and_then(|m| m.key(name)) {
            Some(k) => k.into(),
            None => {
                return failed(format!(
                    "the private key {name} is missing from the certificate material"
                ))
            }
        },
    };
    match files::write(
        client,
        &target,
        mode,
        bytes.expose_secret().as_bytes(),
        false,
        stamp,
    )
    .await
    {
        Ok(Written::Unchanged) => Outcome::AlreadyDone {
            detail: format!("{target} already has this content and mode {mode:04o}"),
        },
        Ok(Written::ModeFixed { was }) => Outcome::Done {
            detail: format!("{target} had the right content but mode {was}: set to {mode:04o}"),
        },
        Ok(Written::Changed { backup }) => {
            if let Some(j) = &o.journal {
                super::journal::file_changed(j, &s.node, &target, backup.as_deref());
            }
            Outcome::Done {
                detail: format!(
                    "wrote {target} (mode {mode:04o}){}",
                    backup.map(|b| format!("; backup {b}")).unwrap_or_default()
                ),
            }
        }
        Err(e) => failed(e),
    }
}

async fn sql(
    s: &Step,
    database: &str,
    statements: &[Statement],
    lane: usize,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Outcome {
    let held = match session_in(s, database, lane, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    let mut ran = 0;
    for st in statements {
        let text = match o.secrets.fill(&st.sql, "the role password variables") {
            Ok(t) => t,
            Err(e) => return failed(e.to_string()),
        };
        // The log and the error name the statement by its masked text: never the secret.
        tracing::debug!("[{}] sending: {}", s.node, st.sql.masked());
        match run_statement(client, text.expose_secret(), st.generate).await {
            Ok(n) => ran += n,
            Err(e) => return failed(format!("{e}\n    in: {}", st.sql.masked())),
        }
    }
    // Every statement was a generator whose condition already held.
    if ran == 0 && !statements.is_empty() && statements.iter().all(|st| st.generate) {
        return Outcome::AlreadyDone {
            detail: "every condition already holds; no statement ran".into(),
        };
    }
    // A check changes nothing: it held.
    if s.is_check() {
        return Outcome::Verified {
            detail: s.title.clone(),
        };
    }
    Outcome::Done {
        detail: format!("{ran} statement(s)"),
    }
}
