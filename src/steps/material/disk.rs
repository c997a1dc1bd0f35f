//! The material's files: read, written whole or not at all, given their
//! mode; an I/O error said with the file and the fix.

use super::MaterialError;
use std::path::Path;

pub(super) fn io(path: &Path, fix: &str) -> impl FnOnce(std::io::Error) -> MaterialError {
    let (path, fix) = (path.to_path_buf(), fix.to_string());
    move |e| MaterialError::File {
        path,
        detail: e.to_string(),
        fix,
    }
}

pub(super) fn read(path: &Path) -> Result<String, MaterialError> {
    std::fs::read_to_string(path).map_err(io(path, "check the path in the plan (auth.certificate), or remove the file to have tsmn make a new one"))
}

/// Written whole or not at all: a temporary file beside it, flushed to
/// disk, then renamed over it. A run killed in the middle leaves the old
/// file (or none), never an empty or half-written certificate or key.
pub(super) fn write(path: &Path, text: &str, mode: u32) -> Result<(), MaterialError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(path, "check that the directory is writable"))?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io(path, "check free disk space"));
    if let Err(e) = written.and_then(|()| set_mode(&tmp, mode)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io(path, "check that the directory is writable"))?;
    if let Some(d) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub(super) fn set_mode(path: &Path, mode: u32) -> Result<(), MaterialError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io(path, "check the file's owner"))
}
