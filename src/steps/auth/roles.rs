//! Every role of the plan on every data node, with LOGIN (and in password
//! mode its password): how the access node logs in there.

use super::kept;
use crate::plan::AuthMode;
use crate::quote::sql;
use crate::steps::{step, Action, Ctx, Part, Phase, Statement, Step, Template};

/// Every role of the plan on every data node, directly on each (they run
/// at once): with LOGIN, and in password mode with its internal password,
/// sent as a SCRAM verifier computed by tsmn (never the plaintext). A role
/// that is already there with that password changes nothing: the
/// superuser's is checked before the statement, another role is made only
/// where it is missing.
pub(super) fn data_node_roles(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    let password = plan.auth.mode == AuthMode::Password;
    for dn in ctx.data_nodes() {
        for role in &plan.auth.roles {
            let superuser = *role == plan.superuser;
            if superuser && !password {
                continue;
            }
            let l = sql::literal(role);
            let mut statements = Vec::new();
            if !superuser {
                statements.push(Statement {
                    sql: Template::lit(format!("SELECT format('CREATE ROLE %I LOGIN', {l}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {l})")),
                    generate: true,
                });
                // A role that is there without LOGIN gets it back (the
                // access node's logins as it are refused until then).
                statements.push(Statement {
                    sql: Template::lit(format!("SELECT format('ALTER ROLE %I LOGIN', {l}) WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = {l} AND NOT rolcanlogin)")),
                    generate: true,
                });
            }
            if password {
                let login = if superuser { "" } else { "LOGIN " };
                let mut t =
                    Template::lit(format!("ALTER ROLE {} {login}PASSWORD ", sql::ident(role)));
                t.push(Part::VerifierLiteral(role.clone()));
                statements.push(Statement {
                    sql: t,
                    generate: false,
                });
            }
            let (id, title, why) = if superuser {
                (
                    "password".to_string(),
                    format!("Set {role}'s password (SCRAM verifier computed by tsmn)"),
                    "the access node logs in to the data nodes with this password; tsmn sends only the SCRAM verifier, so the plaintext never reaches the server or its logs",
                )
            } else if password {
                (
                    format!("role-{role}"),
                    format!("Role {role} with LOGIN and its password (SCRAM verifier computed by tsmn)"),
                    "roles are not distributed automatically: the access node logs in here as this role, with the password in its passfile",
                )
            } else {
                (
                    format!("role-{role}"),
                    format!("Role {role} with LOGIN"),
                    "roles are not distributed automatically: the access node logs in here as this role (LOGIN is needed even if it cannot log in on the access node)",
                )
            };
            let mut s = step(
                &dn.name,
                Phase::Auth,
                &id,
                title,
                why,
                Action::Sql {
                    database: "postgres".into(),
                    statements,
                },
            );
            if password {
                s.precheck = Some(crate::steps::Precheck::PasswordIs { role: role.clone() });
                // A password already there that is not the plan's is
                // replaced: said before the run, not found out after.
                let has_one = ctx.server(&dn.name).is_some_and(|f| {
                    f.roles
                        .iter()
                        .any(|r| r.name == *role && r.exists && r.verifier.is_some())
                });
                if has_one {
                    s.reason = format!(
                        "{}. {role} already has a password on {}: when it is not the plan's, it is replaced, and clients that log in there as {role} with the old one are refused from then on",
                        s.reason,
                        dn.name
                    );
                }
                if ctx.adopted_reach(role, &dn.name) {
                    kept(&mut s, format!("the access node logs in to {} as {role} (proved from the access node): its password there stands", dn.name));
                }
            }
            out.push(s);
        }
    }
}
