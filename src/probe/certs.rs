//! The certificates a node uses, read as its superuser (`pg_read_file`),
//! for their validity: the server certificate and the CA when ssl is on,
//! and on the access node in certificate mode each role's md5-named client
//! certificate. Private keys are never read.

use crate::facts::{CertFacts, ServerFacts};
use crate::plan::{AuthMode, Plan};
use tokio_postgres::Client;

pub async fn certificates(
    client: &Client,
    s: &ServerFacts,
    plan: &Plan,
    access: bool,
) -> Vec<CertFacts> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    if s.ssl_on() {
        for (setting, what) in [
            ("ssl_cert_file", "server certificate"),
            ("ssl_ca_file", "CA"),
        ] {
            if let Some(v) = s.setting(setting).filter(|v| !v.is_empty()) {
                wanted.push((what.to_string(), s.resolve(v)));
            }
        }
    }
    if access && plan.auth.mode == AuthMode::Certificate {
        for role in &plan.auth.roles {
            wanted.push((
                format!("client certificate of {role}"),
                s.client_certificate(role).0,
            ));
        }
    }
    if wanted.is_empty() {
        return Vec::new();
    }
    let paths: Vec<String> = wanted.iter().map(|(_, p)| p.clone()).collect();
    let Ok(rows) = crate::pg::rows(
        client,
        "SELECT p, pg_read_binary_file(p, 0, 1048576, true), extract(epoch FROM now())::int8 FROM unnest($1::text[]) AS p",
        &[crate::pg::Text::Many(&paths)],
    )
    .await
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (r, (what, path)) in rows.iter().zip(&wanted) {
        let (bytes, now): (Option<Vec<u8>>, i64) = (r.get(1), r.get(2));
        if let Some((not_before, not_after)) = bytes.as_deref().and_then(validity) {
            out.push(CertFacts {
                what: what.clone(),
                path: path.clone(),
                not_before,
                not_after,
                checked_at: now,
            });
        }
    }
    out
}

/// The first certificate's validity in a PEM file, in epoch seconds.
pub fn validity(pem: &[u8]) -> Option<(i64, i64)> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let cert = pem.parse_x509().ok()?;
    let v = cert.validity();
    Some((v.not_before.timestamp(), v.not_after.timestamp()))
}
