//! Running one step's action.

use super::files::{self, Written};
use super::session::{describe, Sessions};
use super::{Events, Outcome, RunOptions};
use crate::steps::{
    hba_block, setting_statement, Action, Content, Precheck, ServerPath, SettingValue, Statement,
    Step,
};
use secrecy::ExposeSecret;
use tokio_postgres::{Client, SimpleQueryMessage};

/// Actions the executor checks against the live server itself (so a step
/// the facts showed as done is still verified, not trusted).
pub fn rechecks(a: &Action) -> bool {
    !matches!(a, Action::Sql { .. })
}

pub(super) fn failed(message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        message: message.into(),
    }
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
    match &s.action {
        Action::Settings { database, changes } => settings(s, database, changes, sessions).await,
        Action::HbaBlock { lines } => hba(s, lines, o, sessions, stamp).await,
        Action::HbaBlockRemoved { host, port } => {
            // A node that is gone for good (switched off) has no rule to
            // keep: said, not failed.
            if let Err(e) = sessions.get(&s.node, "postgres").await {
                return Outcome::Skipped {
                    why: format!("tsmn cannot connect to {} at {host}:{port} ({e}); if it comes back, delete tsmn's block from its pg_hba.conf by hand", s.node),
                };
            }
            hba(s, &[], o, sessions, stamp).await
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

/// The lines of pg_hba.conf (on disk) that would not load, as
/// "line N: error", as an SQL expression (a text[]). `$1`: the hostssl
/// message that is no error of the file (ssl_off says so).
const HBA_ERRORS: &str = "coalesce((SELECT array_agg(format('line %s: %s', coalesce(line_number, 0), \
     coalesce(error, 'the line does not parse')) ORDER BY line_number) FROM pg_hba_file_rules \
     WHERE (error IS NOT NULL OR type IS NULL) AND coalesce(error, '') NOT LIKE '%' || $1 || '%'), '{}')";

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

/// The statement that selects pg_hba.conf's errors (`$1` as in HBA_ERRORS)
/// and reloads when there are none and `also` (an SQL condition starting
/// with AND, or empty) holds.
fn reload_check_sql(also: &str) -> String {
    format!(
        "SELECT e, CASE WHEN cardinality(e) = 0{also} THEN pg_reload_conf() END FROM (SELECT {HBA_ERRORS} AS e) AS x"
    )
}

/// The errors of pg_hba.conf as the server reads it now; none: reloaded,
/// in the same statement.
pub(super) async fn reload_unless_hba_errors(client: &Client) -> Vec<String> {
    let ignore = crate::pg::Text::One(crate::facts::HOSTSSL_WITHOUT_SSL);
    let check = reload_check_sql("");
    match crate::pg::one(client, &check, &[ignore]).await {
        Ok(r) => r.get::<_, Vec<String>>(0),
        Err(e) => vec![describe(&e)],
    }
}

/// pg_hba.conf (`old` on disk) rewritten as `new`, and in the same round
/// trip its errors and the reload: reloaded only when the file on disk is
/// the new one and loads without an error. The backup, and the check's row.
async fn write_hba_and_reload(
    client: &Client,
    path: &str,
    old: &str,
    new: &str,
    stamp: &str,
) -> Result<(String, Result<Option<tokio_postgres::Row>, String>), String> {
    let had = Some(files::sha256_hex(old.as_bytes()));
    let staged = files::stage(client, path, stamp, files::Known::Sha(had)).await?;
    let want = files::sha256_hex(new.as_bytes());
    let check = reload_check_sql(&format!(" AND {} = $3", files::sha_sql("$2")));
    let params = [
        crate::pg::Text::One(crate::facts::HOSTSSL_WITHOUT_SSL),
        crate::pg::Text::One(path),
        crate::pg::Text::One(&want),
    ];
    let then = files::Then {
        sql: &check,
        params: &params,
    };
    match files::finish_write(
        client,
        staged,
        path,
        0o600,
        new.as_bytes(),
        true,
        Some(then),
    )
    .await?
    {
        (Written::Changed { backup: Some(b) }, row) => Ok((b, row)),
        _ => Err(format!("{path} was expected to exist")),
    }
}

/// Write tsmn's block, check the file as the server reads it, reload; the
/// original back on any error. Each stage is one statement: the file, its
/// errors and tsmn's own address together; after the write, the errors and
/// the reload together (the reload only when there are none).
async fn hba(
    s: &Step,
    lines: &[String],
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    stamp: &str,
) -> Outcome {
    let held = match node_session(s, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    let ignore = crate::pg::Text::One(crate::facts::HOSTSSL_WITHOUT_SSL);
    let read = format!(
        "SELECT current_setting('hba_file'), pg_read_file(current_setting('hba_file')), {HBA_ERRORS}, host(inet_client_addr()), {}, {}, pg_conf_load_time()::text",
        crate::facts::HBA_NOT_LOADED,
        crate::facts::HBA_MAYBE_NOT_LOADED
    );
    let row = match crate::pg::one(client, &read, &[ignore]).await {
        Ok(r) => r,
        Err(e) => return failed(format!("reading pg_hba.conf: {}", describe(&e))),
    };
    let (path, old, errs, own): (String, String, Vec<String>, Option<String>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let (newer, maybe_newer, loaded_at): (bool, bool, String) =
        (row.get(4), row.get(5), row.get(6));
    if !errs.is_empty() {
        return failed(format!(
            "{path} already has an error ({}); nothing was changed: correct it first",
            errs.join("; ")
        ));
    }
    let new = hba_block::merge(&old, lines);
    let (done, already) = if lines.is_empty() {
        ("block removed", "pg_hba.conf has no tsmn block")
    } else {
        ("block written", "pg_hba.conf already holds this block")
    };
    if new == old {
        return enforce_as_written(client, already, newer, maybe_newer).await;
    }
    // The access node's links to this data node as they are now, to prove
    // the change breaks none that worked (a data node's rule in the plan).
    let proving = matches!(s.action, Action::HbaBlock { .. });
    let before = if proving {
        super::links::of(o, sessions, &s.node).await
    } else {
        None
    };
    let (backup, checked) = match write_hba_and_reload(client, &path, &old, &new, stamp).await {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    if let Some(j) = &o.journal {
        super::journal::file_changed(j, &s.node, &path, Some(&backup));
    }
    let errs = match checked {
        Ok(Some(r)) => r.get::<_, Vec<String>>(0),
        Ok(None) => vec!["the check of the new file returned nothing".into()],
        Err(e) => vec![e],
    };
    if !errs.is_empty() {
        let restored = files::restore(client, &path, &backup).await;
        return failed(format!(
            "the new pg_hba.conf would not load ({}); the original was restored{}",
            errs.join("; "),
            restored
                .err()
                .map(|e| format!(" -- BUT: {e}"))
                .unwrap_or_default()
        ));
    }
    if !reloaded_since(client, &loaded_at).await {
        return failed(format!("{path} was written and checked, but the server did not reload within 5 s: it may still enforce the old rules; see its log, then run tsmn apply again (backup {backup})"));
    }
    if let Some(before) = before {
        if let Some(failure) = keeps_links(s, o, sessions, client, &before, &path, &backup).await {
            return failure;
        }
    }
    let done = format!("{done}, checked and reloaded; backup {backup}");
    keeps_own_login(s, lines, own, sessions, &path, &backup, done).await
}

/// A rule that cuts tsmn's own way in is rolled back through the session
/// that is still open. Proven with a new connection, unless the block
/// cannot apply to tsmn's own (a Unix socket, or an address it does not
/// cover).
async fn keeps_own_login(
    s: &Step,
    lines: &[String],
    own: Option<String>,
    sessions: &Sessions<'_>,
    path: &str,
    backup: &str,
    done: String,
) -> Outcome {
    let at_risk = match own.and_then(|a| a.parse::<std::net::IpAddr>().ok()) {
        None => false,
        Some(ip) => hba_block::could_match(lines, ip),
    };
    if !at_risk {
        return Outcome::Done { detail: done };
    }
    if let Err(e) = sessions.fresh(&s.node, "postgres").await {
        let held = match sessions.get(&s.node, "postgres").await {
            Ok(c) => c,
            Err(e2) => return failed(format!("after the change tsmn cannot connect to {} ({e}), and the old session is gone ({e2}): restore {backup} by hand", s.node)),
        };
        let client: &Client = &held;
        let _ = files::restore(client, path, backup).await;
        let _ = client.simple_query("SELECT pg_reload_conf()").await;
        return failed(format!("after the change tsmn itself could not connect to {} any more ({e}); the original pg_hba.conf was restored. Connect tsmn from another address or through the local socket", s.node));
    }
    Outcome::Done { detail: done }
}

/// Whether the server has reloaded its configuration since `since` (its
/// pg_conf_load_time() before the reload, as text), within 5 s. This
/// session takes the reload in before its next statement once the
/// postmaster has made it, and the postmaster reads pg_hba.conf before
/// it tells its sessions: so when the session has it, new connections
/// meet the new rules.
async fn reloaded_since(client: &Client, since: &str) -> bool {
    for _ in 0..250 {
        match crate::pg::one(
            client,
            "SELECT pg_conf_load_time() > $1::text::timestamptz",
            &[crate::pg::Text::One(since)],
        )
        .await
        {
            Ok(r) if r.get::<_, bool>(0) => return true,
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            Err(_) => return false,
        }
    }
    false
}

/// After a data node's new pg_hba.conf is in force: every link from the
/// access node that worked before still works, or the old file goes back
/// (checked, reloaded) and the step fails naming the links it would have
/// broken. None: nothing broke.
#[allow(clippy::too_many_arguments)]
async fn keeps_links(
    s: &Step,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    client: &Client,
    before: &[(String, Result<(), String>)],
    path: &str,
    backup: &str,
) -> Option<Outcome> {
    let after = super::links::of(o, sessions, &s.node).await?;
    let broken = super::links::broken(before, &after);
    if broken.is_empty() {
        return None;
    }
    let since = crate::pg::one(client, "SELECT pg_conf_load_time()::text", &[])
        .await
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_default();
    let back = take_back(s, client, path, backup, &since).await;
    let lines: Vec<String> = broken
        .iter()
        .map(|(role, e)| format!("  the access node as {role}: {e}"))
        .collect();
    tracing::warn!(
        "[{}] new pg_hba.conf broke links: {lines:?}; {back}",
        s.node
    );
    Some(failed(format!(
        "the new rules would cut links that worked, so they were taken back ({back}); with them, {} refused:\n{}\n    fix: give the access node what the new mode needs first (its passfile and the roles' passwords, or its client certificates), check with tsmn check, then run tsmn apply again",
        s.node,
        lines.join("\n")
    )))
}

/// The backup of pg_hba.conf put back and reloaded. Whether it is back is
/// asked of the file itself (its sha256 against the backup's), not of the
/// program's exit: and it is reloaded whenever the file on disk loads.
async fn take_back(s: &Step, client: &Client, path: &str, backup: &str, since: &str) -> String {
    let restored = files::restore(client, path, backup).await;
    let same = format!("SELECT {} = {}", files::sha_sql("$1"), files::sha_sql("$2"));
    let back = crate::pg::one(
        client,
        &same,
        &[crate::pg::Text::One(path), crate::pg::Text::One(backup)],
    )
    .await
    .is_ok_and(|r| r.get::<_, Option<bool>>(0) == Some(true));
    let errs = reload_unless_hba_errors(client).await;
    let reloaded = errs.is_empty() && reloaded_since(client, since).await;
    match (back, reloaded) {
        (true, true) => "the old pg_hba.conf is back and in force".to_string(),
        (true, false) => format!(
            "the old pg_hba.conf is back but did not reload ({}): reload {} by hand",
            errs.join("; "),
            s.node
        ),
        (false, _) => format!(
            "BUT the old pg_hba.conf could not be put back ({}): copy {backup} over {path} and reload {} by hand",
            restored.err().unwrap_or_else(|| "its content differs from the backup".into()),
            s.node
        ),
    }
}

/// The file already says what the step wants; the server must enforce it
/// too. A file changed after the server last read it (a run killed between
/// its write and its reload, say) is reloaded, after the same check a
/// written one gets: until then the server runs the old rules.
async fn enforce_as_written(
    client: &Client,
    already: &str,
    newer: bool,
    maybe_newer: bool,
) -> Outcome {
    if !maybe_newer {
        return Outcome::AlreadyDone {
            detail: already.into(),
        };
    }
    let errs = reload_unless_hba_errors(client).await;
    if !errs.is_empty() {
        return failed(format!(
            "pg_hba.conf changed after the server last read it and would not load ({}); the server still enforces its old rules: correct the file, then run tsmn apply again",
            errs.join("; ")
        ));
    }
    if newer {
        Outcome::Done {
            detail: format!(
                "{already}, but the server had not read it since it changed: checked and reloaded"
            ),
        }
    } else {
        // Changed in the second of the last reload: perhaps before it,
        // perhaps after. Reloaded to be sure; nothing else changed.
        Outcome::AlreadyDone {
            detail: format!("{already} (reloaded: it changed in the second of the last reload)"),
        }
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
