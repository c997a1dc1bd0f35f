//! The run as the wizard keeps it: whether it runs, how it ended, each
//! step's state and the log. The execute screen draws it as it goes, the
//! summary afterwards, the quit question and the exit code read it.

use crate::run::{Event, Outcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepView {
    Pending,
    /// Running since this tick (tenths of a second).
    Running {
        since: u64,
    },
    Finished(Outcome),
}

#[derive(Debug, Default)]
pub struct RunRecord {
    pub running: bool,
    /// Some(ok) once the run ended: every step done and none blocked.
    pub finished: Option<bool>,
    /// One per step of the shared steps, in their order.
    pub step_views: Vec<StepView>,
    pub log: Vec<String>,
}

impl RunRecord {
    /// A run of `steps` steps begins.
    pub fn start(&mut self, steps: usize) {
        self.running = true;
        self.finished = None;
        self.log.clear();
        self.step_views = vec![StepView::Pending; steps];
    }

    /// New steps were built: nothing of them has run.
    pub fn reset(&mut self, steps: usize) {
        self.step_views = vec![StepView::Pending; steps];
    }

    /// One event of the run of `steps`, at `tick`.
    pub fn event(&mut self, e: &Event, steps: &[crate::steps::Step], tick: u64) {
        match e {
            Event::StepStarted { step, .. } => {
                if let Some(i) = steps.iter().position(|s| &s.id == step) {
                    self.step_views[i] = StepView::Running { since: tick };
                }
            }
            Event::StepFinished { step, outcome, .. } => {
                if let Some(i) = steps.iter().position(|s| &s.id == step) {
                    self.step_views[i] = StepView::Finished(outcome.clone());
                }
            }
            Event::Finished { ok } => {
                self.running = false;
                let blocked = self
                    .step_views
                    .iter()
                    .any(|v| matches!(v, StepView::Finished(Outcome::Blocked { .. })));
                self.finished = Some(*ok && !blocked);
            }
            _ => {}
        }
        if let Some(line) = crate::report::apply::line(e) {
            self.log.push(line);
        }
    }
}
