//! TLS for tsmn's own connections (rustls on ring), the way libpq does it:
//! the six sslmodes, a root certificate and a client certificate, taken
//! from the plan, then from PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and
//! PGSSLKEY, then from libpq's files in `~/.postgresql`. A Unix socket
//! never carries TLS (libpq ignores sslmode there; the server refuses it).

use crate::plan::{Plan, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// One TLS setting and where it came from, for errors that name the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced {
    pub value: String,
    /// `credentials.sslrootcert`, `PGSSLROOTCERT` or `libpq's default file`.
    pub from: String,
}

/// What tsmn's connections use, resolved from the plan and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub mode_from: String,
    pub root: Option<Sourced>,
    /// Certificate and key, from the same source.
    pub client: Option<(Sourced, Sourced)>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn sourced(plan_value: &str, field: &str, var: &str, default: Option<PathBuf>) -> Option<Sourced> {
    if !plan_value.is_empty() {
        return Some(Sourced {
            value: plan_value.to_string(),
            from: format!("credentials.{field}"),
        });
    }
    if let Some(v) = env(var) {
        return Some(Sourced {
            value: v,
            from: var.to_string(),
        });
    }
    let d = default.filter(|p| p.exists())?;
    Some(Sourced {
        value: d.display().to_string(),
        from: "libpq's default file".into(),
    })
}

impl TlsSettings {
    /// The plan's settings, then libpq's environment variables and files.
    /// A plan that names a CA and no sslmode verifies in full (as before
    /// sslmode existed in the plan); otherwise libpq's default, prefer.
    pub fn from_plan(plan: &Plan) -> Result<TlsSettings, String> {
        let c = &plan.credentials;
        let (mode, mode_from) = if !c.sslmode.is_empty() {
            let m = SslMode::parse(&c.sslmode).ok_or_else(|| {
                format!(
                    "credentials.sslmode is `{}`, not an sslmode\n    fix: use one of {}",
                    c.sslmode,
                    SslMode::names()
                )
            })?;
            (m, "credentials.sslmode".to_string())
        } else if !c.sslrootcert.is_empty() {
            (SslMode::VerifyFull, "credentials.sslrootcert".to_string())
        } else if let Some(v) = env("PGSSLMODE") {
            let m = SslMode::parse(&v).ok_or_else(|| {
                format!(
                    "PGSSLMODE is `{v}`, not an sslmode\n    fix: set it to one of {}, or unset it",
                    SslMode::names()
                )
            })?;
            (m, "PGSSLMODE".to_string())
        } else {
            (SslMode::Prefer, "libpq's default".to_string())
        };
        let dot = crate::os::home_dir().map(|h| h.join(".postgresql"));
        let root = sourced(
            &c.sslrootcert,
            "sslrootcert",
            "PGSSLROOTCERT",
            dot.as_ref().map(|d| d.join("root.crt")),
        );
        let cert = sourced(
            &c.sslcert,
            "sslcert",
            "PGSSLCERT",
            dot.as_ref().map(|d| d.join("postgresql.crt")),
        );
        let client = match cert {
            None => None,
            Some(cert) => {
                let key = if cert.from == "credentials.sslcert" {
                    (!c.sslkey.is_empty()).then(|| Sourced {
                        value: c.sslkey.clone(),
                        from: "credentials.sslkey".into(),
                    })
                } else {
                    sourced(
                        "",
                        "sslkey",
                        "PGSSLKEY",
                        dot.map(|d| d.join("postgresql.key")),
                    )
                };
                let key = key.ok_or_else(|| {
                    format!(
                        "{} names the client certificate {} but no key is given\n    fix: set {} to its private key",
                        cert.from,
                        cert.value,
                        if cert.from == "credentials.sslcert" { "credentials.sslkey" } else { "PGSSLKEY" }
                    )
                })?;
                Some((cert, key))
            }
        };
        Ok(TlsSettings {
            mode,
            mode_from,
            root,
            client,
        })
    }
}

/// The connector for every node of a plan and the sslmode it implements.
#[derive(Clone)]
pub struct Tls {
    connector: MakeRustlsConnect,
    mode: SslMode,
}

impl Tls {
    /// Built from the plan (and the environment); an error says which
    /// setting is wrong and how to fix it.
    pub fn from_plan(plan: &Plan) -> Result<Tls, String> {
        Tls::new(&TlsSettings::from_plan(plan)?)
    }

    pub fn new(s: &TlsSettings) -> Result<Tls, String> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        // libpq reads the root certificate only in the modes that check.
        let roots = match (&s.root, s.mode) {
            (Some(root), SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull) => {
                Some(roots(root)?)
            }
            (None, m) if m.verifies() => {
                return Err(format!(
                    "sslmode {} ({}) checks the servers' certificates, but no root certificate is given\n    fix: set credentials.sslrootcert (or PGSSLROOTCERT) to the CA that signed them, or put it in ~/.postgresql/root.crt",
                    s.mode.as_str(),
                    s.mode_from
                ))
            }
            _ => None,
        };
        let verifier: Arc<dyn ServerCertVerifier> = match roots {
            None => Arc::new(AcceptAny),
            Some(roots) => {
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| format!("the root certificate cannot be used: {e}"))?;
                if s.mode == SslMode::VerifyFull {
                    webpki
                } else {
                    Arc::new(ChainOnly(webpki))
                }
            }
        };
        let builder = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match &s.client {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let (chain, key) = client_pair(cert, key)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("the client certificate {} does not go with the key {}: {e}\n    fix: give the key that belongs to the certificate", cert.value, key_name(&s.client)))?
            }
        };
        Ok(Tls {
            connector: MakeRustlsConnect::new(config),
            mode: s.mode,
        })
    }

    pub fn mode(&self) -> SslMode {
        self.mode
    }

    pub fn connector(&self) -> MakeRustlsConnect {
        self.connector.clone()
    }

    /// What tokio-postgres is told for a connection to `host` (first try).
    pub fn ssl_mode_for(&self, host: &str) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        if host.starts_with('/') {
            return Pg::Disable;
        }
        match self.mode {
            SslMode::Disable | SslMode::Allow => Pg::Disable,
            SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        }
    }

    /// allow: a connection the server refused without TLS is tried once more with it.
    pub fn retries_with_tls(&self, host: &str) -> bool {
        self.mode == SslMode::Allow && !host.starts_with('/')
    }
}

fn key_name(client: &Option<(Sourced, Sourced)>) -> String {
    client
        .as_ref()
        .map(|(_, k)| k.value.clone())
        .unwrap_or_default()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(root: &Sourced) -> Result<rustls::RootCertStore, String> {
    let path = &root.value;
    let fix = format!(
        "\n    fix: correct {} (a PEM file with the CA certificate), or clear it",
        root.from
    );
    let mut store = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the CA file {path} ({}): {e}{fix}", root.from))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file {path} ({}) is not PEM: {e}{fix}", root.from))?;
    for cert in certs {
        store.add(cert).map_err(|e| {
            format!(
                "the CA file {path} ({}) holds an unusable certificate: {e}{fix}",
                root.from
            )
        })?;
    }
    if store.is_empty() {
        return Err(format!(
            "the CA file {path} ({}) holds no certificate{fix}",
            root.from
        ));
    }
    Ok(store)
}

/// The client certificate chain and key; like libpq, a key that others
/// may read is refused (0600, or 0640 when root owns it).
fn client_pair(
    cert: &Sourced,
    key: &Sourced,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = CertificateDer::pem_file_iter(&cert.value)
        .map_err(|e| {
            format!(
                "cannot read the client certificate {} ({}): {e}\n    fix: correct {}",
                cert.value, cert.from, cert.from
            )
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the client certificate {} ({}) is not PEM: {e}\n    fix: correct {}",
                cert.value, cert.from, cert.from
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "the client certificate {} ({}) holds no certificate\n    fix: correct {}",
            cert.value, cert.from, cert.from
        ));
    }
    key_is_private(Path::new(&key.value), &key.from)?;
    let pk = PrivateKeyDer::from_pem_file(&key.value).map_err(|e| {
        format!(
            "cannot read the private key {} ({}): {e}\n    fix: correct {} (a PEM private key)",
            key.value, key.from, key.from
        )
    })?;
    Ok((chain, pk))
}

fn key_is_private(path: &Path, from: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "cannot read the private key {} ({from}): {e}\n    fix: correct {from}",
            path.display()
        )
    })?;
    let mode = meta.mode() & 0o777;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    if mode & !allowed != 0 {
        return Err(format!(
            "the private key {} ({from}) has mode {mode:04o}: others may read it, and libpq refuses such a key too\n    fix: chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

/// verify-ca: the chain must lead to the root certificate; the name in the
/// certificate is not compared with the host.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// prefer and require without a root certificate: encryption without
/// authentication of the server, as libpq.
#[derive(Debug)]
struct AcceptAny;

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_libpq_mode_parses_and_sockets_never_use_tls() {
        for m in SslMode::ALL {
            assert_eq!(SslMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(SslMode::parse("verify_full"), None);
        let s = TlsSettings {
            mode: SslMode::Require,
            mode_from: "test".into(),
            root: None,
            client: None,
        };
        let tls = Tls::new(&s).unwrap();
        use tokio_postgres::config::SslMode as Pg;
        assert_eq!(tls.ssl_mode_for("/run/postgresql"), Pg::Disable);
        assert_eq!(tls.ssl_mode_for("10.0.0.1"), Pg::Require);
    }

    #[test]
    fn a_verifying_mode_without_a_root_certificate_is_refused() {
        let s = TlsSettings {
            mode: SslMode::VerifyCa,
            mode_from: "credentials.sslmode".into(),
            root: None,
            client: None,
        };
        let e = Tls::new(&s).err().unwrap();
        assert!(
            e.contains("verify-ca (credentials.sslmode)") && e.contains("fix:"),
            "{e}"
        );
    }
}
