//! Steps -> a directory a person can review and run without tsmn: a README,
//! a folder per node with its files and SQL, and `setup.sh` (POSIX sh, psql).

use crate::plan::{AuthMode, Plan};
use crate::quote::sql;
use crate::steps::material::Material;
use crate::steps::secrets::Secrets;
use crate::steps::{Action, Part, ServerPath, Step, Template};
use secrecy::ExposeSecret;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod script;

pub(super) const LIB: &str = include_str!("sh_lib.sh");

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}\n    fix: check that the directory is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Secret(#[from] crate::steps::secrets::MissingPassword),
    #[error("{dir} exists and is not empty\n    fix: choose a new directory, or remove it first")]
    NotEmpty { dir: PathBuf },
    #[error("the password of role {role} is longer than {FP_MAX_PASSWORD} bytes or holds a line break: setup.sh could not check it (openssl reads one line of at most {FP_MAX_PASSWORD} bytes)\n    fix: give that role a shorter password on one line, or export with --include-secrets")]
    Uncheckable { role: String },
}

pub use crate::plan::role_password_env;

pub struct Options<'a> {
    pub include_secrets: bool,
    pub material: Option<&'a Material>,
    pub secrets: &'a Secrets,
}

/// A psql variable name for a role's secret.
pub(super) fn var(kind: &str, role: &str) -> String {
    let tail: String = role
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{kind}_{tail}_{}",
        &crate::timescale::cert_file_stem(role)[..6]
    )
}

pub(super) struct Writer {
    root: PathBuf,
}

impl Writer {
    pub(super) fn write(&self, rel: &str, text: &str, mode: u32) -> Result<PathBuf, ExportError> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let path = self.root.join(rel);
        let err = |p: &Path| {
            let p = p.to_path_buf();
            move |source| ExportError::Io { path: p, source }
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err(parent))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&path)
            .map_err(err(&path))?;
        f.write_all(text.as_bytes()).map_err(err(&path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(err(&path))?;
        Ok(path)
    }
}

/// psql text for a template: secrets become psql variables.
pub(super) fn psql_text(t: &Template) -> String {
    t.render(|p| match p {
        Part::VerifierLiteral(r) => format!(":'{}'", var("verifier", r)),
        Part::PasswordLiteral(r) => format!(":'{}'", var("password", r)),
        Part::PgpassPassword(r) => format!("<password of {r}>"),
        Part::Lit(s) => s.clone(),
    })
}

pub(super) fn path_sql(p: &ServerPath) -> String {
    match p {
        ServerPath::Absolute(a) => sql::literal(a),
        ServerPath::DataDir(rel) => format!(
            "current_setting('data_directory') || {}",
            sql::literal(&format!("/{rel}"))
        ),
    }
}

pub fn export(
    plan: &Plan,
    steps: &[Step],
    out: &Path,
    opts: &Options,
) -> Result<Vec<PathBuf>, ExportError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(|source| ExportError::Io {
                path: out.into(),
                source,
            })?
            .next()
            .is_some()
    {
        return Err(ExportError::NotEmpty {
            dir: out.to_path_buf(),
        });
    }
    let w = Writer {
        root: out.to_path_buf(),
    };
    let mut written = Vec::new();
    let mut script = script::prelude(plan);
    if let Some(f) = role_secrets_file(plan, opts, &w)? {
        written.push(f);
    }
    if let Some(f) = fingerprints_file(plan, opts, &w)? {
        written.push(f);
        script::check_passwords(plan, &mut script);
    }
    for node in plan.nodes() {
        let conf = settings_conf(node, steps);
        written.push(w.write(&format!("nodes/{}/settings.conf", node.name), &conf, 0o644)?);
    }
    let mut counter = std::collections::BTreeMap::<String, usize>::new();
    let mut readme_steps = String::new();
    for s in steps {
        let n = counter.entry(s.node.clone()).or_default();
        *n += 1;
        let base = format!(
            "nodes/{}/{:02}-{}",
            s.node,
            n,
            s.id.rsplit('/').next().unwrap_or("step")
        );
        let _ = writeln!(
            readme_steps,
            "{}. [{}] {}: {} ({})",
            readme_steps.lines().count() + 1,
            s.phase.as_str(),
            s.node,
            s.title,
            s.reason
        );
        script::block(plan, s, &base, &w, opts, &mut script, &mut written)?;
    }
    script.push_str("\nprintf 'setup.sh: done (phases: %s)\\n' \"$phases\"\n");
    written.push(w.write("setup.sh", &script, 0o755)?);
    written.push(w.write(
        "README.md",
        &readme(plan, &readme_steps, opts.include_secrets),
        0o644,
    )?);
    Ok(written)
}

/// The role secrets as psql variables, in one 0600 file the SQL files
/// include (password mode): SCRAM verifiers, and for user mappings the
/// password itself (from the environment at run time, unless included).
fn role_secrets_file(
    plan: &Plan,
    opts: &Options,
    w: &Writer,
) -> Result<Option<PathBuf>, ExportError> {
    let mut secrets_sql = String::new();
    if plan.auth.mode == AuthMode::Password {
        for role in &plan.auth.roles {
            let verifier = opts.secrets.fill(
                &Template(vec![Part::VerifierLiteral(role.clone())]),
                &role_password_env(plan, role),
            )?;
            let _ = writeln!(
                secrets_sql,
                "\\set {} {}",
                var("verifier", role),
                verifier.expose_secret()
            );
            // Only user mappings need the password itself in SQL.
            if plan.auth.password.as_ref().is_some_and(|p| p.user_mapping) {
                let line = if opts.include_secrets {
                    let pw = opts
                        .secrets
                        .password(role, &role_password_env(plan, role))?;
                    format!("\\set {} {}", var("password", role), sql::psql_arg(pw))
                } else {
                    // psql 15 and later: the password from the environment at run time.
                    format!(
                        "\\getenv {} {}",
                        var("password", role),
                        role_password_env(plan, role)
                    )
                };
                secrets_sql.push_str(&line);
                secrets_sql.push('\n');
            }
        }
        return Ok(Some(w.write("secrets/role-secrets.psql", &format!("-- SCRAM verifiers of the role passwords (hashes, not the passwords){}\n{secrets_sql}", if opts.include_secrets { " and the passwords themselves" } else { "" }), 0o600)?));
    }
    Ok(None)
}

/// The fingerprint's PBKDF2 iterations: SCRAM-SHA-256's own count, so the
/// fingerprint costs an attacker at least as much as the verifier beside it.
const FP_ITERATIONS: u32 = 4096;
/// The salt's length: setup.sh computes the fingerprint with `openssl enc
/// -pbkdf2 -pass stdin`, whose salt is 8 bytes exactly. (`openssl kdf`
/// takes any salt, but the password only as an argument, where every user
/// of the host could read it.)
const FP_SALT_BYTES: usize = 8;
/// The longest password `openssl ... -pass stdin` reads whole (one line).
const FP_MAX_PASSWORD: usize = 1023;

/// A role password's fingerprint line value: `pbkdf2-sha256:ITERATIONS:SALT:KEY`
/// (hex), the first 32 bytes of PBKDF2-HMAC-SHA256.
fn fingerprint(role: &str, password: &str, salt: &[u8]) -> Result<String, ExportError> {
    if password.len() > FP_MAX_PASSWORD || password.contains(['\n', '\r']) {
        return Err(ExportError::Uncheckable { role: role.into() });
    }
    let key = crate::steps::secrets::pbkdf2_sha256(password.as_bytes(), salt, FP_ITERATIONS)
        .ok_or_else(|| ExportError::Uncheckable { role: role.into() })?;
    Ok(format!(
        "pbkdf2-sha256:{FP_ITERATIONS}:{}:{}",
        hex(salt),
        hex(&key)
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Password mode, without the passwords in the export: a PBKDF2
/// fingerprint of each role password beside the verifiers (0600), so that
/// setup.sh checks the password it is given at run time is the one the
/// verifiers were made from, before anything changes.
fn fingerprints_file(
    plan: &Plan,
    opts: &Options,
    w: &Writer,
) -> Result<Option<PathBuf>, ExportError> {
    if plan.auth.mode != AuthMode::Password || opts.include_secrets {
        return Ok(None);
    }
    let mut text = String::from(
        "# PBKDF2-HMAC-SHA256 fingerprints (iterations:salt:key) of the role passwords the SCRAM\n# verifiers were made from; setup.sh compares the passwords it is given with them before it\n# changes anything.\n",
    );
    for role in &plan.auth.roles {
        let pw = opts
            .secrets
            .password(role, &role_password_env(plan, role))?;
        let salt = crate::os::random_bytes(FP_SALT_BYTES).map_err(|source| ExportError::Io {
            path: "the system's random source (getrandom)".into(),
            source,
        })?;
        let _ = writeln!(
            text,
            "{}='{}'",
            var("fp", role),
            fingerprint(role, pw, &salt)?
        );
    }
    Ok(Some(w.write(
        "secrets/role-passwords.check",
        &text,
        0o600,
    )?))
}

/// A node's settings as a postgresql.conf include file, for configuration
/// management (setup.sh itself uses ALTER SYSTEM).
fn settings_conf(node: &crate::plan::Node, steps: &[Step]) -> String {
    let mut conf = format!("# postgresql.conf settings tsmn makes on {} (include_if_exists this file, or copy the lines)\n", node.name);
    for s in steps.iter().filter(|s| s.node == node.name) {
        if let Action::Settings { changes, .. } = &s.action {
            for c in changes {
                let line = match &c.new {
                    crate::steps::SettingValue::Set(v) => {
                        format!("{} = {}", c.name, sql::literal(v))
                    }
                    crate::steps::SettingValue::Append(v) => {
                        format!("# {}: add '{v}' to the existing list", c.name)
                    }
                    crate::steps::SettingValue::AtLeast(n, other) => {
                        format!("# {}: at least {n}, and at least {other}", c.name)
                    }
                };
                conf.push_str(&line);
                conf.push_str(if c.restart {
                    "    # needs a restart\n"
                } else {
                    "\n"
                });
            }
        }
    }
    conf
}

pub(super) fn statement(st: &crate::steps::Statement) -> String {
    let text = psql_text(&st.sql);
    if st.generate {
        format!("{text} \\gexec\n")
    } else {
        format!("{text};\n")
    }
}

fn readme(plan: &Plan, steps: &str, include_secrets: bool) -> String {
    let mut env = String::new();
    if plan.auth.mode == AuthMode::Password {
        for r in &plan.auth.roles {
            let _ = writeln!(
                env,
                "- `{}`: the password of role `{r}` (asked for at the terminal when unset)",
                role_password_env(plan, r)
            );
        }
    }
    if !plan.credentials.password_env.is_empty() {
        let _ = writeln!(
            env,
            "- `{}`: the superuser's password for psql (or use PGPASSWORD / ~/.pgpass)",
            plan.credentials.password_env
        );
    } else {
        let _ = writeln!(
            env,
            "- the superuser's own login (`{}`): as psql takes it, from `PGPASSWORD` or `~/.pgpass` (or none, over trust or peer)",
            plan.superuser
        );
    }
    if plan.auth.mode == AuthMode::Password && !include_secrets {
        env.push_str("\nThe SCRAM verifiers were made from the role passwords given at export time. setup.sh reads\neach role password once, before any step, and checks it against a salted fingerprint kept\nwith the verifiers (`secrets/role-passwords.check`, 0600; PBKDF2-HMAC-SHA256 with 4096\niterations, as costly to attack as the verifiers): a different password stops it before\nanything changes. The check needs `openssl` (1.1.1 or later; the password goes to it on\nstdin, never as an argument). Keep `secrets/` private.\n");
    }
    format!(
        "# TimescaleDB multi-node setup ({mode} mode)\n\n\
         Written by tsmn from a plan with access node `{an}` and data nodes {dns}.\n\n\
         ## Run\n\n\
         ```sh\nsh setup.sh                               # every phase\nTSMN_PHASES=settings,auth sh setup.sh     # before TimescaleDB is installed\n```\n\n\
         It needs `psql`, `base64`, `sha256sum` and `sed` on this host, and reaches every node as `{su}`.\n\
         It stops at the first failure, naming the node and the step; run it again after fixing: steps that are\n\
         already done change nothing. Settings that need a restart stop the run at the cluster phase with the\n\
         nodes to restart.\n\n\
         Files are written on the servers by the server's OS user through `COPY ... TO PROGRAM` (superuser),\n\
         with their mode set (0600 for keys and the passfile); a file that differs is backed up beside itself\n\
         first (`*.tsmn-<time>.bak`). pg_hba.conf is checked with `pg_hba_file_rules` before the reload and\n\
         restored from its backup on any error.\n\n\
         Caution: the pg_hba.conf block goes before every other rule. In certificate mode, do not run this\n\
         script from the access node's own address with a password login, or its own connection will need\n\
         a certificate after the reload.\n\n\
         ## Secrets\n\n{secrets}\n{env}\n\
         ## Steps, in order\n\n{steps}\n\
         ## Layout\n\n\
         - `setup.sh`: the script\n\
         - `nodes/<node>/NN-<step>.sql`: the SQL of each step, run with `psql -v ON_ERROR_STOP=1`\n\
         - `nodes/<node>/settings.conf`: the settings as postgresql.conf lines, for configuration management\n\
         - `nodes/<node>/pg_hba.tsmn.conf`: the block tsmn puts at the top of the data node's pg_hba.conf\n\
         - `nodes/<node>/files/`: files for the node (private keys 0600)\n\
         - `secrets/`: SCRAM verifiers of the role passwords (0600)\n",
        mode = plan.auth.mode.as_str(),
        an = plan.access_node.name,
        dns = plan.data_nodes.iter().map(|d| format!("`{}`", d.name)).collect::<Vec<_>>().join(", "),
        su = plan.superuser,
        secrets = if include_secrets {
            "This export INCLUDES SECRETS (--include-secrets): the passfile and the role passwords are in it. Keep it private.\n"
        } else {
            "No password is stored here: setup.sh reads them at run time from these variables (or asks):\n"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `openssl enc -aes-256-cbc -pbkdf2 -md sha256 -iter 4096 -S
    /// 0011223344556677 -pass stdin -P` prints as key for "pw" (OpenSSL 3.0).
    #[test]
    fn the_fingerprint_is_what_openssl_computes() {
        let salt = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
        assert_eq!(
            fingerprint("r", "pw", &salt).unwrap(),
            "pbkdf2-sha256:4096:0011223344556677:aa621b5dd056d3ff3c60817ce8da06a505de16badad768362178b81ea20c6685"
        );
    }

    /// A password openssl would not read whole on stdin could never pass
    /// setup.sh's check: refused at export, not at every run.
    #[test]
    fn a_password_setup_sh_cannot_check_is_refused() {
        let salt = [1u8; FP_SALT_BYTES];
        assert!(fingerprint("r", "a\nb", &salt).is_err());
        assert!(fingerprint("r", &"x".repeat(FP_MAX_PASSWORD + 1), &salt).is_err());
        assert!(fingerprint("r", &"x".repeat(FP_MAX_PASSWORD), &salt).is_ok());
    }
}
