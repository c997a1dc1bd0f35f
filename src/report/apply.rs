//! `tsmn apply` output: the summary before, one line per event while it runs.

use crate::run::{Event, Outcome};
use crate::steps::{Action, Step, StepState};

/// What will change where, and which nodes will need a restart.
pub fn summary(steps: &[Step], phases: &[crate::steps::Phase]) -> String {
    let mut out = String::from("tsmn apply will:\n");
    let mut nodes: Vec<&str> = Vec::new();
    for s in steps {
        if !nodes.contains(&s.node.as_str()) {
            nodes.push(&s.node);
        }
    }
    for n in nodes {
        let mine: Vec<&Step> = steps
            .iter()
            .filter(|s| s.node == n && phases.contains(&s.phase))
            .collect();
        let todo: Vec<&str> = mine
            .iter()
            .filter(|s| s.state == StepState::Todo)
            .map(|s| s.title.as_str())
            .collect();
        let done = mine
            .iter()
            .filter(|s| matches!(s.state, StepState::Done { .. }))
            .count();
        let blocked = mine
            .iter()
            .filter(|s| matches!(s.state, StepState::Blocked { .. }))
            .count();
        out.push_str(&format!("  {n}: {} step(s) to run", todo.len()));
        if done > 0 {
            out.push_str(&format!(", {done} already done"));
        }
        if blocked > 0 {
            out.push_str(&format!(", {blocked} blocked"));
        }
        out.push('\n');
        for t in todo {
            out.push_str(&format!("      - {t}\n"));
        }
    }
    let restart: Vec<&str> = steps
        .iter()
        .filter(|s| phases.contains(&s.phase) && s.state == StepState::Todo)
        .filter(|s| matches!(&s.action, Action::Settings { changes } if changes.iter().any(|c| c.restart)))
        .map(|s| s.node.as_str())
        .collect();
    if !restart.is_empty() {
        out.push_str(&format!("  may need a restart: {}\n", restart.join(", ")));
    }
    out
}

pub fn line(e: &Event) -> Option<String> {
    Some(match e {
        Event::StepStarted { .. } | Event::Finished { .. } => return None,
        Event::StepFinished {
            step,
            node,
            outcome,
            millis,
        } => {
            let (state, detail) = match outcome {
                Outcome::Done { detail } => ("done", detail.as_str()),
                Outcome::AlreadyDone { detail } => ("already done", detail.as_str()),
                Outcome::Failed { message } => ("FAILED", message.as_str()),
                Outcome::Blocked { why } => ("blocked", why.as_str()),
                Outcome::Skipped { why } => ("skipped", why.as_str()),
            };
            format!("[{node}] {step}: {state} ({millis} ms): {detail}")
        }
        Event::Note { node, message } => format!("[{node}] note: {message}"),
        Event::RestartNeeded { nodes, how } => {
            format!("restart needed on {}: {how}", nodes.join(", "))
        }
        Event::Restarting { node } => format!("[{node}] restarting ..."),
        Event::Waiting { node, seconds } => {
            format!("[{node}] waiting for the restart ({seconds} s)")
        }
    })
}
