//! The wizard's state and its update function: keys and task results in,
//! new state and commands out. No I/O here: commands are carried out by
//! tasks (tui/tasks.rs), whose results come back as messages. The app
//! holds what the screens share, one state per screen (tui/screens/) and
//! the open overlay (tui/overlay.rs); a key goes to the overlay, else the
//! active screen's table (then the global one).

use super::keys::Action;
pub use super::msg::{Cmd, Msg};
use super::overlay::Overlay;
pub use super::run_record::StepView;
pub use super::screens::authentication::{generate_password, AuthField, AuthForm, FieldKind};
pub use super::screens::nodes::{NodeForm, FORM_FIELDS};
pub use super::screens::Screen;
use super::screens::{nodes, start, Page, Pages};
pub use super::shared::Shared;
use crate::plan::Plan;
use crossterm::event::KeyEvent;

pub struct App {
    /// What several screens read.
    pub shared: Shared,
    /// Each screen's own state.
    pub pages: Pages,
    pub overlay: Option<Overlay>,
    /// The wizard is to end.
    pub quit: bool,
    /// Asked to quit while a run was going: the running step finishes on
    /// every node (the journal records it), then the wizard quits. A second
    /// interrupt quits at once.
    pub quit_when_idle: bool,
}

impl App {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> App {
        App {
            pages: Pages::new(&plan),
            shared: Shared::new(plan, plan_path),
            overlay: None,
            quit: false,
            quit_when_idle: false,
        }
    }

    /// The wizard on a plan file that does not exist yet: it opens on the
    /// nodes screen with the access node's form, and the plan counts as
    /// unsaved until it is written where the operator said.
    pub fn new_plan(plan: Plan, plan_path: std::path::PathBuf) -> App {
        let mut app = App::new(plan, plan_path);
        app.shared.go(Screen::Nodes);
        app.shared.plan_dirty = true;
        nodes::open_form(&mut app.pages.nodes, &mut app.shared, Some(0));
        app.shared.message = Some(format!(
            "a new plan: give the access node, then add the data nodes (a); it is saved to {} when you quit (s) or on the summary",
            app.shared.plan_path.display()
        ));
        app
    }

    /// The active screen.
    pub fn page(&self) -> &dyn Page {
        self.pages.page(self.shared.screen)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        let was = self.shared.screen;
        let cmds = self.take(msg);
        // Whoever opens the cluster screen, it starts afresh from there.
        if cmds.iter().any(|c| matches!(c, Cmd::Watch)) {
            self.pages.cluster.opened(was);
        }
        if was != Screen::Migrate && self.shared.screen == Screen::Migrate {
            self.pages.migrate.opened();
        }
        // Whoever starts a probe, the connectivity screen counts it from now.
        if cmds.iter().any(|c| matches!(c, Cmd::Probe { .. })) {
            self.pages.connectivity.probe_started(self.shared.tick);
        }
        cmds
    }

    fn take(&mut self, msg: Msg) -> Vec<Cmd> {
        let sh = &mut self.shared;
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Paste(text) => {
                let text = text.trim_end_matches(['\n', '\r']).to_string();
                if let Some(f) = self.pages.page_mut(sh.screen).field(sh) {
                    f.paste(&text);
                }
                vec![]
            }
            Msg::Resize => vec![],
            Msg::Tick => {
                sh.tick = sh.tick.wrapping_add(1);
                vec![]
            }
            Msg::Probed {
                facts,
                findings,
                notes,
                partial,
            } => {
                sh.probing = false;
                sh.findings = findings;
                sh.facts = Some(facts);
                sh.notes = notes;
                if partial {
                    sh.message = Some("probed again".into());
                }
                vec![]
            }
            Msg::NodeProbed { node, ok } => {
                let at = sh.tick;
                self.pages.connectivity.probe_done.push((node, ok, at));
                vec![]
            }
            Msg::Saved(r) => {
                sh.message = Some(match r {
                    Ok(()) => {
                        sh.plan_dirty = false;
                        format!("saved {}", sh.plan_path.display())
                    }
                    Err(e) => format!("saving failed: {e}"),
                });
                vec![]
            }
            Msg::Built(Ok(steps)) => {
                sh.run.reset(steps.len());
                sh.steps = steps;
                self.pages.preview.build_error = None;
                vec![]
            }
            Msg::Built(Err(e)) => {
                self.pages.preview.build_error = Some(e);
                vec![]
            }
            Msg::Run(e) => {
                sh.run.event(&e, &sh.steps, sh.tick);
                if matches!(e, crate::run::Event::Finished { .. }) && self.quit_when_idle {
                    self.quit = true;
                }
                vec![]
            }
            Msg::Interrupt => self.interrupt(),
            Msg::Discovered(found) => start::discovered(sh, found),
            Msg::Migrate(m) => {
                super::screens::migrate::message(&mut self.pages.migrate, sh, m);
                vec![]
            }
            Msg::Status(s) => {
                super::screens::cluster::status(&mut self.pages.cluster, sh, s);
                vec![]
            }
            Msg::Exported(r) => {
                sh.message = Some(match r {
                    Ok(dir) => format!("exported to {dir}: review README.md, then run sh setup.sh"),
                    Err(e) => format!("export failed: {e}"),
                });
                vec![]
            }
        }
    }

    /// Ctrl-C, SIGTERM or SIGHUP: while a run goes, the first lets the
    /// running step finish on every node and then quits (the CLI's first
    /// interrupt, on the same cancel switch); a second quits at once.
    pub(super) fn interrupt(&mut self) -> Vec<Cmd> {
        if self.shared.run.running && !self.quit_when_idle {
            return self.stop_then_quit();
        }
        self.quit = true;
        vec![Cmd::Quit]
    }

    fn stop_then_quit(&mut self) -> Vec<Cmd> {
        self.quit_when_idle = true;
        self.shared.message = Some(
            "stopping: the running step finishes on every node and is recorded in the journal, then tsmn quits (Ctrl-C again: quit at once, the running step may be left half done)"
                .into(),
        );
        vec![Cmd::Cancel]
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        if let Some(o) = self.overlay {
            return self.on_overlay(o, o.action(&self.shared, &k));
        }
        let sh = &mut self.shared;
        let page = self.pages.page_mut(sh.screen);
        let Some(action) =
            crate::tui::keys::lookup(super::screens::bindings(page), page.typing(), &k)
        else {
            if let (Some(req), Some(f)) = (crate::tui::text_field::request(&k), page.field(sh)) {
                f.apply(req);
            }
            return vec![];
        };
        match action {
            Action::ForceQuit => self.interrupt(),
            Action::Quit => {
                if self.shared.busy() || self.shared.plan_dirty {
                    self.overlay = Some(Overlay::Quit);
                    vec![]
                } else {
                    self.quit = true;
                    vec![Cmd::Quit]
                }
            }
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                vec![]
            }
            // Editing a node from the connectivity screen opens the nodes
            // screen's form on it: the one move between two screens.
            Action::Edit if self.shared.screen == Screen::Connectivity => {
                let i = self.pages.connectivity.selected;
                self.shared.go(Screen::Nodes);
                self.pages.nodes.cursor = i;
                nodes::open_form(&mut self.pages.nodes, &mut self.shared, Some(i));
                vec![]
            }
            a => {
                let sh = &mut self.shared;
                self.pages.page_mut(sh.screen).on_action(sh, a)
            }
        }
    }

    fn on_overlay(&mut self, o: Overlay, action: Action) -> Vec<Cmd> {
        self.overlay = None;
        match (o, action) {
            (_, Action::ForceQuit) => {
                self.quit = true;
                vec![Cmd::Quit]
            }
            (Overlay::Quit, Action::Save) => {
                self.quit = true;
                vec![Cmd::Save, Cmd::Quit]
            }
            (Overlay::Quit, Action::Quit) if self.shared.run.running => self.stop_then_quit(),
            (Overlay::Quit, Action::Quit) => {
                self.quit = true;
                vec![Cmd::Quit]
            }
            _ => vec![],
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "app_editing_tests.rs"]
mod editing_tests;
