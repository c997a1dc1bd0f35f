//! Issuing the material: the CA (the plan's, the one made before, or a
//! new one) and a leaf certificate per node and role, each found on disk
//! when usable, else made; or placeholders, for a preview.

use super::disk::{read, write};
use super::reuse::{broken, reusable, set_aside_broken};
use super::{Material, MaterialError};
use crate::plan::{CertificateOptions, Plan};
use crate::timescale::cert_file_stem;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::collections::BTreeMap;
use std::path::Path;

fn gen(e: rcgen::Error) -> MaterialError {
    MaterialError::Generate(e.to_string())
}

pub(super) fn build(plan: &Plan, dir: &Path, create: bool) -> Result<Material, MaterialError> {
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
