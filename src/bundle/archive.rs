//! The bundle as a tar.gz, created with mode 0600 (it names hosts, roles
//! and settings: for the operator and whom they send it to), refusing a
//! file that exists.

use super::Entry;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Write `entries` under the directory `top` in the archive at `out`.
pub fn write(out: &Path, top: &str, entries: &[Entry]) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)?;
    write_to(file, top, entries)
}

/// The archive into `w` (a file, or standard output).
pub fn write_to<W: Write>(w: W, top: &str, entries: &[Entry]) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(e.text.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(now);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, format!("{top}/{}", e.path), e.text.as_bytes())?;
    }
    let gz = tar.into_inner()?;
    let mut w = gz.finish()?;
    w.flush()
}
