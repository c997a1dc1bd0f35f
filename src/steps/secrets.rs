//! Filling a template's holes with real secrets, just before it runs.

use super::{Part, Template};
use crate::quote::{pgpass, sql};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

/// Role passwords, in memory only.
#[derive(Default)]
pub struct Secrets {
    passwords: BTreeMap<String, SecretString>,
}

#[derive(Debug, thiserror::Error)]
#[error("no password for role {role}\n    fix: set {hint}, or run in a terminal to be asked")]
pub struct MissingPassword {
    pub role: String,
    pub hint: String,
}

impl Secrets {
    pub fn insert(&mut self, role: &str, password: SecretString) {
        self.passwords.insert(role.to_string(), password);
    }

    pub fn has(&self, role: &str) -> bool {
        self.passwords.contains_key(role)
    }

    /// A role's password, for the few places that must hold it (a passfile, a user mapping).
    pub fn password(&self, role: &str, hint: &str) -> Result<&str, MissingPassword> {
        self.get(role, hint)
    }

    fn get(&self, role: &str, hint: &str) -> Result<&str, MissingPassword> {
        self.passwords
            .get(role)
            .map(|p| p.expose_secret())
            .ok_or_else(|| MissingPassword {
                role: role.to_string(),
                hint: hint.to_string(),
            })
    }

    /// The text to run. A fresh SCRAM verifier (random salt) each time: only
    /// the verifier reaches the server, never the password.
    pub fn fill(&self, t: &Template, hint: &str) -> Result<SecretString, MissingPassword> {
        let mut out = String::new();
        for p in &t.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::PgpassPassword(r) => out.push_str(&pgpass::escape(self.get(r, hint)?)),
                Part::PasswordLiteral(r) => out.push_str(&sql::literal(self.get(r, hint)?)),
                Part::VerifierLiteral(r) => {
                    let verifier =
                        postgres_protocol::password::scram_sha_256(self.get(r, hint)?.as_bytes());
                    out.push_str(&sql::literal(&verifier));
                }
            }
        }
        Ok(SecretString::from(out))
    }
}

/// Whether a stored SCRAM-SHA-256 verifier (pg_authid.rolpassword) belongs to
/// this password, so that setting it again can be skipped.
pub fn verifier_matches(password: &str, verifier: &str) -> bool {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let parse = || {
        let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iter, salt) = params.split_once(':')?;
        let (stored, _server) = keys.split_once(':')?;
        Some((
            iter.parse::<u32>().ok()?,
            b64.decode(salt).ok()?,
            b64.decode(stored).ok()?,
        ))
    };
    let Some((iterations, salt, stored)) = parse() else {
        return false;
    };
    // The same normalization PostgreSQL and postgres-protocol apply.
    let normalized = stringprep::saslprep(password)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| password.to_string());
    let Some(salted) = pbkdf2_sha256(normalized.as_bytes(), &salt, iterations) else {
        return false;
    };
    let Some(client_key) = hmac_sha256(&salted, b"Client Key") else {
        return false;
    };
    Sha256::digest(client_key).as_slice() == stored.as_slice()
}

/// HMAC-SHA256. None never happens (HMAC takes a key of any length), but
/// the crate's signature allows it.
fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).ok()?;
    m.update(data);
    m.finalize().into_bytes().as_slice().try_into().ok()
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) giving one 32-byte block: SCRAM's Hi(),
/// and the export's password fingerprint (as costly to attack as the
/// SCRAM verifier beside it).
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Option<[u8; 32]> {
    let mut u = hmac_sha256(password, &[salt, &1u32.to_be_bytes()].concat())?;
    let mut out = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u)?;
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{pbkdf2_sha256, verifier_matches};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Published PBKDF2-HMAC-SHA256 vectors (RFC 7914 section 11, and the
    /// RFC 6070 inputs with SHA-256).
    #[test]
    fn pbkdf2_matches_the_published_vectors() {
        assert_eq!(
            hex(&pbkdf2_sha256(b"passwd", b"salt", 1).unwrap()),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        assert_eq!(
            hex(&pbkdf2_sha256(b"password", b"salt", 4096).unwrap()),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn verifiers_are_checked_against_the_password() {
        for pw in ["simple", "p@ss:w\\rd 'x'", "ünïcødé"] {
            let v = postgres_protocol::password::scram_sha_256(pw.as_bytes());
            assert!(verifier_matches(pw, &v), "{pw}");
            assert!(!verifier_matches("other", &v));
        }
        assert!(!verifier_matches("x", "md5abc"));
    }
}
