//! PURE: what stands in the way of multi-node, derived from a plan and the
//! facts. Each finding names the node, what is wrong, why it matters and the
//! exact fix.

mod access_cause;
mod across;
mod admission;
pub use admission::admitting_rule;
pub mod connect;
mod drift;
mod files;
pub mod fix;
mod hba;
pub mod health;
mod lost;
mod maintenance;
mod node;
mod peers;

use crate::facts::Facts;
use crate::plan::Plan;
pub use fix::{Fix, HbaEdit, Then};
use serde::Serialize;

/// A certificate with fewer days left than this is a warning
/// (`certificate_expiring`), in check and in status alike: a month is
/// time enough to renew it on every node.
pub const CERTIFICATE_WARN_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Multi-node cannot work until this is fixed.
    Blocker,
    /// Works for now, but something is off or pending.
    Warning,
    /// Worth knowing.
    Note,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Blocker => "BLOCKER",
            Severity::Warning => "WARNING",
            Severity::Note => "NOTE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub node: String,
    /// Stable identifier, for scripts reading `--json`.
    pub code: &'static str,
    pub what: String,
    pub why: String,
    /// The fix as text, rendered from `remedy`.
    pub fix: String,
    /// The fix as data: SQL on a node, a pg_hba.conf edit, tsmn apply...
    pub remedy: Fix,
}

impl Finding {
    pub fn new(
        severity: Severity,
        node: &str,
        code: &'static str,
        what: impl Into<String>,
        why: impl Into<String>,
        remedy: Fix,
    ) -> Finding {
        Finding {
            severity,
            node: node.to_string(),
            code,
            what: what.into(),
            why: why.into(),
            fix: remedy.render(),
            remedy,
        }
    }
}

/// Every finding, grouped by node in plan order, most severe first.
pub fn findings(plan: &Plan, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for n in &facts.nodes {
        node::per_node(plan, facts, n, &mut out);
    }
    across::across_nodes(plan, facts, &mut out);
    maintenance::findings(plan, facts, &mut out);
    drift::findings(plan, facts, &mut out);
    health::findings(plan, facts, &mut out);
    lost::findings(plan, facts, &mut out);
    peers::findings(plan, facts, &mut out);
    let order: Vec<&str> = plan.nodes().map(|n| n.name.as_str()).collect();
    let rank = |name: &str| order.iter().position(|n| *n == name).unwrap_or(usize::MAX);
    out.sort_by(|a, b| {
        rank(&a.node)
            .cmp(&rank(&b.node))
            .then(a.severity.cmp(&b.severity))
    });
    out
}

pub fn blockers(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .count()
}
