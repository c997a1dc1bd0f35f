//! Certificate material for certificate mode: a CA (generated or imported),
//! a server certificate per node and a client certificate per role. Kept in
//! a directory beside the plan, so preview, export and apply use the same
//! certificates, and a re-run changes nothing.
//!
//! This file is the material and its directory; issue.rs makes (or finds)
//! the certificates, reuse.rs checks what is on disk before it is used,
//! aside.rs moves what is renewed, rolled over or no longer used out of the
//! way, disk.rs reads and writes the files.

mod aside;
mod disk;
mod issue;
mod reuse;

pub use aside::{renew, restore_renewed, roll};

use crate::plan::Plan;
use crate::timescale::cert_file_stem;
use aside::set_aside_unused;
use disk::{io, set_mode, write};
use issue::build;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// PEM texts. Keys are secrets: written 0600, never shown.
#[derive(Clone)]
pub struct Material {
    pub dir: PathBuf,
    pub ca_cert: String,
    /// node name -> (certificate, key)
    pub servers: BTreeMap<String, (String, String)>,
    /// role -> (certificate, key)
    pub clients: BTreeMap<String, (String, String)>,
    /// During a CA roll-over (`--roll-ca`): the CA being replaced, trusted
    /// beside the new one until every certificate is issued anew.
    pub previous_ca: Option<String>,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Material")
            .field("dir", &self.dir)
            .field("servers", &self.servers.keys())
            .field("clients", &self.clients.keys())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MaterialError {
    #[error("{path}: {detail}\n    fix: {fix}")]
    File {
        path: PathBuf,
        detail: String,
        fix: String,
    },
    #[error("generating certificates failed: {0}\n    fix: report this; the plan's names may be unusable in a certificate")]
    Generate(String),
}

impl Material {
    /// A private key by the name the steps use: `server-<node>` or `client-<md5>`.
    pub fn key(&self, name: &str) -> Option<String> {
        if let Some(node) = name.strip_prefix("server-") {
            return self.servers.get(node).map(|(_, k)| k.clone());
        }
        let stem = name.strip_prefix("client-")?;
        self.clients
            .iter()
            .find(|(role, _)| cert_file_stem(role) == stem)
            .map(|(_, (_, k))| k.clone())
    }
}

/// Load what exists in `dir`, create what is missing, and return all of it.
/// The directory is 0700 and ignores itself for git (`.gitignore` with `*`):
/// it holds private keys, often beside a plan in a source tree.
pub fn load_or_create(plan: &Plan, dir: &Path) -> Result<Material, MaterialError> {
    private_dir(dir)?;
    set_aside_unused(plan, dir)?;
    build(plan, dir, true)
}

/// An adopted cluster whose CA tsmn does not have (none in the plan, none
/// made beside it): its own certificates stand, and tsmn makes no CA of
/// its own for it, since certificates from a second CA would not be
/// trusted by the nodes.
pub fn without_ca(plan: &Plan, dir: &Path) -> bool {
    let opts = plan.auth.certificate.clone().unwrap_or_default();
    plan.adopted
        && opts.ca_cert.is_empty()
        && !(dir.join("ca.crt").exists() && dir.join("ca.key").exists())
}

/// tsmn's directory beside a plan (keys, the journal, the run lock): 0700,
/// and a `.gitignore` of `*`, since a plan often sits in a source tree.
pub fn private_dir(dir: &Path) -> Result<(), MaterialError> {
    std::fs::create_dir_all(dir).map_err(io(dir, "check that the plan's directory is writable"))?;
    set_mode(dir, 0o700)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        write(
            &ignore,
            "# private keys and certificates made by tsmn: never commit them\n*\n",
            0o644,
        )?;
    }
    Ok(())
}

/// What exists in `dir`, and placeholders for what `load_or_create` would
/// make: for showing the steps (preview) without writing anything.
pub fn load_or_describe(plan: &Plan, dir: &Path) -> Result<Material, MaterialError> {
    build(plan, dir, false)
}
