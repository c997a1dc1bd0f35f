//! `tsmn discover`: the plan of a cluster that runs, read from its access
//! node as it is (data nodes from `timescaledb_information.data_nodes`, the
//! auth mode from the passfile and client certificates TimescaleDB would
//! use, the roles that reach the data nodes). What the access node cannot
//! tell is written into the plan as a comment. The plan is `adopted`: apply
//! on it changes only what multi-node needs.

mod read;
mod target;

pub use read::discover;
pub use target::{parse_target, Conn, Target};

use crate::plan::{plan_to_toml, Plan};

/// What discover found: the plan, and what it could not tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub plan: Plan,
    /// Lines for the operator, written as comments above the plan.
    pub notes: Vec<String>,
}

/// PURE: the plan file: a header saying where it came from, the notes as
/// comments, then the plan.
pub fn plan_text(d: &Discovered, from: &str) -> String {
    let mut out = format!(
        "# tsmn plan written by `tsmn discover` from the access node at {from}.\n\
         # It describes the cluster as it runs (adopted = true): tsmn apply on it\n\
         # changes only what multi-node needs, and tsmn check reports the rest.\n"
    );
    if !d.notes.is_empty() {
        out.push_str("#\n# Check these before you rely on the plan:\n");
        for n in &d.notes {
            out.push_str(&format!("# - {n}\n"));
        }
    }
    out.push('\n');
    out.push_str(&plan_to_toml(&d.plan));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_says_where_it_came_from_and_what_to_check() {
        let d = Discovered {
            plan: crate::plan::new_plan(),
            notes: vec!["the access node's address is a guess".into()],
        };
        let t = plan_text(&d, "10.0.0.10:5432");
        assert!(t.starts_with(
            "# tsmn plan written by `tsmn discover` from the access node at 10.0.0.10:5432."
        ));
        assert!(
            t.contains("# - the access node's address is a guess\n"),
            "{t}"
        );
        assert!(t.contains("[access_node]"), "{t}");
    }
}
