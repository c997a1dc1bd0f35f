//! PURE: a role the target already has made to match the source's: its
//! attributes, connection limit and expiry (`ALTER ROLE ... WITH`), its
//! settings (`ALTER ROLE ... SET`, and `RESET` of those the source's role
//! lacks, for every database and for the migrated one), its memberships
//! in the source's roles (granted, and revoked where the source's role is
//! not a member); its password only when asked (`roles::migrate`).
//! Memberships in roles only the target has are the target's own: left.
//!
//! The role tsmn connects to the target as is never changed: taking its
//! login, superuser, a connection limit, an expiry or a setting such as
//! `default_transaction_read_only` from it could lock tsmn out halfway
//! (the copy opens new sessions). Its differences are named instead, for
//! the operator to make after the migration.

use super::{Membership, Role, Roles, Setting};
use crate::quote::sql::{ident, literal};

/// What would make one existing role match the source's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub role: String,
    /// The statements (no password: `roles::migrate` adds it).
    pub sql: Vec<String>,
    /// Each difference, as the operator reads it.
    pub what: Vec<String>,
}

/// Everything about the roles as one server has them.
pub struct Side<'a> {
    pub roles: &'a [Role],
    pub memberships: &'a [Membership],
    pub settings: &'a [Setting],
}

/// PURE: for each role of `src` that `have` has too, what differs.
/// `db`: the target's database (for settings in it).
pub fn changes(src: &Side<'_>, have: &Side<'_>, db: &str) -> Vec<Change> {
    let mut out = Vec::new();
    for r in src.roles {
        let Some(t) = have.roles.iter().find(|t| t.name == r.name) else {
            continue;
        };
        let mut c = Change {
            role: r.name.clone(),
            ..Change::default()
        };
        attributes(r, t, &mut c);
        settings(src.settings, have.settings, &r.name, db, &mut c);
        memberships(src, have, &r.name, &mut c);
        if !c.what.is_empty() {
            out.push(c);
        }
    }
    out
}

fn attributes(r: &Role, t: &Role, c: &mut Change) {
    let flags = [
        (r.superuser, t.superuser, "SUPERUSER"),
        (r.inherit, t.inherit, "INHERIT"),
        (r.createrole, t.createrole, "CREATEROLE"),
        (r.createdb, t.createdb, "CREATEDB"),
        (r.login, t.login, "LOGIN"),
        (r.replication, t.replication, "REPLICATION"),
        (r.bypassrls, t.bypassrls, "BYPASSRLS"),
    ];
    let mut words = Vec::new();
    for (want, had, word) in flags {
        if want != had {
            let w = format!("{}{word}", if want { "" } else { "NO" });
            c.what.push(w.clone());
            words.push(w);
        }
    }
    if r.connection_limit != t.connection_limit {
        words.push(format!("CONNECTION LIMIT {}", r.connection_limit));
        c.what.push(format!(
            "connection limit {} -> {}",
            t.connection_limit, r.connection_limit
        ));
    }
    if r.valid_until != t.valid_until {
        let v = r.valid_until.as_deref().unwrap_or("infinity");
        words.push(format!("VALID UNTIL {}", literal(v)));
        c.what.push(format!(
            "valid until {} -> {v}",
            t.valid_until.as_deref().unwrap_or("infinity")
        ));
    }
    if !words.is_empty() {
        c.sql.push(format!(
            "ALTER ROLE {} WITH {}",
            ident(&r.name),
            words.join(" ")
        ));
    }
}

fn settings(src: &[Setting], have: &[Setting], role: &str, db: &str, c: &mut Change) {
    let mine =
        |v: &[Setting]| -> Vec<Setting> { v.iter().filter(|s| s.role == role).cloned().collect() };
    let (want, had) = (mine(src), mine(have));
    for s in &want {
        if super::super::guc::multinode_only(&s.name) {
            continue;
        }
        if !had.contains(s) {
            c.sql.push(super::setting_sql(s, db));
            c.what.push(format!("set {} = {}", s.name, s.value));
        }
    }
    for s in &had {
        if !want
            .iter()
            .any(|w| w.name == s.name && w.in_database == s.in_database)
        {
            c.sql.push(format!(
                "ALTER ROLE {}{} RESET {}",
                ident(role),
                if s.in_database {
                    format!(" IN DATABASE {}", ident(db))
                } else {
                    String::new()
                },
                ident(&s.name)
            ));
            c.what.push(format!("reset {}", s.name));
        }
    }
}

fn memberships(src: &Side<'_>, have: &Side<'_>, role: &str, c: &mut Change) {
    let of = |v: &[Membership]| -> Vec<Membership> {
        v.iter().filter(|m| m.member == role).cloned().collect()
    };
    let (want, had) = (of(src.memberships), of(have.memberships));
    for m in &want {
        if !had.contains(m) {
            // Granted by roles::migrate with every membership.
            c.what.push(format!(
                "member of {}{}",
                m.role,
                if m.admin { " with admin option" } else { "" }
            ));
        }
    }
    for m in &had {
        let from_source = src.roles.iter().any(|r| r.name == m.role);
        if from_source && !want.iter().any(|w| w.role == m.role) {
            c.sql
                .push(format!("REVOKE {} FROM {}", ident(&m.role), ident(role)));
            c.what.push(format!("no longer a member of {}", m.role));
        }
    }
}

/// PURE: what `changes` finds, split: (each change of a role tsmn makes
/// match, with its statements), and each difference of `me`, the role tsmn
/// connects as, which it leaves.
pub fn split_changes(src: &Roles, there: &Roles, db: &str, me: &str) -> (Vec<Change>, Vec<String>) {
    fn side(r: &Roles) -> Side<'_> {
        Side {
            roles: &r.roles,
            memberships: &r.memberships,
            settings: &r.settings,
        }
    }
    let (mut made, mut left) = (Vec::new(), Vec::new());
    for c in changes(&side(src), &side(there), db) {
        if c.role == me {
            left.push(format!(
                "role {} (tsmn connects to the target as it) is not changed: {}; make it match after the migration if wished",
                c.role,
                c.what.join(", ")
            ));
        } else {
            made.push(c);
        }
    }
    (made, left)
}

/// PURE: the preflight's lines on the roles the target has.
pub fn plan_changes(src: &Roles, there: &Roles, db: &str, me: &str) -> (Vec<String>, Vec<String>) {
    let (made, left) = split_changes(src, there, db, me);
    let lines = made
        .iter()
        .map(|c| {
            format!(
                "role {} will change to match the source: {}",
                c.role,
                c.what.join(", ")
            )
        })
        .collect();
    (lines, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, login: bool, limit: i32) -> Role {
        Role {
            name: name.into(),
            superuser: false,
            inherit: true,
            createrole: false,
            createdb: false,
            login,
            replication: false,
            bypassrls: false,
            connection_limit: limit,
            valid_until: None,
        }
    }

    fn setting(role: &str, name: &str, value: &str) -> Setting {
        Setting {
            role: role.into(),
            in_database: false,
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn an_existing_role_made_as_on_the_source() {
        let src_roles = [role("app", false, -1), role("reader", true, 5)];
        let have_roles = [role("app", false, -1), role("reader", false, 1)];
        let src_m = [Membership {
            role: "app".into(),
            member: "reader".into(),
            admin: false,
        }];
        let have_m = [Membership {
            role: "old".into(),
            member: "reader".into(),
            admin: false,
        }];
        let src_s = [setting("reader", "work_mem", "64MB")];
        let have_s = [setting("reader", "statement_timeout", "1s")];
        let got = changes(
            &Side {
                roles: &src_roles,
                memberships: &src_m,
                settings: &src_s,
            },
            &Side {
                roles: &have_roles,
                memberships: &have_m,
                settings: &have_s,
            },
            "single",
        );
        assert_eq!(got.len(), 1, "app is equal: {got:?}");
        assert_eq!(
            got[0].sql,
            [
                "ALTER ROLE \"reader\" WITH LOGIN CONNECTION LIMIT 5",
                "ALTER ROLE \"reader\" SET \"work_mem\" TO '64MB'",
                "ALTER ROLE \"reader\" RESET \"statement_timeout\"",
            ]
        );
        assert_eq!(
            got[0].what,
            [
                "LOGIN",
                "connection limit 1 -> 5",
                "set work_mem = 64MB",
                "reset statement_timeout",
                "member of app",
            ],
            "old is the target's own role: its membership stays"
        );
    }

    #[test]
    fn the_role_tsmn_connects_as_is_left_and_named() {
        let role = |name: &str, login: bool| role(name, login, -1);
        let src = Roles {
            roles: vec![role("tsmn", false), role("app", true)],
            ..Roles::default()
        };
        let there = Roles {
            roles: vec![role("tsmn", true), role("app", false)],
            ..Roles::default()
        };
        let (made, left) = split_changes(&src, &there, "single", "tsmn");
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].sql, ["ALTER ROLE \"app\" WITH LOGIN"]);
        assert_eq!(left.len(), 1);
        assert!(
            left[0].starts_with(
                "role tsmn (tsmn connects to the target as it) is not changed: NOLOGIN"
            ),
            "{}",
            left[0]
        );
    }
}
