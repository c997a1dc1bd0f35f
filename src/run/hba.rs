//! pg_hba.conf, changed the way "never worse" asks: checked through
//! pg_hba_file_rules before a reload, the backup put back on any error,
//! reloaded only once the server reads it without one, the reload waited
//! for, and a data node's new rules proved from the access node (its
//! links before and after), taken back when a link that worked is cut.

use super::files::{self, Written};
use super::session::{describe, Sessions};
use super::step_io::{failed, node_session};
use super::{Outcome, RunOptions};
use crate::steps::{hba_block, Action, Step};
use tokio_postgres::Client;

/// The lines of pg_hba.conf (on disk) that would not load, as
/// "line N: error", as an SQL expression (a text[]). `$1`: the hostssl
/// message that is no error of the file (ssl_off says so).
const HBA_ERRORS: &str = "coalesce((SELECT array_agg(format('line %s: %s', coalesce(line_number, 0), \
     coalesce(error, 'the line does not parse')) ORDER BY line_number) FROM pg_hba_file_rules \
     WHERE (error IS NOT NULL OR type IS NULL) AND coalesce(error, '') NOT LIKE '%' || $1 || '%'), '{}')";

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
pub(super) async fn write(
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
    before: &[super::links::LinkState],
    path: &str,
    backup: &str,
) -> Option<Outcome> {
    let after = super::links::of(o, sessions, &s.node).await?;
    let broken: Vec<super::links::LinkState> = super::links::beside(after, before)
        .into_iter()
        .filter(super::links::LinkState::broken)
        .collect();
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
        .map(|l| {
            format!(
                "  the access node as {}: {}",
                l.role,
                l.error.as_deref().unwrap_or_default()
            )
        })
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
