//! Role passwords (password mode), looked up in one order for every face:
//! the ones given (typed in the wizard's options form), the role's
//! environment variable, the operator (when someone can be asked), and for
//! the superuser's own role the password tsmn logs in with (so a role
//! password nobody gave never changes tsmn's own login); else an error
//! that names the variable to set. Only for the roles whose password
//! the steps hold.

use super::ask::Ask;
use crate::plan::{role_password_env, AuthMode, Plan};
use crate::probe::credentials::PasswordSource;
use crate::steps::secrets::Secrets;
use secrecy::SecretString;
use std::collections::BTreeMap;

pub fn role_secrets(
    plan: &Plan,
    needed: &std::collections::BTreeSet<String>,
    rotating: &[String],
    given: &BTreeMap<String, SecretString>,
    login: &PasswordSource,
    ask: &dyn Ask,
) -> Result<Secrets, super::FlowError> {
    let mut secrets = Secrets::default();
    if plan.auth.mode != AuthMode::Password {
        return Ok(secrets);
    }
    // Only the roles the steps hold a secret of: an adopted cluster's
    // passwords that were proved to work are never asked for.
    for role in plan.auth.roles.iter().filter(|r| needed.contains(*r)) {
        let found = given
            .get(role)
            .cloned()
            .or_else(|| from_env(plan, role))
            .or_else(|| ask.role_password(role))
            .or_else(|| {
                // A new password is never the login password by default.
                (role == &plan.superuser && !rotating.contains(role))
                    .then(|| login.fixed().cloned())
                    .flatten()
            });
        match found {
            Some(pw) => secrets.insert(role, pw),
            None => {
                let var = role_password_env(plan, role);
                let how = if ask.can_ask() {
                    format!("type one, or set {var}")
                } else {
                    format!("set the environment variable {var} (there is no terminal to ask at)")
                };
                let what = if rotating.contains(role) {
                    format!("no new password for role {role} (--rotate-password)")
                } else {
                    format!("no password for role {role}")
                };
                return Err(super::FlowError::Usage(format!("{what}\n    fix: {how}")));
            }
        }
    }
    Ok(secrets)
}

/// A role's password from its environment variable, when set and not empty.
pub fn from_env(plan: &Plan, role: &str) -> Option<SecretString> {
    std::env::var(role_password_env(plan, role))
        .ok()
        .filter(|v| !v.is_empty())
        .map(Into::into)
}
