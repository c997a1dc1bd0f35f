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
