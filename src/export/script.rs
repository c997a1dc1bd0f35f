//! setup.sh itself: its prelude, and one block per step.

use super::{path_sql, role_password_env, statement, var, ExportError, Options, Writer, LIB};
use crate::plan::Plan;
use crate::quote::{conninfo, shell};
use crate::steps::{Action, Content, Part, ServerPath, Step};
use secrecy::ExposeSecret;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The top of setup.sh: what it is, the shell library, each node's
/// connection string, and where the superuser's password comes from.
pub(super) fn prelude(plan: &Plan) -> String {
    let mut script = String::from("#!/bin/sh\n");
    let _ = writeln!(
        script,
        "# Multi-node setup for TimescaleDB, {} mode, written by tsmn.",
        plan.auth.mode.as_str()
    );
    script.push_str("# Run from a host that reaches every node as the superuser: sh setup.sh\n");
    script.push_str(
        "# Choose phases with TSMN_PHASES=settings,auth,cluster,verify (default: all).\n",
    );
    script.push_str("# Safe to run again: every step checks before it changes anything.\n");
    script.push_str("set -eu\n\n");
    script.push_str(LIB);
    script.push_str("\nconninfo() {\n  case \"$1\" in\n");
    for n in plan.nodes() {
        let ci = conninfo::conninfo([
            ("host", n.effective_connect_host().to_string()),
            ("port", n.effective_connect_port().to_string()),
            ("user", plan.superuser.clone()),
            ("application_name", "tsmn-setup.sh".to_string()),
        ]);
        let _ = writeln!(
            script,
            "    {}) printf '%s' {} ;;",
            n.name,
            shell::word(&ci)
        );
    }
    script.push_str("    *) fail \"unknown node $1\" ;;\n  esac\n}\n\n");
    if !plan.credentials.password_env.is_empty() {
        let v = &plan.credentials.password_env;
        let _ = writeln!(script, "# The superuser's password, from the variable the plan names (psql reads PGPASSWORD).\nif [ -n \"${{{v}:-}}\" ]; then PGPASSWORD=${v}; export PGPASSWORD; fi\n");
    }
    script
}

/// Password mode: the role passwords read once, before any step, and
/// checked against the export's fingerprints; the passfile step reuses
/// them (shell variables, not exported to the programs setup.sh runs).
pub(super) fn check_passwords(plan: &Plan, script: &mut String) {
    script.push_str("# The role passwords: read once, checked before anything changes.\n# shellcheck source=/dev/null\n. \"$here/secrets/role-passwords.check\"\n# shellcheck disable=SC2154\ncase \",$phases,\" in\n  *,auth,*|*,cluster,*)\n");
    for role in &plan.auth.roles {
        let env = role_password_env(plan, role);
        let _ = writeln!(
            script,
            "    read_secret {env} {}; {env}=$secret_value; check_password \"${env}\" \"${}\" {}",
            shell::word(&format!("password of role {role}")),
            var("fp", role),
            shell::word(role)
        );
    }
    script.push_str("    ;;\nesac\n\n");
}

/// One step as an `if step ...; then ... fi` block of setup.sh, with the
/// files it needs (its SQL, the pg_hba.conf block, a server file).
pub(super) fn block(
    plan: &Plan,
    s: &Step,
    base: &str,
    w: &Writer,
    opts: &Options,
    script: &mut String,
    written: &mut Vec<PathBuf>,
) -> Result<(), ExportError> {
    let _ = writeln!(
        script,
        "if step {} {} {} {}; then",
        s.phase.as_str(),
        s.node,
        shell::word(&s.id),
        shell::word(&s.title)
    );
    match &s.action {
        Action::Settings { database, changes } => {
            let mut text = String::new();
            for c in changes {
                text.push_str(&statement(&crate::steps::setting_statement(c)));
            }
            text.push_str("SELECT pg_reload_conf();\n");
            sql_file(s, base, database, &text, w, script, written)?;
        }
        Action::Sql {
            database,
            statements,
        } => {
            let mut text = String::new();
            if statements.iter().any(|st| st.sql.has_secrets()) {
                text.push_str("\\ir ../../secrets/role-secrets.psql\n");
            }
            for st in statements {
                text.push_str(&statement(st));
            }
            sql_file(s, base, database, &text, w, script, written)?;
        }
        Action::HbaBlock { lines } => {
            let file = format!("nodes/{}/pg_hba.tsmn.conf", s.node);
            written.push(w.write(&file, &crate::steps::hba_block::block(lines), 0o644)?);
            let _ = writeln!(script, "  hba_block {} \"$here/{file}\"", s.node);
        }
        Action::File {
            path,
            mode,
            content,
        } => {
            // A data node's copy of the access node's file (the links
            // between data nodes) is not written over the access node's own.
            let shared = match &s.precheck {
                Some(crate::steps::Precheck::SeesServer {
                    data_directory,
                    port,
                }) => {
                    let said = format!(
                        "{} shares the access node's host and files: its own file stays",
                        s.node
                    );
                    let _ = writeln!(
                        script,
                        "  if sees_server {} {} {port}; then echo {}; else",
                        s.node,
                        shell::word(data_directory),
                        shell::word(&said)
                    );
                    true
                }
                _ => false,
            };
            deliver(plan, s, path, *mode, content, w, opts, script, written)?;
            if shared {
                script.push_str("  fi\n");
            }
        }
        Action::ReloadTls { .. } => {
            sql_file(
                s,
                base,
                "postgres",
                "SELECT pg_reload_conf();\n",
                w,
                script,
                written,
            )?;
        }
        Action::RestartGate { nodes } => {
            let _ = writeln!(script, "  restart_gate {}", nodes.join(" "));
        }
        Action::Verify { database, sql, .. } => {
            sql_file(s, base, database, &format!("{sql};\n"), w, script, written)?;
        }
        // Only `tsmn apply --rotate-password`, `--remove-data-nodes` and
        // `tsmn undo` make these; export has no such options.
        Action::RotatePassword { .. }
        | Action::MoveChunk(_)
        | Action::DrainResume { .. }
        | Action::HbaBlockRemoved { .. }
        | Action::RestoreFile { .. } => {
            let _ = writeln!(script, "  echo 'this step runs only through tsmn apply (--rotate-password, --remove-data-nodes) or tsmn undo' >&2; exit 1");
        }
    }
    script.push_str("fi\n");
    Ok(())
}

/// The step's SQL as `<base>.sql`, and the line of setup.sh that runs it
/// in `database` on the step's node.
fn sql_file(
    s: &Step,
    base: &str,
    database: &str,
    text: &str,
    w: &Writer,
    script: &mut String,
    written: &mut Vec<PathBuf>,
) -> Result<(), ExportError> {
    let file = format!("{base}.sql");
    written.push(w.write(&file, text, 0o644)?);
    let _ = writeln!(
        script,
        "  run_sql {} {} \"$here/{file}\"",
        s.node,
        shell::word(database)
    );
    Ok(())
}

/// A server file: written here (a key from the material, or text), then
/// delivered by setup.sh with its mode; a passfile with role passwords is
/// composed at run time in a private temp file instead, unless the export
/// includes secrets.
#[allow(clippy::too_many_arguments)]
fn deliver(
    plan: &Plan,
    s: &Step,
    path: &ServerPath,
    mode: u32,
    content: &Content,
    w: &Writer,
    opts: &Options,
    script: &mut String,
    written: &mut Vec<PathBuf>,
) -> Result<(), ExportError> {
    let name = match path {
        ServerPath::Absolute(p) | ServerPath::DataDir(p) => {
            p.rsplit('/').next().unwrap_or("file").to_string()
        }
    };
    let file = format!("nodes/{}/files/{name}", s.node);
    let target = shell::word(&path_sql(path));
    match content {
        Content::PrivateKey { name: key } => {
            let pem = opts.material.and_then(|m| m.key(key)).unwrap_or_default();
            written.push(w.write(&file, &pem, 0o600)?);
            let _ = writeln!(
                script,
                "  deliver {} {target} {mode:04o} \"$here/{file}\"",
                s.node
            );
        }
        Content::Text { text } if !text.has_secrets() => {
            written.push(w.write(
                &file,
                &text.masked(),
                if mode & 0o077 == 0 { 0o600 } else { 0o644 },
            )?);
            let _ = writeln!(
                script,
                "  deliver {} {target} {mode:04o} \"$here/{file}\"",
                s.node
            );
        }
        Content::Text { text } if opts.include_secrets => {
            let filled = opts.secrets.fill(text, "the role password variables")?;
            written.push(w.write(&file, filled.expose_secret(), 0o600)?);
            let _ = writeln!(
                script,
                "  deliver {} {target} {mode:04o} \"$here/{file}\"",
                s.node
            );
        }
        Content::Text { text } => {
            // Composed at run time from the role passwords, into a private temp file.
            let mut roles: Vec<&String> = text
                .0
                .iter()
                .filter_map(|p| {
                    if let Part::PgpassPassword(r) = p {
                        Some(r)
                    } else {
                        None
                    }
                })
                .collect();
            roles.dedup();
            let mut seen = Vec::new();
            for r in roles {
                if seen.contains(&r) {
                    continue;
                }
                seen.push(r);
                let _ = writeln!(
                    script,
                    "  read_secret {} {}; {}=$secret_value",
                    role_password_env(plan, r),
                    shell::word(&format!("password of role {r}")),
                    var("pw", r)
                );
            }
            script.push_str("  tmp=$(umask 077 && mktemp)\n  {\n");
            for p in &text.0 {
                match p {
                    Part::Lit(l) => {
                        let _ = writeln!(script, "    printf '%s' {}", shell::word(l));
                    }
                    Part::PgpassPassword(r) => {
                        let _ = writeln!(script, "    pgpass_escape \"${}\"", var("pw", r));
                    }
                    _ => {}
                }
            }
            let _ = writeln!(script, "  }} >\"$tmp\"\n  deliver {} {target} {mode:04o} \"$tmp\" || {{ rm -f \"$tmp\"; exit 1; }}\n  rm -f \"$tmp\"", s.node);
        }
    }
    Ok(())
}
