//! `tsmn apply --rotate-password ROLE` (password mode): the role's new
//! password goes to one data node at a time, each followed at once by the
//! access node's passfile line for it, before any other step of the auth
//! phase. The role's own steps that follow (its verifier on each data
//! node, the passfile) then find their work done. Safe to resume: a data
//! node that already has the new password, and a line that already holds
//! it, are left as they are.

use super::{step, Action, Ctx, Order, Phase, Step, StepsError};
use crate::plan::AuthMode;

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    let plan = ctx.plan;
    if ctx.inputs.rotate.is_empty() {
        return Ok(());
    }
    if plan.auth.mode != AuthMode::Password {
        return Err(StepsError::Unusable(format!(
            "--rotate-password: the plan is in {} mode; only password mode has passwords between the nodes\n    fix: leave --rotate-password out",
            plan.auth.mode.as_str()
        )));
    }
    let passfile = super::auth::passfile_path(plan);
    for role in ctx.inputs.rotate {
        if !plan.auth.roles.contains(role) {
            return Err(StepsError::Unusable(format!(
                "--rotate-password {role}: {role} is not among auth.roles ({})\n    fix: name a role of the plan, or add {role} to auth.roles (a new role gets its password without rotation)",
                plan.auth.roles.join(", ")
            )));
        }
        // Where the role does not exist yet there is nothing to rotate: its
        // role step makes it with the new password.
        let there: Vec<&crate::plan::Node> = ctx
            .data_nodes()
            .filter(|dn| {
                ctx.server(&dn.name)
                    .is_none_or(|s| s.roles.iter().any(|r| r.name == *role && r.exists))
            })
            .collect();
        for (i, dn) in there.iter().enumerate() {
            let mut s = step(
                &plan.access_node.name,
                Phase::Auth,
                &format!("rotate-{role}-{}", dn.name),
                format!("New password of {role} on {}, then its passfile line", dn.name),
                format!("one data node at a time: {} refuses {role} only between its new verifier and the access node's passfile line for it", dn.name),
                Action::RotatePassword {
                    role: role.clone(),
                    data_node: dn.name.clone(),
                    host: dn.host.clone(),
                    port: dn.port,
                    database: plan.database.clone(),
                    passfile: passfile.clone(),
                    last: i + 1 == there.len(),
                },
            );
            s.order = Order::First;
            out.push(s);
        }
    }
    Ok(())
}
