//! Roles and memberships moved to the target before the schema (whose
//! owners and grants name them; the grants on tables, sequences, schemas
//! and functions come with pg_dump's schema, those of the continuous
//! aggregates with `caggs`). Roles are the server's, not the database's:
//! every role of the access node's server but the predefined ones
//! (`pg_*`) and the bootstrap superuser, with its attributes (login,
//! superuser, createdb, createrole, inherit, replication, bypassrls,
//! connection limit, valid until) and its memberships (with the admin
//! option). tsmn creates the missing ones (a re-run after a kill creates
//! nothing twice) and makes those the target already has match the
//! source's (`existing`: attributes, settings, memberships; the preflight
//! says what will change per role, the report what changed), except the
//! role tsmn connects to the target as: never changed (it could lock tsmn
//! out), its differences named.
//!
//! A created role's settings come with it (`ALTER ROLE ... SET`, from
//! `pg_db_role_setting`): those for every database, and those for the
//! migrated database, set in the target's database. Settings in the
//! source server's other databases stay there (their databases do not
//! move).
//!
//! Passwords only when asked (`--with-role-passwords`): the stored
//! verifier (SCRAM or md5, never a password in clear: tsmn has none) is
//! copied from `pg_authid` into `ALTER ROLE ... PASSWORD`, in tsmn's own
//! session with statement logging off for that transaction (`QUIET`, sent
//! alone before the statements): never in argv,
//! a file or tsmn's log. For the roles tsmn creates and those it makes
//! match (not the one it connects as).

use super::connect::sql_error;
use super::MigrateError;
use crate::quote::sql::{ident, literal};
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::Client;

mod existing;
mod settings;
pub use existing::{changes, Change, Side};
use existing::{plan_changes, split_changes};
pub use settings::{setting_sql, Setting};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Role {
    pub name: String,
    pub superuser: bool,
    pub inherit: bool,
    pub createrole: bool,
    pub createdb: bool,
    pub login: bool,
    pub replication: bool,
    pub bypassrls: bool,
    pub connection_limit: i32,
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Membership {
    pub role: String,
    pub member: String,
    pub admin: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Roles {
    pub roles: Vec<Role>,
    pub memberships: Vec<Membership>,
    pub settings: Vec<Setting>,
}

/// What the roles step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    pub created: Vec<String>,
    /// Roles the target already had.
    pub existing: Vec<String>,
    /// Of them, those changed to match the source's: `role r: what, ...`.
    pub changed: Vec<String>,
    /// Differences of the role tsmn connects as, not changed (it could
    /// lock tsmn out): for the operator, after the migration.
    pub not_changed: Vec<String>,
    pub memberships: usize,
    /// Settings of the roles created (`ALTER ROLE ... SET`).
    pub settings: usize,
    /// Settings of the roles created that belong to multi-node only
    /// (`guc::multinode_only`): not set on the target, each named.
    pub settings_left: Vec<String>,
    pub passwords: usize,
}

/// The roles of the source's server (read-only).
pub async fn read(an: &Client) -> Result<Roles, tokio_postgres::Error> {
    let roles = an
        .query(
            "SELECT rolname::text, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, \
             rolconnlimit, rolvaliduntil::text FROM pg_catalog.pg_roles WHERE rolname !~ '^pg_' AND oid <> 10 ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| Role {
            name: r.get(0),
            superuser: r.get(1),
            inherit: r.get(2),
            createrole: r.get(3),
            createdb: r.get(4),
            login: r.get(5),
            replication: r.get(6),
            bypassrls: r.get(7),
            connection_limit: r.get(8),
            valid_until: r.get(9),
        })
        .collect();
    let memberships = an
        .query(
            "SELECT r.rolname::text, m.rolname::text, a.admin_option FROM pg_catalog.pg_auth_members a \
             JOIN pg_catalog.pg_roles r ON r.oid = a.roleid JOIN pg_catalog.pg_roles m ON m.oid = a.member \
             WHERE m.rolname !~ '^pg_' AND m.oid <> 10 ORDER BY 1, 2",
            &[],
        )
        .await?
        .iter()
        .map(|r| Membership {
            role: r.get(0),
            member: r.get(1),
            admin: r.get(2),
        })
        .collect();
    let settings = settings::read(an).await?;
    Ok(Roles {
        roles,
        memberships,
        settings,
    })
}

/// The role names the target's server has.
pub async fn target_names(t: &Client) -> Result<Vec<String>, tokio_postgres::Error> {
    Ok(
        t.query("SELECT rolname::text FROM pg_catalog.pg_roles", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    )
}

/// The preflight's line on the roles: the source's (`an`, read-only)
/// beside the target server's.
pub async fn preflight_note(
    reach: &super::connect::Reach,
    an: &Client,
    t: &super::connect::TargetAddr,
    with_passwords: bool,
) -> Result<String, MigrateError> {
    let src = read(an)
        .await
        .map_err(|e| sql_error(&reach.plan.access_node.name, "reading the roles", &e))?;
    // The target's database when it has it (its roles' settings there);
    // else a new one will have none.
    let (tc, in_db) = match reach.target(t, &t.database).await {
        Ok(c) => (c, true),
        Err(_) => (reach.target(t, "postgres").await?, false),
    };
    let fail = |e| sql_error(&t.shown(), "reading the roles", &e);
    let have = target_names(&tc).await.map_err(fail)?;
    let mut there = read(&tc).await.map_err(fail)?;
    if !in_db {
        there.settings.retain(|s| !s.in_database);
    }
    let me = connected_as(&tc).await.map_err(fail)?;
    let (changed, not_changed) = plan_changes(&src, &there, &t.database, &me);
    let mut out = note(&src, &have, with_passwords);
    for c in changed.iter().chain(&not_changed) {
        out.push_str(&format!("\n  {c}"));
    }
    Ok(out)
}

/// The role this session is (tsmn's on the target).
async fn connected_as(c: &Client) -> Result<String, tokio_postgres::Error> {
    Ok(c.query_one("SELECT current_user::text", &[]).await?.get(0))
}

/// PURE: the preflight's line on the roles.
pub fn note(src: &Roles, have: &[String], with_passwords: bool) -> String {
    let (there, new): (Vec<&Role>, Vec<&Role>) =
        src.roles.iter().partition(|r| have.contains(&r.name));
    let names = |v: &[&Role]| {
        v.iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "roles: {} to create on the target{} with {} setting(s), {} already there (made to match the source's{}), {} membership(s); passwords {}",
        new.len(),
        if new.is_empty() { String::new() } else { format!(" ({})", names(&new)) },
        src.settings.iter().filter(|s| new.iter().any(|r| r.name == s.role)).count(),
        there.len(),
        if there.is_empty() { String::new() } else { format!(": {}", names(&there)) },
        src.memberships.len(),
        if with_passwords {
            "copied (their stored verifiers)"
        } else {
            "not copied (--with-role-passwords copies them)"
        }
    )
}

/// PURE: `r` created as it is on the source (no password).
pub fn create_sql(r: &Role) -> String {
    let flag = |on: bool, word: &str| format!("{}{word}", if on { "" } else { "NO" });
    let mut sql = format!(
        "CREATE ROLE {} WITH {} {} {} {} {} {} {} CONNECTION LIMIT {}",
        ident(&r.name),
        flag(r.superuser, "SUPERUSER"),
        flag(r.inherit, "INHERIT"),
        flag(r.createrole, "CREATEROLE"),
        flag(r.createdb, "CREATEDB"),
        flag(r.login, "LOGIN"),
        flag(r.replication, "REPLICATION"),
        flag(r.bypassrls, "BYPASSRLS"),
        r.connection_limit
    );
    if let Some(v) = &r.valid_until {
        sql.push_str(&format!(" VALID UNTIL {}", literal(v)));
    }
    sql
}

/// PURE: the membership granted.
pub fn membership_sql(m: &Membership) -> String {
    format!(
        "GRANT {} TO {}{}",
        ident(&m.role),
        ident(&m.member),
        if m.admin { " WITH ADMIN OPTION" } else { "" }
    )
}

/// The stored verifiers of `names` on the source (read-only).
async fn verifiers(
    an: &Client,
    names: &[String],
) -> Result<Vec<(String, SecretString)>, tokio_postgres::Error> {
    Ok(an
        .query(
            "SELECT rolname::text, rolpassword FROM pg_catalog.pg_authid WHERE rolname = ANY ($1) AND rolpassword IS NOT NULL",
            &[&names],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), SecretString::from(r.get::<_, String>(1))))
        .collect())
}

/// What keeps the statement text of the rest of the transaction out of
/// the server's log and views: sent alone, before the statements that
/// may hold a verifier. Statement logging (`log_statement`, durations,
/// `log_min_error_statement` for a failing one), parse/plan dumps
/// (`debug_print_*`, which show the constants), `pg_stat_activity`'s
/// query text (`track_activities`) and pg_stat_statements' text of
/// utility statements (a placeholder setting where it is not loaded).
pub const QUIET: &str = "SET LOCAL log_statement = 'none';\nSET LOCAL log_min_duration_statement = -1;\nSET LOCAL log_min_error_statement = 'panic';\nSET LOCAL log_duration = off;\nSET LOCAL debug_print_parse = off;\nSET LOCAL debug_print_rewritten = off;\nSET LOCAL debug_print_plan = off;\nSET LOCAL track_activities = off;\nSET LOCAL pg_stat_statements.track_utility = off;\n";

/// The missing roles created on the target with their memberships (and
/// passwords when asked), in one transaction.
pub async fn migrate(
    an: &Client,
    an_name: &str,
    target: &mut Client,
    shown: &str,
    with_passwords: bool,
) -> Result<Moved, MigrateError> {
    let src = read(an)
        .await
        .map_err(|e| sql_error(an_name, "reading the roles", &e))?;
    let have = target_names(target)
        .await
        .map_err(|e| sql_error(shown, "reading the roles", &e))?;
    let there = read(target)
        .await
        .map_err(|e| sql_error(shown, "reading the roles", &e))?;
    let me = connected_as(target)
        .await
        .map_err(|e| sql_error(shown, "reading tsmn's role", &e))?;
    let mut moved = Moved::default();
    let mut sql = String::new();
    for r in &src.roles {
        if have.contains(&r.name) {
            moved.existing.push(r.name.clone());
        } else {
            sql.push_str(&create_sql(r));
            sql.push_str(";\n");
            moved.created.push(r.name.clone());
        }
    }
    for m in &src.memberships {
        sql.push_str(&membership_sql(m));
        sql.push_str(";\n");
        moved.memberships += 1;
    }
    let db: String = target
        .query_one("SELECT current_database()::text", &[])
        .await
        .map_err(|e| sql_error(shown, "reading the database's name", &e))?
        .get(0);
    let (made, left) = split_changes(&src, &there, &db, &me);
    for c in &made {
        for q in &c.sql {
            sql.push_str(q);
            sql.push_str(";\n");
        }
        moved
            .changed
            .push(format!("role {}: {}", c.role, c.what.join(", ")));
    }
    moved.not_changed = left;
    for st in src
        .settings
        .iter()
        .filter(|s| moved.created.contains(&s.role))
    {
        if super::guc::multinode_only(&st.name) {
            moved.settings_left.push(format!(
                "role {}: {} = {} not set on the target (a multi-node setting; 2.14 does not know it)",
                st.role, st.name, st.value
            ));
            continue;
        }
        sql.push_str(&setting_sql(st, &db));
        sql.push_str(";\n");
        moved.settings += 1;
    }
    // Passwords of the roles created and of those the target had (but
    // tsmn's own).
    let mut with_pw: Vec<String> = moved.created.clone();
    with_pw.extend(moved.existing.iter().filter(|n| **n != me).cloned());
    if with_passwords && !with_pw.is_empty() {
        for (name, v) in verifiers(an, &with_pw)
            .await
            .map_err(|e| sql_error(an_name, "reading the roles' passwords (pg_authid)", &e))?
        {
            sql.push_str(&format!(
                "ALTER ROLE {} PASSWORD {};\n",
                ident(&name),
                literal(v.expose_secret())
            ));
            moved.passwords += 1;
        }
    }
    let fail = |e: tokio_postgres::Error| {
        // The server's words only: never the statement (it may hold a verifier).
        MigrateError::Failed(format!(
            "{shown}: creating the source's roles: {}\n    fix: correct the cause and run tsmn migrate again (nothing of this step was kept)",
            crate::run::session::describe(&e)
        ))
    };
    let tx = target.transaction().await.map_err(fail)?;
    // Nothing of this transaction in the server's log (a verifier may be
    // in it): the settings in a message of their own first, as the server
    // logs a simple query's whole text before any SET in it takes effect.
    tx.batch_execute(QUIET).await.map_err(fail)?;
    tx.batch_execute(&sql).await.map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(moved)
}

/// The roles step of a run: the source's roles and memberships that the
/// target lacks, journaled and said.
pub async fn step(
    reach: &super::connect::Reach,
    database: &str,
    target: &mut Client,
    shown: &str,
    journal: &std::path::Path,
    with_passwords: bool,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Moved, MigrateError> {
    let an = &reach.plan.access_node;
    let c = reach.node(an, database).await?;
    c.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| sql_error(&an.name, "making the session read-only", &e))?;
    let m = migrate(&c, &an.name, target, shown, with_passwords).await?;
    super::journal::record(
        journal,
        serde_json::json!({ "done": "roles", "created": m.created, "memberships": m.memberships, "settings": m.settings, "passwords": m.passwords }),
    );
    say(&format!(
        "roles: {} created on the target{} with {} setting(s), {} already there ({} changed to match the source's), {} membership(s); {}",
        m.created.len(),
        if m.created.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.created.join(", "))
        },
        m.settings,
        m.existing.len(),
        m.changed.len(),
        m.memberships,
        if with_passwords {
            format!("{} password(s) copied", m.passwords)
        } else {
            "no password copied (--with-role-passwords copies them)".into()
        }
    ));
    for c in &m.changed {
        say(&format!("  {c}"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_memberships_as_sql() {
        let r = Role {
            name: "app \"ro\"".into(),
            superuser: false,
            inherit: true,
            createrole: false,
            createdb: true,
            login: true,
            replication: false,
            bypassrls: false,
            connection_limit: -1,
            valid_until: Some("2030-01-01 00:00:00+00".into()),
        };
        assert_eq!(
            create_sql(&r),
            "CREATE ROLE \"app \"\"ro\"\"\" WITH NOSUPERUSER INHERIT NOCREATEROLE CREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1 VALID UNTIL '2030-01-01 00:00:00+00'"
        );
        let m = Membership {
            role: "readers".into(),
            member: "app".into(),
            admin: true,
        };
        assert_eq!(
            membership_sql(&m),
            "GRANT \"readers\" TO \"app\" WITH ADMIN OPTION"
        );
    }
}
