//! Settings per node: what multi-node needs of each (TimescaleDB preloaded,
//! prepared transactions on the data nodes, the auth mode's settings) and
//! what the docs' multinode-config page recommends.

use super::{step, Action, Ctx, Phase, SettingChange, SettingValue, Step, StepState};
use crate::plan::AuthMode;

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    for node in plan.nodes() {
        let access = node.name == plan.access_node.name;
        let mut changes = vec![ctx.setting_change(
            &node.name,
            "shared_preload_libraries",
            SettingValue::Append("timescaledb".into()),
            true,
        )];
        // An adopted data node that already prepares transactions keeps
        // its value: above 0 is what multi-node needs, the rest is advice
        // (check's note), and raising it costs a restart of a running node.
        let prepares = ctx
            .server(&node.name)
            .and_then(|s| s.setting("max_prepared_transactions"))
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|v| v > 0);
        let keeps_its_own = plan.adopted && prepares;
        if !access && !keeps_its_own {
            changes.push(ctx.setting_change(
                &node.name,
                "max_prepared_transactions",
                SettingValue::AtLeast(
                    crate::timescale::PREPARED_TRANSACTIONS,
                    "max_connections".into(),
                ),
                true,
            ));
        } else if access && !plan.adopted {
            // Recommendations, not requirements: on an adopted cluster
            // check reports them and apply leaves them as they are.
            changes.push(ctx.setting_change(
                &node.name,
                "enable_partitionwise_aggregate",
                SettingValue::Set("on".into()),
                false,
            ));
            changes.push(ctx.setting_change(
                &node.name,
                "jit",
                SettingValue::Set("off".into()),
                false,
            ));
        }
        if ctx.copies_chunks {
            changes.extend(if access {
                super::moving::access_node_settings(ctx)
            } else {
                super::moving::for_moves(ctx, &node.name, ctx.inputs.parallel)
            });
        }
        if plan.auth.mode == AuthMode::Password {
            changes.push(ctx.setting_change(
                &node.name,
                "password_encryption",
                SettingValue::Set("scram-sha-256".into()),
                false,
            ));
        }
        let reason = if access {
            "TimescaleDB must be preloaded (restart); partitionwise aggregation pushes aggregates down to the data nodes; JIT interferes with distributed plans"
        } else {
            "TimescaleDB must be preloaded (restart); distributed writes use two-phase commit, so max_prepared_transactions must be above 0 (restart; TimescaleDB recommends at least max_connections)"
        };
        let state = settled(ctx, &node.name, &changes);
        // Online, a change the server already runs with is no change: the
        // step lists only what it will change (all of it when done, so a
        // re-run still shows what was checked).
        if state == StepState::Todo {
            changes.retain(|c| !in_effect(ctx, &node.name, c));
        }
        let mut s = step(
            &node.name,
            Phase::Settings,
            "settings",
            "Server settings for multi-node",
            reason,
            Action::Settings {
                database: "postgres".into(),
                changes,
            },
        );
        s.state = state;
        out.push(s);
    }
}

/// Whether the server runs with this change already (facts known, the value
/// satisfies it, and no other value for it waits for a restart).
fn in_effect(ctx: &Ctx, node: &str, c: &SettingChange) -> bool {
    let pending = ctx
        .server(node)
        .and_then(|s| s.settings.get(&c.name))
        .is_some_and(|v| v.pending_restart);
    !pending && runs_with(ctx, node, c)
}

/// Whether the current value (facts known) satisfies the change.
fn runs_with(ctx: &Ctx, node: &str, c: &SettingChange) -> bool {
    let Some(s) = ctx.server(node) else {
        return false;
    };
    let other = match &c.new {
        SettingValue::AtLeast(_, name) => s.setting(name),
        _ => None,
    };
    c.current
        .as_deref()
        .is_some_and(|cur| satisfied(cur, &c.new, other))
}

/// Whether a change is already in effect, judged from the current value.
pub fn satisfied(current: &str, new: &SettingValue, other: Option<&str>) -> bool {
    match new {
        SettingValue::Set(v) => current == v,
        SettingValue::Append(item) => current
            .split(',')
            .any(|i| i.trim().trim_matches('"') == item),
        SettingValue::AtLeast(n, _) => {
            let cur: i64 = current.parse().unwrap_or(0);
            let floor = other
                .and_then(|o| o.parse::<i64>().ok())
                .unwrap_or(0)
                .max(*n);
            cur >= floor
        }
    }
}

pub(super) fn settled(ctx: &Ctx, node: &str, changes: &[SettingChange]) -> StepState {
    if ctx.server(node).is_some() && changes.iter().all(|c| runs_with(ctx, node, c)) {
        StepState::Done {
            why: "every setting already has the wanted value".into(),
        }
    } else {
        StepState::Todo
    }
}

/// The SQL that makes one change, the same for preview, export and apply.
/// List and minimum changes are computed on the server at run time
/// (generators, run like psql's \gexec), so they keep what is there and a
/// re-run does nothing.
pub fn statement(c: &SettingChange) -> super::Statement {
    use super::Statement;
    use crate::quote::sql::literal;
    let name = &c.name;
    match &c.new {
        SettingValue::Set(v) => {
            Statement::plain(format!("ALTER SYSTEM SET {name} = {}", literal(v)))
        }
        SettingValue::Append(item) => {
            let cur = format!("current_setting({})", literal(name));
            // Preloading a library that is not installed would stop the
            // server from starting again: only add what is there.
            let installed = if name == "shared_preload_libraries" {
                format!(
                    " AND EXISTS (SELECT FROM pg_available_extensions WHERE name = {})",
                    literal(item)
                )
            } else {
                String::new()
            };
            // One literal per list item: for a list setting, one literal
            // 'a,b' is a single item named "a,b" (and a preload of that
            // stops the server from starting).
            Statement::generator(format!(
                "SELECT 'ALTER SYSTEM SET {name} = ' || string_agg(quote_literal(l), ', ' ORDER BY n) \
                 FROM unnest(array_append(array_remove(string_to_array(replace(replace({cur}, ' ', ''), '\"', ''), ','), ''), {item})) WITH ORDINALITY AS t(l, n) \
                 WHERE NOT {item} = ANY (string_to_array(replace({cur}, ' ', ''), ',')){installed}",
                item = literal(item)
            ))
        }
        SettingValue::AtLeast(n, other) => {
            let want = format!("greatest({n}, current_setting({})::int)", literal(other));
            Statement::generator(format!(
                "SELECT format('ALTER SYSTEM SET {name} = %s', {want}) WHERE current_setting({})::int < {want}",
                literal(name)
            ))
        }
    }
}
