//! PURE: what a rebalance writes to set up the links between the data
//! nodes of its moves (steps/links/moves.rs), and the proofs before its
//! first move, for `tsmn rebalance --check` and before the run's question;
//! or why the moves cannot run.

use crate::steps::{Action, Phase, Step, StepState};

/// One line per link step: a file (where, which mode), tsmn's pg_hba.conf
/// block (with the links' rules), or a proof; then why the moves are
/// refused, if they are. Empty when there is none of these.
pub fn text(steps: &[Step]) -> String {
    let mut out = String::new();
    let items = items(steps);
    let (done, to_do): (Vec<&Item>, Vec<&Item>) = items
        .iter()
        .partition(|i| i.state.starts_with("already done"));
    if !to_do.is_empty() {
        out.push_str("links between the data nodes of the moves, set up first as tsmn apply --data-node-links sets them (files backed up and journaled; tsmn undo takes them back):\n");
        for i in &to_do {
            out.push_str(&format!("  {}: {}{}\n", i.node, i.what, i.state_text()));
        }
        if !done.is_empty() {
            out.push_str(&format!("  ({} more already in place)\n", done.len()));
        }
    }
    if let Some(why) = refused(steps) {
        out.push_str(&format!("the moves cannot run: {why}\n"));
    }
    out
}

/// The same as JSON: `links` (node, step, what, state) and `refused`.
pub fn json(steps: &[Step]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = items(steps)
        .iter()
        .map(|i| {
            serde_json::json!({ "node": i.node, "step": i.step, "what": i.what, "state": i.state })
        })
        .collect();
    serde_json::json!({ "links": items, "refused": refused(steps) })
}

/// The first move refused, and why.
fn refused(steps: &[Step]) -> Option<String> {
    steps.iter().find_map(|s| match (&s.action, &s.state) {
        (Action::MoveChunk(_), StepState::Blocked { why }) => Some(why.clone()),
        _ => None,
    })
}

struct Item {
    node: String,
    step: String,
    what: String,
    /// todo, done (with why), blocked (with why).
    state: String,
}

impl Item {
    fn state_text(&self) -> String {
        match self.state.as_str() {
            "todo" => String::new(),
            other => format!(" ({other})"),
        }
    }
}

fn items(steps: &[Step]) -> Vec<Item> {
    steps
        .iter()
        .filter_map(|s| {
            let what = match &s.action {
                Action::File { path, mode, .. } if s.phase == Phase::Auth => {
                    let own = if s.precheck.is_some() {
                        "; left as it is where the data node shares the access node's host and files"
                    } else {
                        ""
                    };
                    format!(
                        "writes {} (mode {mode:04o}): {}{own}",
                        path.resolve(None),
                        s.title
                    )
                }
                Action::HbaBlock { .. } if s.phase == Phase::Auth => {
                    format!("{}: {}", s.title, s.reason)
                }
                Action::Sql { .. } if s.id.contains("/cluster/link-from-") => {
                    format!("{}, before the first move", s.title)
                }
                _ => return None,
            };
            let state = match &s.state {
                StepState::Todo => "todo".to_string(),
                StepState::Done { why } => format!("already done: {why}"),
                StepState::Blocked { why } => format!("blocked: {why}"),
            };
            Some(Item {
                node: s.node.clone(),
                step: s.id.clone(),
                what,
                state,
            })
        })
        .collect()
}
