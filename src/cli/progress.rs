//! Progress on a terminal for the commands without the wizard: a live line
//! per node (indicatif) while probing and while apply runs its steps,
//! restarts and the cluster phase; finished steps are printed above the
//! lines in apply's usual form. Only when both stdout and stderr are a
//! terminal and neither -q nor --json is given: off a terminal the output
//! stays what scripts read.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;
use tsmn::run::Event;

/// The live lines, one per node.
#[derive(Clone)]
pub struct Live {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

/// Whether live lines are wanted here.
pub fn wanted(json: bool) -> bool {
    !json
        && !super::output::quiet()
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:<8} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Live {
    /// A line per node, each saying `what` to begin with.
    pub fn new(nodes: &[String], what: &str) -> Live {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let mut bars = HashMap::new();
        for n in nodes {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style());
            bar.set_prefix(n.clone());
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bars.insert(n.clone(), bar);
        }
        Live { multi, bars }
    }

    fn bar(&self, node: &str) -> Option<&ProgressBar> {
        self.bars.get(node)
    }

    /// A node's probe is over.
    pub fn probed(&self, node: &str, connected: bool) {
        if let Some(b) = self.bar(node) {
            b.finish_with_message(if connected {
                "probed"
            } else {
                "no connection (see the report)"
            });
        }
    }

    /// An apply event: the node's line says what it does now; a finished
    /// step is printed above the lines.
    pub fn event(&self, e: &Event) {
        match e {
            Event::StepStarted { node, title, .. } => {
                if let Some(b) = self.bar(node) {
                    b.reset_elapsed();
                    b.set_message(title.clone());
                }
            }
            Event::Restarting { node } => {
                if let Some(b) = self.bar(node) {
                    b.set_message("restarting");
                }
            }
            Event::Waiting { node, .. } => {
                if let Some(b) = self.bar(node) {
                    b.set_message("waiting for the restart");
                }
            }
            Event::Finished { .. } => self.clear(),
            _ => {}
        }
        if let Some(line) = tsmn::report::apply::line(e) {
            if !matches!(e, Event::Waiting { .. }) {
                let _ = self.multi.println(line);
            }
        }
    }

    /// Run `f` with the lines out of the way (a prompt).
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        self.multi.suspend(f)
    }

    /// Remove the lines.
    pub fn clear(&self) {
        for b in self.bars.values() {
            b.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
