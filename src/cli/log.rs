//! The log file every command and the wizard write: what tsmn connected
//! to, the statements it sent (by their masked text: a secret never
//! reaches the log), connection errors in full, restart decisions and each
//! step's outcome. Lines are plain text with a UTC timestamp.
//!
//! Where: `TSMN_LOG_FILE` when set, else `tsmn.log` in tsmn's state
//! directory's `log/` (root: /var/lib/tsmn/log, others:
//! $XDG_STATE_HOME/tsmn/log, the directory 0700), a file a day, 7 kept.
//! Level: info; -v debug (and the lines on stderr too, outside the
//! wizard); -vv trace; RUST_LOG (`tsmn=debug`, say) overrides both.

use std::path::PathBuf;
use std::str::FromStr;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The target of the notes the library has for the operator.
const NOTES: &str = "tsmn::note";

/// The directory of the daily files (when TSMN_LOG_FILE is not set).
pub fn dir() -> PathBuf {
    tsmn::sandbox::places::state_dir().join("log")
}

fn filter(verbose: u8) -> Targets {
    if let Ok(spec) = std::env::var("RUST_LOG") {
        if let Ok(t) = Targets::from_str(&spec) {
            return t;
        }
    }
    let ours = match verbose {
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    Targets::new()
        .with_target("tsmn", ours)
        .with_default(LevelFilter::WARN)
}

/// A writer for the log, or why there is none (the command goes on).
fn writer() -> Result<tracing_appender::rolling::RollingFileAppender, String> {
    use tracing_appender::rolling::{Builder, Rotation};
    if let Some(file) = std::env::var_os("TSMN_LOG_FILE").filter(|f| !f.is_empty()) {
        let file = PathBuf::from(file);
        let (parent, name) = match (file.parent(), file.file_name()) {
            (Some(p), Some(n)) => (p.to_path_buf(), n.to_string_lossy().to_string()),
            _ => {
                return Err(format!(
                    "TSMN_LOG_FILE={} is not a file path",
                    file.display()
                ))
            }
        };
        private_file(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        return Builder::new()
            .rotation(Rotation::NEVER)
            .filename_prefix(name)
            .build(parent)
            .map_err(|e| e.to_string());
    }
    let dir = dir();
    private_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("tsmn")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir)
        .map_err(|e| e.to_string())?;
    private_files(&dir);
    Ok(appender)
}

/// The log file, made 0600 when tsmn creates it (before anything is
/// written: the log names hosts and roles); one that exists keeps the mode
/// its owner gave it.
fn private_file(file: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(|_| ()),
    }
}

/// The daily files, 0600: the appender makes them with the default mode
/// (their directory is 0700 already, so this only keeps a copied-out
/// directory private too).
fn private_files(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("tsmn.") {
            let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// 0700, whoever runs tsmn: the log names hosts and roles.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent() {
        tsmn::sandbox::places::make(parent)?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Start logging; `to_stderr` (not in the wizard) also shows the lines at
/// -v. A log that cannot be written is said once under -v, never fatal.
pub fn init(verbose: u8, to_stderr: bool) {
    let (file_layer, why) = match writer() {
        Ok(w) => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_target(false)
                    .with_writer(w)
                    .with_filter(filter(verbose)),
            ),
            None,
        ),
        Err(e) => (None, Some(e)),
    };
    let stderr_layer = (to_stderr && verbose > 0).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .with_writer(std::io::stderr)
            .with_filter(filter(verbose).with_target(NOTES, LevelFilter::OFF))
    });
    // Notes for the operator (a connection key read and not used, say):
    // on stderr as they are, unless -q; in the wizard the log has them.
    let notes_layer = (to_stderr && !super::output::quiet()).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_target(false)
            .with_level(false)
            .without_time()
            .with_writer(std::io::stderr)
            .with_filter(Targets::new().with_target(NOTES, LevelFilter::INFO))
    });
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .with(notes_layer)
        .try_init();
    if let (Some(why), true) = (why, verbose > 0) {
        eprintln!("note: no log file this time ({why}); set TSMN_LOG_FILE to a writable path");
    }
    // The command line may carry a password (a URI given to discover,
    // say): logged with every secret masked, before any refusal.
    // With the directory it ran in: a relative plan path names a file only
    // with it (the support bundle keeps the runs on its own plan).
    tracing::info!(
        "tsmn {} started: {} (in {})",
        super::args::help::VERSION,
        tsmn::quote::secrets::masked_args(&std::env::args().collect::<Vec<_>>()),
        std::env::current_dir().map_or_else(|_| "?".to_string(), |d| d.display().to_string())
    );
}
