//! Certificate material for certificate mode: a CA (generated or imported),
//! a server certificate per node and a client certificate per role. Kept in
//! a directory beside the plan, so preview, export and apply use the same
//! certificates, and a re-run changes nothing.

use crate::plan::{CertificateOptions, Plan};
use crate::timescale::cert_file_stem;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
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

/// The material directory for a plan file: `<plan>.tsmn/`.
pub fn dir_for(plan_path: &Path) -> PathBuf {
    let mut name = plan_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tsmn");
    plan_path.with_file_name(name)
}

fn io(path: &Path, fix: &str) -> impl FnOnce(std::io::Error) -> MaterialError {
    let (path, fix) = (path.to_path_buf(), fix.to_string());
    move |e| MaterialError::File {
        path,
        detail: e.to_string(),
        fix,
    }
}

fn gen(e: rcgen::Error) -> MaterialError {
    MaterialError::Generate(e.to_string())
}

/// Load what exists in `dir`, create what is missing, and return all of it.
/// The directory is 0700 and ignores itself for git (`.gitignore` with `*`):
/// it holds private keys, often beside a plan in a source tree.
pub fn load_or_create(plan: &Plan, dir: &Path) -> Result<Material, MaterialError> {
    private_dir(dir)?;
    set_aside_unused(plan, dir)?;
    build(plan, dir, true)
}

/// The certificates and keys of nodes and roles no longer in the plan (a
/// data node removed, a role dropped) move into `removed/`: kept, never
/// used again, and a node or role that comes back gets new ones.
fn set_aside_unused(plan: &Plan, dir: &Path) -> Result<(), MaterialError> {
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

fn build(plan: &Plan, dir: &Path, create: bool) -> Result<Material, MaterialError> {
    let opts = plan.auth.certificate.clone().unwrap_or_default();
    let (ca_cert, ca_key) = match ca(dir, &opts, create)? {
        Some(pair) => pair,
        None => return Ok(described(plan, dir)),
    };
    let ca_keypair = KeyPair::from_pem(&ca_key).map_err(gen)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_cert, ca_keypair).map_err(gen)?;
    let mut m = Material {
        dir: dir.to_path_buf(),
        ca_cert,
        servers: BTreeMap::new(),
        clients: BTreeMap::new(),
        previous_ca: None,
    };
    for node in plan.nodes() {
        let mut sans: Vec<String> = vec![node.host.clone()];
        if let Some(h) = &node.connect_host {
            if !h.starts_with('/') && !sans.contains(h) {
                sans.push(h.clone());
            }
        }
        let pair = leaf(
            dir,
            &format!("server-{}", node.name),
            &node.name,
            &sans,
            opts.validity_days,
            &issuer,
            ExtendedKeyUsagePurpose::ServerAuth,
            create,
        )?;
        m.servers.insert(node.name.clone(), pair);
    }
    for role in &plan.auth.roles {
        let pair = leaf(
            dir,
            &format!("client-{}", cert_file_stem(role)),
            role,
            &[],
            opts.validity_days,
            &issuer,
            ExtendedKeyUsagePurpose::ClientAuth,
            create,
        )?;
        m.clients.insert(role.clone(), pair);
    }
    Ok(m)
}

/// Placeholders for material not made yet (nothing is generated).
fn described(plan: &Plan, dir: &Path) -> Material {
    let pending = |what: String| {
        (
            format!("<{what}: made by tsmn export or apply>\n"),
            String::new(),
        )
    };
    Material {
        dir: dir.to_path_buf(),
        ca_cert: "<the CA certificate tsmn makes: made by tsmn export or apply>\n".into(),
        servers: plan
            .nodes()
            .map(|n| {
                (
                    n.name.clone(),
                    pending(format!("server certificate of {}, CN={}", n.name, n.name)),
                )
            })
            .collect(),
        clients: plan
            .auth
            .roles
            .iter()
            .map(|r| (r.clone(), pending(format!("client certificate CN={r}"))))
            .collect(),
        previous_ca: None,
    }
}

fn ca(
    dir: &Path,
    opts: &CertificateOptions,
    create: bool,
) -> Result<Option<(String, String)>, MaterialError> {
    if !opts.ca_cert.is_empty() {
        let cert = read(Path::new(&opts.ca_cert))?;
        let key = read(Path::new(&opts.ca_key))?;
        return Ok(Some((cert, key)));
    }
    let (cert_path, key_path) = (dir.join("ca.crt"), dir.join("ca.key"));
    if cert_path.exists() && key_path.exists() {
        match reusable(&cert_path, &key_path)? {
            Ok(pair) => return Ok(Some(pair)),
            // A CA made anew invalidates every certificate it signed:
            // those are set aside with it and made anew too.
            Err(why) if create => set_aside_broken(dir, &why, true)?,
            Err(why) => return Err(broken(&why)),
        }
    }
    if !create {
        return Ok(None);
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn("tsmn multi-node CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, 3650);
    let key = KeyPair::generate().map_err(gen)?;
    let cert = params.self_signed(&key).map_err(gen)?;
    write(&key_path, &key.serialize_pem(), 0o600)?;
    write(&cert_path, &cert.pem(), 0o644)?;
    Ok(Some((cert.pem(), key.serialize_pem())))
}

#[allow(clippy::too_many_arguments)]
fn leaf(
    dir: &Path,
    stem: &str,
    cn: &str,
    sans: &[String],
    days: i64,
    issuer: &Issuer<'_, KeyPair>,
    usage: ExtendedKeyUsagePurpose,
    create: bool,
) -> Result<(String, String), MaterialError> {
    let (cert_path, key_path) = (
        dir.join(format!("{stem}.crt")),
        dir.join(format!("{stem}.key")),
    );
    if cert_path.exists() && key_path.exists() {
        match reusable(&cert_path, &key_path)? {
            Ok(pair) => return Ok(pair),
            Err(why) if create => set_aside_broken(dir, &why, false)?,
            Err(why) => return Err(broken(&why)),
        }
    }
    if !create {
        return Ok((
            format!("<new certificate CN={cn}: made by tsmn export or apply>\n"),
            String::new(),
        ));
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.subject_alt_names = sans
        .iter()
        .map(|s| match s.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => s.clone().try_into().map(SanType::DnsName).map_err(gen),
        })
        .collect::<Result<_, _>>()?;
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    validity(&mut params, days);
    let key = KeyPair::generate().map_err(gen)?;
    let cert = params.signed_by(&key, issuer).map_err(gen)?;
    write(&key_path, &key.serialize_pem(), 0o600)?;
    write(&cert_path, &cert.pem(), 0o644)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

fn read(path: &Path) -> Result<String, MaterialError> {
    std::fs::read_to_string(path).map_err(io(path, "check the path in the plan (auth.certificate), or remove the file to have tsmn make a new one"))
}

/// Written whole or not at all: a temporary file beside it, flushed to
/// disk, then renamed over it. A run killed in the middle leaves the old
/// file (or none), never an empty or half-written certificate or key.
fn write(path: &Path, text: &str, mode: u32) -> Result<(), MaterialError> {
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

/// A certificate and its key as found on disk: Ok(Ok(the pair)) when both
/// parse and belong together, Ok(Err(what is wrong, naming the file))
/// when not (an empty file left by an older tsmn that was killed, say).
fn reusable(
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
struct Broken {
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

fn broken(why: &Broken) -> MaterialError {
    MaterialError::File {
        path: why.path.clone(),
        detail: why.detail.clone(),
        fix: "remove it (and its pair) to have tsmn make a new one, or put back a good copy".into(),
    }
}

/// Material that cannot be used moves into `broken-<time>/` (kept for a
/// look, never used again), so that it is made anew. With the CA, every
/// certificate and key goes: they were signed by it.
fn set_aside_broken(dir: &Path, why: &Broken, all: bool) -> Result<(), MaterialError> {
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

fn set_mode(path: &Path, mode: u32) -> Result<(), MaterialError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io(path, "check the file's owner"))
}
