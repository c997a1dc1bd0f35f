//! Settings beyond what multi-node needs: those an adopted access node
//! could have as tsmn recommends, and changes waiting for a restart.

use crate::facts::{NodeFacts, ServerFacts};
use crate::findings::{Finding, Fix, Severity::*, Then};
use crate::quote::sql::literal;

/// On an adopted cluster tsmn sets only what multi-node needs; what it
/// would set on a new one is said here, as a note with its SQL.
pub(super) fn recommendations(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    for (name, want, why) in [
        (
            "jit",
            "off",
            "JIT compilation interferes with distributed query plans",
        ),
        (
            "enable_partitionwise_aggregate",
            "on",
            "partitionwise aggregation pushes aggregates down to the data nodes",
        ),
    ] {
        let Some(v) = s.setting(name) else { continue };
        if v != want {
            out.push(Finding::new(
                Note,
                &n.name,
                "recommended_setting",
                format!("{name} is {v}; tsmn recommends {want} on the access node"),
                format!("{why}; this plan is adopted, so tsmn apply leaves it as it is"),
                Fix::sql(
                    &n.name,
                    format!("ALTER SYSTEM SET {name} = {}", literal(want)),
                    Then::Reload,
                ),
            ));
        }
    }
}

pub(super) fn pending_restart(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let pending = s.pending_restart();
    if !pending.is_empty() {
        out.push(Finding::new(
            Warning,
            &n.name,
            "pending_restart",
            format!(
                "settings changed but not yet in effect: {}",
                pending.join(", ")
            ),
            "these settings take effect only after a restart; until then the old values apply",
            Fix::Restart {
                node: n.name.clone(),
            },
        ));
    }
}
