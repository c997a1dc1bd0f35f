//! One tsmn run per cluster at a time. A lock file beside the plan (taken
//! before anything connects) keeps two runs on one machine apart; an
//! advisory lock in the access node's session (taken before anything
//! changes) keeps two operators on two machines apart. The second run is
//! refused and told who holds the lock.

use super::FlowError;
use crate::run::run_lock::key_sql;
use std::io::{Read, Seek};
use std::path::Path;
use tokio_postgres::Client;

/// Held for as long as the run lasts; released when dropped (or when the
/// process ends, however it ends).
pub struct RunLock {
    _file: std::fs::File,
}

/// Take the lock file beside the plan, or say who holds it.
pub fn take(plan_path: &Path) -> Result<RunLock, FlowError> {
    let dir = crate::plan::state_dir(plan_path);
    let path = dir.join("apply.lock");
    let io = |e: std::io::Error| {
        FlowError::Failed(format!(
            "{}: {e}\n    fix: check that the plan's directory is writable",
            path.display()
        ))
    };
    crate::steps::material::private_dir(&dir).map_err(|e| FlowError::Failed(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    // flock(2), exclusive, without waiting; released when the file closes.
    if file.try_lock().is_err() {
        return Err(busy(&path, &holder_of(&mut file)));
    }
    // The holder in one write over the old one, at a fixed width, never
    // truncated first: a run refused at any moment reads a whole line.
    let now = time::OffsetDateTime::now_utc();
    let line = format!("pid {} on {} since {now}", std::process::id(), hostname());
    let padded = format!("{line:<HOLDER_WIDTH$}\n");
    std::os::unix::fs::FileExt::write_all_at(&file, padded.as_bytes(), 0).map_err(io)?;
    file.set_len(padded.len() as u64).map_err(io)?;
    Ok(RunLock { _file: file })
}

/// The width of the holder's line: longer than any pid, host name and
/// time, so each holder's line covers the last one's whole.
const HOLDER_WIDTH: usize = 200;

/// Who holds the lock, from its file. The holder writes its line right
/// after taking the lock: read again for a moment before calling it
/// unknown.
fn holder_of(file: &mut std::fs::File) -> String {
    for _ in 0..20 {
        let mut holder = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        if !holder.is_empty() {
            return holder.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    "a run that has not said who it is".into()
}

fn busy(path: &Path, holder: &str) -> FlowError {
    FlowError::Failed(format!(
        "another tsmn run holds this plan's lock ({holder}; {})\n    fix: wait for it to finish; nothing was changed",
        path.display()
    ))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "this host".into())
}

/// Take the access node's advisory lock in `client`'s session (it lasts as
/// long as the session), or say which session holds it.
pub async fn take_cluster(client: &Client, database: &str, an: &str) -> Result<(), FlowError> {
    // A run that just ended may still have its session on the server for a
    // moment (the backend goes away after the client): ask again for up to
    // two seconds before calling the lock someone else's.
    for attempt in 0..20 {
        let got: bool = crate::pg::one(
            client,
            &format!("SELECT pg_try_advisory_lock({})", key_sql("$1")),
            &[crate::pg::Text::One(database)],
        )
        .await
        .map(|r| r.get(0))
        .map_err(|e| FlowError::Failed(format!("taking the run lock on {an}: {e}")))?;
        if got {
            return Ok(());
        }
        if attempt < 19 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let who = format!(
        "SELECT format('pid %s, %s from %s, since %s', a.pid, coalesce(nullif(a.application_name, ''), 'a client'), \
         coalesce(host(a.client_addr), 'a local socket'), date_trunc('second', a.backend_start)) \
         FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objid::int4 = {} LIMIT 1",
        key_sql("$1")
    );
    let holder = crate::pg::opt(client, &who, &[crate::pg::Text::One(database)])
        .await
        .ok()
        .flatten()
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_else(|| "another session".into());
    Err(FlowError::Failed(format!(
        "another tsmn run is working on this cluster: {an} holds its lock for {holder}\n    fix: wait for it to finish (from another machine too); nothing was changed"
    )))
}
