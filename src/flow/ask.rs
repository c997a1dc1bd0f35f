//! Asking the operator for a secret: the face decides whether and how (a
//! terminal prompt for the CLI; nobody for the wizard, `--yes` or no tty).

use secrecy::SecretString;

pub trait Ask: Sync {
    /// The superuser's password for these nodes, which want one tsmn lacks.
    fn superuser_password(&self, user: &str, nodes: &[String]) -> Option<SecretString>;
    /// The internal password of a role (password mode).
    fn role_password(&self, role: &str) -> Option<SecretString>;
    /// Whether anyone can be asked at all (for the wording of the fix).
    fn can_ask(&self) -> bool;
}

/// Nobody to ask.
pub struct NoAsk;

impl Ask for NoAsk {
    fn superuser_password(&self, _: &str, _: &[String]) -> Option<SecretString> {
        None
    }
    fn role_password(&self, _: &str) -> Option<SecretString> {
        None
    }
    fn can_ask(&self) -> bool {
        false
    }
}
