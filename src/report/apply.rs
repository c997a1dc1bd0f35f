//! `tsmn apply` output: the summary before, one line per event while it runs.

use crate::run::{Event, Outcome, RunKind};
use crate::steps::{Action, Step, StepState};

/// What will change where, and which nodes will need a restart.
/// What tsmn will do about each node whose settings need a restart:
/// Ok(the command it runs itself) or Err(how the operator restarts it).
pub type Restarts = [(String, Result<String, String>)];

/// The nodes whose settings step changes a setting that needs a restart.
pub fn needs_restart(steps: &[Step], phases: &[crate::steps::Phase]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| phases.contains(&s.phase) && s.state == StepState::Todo)
        .filter(|s| matches!(&s.action, Action::Settings { changes, .. } if changes.iter().any(|c| c.restart)))
        .map(|s| s.node.clone())
        .collect()
}

/// The summary before the confirmation. `restarts` is what tsmn decided
/// for each node that needs one (empty under `--restart never`).
pub fn summary(
    kind: RunKind,
    steps: &[Step],
    phases: &[crate::steps::Phase],
    restarts: &Restarts,
) -> String {
    let mut out = format!("{} will:\n", kind.command());
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
        // The restart gate and the verification are checks that always run:
        // they change nothing of their own, so they are not "to run".
        let is_check = |s: &&&Step| s.is_check();
        // Files and passwords are compared on the server when the step runs:
        // the probe cannot tell whether they differ.
        let is_compared =
            |s: &&&Step| matches!(s.action, Action::File { .. }) || s.precheck.is_some();
        let todo: Vec<&str> = mine
            .iter()
            .filter(|s| s.state == StepState::Todo && !is_check(s) && !is_compared(s))
            .map(|s| s.title.as_str())
            .collect();
        let compared: Vec<&str> = mine
            .iter()
            .filter(|s| s.state == StepState::Todo && !is_check(s) && is_compared(s))
            .map(|s| s.title.as_str())
            .collect();
        let checks: Vec<&str> = mine
            .iter()
            .filter(|s| s.state == StepState::Todo && is_check(s))
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
        if !compared.is_empty() {
            out.push_str(&format!(", {} to compare", compared.len()));
        }
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
        for t in compared {
            out.push_str(&format!("      - {t} (only if it differs)\n"));
        }
        for c in checks {
            out.push_str(&format!("      check: {c}\n"));
        }
    }
    let restart = needs_restart(steps, phases);
    if restart.is_empty() {
        return out;
    }
    if restarts.is_empty() {
        out.push_str(&format!(
            "  needs a restart: {} (tsmn restarts nothing: it stops there and names them)\n",
            restart.join(", ")
        ));
        return out;
    }
    out.push_str("  restarts (the settings above take effect only after one):\n");
    for (n, d) in restarts {
        match d {
            Ok(command) => out.push_str(&format!("    tsmn restarts {n}: {command}\n")),
            Err(how) => out.push_str(&format!("    tsmn waits for {n} to be restarted: {how}\n")),
        }
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
                Outcome::Verified { detail } => ("verified", detail.as_str()),
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
        Event::Links { links } => links_now(links),
        Event::Waiting { node, seconds } => {
            format!("[{node}] waiting for the restart ({seconds} s)")
        }
    })
}

/// The state of the cluster after a run that did not finish: each link
/// from the access node, now and before the run.
pub fn links_now(links: &[crate::run::links::LinkState]) -> String {
    let broken = links.iter().filter(|l| l.broken()).count();
    let working = links.iter().filter(|l| l.error.is_none()).count();
    let mut out = if broken == 0 {
        format!(
            "the cluster now: {working} of {} link(s) from the access node work; none that worked before the run was lost",
            links.len()
        )
    } else {
        format!(
            "the cluster now: {broken} link(s) from the access node that worked before the run DO NOT WORK NOW ({working} of {} work)",
            links.len()
        )
    };
    for l in links {
        let state = match (&l.error, l.before) {
            (None, _) => "works".to_string(),
            (Some(e), Some(true)) => format!("REFUSED, worked before the run: {e}"),
            (Some(e), Some(false)) => format!("refused, as before the run: {e}"),
            (Some(e), None) => format!("refused: {e}"),
        };
        out.push_str(&format!("\n  {} as {}: {state}", l.data_node, l.role));
    }
    out
}

/// Off a terminal, a wait for a restart is said when it begins and then
/// every `WAIT_EVERY_SECS` per node, not once a second per node.
pub const WAIT_EVERY_SECS: u64 = 15;

#[derive(Debug, Default)]
pub struct Sparse {
    said: std::collections::HashMap<String, u64>,
}

impl Sparse {
    /// Whether this event gets its line.
    pub fn keep(&mut self, e: &Event) -> bool {
        let Event::Waiting { node, seconds } = e else {
            return true;
        };
        match self.said.get(node) {
            Some(last) if seconds.saturating_sub(*last) < WAIT_EVERY_SECS => false,
            _ => {
                self.said.insert(node.clone(), *seconds);
                true
            }
        }
    }
}

/// What a run did, counted from its events: for the closing line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub changed: usize,
    pub verified: usize,
    pub blocked: usize,
    pub skipped: usize,
    /// The first failed step: (node, step id).
    pub failed: Option<(String, String)>,
    /// The first blocked step's id (the closing line names it: a copy a
    /// drain cannot make names its chunk).
    pub first_blocked: Option<String>,
}

impl Tally {
    pub fn add(&mut self, e: &Event) {
        if let Event::StepFinished {
            step,
            node,
            outcome,
            ..
        } = e
        {
            match outcome {
                Outcome::Done { .. } => self.changed += 1,
                Outcome::Verified { .. } => self.verified += 1,
                Outcome::Blocked { .. } => {
                    self.blocked += 1;
                    self.first_blocked.get_or_insert_with(|| step.clone());
                }
                Outcome::Skipped { .. } => self.skipped += 1,
                Outcome::Failed { .. } if self.failed.is_none() => {
                    self.failed = Some((node.clone(), step.clone()));
                }
                _ => {}
            }
        }
    }

    pub fn ok(&self) -> bool {
        self.failed.is_none() && self.blocked == 0
    }

    /// The last line of a run: what failed where, or what was proven and
    /// whether anything changed. Never "done" for what was not checked.
    pub fn closing(&self, kind: RunKind, run_ok: bool) -> String {
        if let Some((node, step)) = &self.failed {
            return format!(
                "FAILED on {node} at {step} (see above); after the fix, run {} again: finished steps are checked and skipped",
                kind.command()
            );
        }
        if self.blocked > 0 {
            return format!(
                "not done: {} step(s) blocked (see above; the first: {}): each says why; what ran is in place",
                self.blocked,
                self.first_blocked.as_deref().unwrap_or("?")
            );
        }
        if !run_ok {
            return "FAILED before any step could run (see above)".to_string();
        }
        let changed = match self.changed {
            0 => "nothing changed".to_string(),
            n => format!("{n} step(s) changed the servers"),
        };
        if kind == RunKind::Rebalance {
            // Each move compared its chunk on both data nodes before the
            // old copy went (the outcome lines say so).
            format!(
                "done: every move's rows and checksum were compared on both data nodes; {changed}"
            )
        } else if self.verified > 0 {
            format!("done: the cluster was verified from the access node; {changed}")
        } else {
            format!("done: the selected phases ran, without the verify phase nothing is proven; {changed}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(step: &str, outcome: Outcome) -> Event {
        Event::StepFinished {
            step: step.into(),
            node: step.split('/').next().unwrap_or("").into(),
            outcome,
            millis: 1,
        }
    }

    #[test]
    fn a_rerun_that_verifies_ends_with_nothing_changed() {
        let mut t = Tally::default();
        t.add(&finished(
            "dn1/auth/hba",
            Outcome::AlreadyDone { detail: "x".into() },
        ));
        t.add(&finished(
            "an/verify/ping",
            Outcome::Verified { detail: "x".into() },
        ));
        assert!(t.ok());
        assert!(
            t.closing(RunKind::Apply, true).ends_with("nothing changed"),
            "{}",
            t.closing(RunKind::Apply, true)
        );
    }

    #[test]
    fn a_failed_verification_names_node_and_step() {
        let mut t = Tally::default();
        t.add(&finished(
            "dn1/auth/hba",
            Outcome::Done { detail: "x".into() },
        ));
        t.add(&finished(
            "an/verify/ping",
            Outcome::Failed {
                message: "no".into(),
            },
        ));
        assert!(!t.ok());
        assert!(
            t.closing(RunKind::Apply, true)
                .starts_with("FAILED on an at an/verify/ping"),
            "{}",
            t.closing(RunKind::Apply, true)
        );
    }

    #[test]
    fn blocked_steps_are_named_as_blocked_not_as_a_failure() {
        let mut t = Tally::default();
        t.add(&finished(
            "an/cluster/database",
            Outcome::Blocked { why: "x".into() },
        ));
        assert!(
            t.closing(RunKind::Apply, false)
                .contains("1 step(s) blocked"),
            "{}",
            t.closing(RunKind::Apply, false)
        );
    }

    #[test]
    fn without_the_verify_phase_nothing_is_called_proven() {
        let mut t = Tally::default();
        t.add(&finished(
            "dn1/auth/hba",
            Outcome::Done { detail: "x".into() },
        ));
        assert!(
            !t.closing(RunKind::Apply, true).contains("verified"),
            "{}",
            t.closing(RunKind::Apply, true)
        );
        assert!(t
            .closing(RunKind::Apply, true)
            .ends_with("1 step(s) changed the servers"));
    }
}

#[cfg(test)]
mod sparse_tests {
    use super::*;

    #[test]
    fn a_wait_is_said_at_its_start_and_every_15_seconds() {
        let mut s = Sparse::default();
        let said: Vec<u64> = (0..40)
            .filter(|&i| {
                s.keep(&Event::Waiting {
                    node: "dn1".into(),
                    seconds: i,
                })
            })
            .collect();
        assert_eq!(said, [0, 15, 30]);
        assert!(s.keep(&Event::Waiting {
            node: "dn2".into(),
            seconds: 7
        }));
        assert!(s.keep(&Event::Restarting { node: "dn1".into() }));
    }
}
