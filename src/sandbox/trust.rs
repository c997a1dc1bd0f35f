//! What a sandbox marker may make tsmn do, as root: run the programs in the
//! directory it names, and remove the node directories it lists. So a
//! marker is trusted only when nobody but root or the caller could have
//! written it, every node name stays inside the sandbox, and the program
//! directory (and each directory above it) is owned by root or the caller
//! and writable by nobody else.

use super::Marker;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub fn marker(dir: &Path, marker_path: &Path, m: &Marker) -> Result<(), String> {
    owned_and_closed(marker_path, "the marker")?;
    owned_and_closed(dir, "the sandbox directory")?;
    for n in &m.nodes {
        let plain = !n.name.is_empty()
            && n.name.len() <= 63
            && n.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !plain {
            return Err(format!(
                "node name `{}` is not a plain name (letters, digits, `_`, `-`): it could point outside the sandbox; nothing was done",
                n.name.escape_default()
            ));
        }
        let node_dir = dir.join(&n.name);
        if let Ok(meta) = std::fs::symlink_metadata(&node_dir) {
            if meta.file_type().is_symlink() {
                return Err(format!(
                    "{} is a symbolic link, not the node's directory; nothing was done",
                    node_dir.display()
                ));
            }
        }
    }
    let mut p = Some(m.pg_bindir.as_path());
    while let Some(part) = p {
        owned_and_closed(part, "the PostgreSQL program directory it names")?;
        p = part.parent();
    }
    Ok(())
}

/// Owned by root or the caller, and writable by nobody else (a sticky
/// directory such as /tmp is writable by all but lets nobody replace
/// another's entries, so it passes as a parent).
fn owned_and_closed(path: &Path, what: &str) -> Result<(), String> {
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| format!("{what} ({}): {e}", path.display()))?;
    let me = crate::os::euid();
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!(
            "{what} ({}) belongs to uid {}, not to root or to you: anyone who owns it could make tsmn run their program or remove their choice of directory; nothing was done",
            path.display(),
            meta.uid()
        ));
    }
    let sticky_dir = meta.is_dir() && meta.mode() & 0o1000 != 0;
    if meta.mode() & 0o022 != 0 && !sticky_dir {
        return Err(format!(
            "{what} ({}) can be written by others (mode {:04o}); nothing was done",
            path.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// `path` and every directory above it: owned by root or the caller and
/// writable by nobody else (sticky directories pass as parents).
pub fn closed_path(path: &Path) -> Result<(), String> {
    let mut p = Some(path);
    while let Some(part) = p {
        owned_and_closed(part, "a directory on the way there")?;
        p = part.parent();
    }
    Ok(())
}

/// A template found in place: owned by root, the caller or the server's
/// OS user (who owns it when tsmn runs as root), writable by nobody else,
/// and not a symbolic link.
pub fn template(dir: &Path, user: super::ServerUser) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let me = crate::os::euid();
    let server = match user {
        super::ServerUser::Other { uid, .. } => uid,
        super::ServerUser::Current => me,
    };
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(format!(
            "{} is not a directory tsmn made; nothing was used",
            dir.display()
        ));
    }
    if ![0, me, server].contains(&meta.uid()) {
        return Err(format!(
            "the template {} belongs to uid {}, not to root, you or the server's OS user: someone could have planted it; nothing was used",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "the template {} can be written by others (mode {:04o}); nothing was used",
            dir.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}
