//! tsmn must not lock itself out. In password mode the superuser tsmn logs
//! in as can be one of the plan's roles; its password step then sets the
//! role password on the data nodes. Where tsmn itself logs in to such a
//! node with a different password, that step would change tsmn's own
//! login halfway through the run. Decided before anything changes: such a
//! run is refused, naming the nodes and the ways out. A login that uses no
//! password (trust, peer, the sandbox's socket) is never a reason to refuse.

use super::FlowError;
use crate::plan::{AuthMode, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::ProbeOptions;
use crate::steps::secrets::Secrets;
use crate::steps::{Action, Precheck, Step, StepState};
use secrecy::ExposeSecret;

pub async fn guard(
    plan: &Plan,
    steps: &[Step],
    secrets: &Secrets,
    login: &PasswordSource,
    opts: ProbeOptions,
) -> Result<(), FlowError> {
    if plan.auth.mode != AuthMode::Password {
        return Ok(());
    }
    let su = &plan.superuser;
    let Ok(new) = secrets.password(su, "") else {
        return Ok(());
    };
    let changing: Vec<&str> = steps
        .iter()
        .filter(|s| s.state == StepState::Todo)
        .filter_map(|s| match (&s.precheck, &s.action) {
            (Some(Precheck::PasswordIs { role }), _) if role == su => Some(s.node.as_str()),
            (
                _,
                Action::RotatePassword {
                    role, data_node, ..
                },
            ) if role == su => Some(data_node.as_str()),
            _ => None,
        })
        .collect();
    let mut conflicts = Vec::new();
    for name in changing {
        let Some(node) = plan.nodes().find(|n| n.name == name) else {
            continue;
        };
        let port = u16::try_from(node.effective_connect_port()).unwrap_or(5432);
        let used = login.password_for(node.effective_connect_host(), port, "postgres", su);
        if used.as_ref().is_some_and(|p| p.expose_secret() == new) {
            continue;
        }
        if without_password(plan, node, opts).await {
            continue;
        }
        conflicts.push(name.to_string());
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(FlowError::Usage(format!(
        "nothing was changed: the plan sets the password of {su}, the role tsmn logs in as, on {nodes}, \
         to a password other than the one tsmn logs in with there; tsmn would lock itself out halfway\n    \
         fix: give {su}'s role password as the login password ({var}), or log in to {nodes} without a password \
         (a local socket with peer or trust), or let the access node use a role other than {su} (auth.roles)",
        nodes = conflicts.join(", "),
        var = crate::plan::role_password_env(plan, su),
    )))
}

/// Whether tsmn gets in to `node` with no password at all.
async fn without_password(plan: &Plan, node: &crate::plan::Node, opts: ProbeOptions) -> bool {
    let Ok(tls) = crate::probe::tls::Tls::from_plan(plan) else {
        return false;
    };
    let none = PasswordSource::default();
    let cfg = crate::probe::config(node, &plan.superuser, "postgres", &none, opts, &tls);
    crate::probe::connect(&cfg, &tls, opts, None).await.is_ok()
}
