//! Material moved out of the way, never deleted: that of nodes and roles
//! no longer in the plan, certificates set aside to be renewed, a whole CA
//! rolled over; and put back when the operator says no.

use super::disk::{io, read, set_mode};
use super::MaterialError;
use crate::plan::Plan;
use crate::timescale::cert_file_stem;
use std::path::{Path, PathBuf};

/// The certificates and keys of nodes and roles no longer in the plan (a
/// data node removed, a role dropped) move into `removed/`: kept, never
/// used again, and a node or role that comes back gets new ones.
pub(super) fn set_aside_unused(plan: &Plan, dir: &Path) -> Result<(), MaterialError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let mut used: Vec<String> = plan.nodes().map(|n| format!("server-{}", n.name)).collect();
    used.extend(
        plan.auth
            .roles
            .iter()
            .map(|r| format!("client-{}", cert_file_stem(r))),
    );
    let aside = dir.join("removed");
    for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let Some(stem) = name
            .strip_suffix(".crt")
            .or_else(|| name.strip_suffix(".key"))
        else {
            continue;
        };
        let leaf = stem.starts_with("server-") || stem.starts_with("client-");
        if leaf && !used.iter().any(|u| u == stem) && p.is_file() {
            std::fs::create_dir_all(&aside)
                .map_err(io(&aside, "check that the plan's directory is writable"))?;
            set_mode(&aside, 0o700)?;
            let to = aside.join(&name);
            std::fs::rename(&p, &to)
                .map_err(io(&p, "check that the plan's directory is writable"))?;
        }
    }
    Ok(())
}

/// Set the server and client certificates (and their keys) aside, so
/// that the next `load_or_create` issues new ones from the same CA. They
/// are moved, not removed, into `renewed-<stamp>/` (restore them with
/// `restore_renewed`). Returns that directory, or None when there was
/// nothing to renew.
pub fn renew(dir: &Path, stamp: &str) -> Result<Option<PathBuf>, MaterialError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let leaves: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            (n.starts_with("server-") || n.starts_with("client-"))
                && (n.ends_with(".crt") || n.ends_with(".key"))
        })
        .collect();
    if leaves.is_empty() {
        return Ok(None);
    }
    let aside = dir.join(format!("renewed-{stamp}"));
    std::fs::create_dir_all(&aside)
        .map_err(io(&aside, "check that the plan's directory is writable"))?;
    set_mode(&aside, 0o700)?;
    for p in leaves {
        let to = aside.join(p.file_name().unwrap_or_default());
        std::fs::rename(&p, &to).map_err(io(&p, "check that the plan's directory is writable"))?;
    }
    Ok(Some(aside))
}

/// A CA roll-over: tsmn's CA and every certificate it issued are moved
/// into `rolled-<stamp>/`, so that the next `load_or_create` makes a new CA
/// and issues everything from it. Returns that directory and the old CA's
/// certificate (trusted beside the new one while the roll-over runs), or
/// None when tsmn has made no CA here yet.
pub fn roll(dir: &Path, stamp: &str) -> Result<Option<(PathBuf, String)>, MaterialError> {
    let ca = dir.join("ca.crt");
    if !ca.exists() {
        return Ok(None);
    }
    let old = read(&ca)?;
    let aside = dir.join(format!("rolled-{stamp}"));
    std::fs::create_dir_all(&aside)
        .map_err(io(&aside, "check that the plan's directory is writable"))?;
    set_mode(&aside, 0o700)?;
    let entries =
        std::fs::read_dir(dir).map_err(io(dir, "check that the plan's directory is readable"))?;
    for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let n = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let leaf = (n.starts_with("server-") || n.starts_with("client-") || n.starts_with("ca."))
            && (n.ends_with(".crt") || n.ends_with(".key"));
        if leaf {
            let to = aside.join(p.file_name().unwrap_or_default());
            std::fs::rename(&p, &to)
                .map_err(io(&p, "check that the plan's directory is writable"))?;
        }
    }
    Ok(Some((aside, old)))
}

/// Put certificates set aside by `renew` (or `roll`) back (the operator said no).
pub fn restore_renewed(dir: &Path, aside: &Path) -> Result<(), MaterialError> {
    for e in std::fs::read_dir(aside).map_err(io(aside, "restore them by hand"))? {
        let p = e.map_err(io(aside, "restore them by hand"))?.path();
        let to = dir.join(p.file_name().unwrap_or_default());
        std::fs::rename(&p, &to).map_err(io(&p, "restore it by hand"))?;
    }
    std::fs::remove_dir(aside).map_err(io(aside, "remove it by hand"))
}
