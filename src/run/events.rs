//! What a run reports, step by step, through its event channel: what
//! `tsmn apply` prints and the wizard shows.

use super::links;
use serde::Serialize;

pub type Events = tokio::sync::mpsc::UnboundedSender<Event>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    StepStarted {
        step: String,
        node: String,
        title: String,
    },
    StepFinished {
        step: String,
        node: String,
        outcome: Outcome,
        millis: u64,
    },
    /// A notice or warning from the server (add_data_node's deprecation
    /// WARNING, say): shown, not a failure.
    Note {
        node: String,
        message: String,
    },
    /// Nodes that must restart before the cluster phase.
    RestartNeeded {
        nodes: Vec<String>,
        how: String,
    },
    Restarting {
        node: String,
    },
    /// Waiting for a node to come back (after a restart tsmn did not do).
    Waiting {
        node: String,
        seconds: u64,
    },
    /// After a run that failed or was interrupted: the access node's
    /// links to the data nodes as they are now, beside how they were.
    Links {
        links: Vec<links::LinkState>,
    },
    Finished {
        ok: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    Done {
        detail: String,
    },
    AlreadyDone {
        detail: String,
    },
    /// A check that held: proven on the servers, nothing changed.
    Verified {
        detail: String,
    },
    Failed {
        message: String,
    },
    Blocked {
        why: String,
    },
    Skipped {
        why: String,
    },
}
