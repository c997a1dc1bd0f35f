//! The cluster as the small graph operators think of: the access node and
//! a link to each data node, each link's state with its cause when broken.
//! Built from what a probe found (check, the connectivity screen) or from
//! what a run verified (the summary screen), so it never shows more than
//! was proven. Plain data and one text form; the wizard colours it.

use crate::facts::{AccessProbes, Connection, Facts};
use crate::plan::Plan;
use crate::run::Outcome;
use crate::steps::{Action, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The data node is in the cluster and answers as every role.
    Attached,
    /// The access node gets in, but the node is not in the cluster yet.
    Reaches,
    /// The access node does not get in, or not as every role.
    Broken,
    /// Not tested (and why is in the detail).
    Unknown,
}

impl LinkState {
    pub fn glyph(self) -> &'static str {
        match self {
            LinkState::Attached => "✓",
            LinkState::Reaches => "~",
            LinkState::Broken => "✗",
            LinkState::Unknown => "?",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub data_node: String,
    pub address: String,
    pub state: LinkState,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Map {
    pub access_node: String,
    pub address: String,
    pub links: Vec<Link>,
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// A refusal in a few words (the cause check's table names, with its
/// finding code), else its first line: the report below has it in full.
fn cause(error: &str) -> String {
    let c = crate::findings::connect::explain(None, error);
    if c.code == "connect_failed" {
        first_line(error).to_string()
    } else {
        format!("{} ({})", c.what, c.access_code)
    }
}

fn address(n: &crate::plan::Node) -> String {
    format!("{}:{}", n.host, n.port)
}

fn map_of(plan: &Plan, links: Vec<Link>) -> Map {
    Map {
        access_node: plan.access_node.name.clone(),
        address: address(&plan.access_node),
        links,
    }
}

fn link(dn: &crate::plan::Node, state: LinkState, detail: String) -> Link {
    Link {
        data_node: dn.name.clone(),
        address: address(dn),
        state,
        detail,
    }
}

/// The map a probe supports.
pub fn from_facts(plan: &Plan, facts: &Facts) -> Map {
    let an = facts.access();
    let links = plan
        .data_nodes
        .iter()
        .map(|dn| {
            let (state, mut detail) = match an {
                None => (LinkState::Unknown, "the access node was not probed".into()),
                Some(an) => link_from(an, &dn.name),
            };
            if let Some(Connection::Failed { .. } | Connection::TimedOut { .. }) =
                facts.node(&dn.name).map(|n| &n.connection)
            {
                detail.push_str("; tsmn cannot connect to it either");
            }
            link(dn, state, detail)
        })
        .collect();
    map_of(plan, links)
}

fn link_from(an: &crate::facts::NodeFacts, dn: &str) -> (LinkState, String) {
    let reach: Vec<_> = an
        .cluster_reach
        .iter()
        .filter(|r| r.data_node == dn)
        .collect();
    if !reach.is_empty() {
        let failed: Vec<_> = reach.iter().filter(|r| r.error.is_some()).collect();
        let roles: Vec<&str> = reach.iter().map(|r| r.role.as_str()).collect();
        return match failed.first() {
            None => (
                LinkState::Attached,
                format!("attached; answers as {}", roles.join(", ")),
            ),
            Some(r) => (
                LinkState::Broken,
                format!(
                    "attached, but not as {}: {}",
                    r.role,
                    cause(r.error.as_deref().unwrap_or(""))
                ),
            ),
        };
    }
    match &an.access_probes {
        AccessProbes::Tested { results } => match results.iter().find(|r| r.data_node == dn) {
            Some(r) => match (&r.source_address, &r.error, &r.not_tested) {
                (Some(a), _, _) => (
                    LinkState::Reaches,
                    format!("reachable (it sees the access node as {a}); not attached yet"),
                ),
                (None, Some(e), _) => (LinkState::Broken, cause(e)),
                // Admitted, and the cluster database not made yet (tsmn
                // makes it): where it came from stays unknown.
                (None, None, None) => (
                    LinkState::Reaches,
                    "reachable (the cluster database is made by tsmn apply); not attached yet"
                        .into(),
                ),
                (None, None, why) => (
                    LinkState::Unknown,
                    format!("not tested: {}", why.as_deref().unwrap_or("")),
                ),
            },
            None => (LinkState::Unknown, "not tested".into()),
        },
        AccessProbes::NotTested { reason } => (LinkState::Unknown, format!("not tested: {reason}")),
        AccessProbes::NotApplicable => (
            LinkState::Unknown,
            "not tested: tsmn did not get into the access node".into(),
        ),
    }
}

/// The map a run supports: each data node's verification step, as it ended.
pub fn from_run(plan: &Plan, steps: &[Step], outcomes: &[Option<&Outcome>]) -> Map {
    let links = plan
        .data_nodes
        .iter()
        .map(|dn| {
            let verify = steps.iter().zip(outcomes).find(|(s, _)| {
                matches!(&s.action, Action::Verify { reaches, .. }
                    if reaches.iter().any(|r| r.data_node == dn.name))
            });
            let (state, detail) = match verify {
                None => (
                    LinkState::Unknown,
                    "no verification in this run".to_string(),
                ),
                Some((_, None)) => (LinkState::Unknown, "not verified yet".to_string()),
                Some((_, Some(o))) => match o {
                    Outcome::Verified { detail } | Outcome::Done { detail } => {
                        (LinkState::Attached, first_line(detail).to_string())
                    }
                    Outcome::AlreadyDone { detail } => {
                        (LinkState::Attached, first_line(detail).to_string())
                    }
                    Outcome::Failed { message } => (LinkState::Broken, cause(message)),
                    Outcome::Blocked { why } | Outcome::Skipped { why } => (
                        LinkState::Unknown,
                        format!("not verified: {}", first_line(why)),
                    ),
                },
            };
            link(dn, state, detail)
        })
        .collect();
    map_of(plan, links)
}

/// A branch of the drawing: its connector (`├` or `└`), the link's state
/// and the text after the glyph, names and addresses in columns.
pub struct Branch {
    pub connector: &'static str,
    pub state: LinkState,
    pub rest: String,
}

/// The branches, one per data node, the last one closed: the one layout
/// the text form and the wizard share.
pub fn branches(map: &Map) -> Vec<Branch> {
    let w = map
        .links
        .iter()
        .map(|l| l.data_node.len())
        .max()
        .unwrap_or(0);
    let aw = map.links.iter().map(|l| l.address.len()).max().unwrap_or(0);
    map.links
        .iter()
        .enumerate()
        .map(|(i, l)| Branch {
            connector: if i + 1 == map.links.len() {
                "└"
            } else {
                "├"
            },
            state: l.state,
            rest: format!("{:<w$}  {:<aw$}  {}", l.data_node, l.address, l.detail),
        })
        .collect()
}

/// The access node's line.
pub fn root(map: &Map) -> String {
    format!("{} (access node, {})", map.access_node, map.address)
}

/// The map as text: the access node, then a branch per data node.
pub fn text(map: &Map) -> String {
    let mut out = format!("{}\n", root(map));
    for b in branches(map) {
        out.push_str(&format!(
            "{}─{}─ {}\n",
            b.connector,
            b.state.glyph(),
            b.rest
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_per_data_node_the_last_one_closed() {
        let m = Map {
            access_node: "an".into(),
            address: "10.0.0.10:5432".into(),
            links: vec![
                Link {
                    data_node: "dn1".into(),
                    address: "10.0.0.11:5432".into(),
                    state: LinkState::Attached,
                    detail: "attached; answers as postgres".into(),
                },
                Link {
                    data_node: "dn22".into(),
                    address: "10.0.0.12:5432".into(),
                    state: LinkState::Broken,
                    detail: "no pg_hba.conf entry".into(),
                },
            ],
        };
        assert_eq!(
            text(&m),
            "an (access node, 10.0.0.10:5432)\n\
             ├─✓─ dn1   10.0.0.11:5432  attached; answers as postgres\n\
             └─✗─ dn22  10.0.0.12:5432  no pg_hba.conf entry\n"
        );
    }
}
