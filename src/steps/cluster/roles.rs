//! The plan's roles besides the superuser on the access node: LOGIN,
//! USAGE on the foreign servers, and user mappings where the plan asks.

use super::sql;
use crate::plan::AuthMode;
use crate::quote::sql::literal;
use crate::steps::{step, Ctx, Part, Phase, Statement, Step, Template};

/// Each role besides the superuser: on every node, with USAGE on the
/// foreign servers (roles are not distributed automatically).
pub(super) fn roles(ctx: &Ctx) -> Vec<Step> {
    let plan = ctx.plan;
    let (an, db) = (plan.access_node.name.as_str(), plan.database.as_str());
    let mut steps = Vec::new();
    let servers = plan
        .data_nodes
        .iter()
        .map(|d| literal(&d.name))
        .collect::<Vec<_>>()
        .join(", ");
    for role in plan.auth.roles.iter().filter(|r| **r != plan.superuser) {
        // Generators all: a statement runs only where its condition does not
        // hold yet, so a re-run changes (and reports) nothing. The data
        // nodes' side is their own auth step (`auth::roles::data_node_roles`).
        let l = literal(role);
        let mut stmts = vec![
            Statement::generator(format!("SELECT format('CREATE ROLE %I LOGIN', {l}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {l})")),
            Statement::generator(format!("SELECT format('GRANT USAGE ON FOREIGN SERVER %s TO %I', string_agg(quote_ident(srvname::text), ', ' ORDER BY srvname), {l}) FROM pg_foreign_server WHERE srvname IN ({servers}) AND NOT has_server_privilege({l}, srvname::text, 'USAGE') HAVING count(*) > 0")),
        ];
        if plan.auth.mode == AuthMode::Password
            && plan.auth.password.as_ref().is_some_and(|p| p.user_mapping)
        {
            for dn in ctx.data_nodes() {
                let d = literal(&dn.name);
                let mut t = Template::lit(format!("SELECT format('CREATE USER MAPPING FOR %I SERVER %I OPTIONS (user %L, password %L)', {l}, {d}, {l}, "));
                t.push(Part::PasswordLiteral(role.clone()));
                t.push_str(&format!(") WHERE NOT EXISTS (SELECT FROM pg_user_mappings WHERE srvname = {d} AND usename = {l})"));
                stmts.push(Statement {
                    sql: t,
                    generate: true,
                });
            }
        }
        let mut s = step(an, Phase::Cluster, &format!("role-{role}"), format!("Role {role} on every node"), "roles are not distributed automatically: the role needs LOGIN on every node (the data nodes get theirs in the auth phase) and USAGE on the foreign servers", sql(db, stmts));
        if adopted_role_works(ctx, role) {
            crate::steps::auth::kept(&mut s, format!("{role} may use every data node's foreign server and reaches each of them (proved from the access node)"));
        }
        steps.push(s);
    }
    steps
}

/// On an adopted cluster: `role` has USAGE on every data node's foreign
/// server and the access node reaches every data node as it.
fn adopted_role_works(ctx: &Ctx, role: &str) -> bool {
    let Some(db) = ctx.an_database() else {
        return false;
    };
    ctx.data_nodes().all(|dn| {
        ctx.adopted_reach(role, &dn.name)
            && db
                .members
                .iter()
                .any(|m| m.name == dn.name && !m.without_usage.iter().any(|r| r == role))
    })
}
