//! The pg_hba.conf rules that admit the access node on every data node,
//! in each mode's method (trust, scram-sha-256, cert).

use super::kept;
use crate::plan::AuthMode;
use crate::quote::hba;
use crate::steps::{hba_block, links};
use crate::steps::{step, Action, Ctx, Phase, Step, StepState, StepsError};

/// The mode's rule type and method: what every rule of tsmn's block says.
pub(in crate::steps) fn kind_method(mode: AuthMode) -> (&'static str, &'static str) {
    match mode {
        AuthMode::Trust => ("host", "trust"),
        AuthMode::Password => ("host", "scram-sha-256"),
        AuthMode::Certificate => ("hostssl", "cert"),
    }
}

/// The rules for the access node, on every data node (with the links'
/// rules between data nodes when wanted), in the plan's mode.
pub(in crate::steps) fn hba_rules(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    let (kind, method) = kind_method(ctx.plan.auth.mode);
    let roles = hba::list(&ctx.plan.auth.roles)
        .map_err(|e| StepsError::Unusable(format!("auth.roles: {e}; fix: rename the role")))?;
    let lines: Vec<String> = ctx
        .access_node_cidrs()
        .iter()
        .map(|cidr| format!("{kind} all {roles} {cidr} {method}"))
        .collect();
    let reason = match method {
        "trust" => "admits the access node's address without a password. WARNING: anyone who can connect from that address as these roles gets in; use trust only on a network you control",
        "scram-sha-256" => "admits the access node's address with a SCRAM password (host matches TLS and plain connections alike)",
        _ => "admits the access node's address only with a client certificate whose CN is the role",
    };
    let an_cidrs = ctx.access_node_cidrs();
    for dn in ctx.data_nodes() {
        // With the links between data nodes: the other data nodes too.
        let links = links::hba_lines(ctx, &dn.name, kind, method, &an_cidrs);
        let mut lines = lines.clone();
        lines.extend(links.iter().cloned());
        let mut s = step(
            &dn.name,
            Phase::Auth,
            "hba",
            format!("pg_hba.conf: admit the access node ({method})"),
            reason,
            Action::HbaBlock {
                lines: lines.clone(),
            },
        );
        if let Some(server) = ctx.server(&dn.name) {
            if !server.hba_lines.is_empty()
                && hba_block::holds(&(server.hba_lines.join("\n") + "\n"), &lines)
            {
                s.state = StepState::Done {
                    why: "pg_hba.conf already holds this block".into(),
                };
            }
        }
        // An adopted cluster's own rule stands when it admits the access
        // node as every role: the step is a check, with nothing to write.
        let admitting = ctx
            .inputs
            .facts
            .filter(|_| ctx.plan.adopted && links.is_empty())
            .and_then(|f| crate::findings::admitting_rule(ctx.plan, f, &dn.name));
        if let Some(rule) = admitting {
            kept(
                &mut s,
                format!("an existing rule admits the access node as every role ({rule})"),
            );
        } else if links.is_empty()
            && ctx
                .plan
                .auth
                .roles
                .iter()
                .all(|role| ctx.adopted_reach(role, &dn.name))
        {
            // Rules only the data node can judge (host names, groups,
            // samenet): the engine's answer decides, and it admitted.
            kept(
                &mut s,
                format!("the access node reaches {} as every role (proved from the access node): its pg_hba.conf stands as it is", dn.name),
            );
        }
        out.push(s);
    }
    out.extend(links::leaving_hba(ctx, &lines, kind, method));
    Ok(())
}
