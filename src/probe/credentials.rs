//! Where the superuser's password comes from, following libpq's habits.
//! Never from argv; never logged.

use crate::plan::Plan;
use crate::quote::pgpass;
use secrecy::SecretString;
use std::path::PathBuf;

/// The sources tsmn tries, in order, for each node.
#[derive(Default)]
pub struct PasswordSource {
    /// From the plan's environment variable, PGPASSWORD, or a prompt.
    fixed: Option<SecretString>,
    /// pgpass files: the plan's, then PGPASSFILE or ~/.pgpass.
    passfiles: Vec<PathBuf>,
    /// Variables or files that were named but could not be used, for the report.
    pub notes: Vec<String>,
}

impl PasswordSource {
    pub fn from_plan(plan: &Plan) -> PasswordSource {
        let mut src = PasswordSource::default();
        let env_name = &plan.credentials.password_env;
        if !env_name.is_empty() {
            match std::env::var(env_name) {
                Ok(v) if !v.is_empty() => src.fixed = Some(SecretString::from(v)),
                _ => src.notes.push(format!(
                    "credentials.password_env names {env_name}, which is not set"
                )),
            }
        }
        if src.fixed.is_none() {
            if let Ok(v) = std::env::var("PGPASSWORD") {
                if !v.is_empty() {
                    src.fixed = Some(SecretString::from(v));
                }
            }
        }
        if !plan.credentials.passfile.is_empty() {
            src.passfiles
                .push(PathBuf::from(&plan.credentials.passfile));
        }
        match std::env::var_os("PGPASSFILE") {
            Some(p) if !p.is_empty() => src.passfiles.push(PathBuf::from(p)),
            _ => {
                // HOME, else the account's home (libpq's rule).
                if let Some(home) = crate::os::home_dir() {
                    src.passfiles.push(home.join(".pgpass"));
                }
            }
        }
        for path in &src.passfiles {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    src.notes.push(format!(
                        "the passfile {} is ignored: its mode {mode:04o} lets others read it (fix: chmod 600 {})",
                        path.display(),
                        path.display()
                    ));
                }
            }
        }
        src
    }

    /// A password typed at a prompt replaces every other source.
    pub fn set_prompted(&mut self, password: SecretString) {
        self.fixed = Some(password);
    }

    pub fn has_fixed(&self) -> bool {
        self.fixed.is_some()
    }

    /// The one password used for every node (given or typed), if any.
    pub fn fixed(&self) -> Option<&SecretString> {
        self.fixed.as_ref()
    }

    pub fn password_for(
        &self,
        host: &str,
        port: u16,
        database: &str,
        user: &str,
    ) -> Option<SecretString> {
        if let Some(p) = &self.fixed {
            return Some(p.clone());
        }
        self.passfiles.iter().find_map(|path| {
            let text = read_private(path)?;
            pgpass::lookup(&text, host, port, database, user).map(SecretString::from)
        })
    }
}

/// libpq ignores a passfile that group or others can read; so do we.
fn read_private(path: &PathBuf) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    std::fs::read_to_string(path).ok()
}
