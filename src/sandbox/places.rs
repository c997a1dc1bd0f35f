//! Where the sandbox and the template live by default: never a predictable
//! name in the shared temporary directory (any local user could plant it
//! before root runs `tsmn demo`). As root: /var/lib/tsmn, root-owned and
//! traversable by the server's OS user, which owns the data directories
//! and the template inside. Otherwise the XDG state and cache directories.

use std::path::{Path, PathBuf};

use crate::os::euid;

/// $XDG_..._HOME, else ~/<fallback>; None without a usable home.
fn xdg(var: &str, fallback: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    from_env.or_else(|| {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute() && h != Path::new("/"))
            .map(|h| h.join(fallback))
    })
}

/// tsmn's own state: the default sandbox goes here.
pub fn state_dir() -> PathBuf {
    if euid() == 0 {
        return PathBuf::from("/var/lib/tsmn");
    }
    xdg("XDG_STATE_HOME", ".local/state")
        .map(|d| d.join("tsmn"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("tsmn-state-{}", euid())))
}

/// Where templates (one initdb per PostgreSQL version) are kept.
pub fn template_base() -> PathBuf {
    if euid() == 0 {
        return PathBuf::from("/var/lib/tsmn/templates");
    }
    xdg("XDG_CACHE_HOME", ".cache")
        .map(|d| d.join("tsmn"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("tsmn-cache-{}", euid())))
}

/// Create `dir` (and its parents) as the caller, traversable by the
/// server's OS user when tsmn runs as root (0755) and private otherwise
/// (0700).
pub fn make(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let mode = if euid() == 0 { 0o755 } else { 0o700 };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
}
