//! TLS for tsmn's own connections (rustls on ring).
//!
//! Without a CA this behaves like libpq's `sslmode=prefer`: TLS when the
//! server offers it, certificate unchecked. With a CA it is `verify-full`.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The connector and the SSL mode to use with it.
pub fn connector(ca_file: &str) -> Result<(MakeRustlsConnect, SslMode), String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    if ca_file.is_empty() {
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny))
            .with_no_client_auth();
        return Ok((MakeRustlsConnect::new(config), SslMode::Prefer));
    }
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("cannot read the CA file {ca_file}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file {ca_file} is not PEM: {e}"))?;
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("the CA file {ca_file} holds an unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("the CA file {ca_file} holds no certificate"));
    }
    let config = builder.with_root_certificates(roots).with_no_client_auth();
    Ok((MakeRustlsConnect::new(config), SslMode::Require))
}

/// libpq's `prefer`/`require` without a root certificate: encryption without
/// authentication of the server. Used only when the plan names no CA.
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
