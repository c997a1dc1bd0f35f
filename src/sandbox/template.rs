//! One initdb per PostgreSQL version and OS user, copied for every cluster:
//! much faster than an initdb per node or per test.

use super::error::SandboxError;
use super::os_user::ServerUser;
use super::pgbin::PgBin;
use std::path::PathBuf;

/// The template data directory, built on first use. Safe to call from many
/// processes at once: each builds into its own directory and renames it into
/// place; the loser of the race removes its copy.
pub fn ensure_template(bin: &PgBin, user: ServerUser) -> Result<PathBuf, SandboxError> {
    ensure_template_in(&super::places::template_base(), bin, user)
}

/// The same, under `base`. A template found there is used only when
/// nobody but root, the caller or the server's OS user could have planted
/// it (its data is copied into every node, and the server runs it).
pub fn ensure_template_in(
    base: &std::path::Path,
    bin: &PgBin,
    user: ServerUser,
) -> Result<PathBuf, SandboxError> {
    let euid = crate::os::euid();
    super::places::make(base).map_err(SandboxError::io(base))?;
    let refuse = |detail: String| SandboxError::Command {
        what: "using the template cluster".into(),
        detail,
        fix: format!(
            "remove {} if you did not make it, then run tsmn again (it builds a new one)",
            base.display()
        ),
    };
    super::trust::closed_path(base).map_err(refuse)?;
    let target = base.join(format!("tsmn-template-{euid}-pg{}", bin.version));
    if target.join("PG_VERSION").is_file() {
        super::trust::template(&target, user).map_err(refuse)?;
        return Ok(target);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let building = base.join(format!(
        "tsmn-template-{euid}-pg{}.building-{}-{nanos}",
        bin.version,
        std::process::id()
    ));
    // Made here and handed to the server's OS user: the base stays ours
    // (root's), so nobody else can put a template at its name.
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&building)
            .map_err(SandboxError::io(&building))?;
        user.chown(&building)?;
    }
    let out = user
        .command(bin.program("initdb"))
        .arg("-D")
        .arg(&building)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .map_err(SandboxError::io(bin.program("initdb")))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&building);
        return Err(SandboxError::Command {
            what: "initdb".into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            fix: format!(
                "check that {} can write to {}",
                bin.program("initdb").display(),
                base.display()
            ),
        });
    }
    if std::fs::rename(&building, &target).is_err() {
        // Another process finished first; use theirs.
        let _ = std::fs::remove_dir_all(&building);
    }
    if target.join("PG_VERSION").is_file() {
        Ok(target)
    } else {
        Err(SandboxError::Command {
            what: "building the template cluster".into(),
            detail: format!("{} has no PG_VERSION after initdb", target.display()),
            fix: format!("remove {} and try again", target.display()),
        })
    }
}
