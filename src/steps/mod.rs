//! PURE: from a plan and (when online) the facts, the ordered steps that make
//! a working multi-node cluster. One builder feeds every face: preview,
//! export and execution. The steps follow TimescaleDB's multi-node setup
//! (the docs' multinode-setup, multinode-auth and multinode-config pages):
//! settings, authentication in one of three modes, then the cluster and
//! its verification.

mod auth;
mod bootstrap;
mod cluster;
mod context;
mod drain;
pub mod hba_block;
mod links;
mod maintenance;
pub mod material;
mod model;
mod moving;
pub mod rebalance;
mod rotate;
pub mod secrets;
mod settings;
pub mod undo;
pub mod verify;

pub use drain::placement as drain_placement;
pub use model::*;
pub use settings::{satisfied as setting_satisfied, statement as setting_statement};

use crate::facts::{Facts, NodeFacts, ServerFacts};
use crate::plan::{Node, Plan};

/// What the builder needs besides the plan.
#[derive(Debug, Default, Clone, Copy)]
pub struct Inputs<'a> {
    /// Facts from `probe/`; None offline (every step is listed as to do).
    pub facts: Option<&'a Facts>,
    /// Certificate material (certificate mode only).
    pub material: Option<&'a material::Material>,
    /// The operator said a data node that is in the cluster but not in the
    /// plan may be removed (`--remove-data-nodes`); never by default.
    pub remove_data_nodes: bool,
    /// With `remove_data_nodes`: the chunks a leaving data node alone
    /// holds are moved to the others first (`--drain`).
    pub drain: bool,
    /// Chunks short of their hypertable's replication factor on the plan's
    /// data nodes are copied until it is met (`--repair-replication`; also
    /// when a lost data node is removed: steps/repair.rs).
    pub repair_replication: bool,
    /// With `remove_data_nodes`: chunks whose only copy is on a lost data
    /// node, given up by name (`--give-up-chunks`): dropped from the
    /// access node's catalog before the node is deleted.
    pub give_up: &'a [String],
    /// Chunk moves at once (`--parallel`; 0 or 1: one at a time), with
    /// the data nodes' replication settings raised to match.
    pub parallel: u16,
    /// Roles whose password changes now, data node by data node
    /// (`--rotate-password`, password mode).
    pub rotate: &'a [String],
    /// Data nodes a run added and did not yet attach to the distributed
    /// hypertables (from the journal): still joining, though members.
    pub joining: &'a [String],
    /// The certificates are renewed now (`--renew-certificates`): an
    /// adopted cluster's own certificates, proved to work, are replaced
    /// too (they are what is to be renewed).
    pub renewing: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StepsError {
    #[error("{0}")]
    Unusable(String),
}

/// The steps, grouped by phase, in execution order; within a phase the data
/// nodes come first and the access node last.
pub fn build(plan: &Plan, inputs: Inputs) -> Result<Vec<Step>, StepsError> {
    let mut steps = Vec::new();
    let mut ctx = Ctx {
        plan,
        inputs,
        copies_chunks: false,
    };
    // A drain whose moves the links' gate refuses changes no setting
    // either: a restart for moves that cannot run is a restart for nothing.
    ctx.copies_chunks = (!moving::drain_sources(&ctx).is_empty() && links::gate(&ctx).is_none())
        || cluster::repair_wanted(&ctx);
    settings::build(&ctx, &mut steps);
    steps.extend(drain::leaving_settings(&ctx));
    auth::build(&ctx, &mut steps)?;
    steps.extend(links::files(&ctx));
    // The access node's settings and files need nothing from the data
    // nodes: they go while the data nodes do theirs.
    for s in steps.iter_mut().filter(|s| s.node == plan.access_node.name) {
        s.order = Order::WithDataNodes;
    }
    make_before_break(plan, &mut steps);
    rotate::build(&ctx, &mut steps)?;
    if let Some(m) = inputs.material.filter(|m| m.previous_ca.is_some()) {
        auth::roll_over(&ctx, m, &mut steps);
    }
    cluster::build(&ctx, &mut steps);
    maintenance::build(&ctx, &mut steps);
    block_nodes_with_broken_hba(&ctx, &mut steps);
    block_unwritable_files(&ctx, &mut steps);
    // The order the executor runs them in (a stable sort: within a turn,
    // the order they were built in).
    steps.sort_by_key(|s| (s.phase, turn(s, &plan.access_node.name)));
    Ok(steps)
}

/// A node whose pg_hba.conf already has an error is not touched at all
/// (not even its settings): a reload there would keep the old rules, and
/// the operator must see the error first. Every step on it waits, with the
/// line and the error.
/// Where a step runs within its phase, in this order: the access node's
/// first steps; the data nodes' steps (in parallel) with the access node's
/// steps that run beside them; the access node's other steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Turn {
    First,
    DataNodes,
    BesideDataNodes,
    AfterDataNodes,
    Last,
}

/// The order of a change of authentication: the new way in place before
/// the old one closes. Every data node first takes what the new mode
/// needs of it (roles and passwords, its TLS), the access node beside them
/// its side (passfile, client certificates); the access node turns on its
/// own TLS (TimescaleDB then requires TLS of every data node) only after
/// every data node has it; and only then does each data node's pg_hba.conf
/// change, one node first and then the others together, each proved from
/// the access node and put back when a link that worked no longer does. A failure or a kill at
/// any point leaves the rules that admitted the access node in place until
/// the new way is there.
fn make_before_break(plan: &Plan, steps: &mut [Step]) {
    let an = plan.access_node.name.as_str();
    for s in steps.iter_mut().filter(|s| s.phase == Phase::Auth) {
        match (&s.action, s.node == an) {
            (Action::HbaBlock { .. }, false) => s.order = Order::Last,
            (Action::Settings { .. } | Action::ReloadTls { .. }, true) => {
                s.order = Order::AfterDataNodes;
            }
            _ => {}
        }
    }
}

/// PURE: the nodes that have work in `phases` (a step still to run) but
/// that the probe could not reach, with why. A data node that leaves the
/// cluster in this run is not among them: it may be gone for good.
pub fn unprobed(steps: &[Step], facts: &Facts, phases: &[Phase]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for s in steps {
        let has_work = phases.contains(&s.phase)
            && !matches!(s.state, StepState::Done { .. })
            && !matches!(s.action, Action::HbaBlockRemoved { .. });
        if !has_work || out.iter().any(|(n, _)| *n == s.node) {
            continue;
        }
        if let Some(problem) = facts.node(&s.node).and_then(|n| n.connection.problem()) {
            out.push((s.node.clone(), problem));
        }
    }
    out
}

pub fn turn(s: &Step, access_node: &str) -> Turn {
    match (s.node == access_node, s.order) {
        (true, Order::First) => Turn::First,
        (_, Order::Last) => Turn::Last,
        (false, _) => Turn::DataNodes,
        (true, Order::WithDataNodes) => Turn::BesideDataNodes,
        (true, _) => Turn::AfterDataNodes,
    }
}

fn block_nodes_with_broken_hba(ctx: &Ctx, steps: &mut [Step]) {
    for node in ctx.plan.nodes() {
        let Some(s) = ctx.server(&node.name) else {
            continue;
        };
        let errors: Vec<String> = s
            .hba_rules
            .iter()
            .filter(|r| r.breaks_reload())
            .map(|r| {
                format!(
                    "line {}: {}",
                    r.line_number,
                    r.error.as_deref().unwrap_or("the line does not parse")
                )
            })
            .collect();
        if errors.is_empty() {
            continue;
        }
        let why = format!(
            "{} has an error ({}); nothing is changed on {} until it is corrected",
            s.hba_file,
            errors.join("; "),
            node.name
        );
        for st in steps.iter_mut().filter(|st| st.node == node.name) {
            st.state = StepState::Blocked { why: why.clone() };
        }
    }
}

/// A step that would write a file the server's OS user cannot write is
/// blocked before the run, naming what to make writable (a step that
/// writes nothing, such as an adopted rule kept, is not).
fn block_unwritable_files(ctx: &Ctx, steps: &mut [Step]) {
    for st in steps.iter_mut().filter(|st| st.state == StepState::Todo) {
        let Some(s) = ctx.server(&st.node).filter(|s| !s.unwritable.is_empty()) else {
            continue;
        };
        let target = match &st.action {
            Action::HbaBlock { .. } => s.hba_file.clone(),
            Action::File { path, .. } => path.resolve(s.setting("data_directory")),
            _ => continue,
        };
        let hit = s.unwritable.iter().find(|u| {
            target == u.path
                || u.blocking.iter().any(|b| {
                    *b != u.path && target.starts_with(&format!("{}/", b.trim_end_matches('/')))
                })
        });
        if let Some(u) = hit {
            let (list, all) = (u.blocking.join(" and "), u.blocking.join(" "));
            st.state = StepState::Blocked {
                why: format!(
                    "the server's OS user cannot write {target} ({list} not writable for it): make them writable (e.g. chown postgres {all}), then run tsmn apply again"
                ),
            };
        }
    }
}

/// Shared by the builders.
pub(crate) struct Ctx<'a> {
    pub plan: &'a Plan,
    pub inputs: Inputs<'a>,
    /// This run moves or copies chunks (a drain with only copies to move,
    /// a replication repair with copies to make): its nodes need the
    /// engine's chunk copy settings. Decided once in `build`, above the
    /// builders that decide it, so that the settings need none of them.
    pub copies_chunks: bool,
}

impl<'a> Ctx<'a> {
    pub fn node_facts(&self, name: &str) -> Option<&'a NodeFacts> {
        self.inputs.facts.and_then(|f| f.node(name))
    }
    pub fn server(&self, name: &str) -> Option<&'a ServerFacts> {
        self.node_facts(name).and_then(|n| n.server.as_ref())
    }
    pub fn data_nodes(&self) -> impl Iterator<Item = &'a Node> {
        self.plan.data_nodes.iter()
    }
    /// An adopted cluster proves what already works: the probe saw the
    /// access node reach `dn` as `role` (ping_data_node as that role, in
    /// the cluster database). What it proves is kept as it is. Never true
    /// for a plan tsmn builds from scratch.
    pub fn adopted_reach(&self, role: &str, dn: &str) -> bool {
        self.plan.adopted
            && self
                .node_facts(&self.plan.access_node.name)
                .is_some_and(|a| {
                    a.cluster_reach
                        .iter()
                        .any(|r| r.role == role && r.data_node == dn && r.error.is_none())
                })
    }
    /// `adopted_reach` for every role of the plan on every data node.
    pub fn adopted_reach_all(&self) -> bool {
        self.plan.auth.roles.iter().all(|role| {
            self.data_nodes()
                .all(|dn| self.adopted_reach(role, &dn.name))
        })
    }
    /// Addresses the data nodes see the access node come from, as CIDR.
    pub fn access_node_cidrs(&self) -> Vec<String> {
        let mut addrs: Vec<String> = self.plan.access_node_addresses.clone();
        if addrs.is_empty() {
            if let Some(crate::facts::AccessProbes::Tested { results }) = self
                .node_facts(&self.plan.access_node.name)
                .map(|n| &n.access_probes)
            {
                // Where each data node saw the access node come from: a
                // connection that got in, or the address a refusal names
                // (with `localhost` the access node may come over ::1).
                for r in results {
                    let named = r
                        .error
                        .as_deref()
                        .and_then(crate::findings::connect::named_source)
                        .map(|ip| ip.to_string());
                    for a in r.source_address.iter().chain(named.iter()) {
                        if a.parse::<std::net::IpAddr>().is_ok() && !addrs.contains(a) {
                            addrs.push(a.clone());
                        }
                    }
                }
            }
        }
        if addrs.is_empty() {
            addrs.push(self.plan.access_node.host.clone());
        }
        addrs
            .iter()
            .map(|a| crate::quote::hba::address(a))
            .collect()
    }
}

/// A step's id: `<node>/<phase>/<what>` (the journal records it; undo and
/// the roll-over find steps by it).
pub fn step_id(node: &str, phase: Phase, what: &str) -> String {
    format!("{node}/{}/{what}", phase.as_str())
}

pub(crate) fn step(
    node: &str,
    phase: Phase,
    what: &str,
    title: impl Into<String>,
    reason: impl Into<String>,
    action: Action,
) -> Step {
    Step {
        id: step_id(node, phase, what),
        node: node.to_string(),
        phase,
        title: title.into(),
        reason: reason.into(),
        action,
        state: StepState::Todo,
        precheck: None,
        order: Order::default(),
    }
}
