//! A certificate and key found on disk, checked before they are used
//! again; material that cannot be used is set aside to be made anew.

use super::disk::{io, read};
use super::MaterialError;
use rcgen::KeyPair;
use std::path::{Path, PathBuf};

/// A certificate and its key as found on disk: Ok(Ok(the pair)) when both
/// parse and belong together, Ok(Err(what is wrong, naming the file))
/// when not (an empty file left by an older tsmn that was killed, say).
pub(super) fn reusable(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Result<(String, String), Broken>, MaterialError> {
    let (cert, key) = (read(cert_path)?, read(key_path)?);
    Ok(check_pair(&cert, &key)
        .map(|()| (cert, key))
        .map_err(|why| match why {
            Unusable::Cert(detail) => Broken {
                path: cert_path.to_path_buf(),
                detail,
            },
            Unusable::Key(detail) => Broken {
                path: key_path.to_path_buf(),
                detail,
            },
        }))
}

/// A file of the material that cannot be used, and why.
pub(super) struct Broken {
    path: PathBuf,
    detail: String,
}

enum Unusable {
    Cert(String),
    Key(String),
}

/// PURE: whether a PEM certificate and key parse and the key is the
/// certificate's.
fn check_pair(cert: &str, key: &str) -> Result<(), Unusable> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(cert.as_bytes())
        .map_err(|e| Unusable::Cert(format!("not a PEM certificate ({e})")))?;
    let parsed = pem
        .parse_x509()
        .map_err(|e| Unusable::Cert(format!("the certificate does not parse ({e})")))?;
    let pair = KeyPair::from_pem(key)
        .map_err(|e| Unusable::Key(format!("not a usable private key ({e})")))?;
    if parsed.public_key().raw != rcgen::PublicKeyData::subject_public_key_info(&pair).as_slice() {
        return Err(Unusable::Key(
            "this key does not belong to the certificate beside it".into(),
        ));
    }
    Ok(())
}

pub(super) fn broken(why: &Broken) -> MaterialError {
    MaterialError::File {
        path: why.path.clone(),
        detail: why.detail.clone(),
        fix: "remove it (and its pair) to have tsmn make a new one, or put back a good copy".into(),
    }
}

/// Material that cannot be used moves into `broken-<time>/` (kept for a
/// look, never used again), so that it is made anew. With the CA, every
/// certificate and key goes: they were signed by it.
pub(super) fn set_aside_broken(dir: &Path, why: &Broken, all: bool) -> Result<(), MaterialError> {
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let aside = dir.join(format!("broken-{stamp}"));
    std::fs::create_dir_all(&aside).map_err(io(&aside, "check that the directory is writable"))?;
    tracing::warn!(
        "unusable certificate material set aside in {}: {}: {}",
        aside.display(),
        why.path.display(),
        why.detail
    );
    let stem = why
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    for entry in std::fs::read_dir(dir)
        .map_err(io(dir, "check the directory"))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().to_string();
        let pem = name.ends_with(".crt") || name.ends_with(".key");
        let hit = if all {
            pem
        } else {
            pem && Path::new(&name)
                .file_stem()
                .is_some_and(|s| s.to_string_lossy() == stem)
        };
        if hit {
            let to = aside.join(&name);
            std::fs::rename(entry.path(), &to)
                .map_err(io(&entry.path(), "check that the directory is writable"))?;
        }
    }
    Ok(())
}
