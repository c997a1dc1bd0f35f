//! Authentication of the access node on the data nodes, per mode: the
//! roles on the data nodes (roles.rs), then trust mode's pg_hba.conf rules
//! alone (hba.rs), password mode's rules and passfile (password.rs), or
//! certificate mode's TLS files, settings and rules (certificate.rs, and
//! roll_over.rs for a CA roll-over).

mod certificate;
mod hba;
mod password;
mod roles;
mod roll_over;

pub(super) use hba::{hba_rules, kind_method};
pub(super) use password::{passfile, passfile_path};
pub(super) use roll_over::roll_over;

use super::settings::settled;
use super::{step, Action, Ctx, Phase, SettingValue, Step, StepState, StepsError};
use crate::plan::AuthMode;

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) -> Result<(), StepsError> {
    roles::data_node_roles(ctx, out);
    match ctx.plan.auth.mode {
        AuthMode::Trust => hba::hba_rules(ctx, out)?,
        AuthMode::Password => password::password(ctx, out)?,
        AuthMode::Certificate => certificate::certificate(ctx, out)?,
    }
    Ok(())
}

/// What an adopted cluster proved works stays as it is: the step checks,
/// writes nothing, and needs no secret.
pub(super) fn kept(s: &mut Step, why: String) {
    s.action = Action::Sql {
        database: "postgres".into(),
        statements: vec![],
    };
    s.precheck = None;
    s.state = StepState::Done { why };
}

/// The TimescaleDB setting the auth mode needs on the access node, when
/// the plan gives a path: `timescaledb.passfile` or `timescaledb.ssl_dir`.
/// Set in the cluster database once the extension exists there (the
/// cluster phase places it before the data nodes are added); it takes
/// effect on reload.
pub(super) fn timescaledb_setting(ctx: &Ctx) -> Option<Step> {
    let plan = ctx.plan;
    let (what, name, value, title, why) = match plan.auth.mode {
        AuthMode::Password => {
            let p = plan.auth.password.clone().unwrap_or_default().passfile;
            (
                "passfile-setting",
                "timescaledb.passfile",
                p,
                "Point timescaledb.passfile at the passfile",
                "an absolute path avoids depending on PGDATA; takes effect on reload",
            )
        }
        AuthMode::Certificate => {
            let d = plan.auth.certificate.clone().unwrap_or_default().ssl_dir;
            (
                "ssl-dir-setting",
                "timescaledb.ssl_dir",
                d,
                "Point timescaledb.ssl_dir at the client certificates",
                "the files sit directly in this directory; takes effect on reload",
            )
        }
        AuthMode::Trust => return None,
    };
    if value.is_empty() {
        return None;
    }
    let an = &plan.access_node.name;
    let changes = vec![ctx.setting_change(an, name, SettingValue::Set(value), false)];
    let mut s = step(
        an,
        Phase::Cluster,
        what,
        title,
        why,
        Action::Settings {
            database: plan.database.clone(),
            changes: changes.clone(),
        },
    );
    s.state = settled(ctx, an, &changes);
    Some(s)
}
