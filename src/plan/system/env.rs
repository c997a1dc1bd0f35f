//! The PG* environment, read in one place and alike for every command:
//! PGUSER (the default superuser), PGCONNECT_TIMEOUT (libpq's rules),
//! PGAPPNAME (the name tsmn's sessions carry), and the variables tsmn does
//! not read, each with why (plan::dsn::keys). PGPASSWORD and PGPASSFILE
//! are read by probe/credentials.rs, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT
//! and PGSSLKEY by probe/tls.rs, PGSERVICEFILE and PGSYSCONFDIR by the
//! service lookup beside this file.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A variable's value, when it is set to something.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// PGUSER, when set.
pub fn user() -> Option<String> {
    var("PGUSER")
}

/// The longest wait tsmn's timers and the servers' millisecond settings
/// can all carry (2^31-1 ms is 24.8 days): libpq's "wait forever".
pub const WAIT_FOREVER: Duration = Duration::from_secs(24 * 24 * 3600);

/// A connect timeout as libpq reads one (its connect_timeout key and
/// PGCONNECT_TIMEOUT): whole seconds, white space around allowed; 0 or
/// less waits without a limit; 1 means 2 (libpq's minimum).
pub fn parse_connect_timeout(text: &str) -> Result<Duration, String> {
    let secs: i64 = text.trim().parse().map_err(|_| {
        format!("`{text}` is not a whole number of seconds (0 waits without a limit)")
    })?;
    Ok(match secs {
        ..=0 => WAIT_FOREVER,
        1 => Duration::from_secs(2),
        n => Duration::from_secs(n.unsigned_abs()).min(WAIT_FOREVER),
    })
}

/// PGCONNECT_TIMEOUT, when set; an error names the variable.
pub fn connect_timeout() -> Result<Option<Duration>, String> {
    var("PGCONNECT_TIMEOUT")
        .map(|v| {
            parse_connect_timeout(&v).map_err(|e| {
                format!("PGCONNECT_TIMEOUT: {e}\n    fix: set it to a whole number of seconds, or unset it")
            })
        })
        .transpose()
}

/// A timeout in words: `5 s`, or `no limit`.
pub fn shown(timeout: Duration) -> String {
    if timeout >= WAIT_FOREVER {
        "no limit".into()
    } else {
        format!("{} s", timeout.as_secs())
    }
}

static COMMAND: OnceLock<String> = OnceLock::new();

/// The command tsmn runs (`check`, `apply`, ...), set once at the start:
/// its sessions are named after it.
pub fn set_command(command: &str) {
    let _ = COMMAND.set(command.to_string());
}

/// The application_name of tsmn's sessions, as libpq picks one when a
/// connection string says nothing: PGAPPNAME, else `tsmn <command>`.
pub fn application_name() -> String {
    application_name_from(None, None)
}

/// libpq's order: the connection string's application_name, PGAPPNAME,
/// the string's fallback_application_name, then tsmn's own name.
pub fn application_name_from(given: Option<&str>, fallback: Option<&str>) -> String {
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    nonempty(given)
        .or_else(|| var("PGAPPNAME"))
        .or_else(|| nonempty(fallback))
        .unwrap_or_else(|| match COMMAND.get() {
            Some(c) => format!("tsmn {c}"),
            None => "tsmn".into(),
        })
}

/// The name of the connections the access node opens on tsmn's behalf
/// (dblink, to test the links TimescaleDB uses): tsmn's own, marked.
pub fn link_application_name() -> String {
    format!("{} (link)", application_name())
}

/// A note for the operator (a key read and not used), once per process:
/// to the log, and (the CLI's log layer for notes) to stderr unless -q.
pub fn note(text: &str) {
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut said = SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !said.iter().any(|s| s == text) {
        said.push(text.to_string());
        tracing::info!(target: "tsmn::note", "note: {text}");
    }
}

/// The PG* variables that are set and that tsmn does not read, with why.
pub fn ignored_set() -> Vec<(&'static str, &'static str)> {
    crate::plan::dsn::keys::ignored_env()
        .filter(|(var_name, _)| var(var_name).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_timeouts_as_libpq_reads_them() {
        let secs = |t: &str| parse_connect_timeout(t).map(|d| d.as_secs());
        assert_eq!(secs("10"), Ok(10));
        assert_eq!(secs(" 7 "), Ok(7));
        assert_eq!(secs("1"), Ok(2), "libpq's minimum");
        assert_eq!(secs("0"), Ok(WAIT_FOREVER.as_secs()));
        assert_eq!(secs("-3"), Ok(WAIT_FOREVER.as_secs()));
        assert!(secs("5s").unwrap_err().contains("`5s`"));
        assert!(secs("").is_err());
        assert_eq!(shown(WAIT_FOREVER), "no limit");
        assert_eq!(shown(Duration::from_secs(5)), "5 s");
    }
}
