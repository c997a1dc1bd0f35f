//! Writing a server file through a superuser connection: the content goes
//! base64-encoded through COPY FROM STDIN (never in a statement's text), and
//! `COPY ... TO PROGRAM` writes it as the server's OS user with the right
//! mode; a file that differs is backed up first. The same recipe as the
//! exported setup.sh's `deliver`.

use crate::quote::{shell, sql};
use base64::Engine;
use futures_util::SinkExt;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An SQL expression for the sha256 (hex) of the file at `path` (itself an
/// SQL expression), or NULL when there is no such file.
pub fn sha_sql(path: &str) -> String {
    format!("encode(sha256(pg_read_binary_file({path}, 0, 100000000, true)), 'hex')")
}

/// The statement that selects `sha_sql`.
fn sha_of(path: &str) -> String {
    format!("SELECT {}", sha_sql(path))
}

/// The file's sha256 on the server, or None when it does not exist.
pub async fn remote_sha(client: &Client, path: &str) -> Result<Option<String>, String> {
    let row = crate::pg::one(client, &sha_of("$1"), &[crate::pg::Text::One(path)])
        .await
        .map_err(|e| super::session::describe(&e))?;
    Ok(row.get(0))
}

/// What happened to the file.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    Unchanged,
    /// The content was right, the mode was not (a passfile others could
    /// read, which libpq ignores): set to the wanted mode.
    ModeFixed {
        was: String,
    },
    /// Written; the previous content, if any, is in this backup.
    Changed {
        backup: Option<String>,
    },
}

/// Write `content` at `path` with `mode`, backing up a different file first.
/// `in_place` keeps the file's inode, owner and mode (pg_hba.conf).
pub async fn write(
    client: &Client,
    path: &str,
    mode: u32,
    content: &[u8],
    in_place: bool,
    stamp: &str,
) -> Result<Written, String> {
    // Never the content: it may be a key or a passfile.
    tracing::trace!("writing {path} (mode {mode:o}, {} bytes)", content.len());
    let staged = stage(client, path, stamp, Known::Unknown).await?;
    finish_write(client, staged, path, mode, content, in_place, None)
        .await
        .map(|(w, _)| w)
}

/// Write `content` at `path` (replacing the file, with `mode`) and make no
/// backup: for a file whose backup the caller writes itself (a passfile
/// backup without the old password).
pub async fn write_fresh(
    client: &Client,
    path: &str,
    mode: u32,
    content: &[u8],
    stamp: &str,
) -> Result<(), String> {
    let staged = stage(client, path, stamp, Known::Fresh).await?;
    finish_write(client, staged, path, mode, content, false, None)
        .await
        .map(|_| ())
}

/// A name for a backup of `path` that no file has yet:
/// `<path>.tsmn-<stamp>.bak`, else with `-2`, `-3`, ... (a file written
/// twice in one run, or two runs in the same second: a backup is never
/// written over).
pub async fn free_backup(client: &Client, path: &str, stamp: &str) -> Result<String, String> {
    let name = |n: i32| {
        if n == 1 {
            format!("{path}.tsmn-{stamp}.bak")
        } else {
            format!("{path}.tsmn-{stamp}-{n}.bak")
        }
    };
    let row = crate::pg::opt(
        client,
        "SELECT n FROM generate_series(1, 1000) AS n \
         WHERE pg_stat_file($1 || '.tsmn-' || $2 || CASE WHEN n = 1 THEN '' ELSE '-' || n END || '.bak', true) IS NULL \
         ORDER BY n LIMIT 1",
        &[crate::pg::Text::One(path), crate::pg::Text::One(stamp)],
    )
    .await
    .map_err(|e| format!("choosing a backup name for {path}: {}", super::session::describe(&e)))?;
    row.map(|r| name(r.get::<_, i32>(0)))
        .ok_or_else(|| format!("{path} has 1000 backups from this second already"))
}

/// What the caller knows of a file before writing it.
pub enum Known {
    /// Nothing: its sha256 is read in the write's first round trip.
    Unknown,
    /// Its sha256 (None: there is no such file).
    Sha(Option<String>),
    /// Nothing, and it wants no backup (it writes its own).
    Fresh,
}

/// The first round trip of a write, sent at once (pipelined): the file's
/// sha256 when not known, a free backup name, the session's table for the
/// content and the COPY into it prepared. A node 20 ms away pays 40 ms
/// for each round trip; a write takes three.
pub struct Staged {
    had: Option<String>,
    backup: Option<String>,
    copy: tokio_postgres::Statement,
}

pub async fn stage(
    client: &Client,
    path: &str,
    stamp: &str,
    known: Known,
) -> Result<Staged, String> {
    let ask_sha = matches!(known, Known::Unknown);
    let backup_wanted = !matches!(known, Known::Fresh | Known::Sha(None));
    let sha = async {
        if ask_sha {
            remote_sha(client, path).await
        } else {
            Ok(None)
        }
    };
    let name = async {
        if backup_wanted {
            free_backup(client, path, stamp).await.map(Some)
        } else {
            Ok(None)
        }
    };
    // Polled in this order, so sent in this order: the table exists when
    // the COPY into it is prepared.
    let (sha, name, table, copy) = futures_util::future::join4(
        sha,
        name,
        client.batch_execute(TEMP_TABLE),
        client.prepare("COPY tsmn_file FROM STDIN"),
    )
    .await;
    let err =
        |e: tokio_postgres::Error| format!("writing {path}: {}", super::session::describe(&e));
    let had = match known {
        // A file tsmn cannot even read where it is to go: say which
        // directory stands in the way.
        Known::Unknown => match sha {
            Ok(h) => h,
            Err(e) => return Err(format!("{e}{}", space_left(client, path).await)),
        },
        Known::Sha(h) => h,
        Known::Fresh => None,
    };
    table.map_err(err)?;
    let copy = copy.map_err(err)?;
    // A backup name matters only for a file there is.
    let backup = if had.is_some() { name? } else { None };
    Ok(Staged { had, backup, copy })
}

/// A statement sent in a write's last round trip, right behind it. It runs
/// whether or not the write went through, so it must check the file itself
/// (its sha256, say) before it acts on it.
pub struct Then<'a> {
    pub sql: &'a str,
    pub params: &'a [crate::pg::Text<'a>],
}

/// Write `content` at `path` (staged), backing up a file that differs.
/// Also `then`'s row: Ok(None) without one; its error kept apart from the
/// write's, since the file was written all the same. Two round trips after
/// the stage: the content into the session's table; then the end of that
/// COPY, the write and its read-back (one statement) and `then`, all sent
/// at once. A COPY that failed leaves the file as it was: the shell writes
/// nothing it decoded empty from a content that is not.
pub async fn finish_write(
    client: &Client,
    staged: Staged,
    path: &str,
    mode: u32,
    content: &[u8],
    in_place: bool,
    then: Option<Then<'_>>,
) -> Result<(Written, Result<Option<tokio_postgres::Row>, String>), String> {
    let Staged { had, backup, copy } = staged;
    let want = sha256_hex(content);
    if had.as_deref() == Some(want.as_str()) {
        if in_place {
            return Ok((Written::Unchanged, Ok(None)));
        }
        return fix_mode(client, path, mode).await.map(|w| (w, Ok(None)));
    }
    let p = shell::word(path);
    let save = match &backup {
        // Never over another backup; one cut short (a full disk) is
        // removed, not left half written.
        Some(b) => {
            let b = shell::word(b);
            format!("[ ! -e {b} ] && {{ cp -p {p} {b} || {{ rm -f {b}; exit 1; }}; }} && ")
        }
        None => String::new(),
    };
    let new = shell::word(&format!("{path}.tsmn-new"));
    // The session's table holds the content or, after a COPY that failed,
    // nothing (the COPY is all or nothing, the table emptied before it): a
    // decoded file that is empty when the content is not is never written.
    // A shell test, no program: this runs on every node.
    let checked = if content.is_empty() {
        format!("base64 -d > {new}")
    } else {
        format!("base64 -d > {new} && [ -s {new} ]")
    };
    let script = if in_place {
        // The old file is truncated as the new one goes in: should that
        // write fail (a disk that fills up), the backup goes back at once
        // (it fits: the old content's space was just freed).
        let restore = match &backup {
            Some(b) => format!(
                " || {{ cat {} > {p}; rm -f {new}; exit 1; }}",
                shell::word(b)
            ),
            None => String::new(),
        };
        format!("umask 077 && {checked} && {save}{{ cat {new} > {p}{restore}; }} && rm -f {new}")
    } else {
        format!("umask 077 && mkdir -p \"$(dirname {p})\" && {checked} && {save}chmod {mode:04o} {new} && mv -f {new} {p}")
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(content);
    let err =
        |e: tokio_postgres::Error| format!("writing {path}: {}", super::session::describe(&e));
    let sink = client
        .copy_in::<_, bytes::Bytes>(&copy)
        .await
        .map_err(err)?;
    // Its Close goes out behind the COPY's end, not in a turn of its own
    // after the write.
    drop(copy);
    futures_util::pin_mut!(sink);
    sink.send(bytes::Bytes::from(format!("{b64}\n")))
        .await
        .map_err(err)?;
    let write = format!(
        "COPY (SELECT b64 FROM tsmn_file) TO PROGRAM {}; {}",
        sql::literal(&script),
        sha_of(&sql::literal(path))
    );
    let after = async {
        match &then {
            Some(t) => crate::pg::opt(client, t.sql, t.params).await.map_err(err),
            None => Ok(None),
        }
    };
    let (copied, written, after) =
        futures_util::future::join3(sink.as_mut().finish(), client.simple_query(&write), after)
            .await;
    let written = copied.and(written);
    if let Err(e) = written {
        // The program's own error goes to the server log only: say what
        // tsmn can check from here, and clear what it may have left.
        let cause = space_left(client, path).await;
        let _ = program(client, &format!("rm -f {new}")).await;
        let kept = match remote_sha(client, path).await {
            Ok(sha) if sha == had => "the file is unchanged",
            _ => "the file may differ: compare it with its backup",
        };
        return Err(format!(
            "writing {path}: {}{cause}; {kept}",
            without_program(&super::session::describe(&e))
        ));
    }
    let got = written.ok().and_then(|msgs| {
        msgs.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
    });
    match got {
        Some(got) if got == want => Ok((Written::Changed { backup }, after)),
        _ => Err(format!("{path} read back differs from what was written")),
    }
}

/// A server error about tsmn's shell program, without the program's text
/// (hundreds of characters that say nothing to an operator): the server
/// writes the program's own error to its log only.
fn without_program(message: &str) -> String {
    match (message.find("program \""), message.rfind("\" failed")) {
        (Some(a), Some(b)) if b > a => format!(
            "{}tsmn's write program failed{}",
            &message[..a],
            &message[b + "\" failed".len()..]
        ),
        _ => message.to_string(),
    }
}

/// Free space on the file system of `path`'s directory, when that is the
/// likely cause of a failed write (checked with `df`, as the server's OS
/// user); empty otherwise.
async fn space_left(client: &Client, path: &str) -> String {
    let dir = std::path::Path::new(path)
        .parent()
        .map_or("/".to_string(), |d| d.display().to_string());
    // The nearest directory that exists: a directory still to be made is
    // made in it, so it is the one that must be writable.
    let probe = format!(
        "{TEMP_TABLE}; COPY tsmn_file FROM PROGRAM {}",
        sql::literal(&format!(
            "d={d}; while [ ! -e \"$d\" ]; do d=$(dirname \"$d\"); done; echo \"$(df -Pk \"$d\" | tail -1) $(test -w \"$d\" && echo writable || echo read-only) $d\"",
            d = shell::word(&dir)
        ))
    );
    if client.batch_execute(&probe).await.is_err() {
        return String::new();
    }
    let line: String =
        match crate::pg::one(client, "SELECT coalesce(min(b64), '') FROM tsmn_file", &[]).await {
            Ok(r) => r.get(0),
            Err(_) => return String::new(),
        };
    // Filesystem 1024-blocks Used Available Capacity Mounted-on, then
    // ours: writable or read-only, and the directory that was tested.
    if let Some((_, blocking)) = line.split_once(" read-only ") {
        let blocking = blocking.trim();
        return if blocking == dir {
            format!(" (the server's OS user cannot write to {dir}; fix: make it writable for that user, or choose another path, then run tsmn apply again)")
        } else {
            format!(" ({dir} does not exist, and the server's OS user cannot create it in {blocking}; fix: create {dir} for that user, or choose another path, then run tsmn apply again)")
        };
    }
    match line
        .split_whitespace()
        .nth(3)
        .and_then(|a| a.parse::<u64>().ok())
    {
        Some(kib) if kib < 64 => {
            format!(" (No space left on device: the file system of {dir} has {kib} KiB free)")
        }
        _ => String::new(),
    }
}

/// The session's temporary tables for file work, made once without a
/// NOTICE each time (`IF NOT EXISTS` says "already exists" on every call).
const TEMP_TABLE: &str = "DO $t$ BEGIN IF to_regclass('pg_temp.tsmn_file') IS NULL THEN \
    CREATE TEMP TABLE tsmn_file (b64 text); END IF; END $t$; TRUNCATE tsmn_file";

/// A file with the right content: its mode as the server's OS user sees it
/// (read with `COPY FROM PROGRAM stat`), set when it differs.
async fn fix_mode(client: &Client, path: &str, mode: u32) -> Result<Written, String> {
    let p = shell::word(path);
    let err =
        |e: tokio_postgres::Error| format!("mode of {path}: {}", super::session::describe(&e));
    client
        .batch_execute(&format!(
            "{TEMP_TABLE}; COPY tsmn_file FROM PROGRAM {}",
            sql::literal(&format!("stat -c %a {p}"))
        ))
        .await
        .map_err(err)?;
    let was: String = crate::pg::one(client, "SELECT coalesce(min(b64), '') FROM tsmn_file", &[])
        .await
        .map_err(err)?
        .get(0);
    if u32::from_str_radix(was.trim(), 8).ok() == Some(mode) {
        return Ok(Written::Unchanged);
    }
    program(client, &format!("chmod {mode:04o} {p}"))
        .await
        .map_err(|e| format!("mode of {path}: {e}"))?;
    Ok(Written::ModeFixed {
        was: format!("{:0>4}", was.trim()),
    })
}

/// Put a backup back in place (keeping the file's inode, owner and mode).
pub async fn restore(client: &Client, path: &str, backup: &str) -> Result<(), String> {
    let command = format!("cat {} > {}", shell::word(backup), shell::word(path));
    program(client, &command)
        .await
        .map_err(|e| format!("restoring {path} from {backup}: {e}"))
}

/// Run a shell command as the server's OS user (COPY ... TO PROGRAM).
/// The program reads COPY's one row first: one that exits without reading
/// it can make the server's write into the pipe fail ("could not close
/// pipe to external command: Broken pipe"), and the COPY with it, although
/// the command did its work (seen in 1 restore of 24, and 36 of 200 runs of
/// `true`).
pub async fn program(client: &Client, command: &str) -> Result<(), String> {
    client
        .batch_execute(&format!(
            "COPY (SELECT 1) TO PROGRAM {}",
            sql::literal(&format!("cat >/dev/null; {command}"))
        ))
        .await
        .map_err(|e| super::session::describe(&e))
}

/// The node sees `data_directory` with the live postmaster.pid of the
/// server listening on `port` (its lines: pid, data directory, start
/// time, port): the same host and file system.
pub(super) async fn sees_server(
    client: &tokio_postgres::Client,
    data_directory: &str,
    port: i64,
) -> Result<bool, String> {
    let path = format!("{}/postmaster.pid", data_directory.trim_end_matches('/'));
    let q = format!(
        "SELECT split_part(f, E'\\n', 2) = {} AND split_part(f, E'\\n', 4) = {} FROM pg_read_file({}, 0, 4096, true) AS f",
        crate::quote::sql::literal(data_directory.trim_end_matches('/')),
        crate::quote::sql::literal(&port.to_string()),
        crate::quote::sql::literal(&path)
    );
    let rows = client
        .simple_query(&q)
        .await
        .map_err(|e| super::session::describe(&e))?;
    Ok(rows
        .iter()
        .any(|r| matches!(r, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("t"))))
}

#[cfg(test)]
mod message_tests {
    #[test]
    fn the_program_text_is_left_out() {
        let m = "ERROR: program \"umask 077 && mkdir -p ... && mv -f a b\" failed (DETAIL: child process exited with exit code 1)";
        assert_eq!(
            super::without_program(m),
            "ERROR: tsmn's write program failed (DETAIL: child process exited with exit code 1)"
        );
        assert_eq!(super::without_program("other"), "other");
    }
}
