//! The wizard's state and its update function: keys and task results in,
//! new state and commands out. No I/O here: commands are carried out by
//! tasks (tui/tasks.rs), whose results come back as messages. The app
//! holds what the screens share and one state per screen; a key goes to
//! the open overlay, else the app's own keys, else the active screen
//! (tui/screens/).

use super::keys::Action;
pub use super::msg::{Cmd, Msg, StepView};
pub use super::screens::authentication::{generate_password, AuthField, AuthForm, FieldKind};
pub use super::screens::nodes::{NodeForm, FORM_FIELDS};
use super::screens::{self, authentication, connectivity, credentials, nodes, start};
pub use super::screens::{Mode, Screen};
pub use super::shared::Shared;
use crate::plan::{AuthMode, Plan};
use crate::run::{Event, Outcome};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct App {
    /// What every screen sees (also reachable as `app.plan`, `app.steps`, ...).
    pub shared: Shared,
    // Each screen's own state.
    pub start: start::State,
    pub nodes: nodes::State,
    pub credentials: credentials::State,
    pub connectivity: connectivity::State,
    pub authentication: authentication::State,
    pub preview: screens::preview::State,
}

impl std::ops::Deref for App {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Shared {
        &mut self.shared
    }
}

impl App {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> App {
        let auth_choice = AuthMode::ALL
            .iter()
            .position(|m| *m == plan.auth.mode)
            .unwrap_or(0);
        let superuser_edit = plan.superuser.clone();
        App {
            shared: Shared::new(plan, plan_path),
            start: start::State::default(),
            nodes: nodes::State::default(),
            credentials: credentials::State {
                field: 0,
                superuser_edit,
            },
            connectivity: connectivity::State::default(),
            authentication: authentication::State {
                choice: auth_choice,
                form: None,
            },
            preview: screens::preview::State::default(),
        }
    }

    /// The wizard on a plan file that does not exist yet: it opens on the
    /// nodes screen with the access node's form, and the plan counts as
    /// unsaved until it is written where the operator said.
    pub fn new_plan(plan: Plan, plan_path: std::path::PathBuf) -> App {
        let mut app = App::new(plan, plan_path);
        app.shared.go(Screen::Nodes);
        app.shared.plan_dirty = true;
        app.shared.revalidate();
        nodes::open_form(&mut app.nodes, &mut app.shared, Some(0));
        app.shared.message = Some(format!(
            "a new plan: give the access node, then add the data nodes (a); it is saved to {} when you quit (s) or on the summary",
            app.shared.plan_path.display()
        ));
        app
    }

    pub fn mode(&self) -> Mode {
        if self.confirming {
            Mode::Confirm
        } else if self.preview.choosing {
            Mode::Choose
        } else if let Some(form) = &self.authentication.form {
            // F2 is offered only where there is a password to generate.
            if form
                .fields
                .iter()
                .any(|f| f.kind == screens::authentication::FieldKind::Secret)
            {
                Mode::AuthFormWithSecrets
            } else {
                Mode::AuthForm
            }
        } else if self.nodes.form.is_some() {
            Mode::NodeForm
        } else if self.start.address.is_some() {
            Mode::AddressForm
        } else {
            Mode::Screen(self.screen)
        }
    }

    pub fn typing(&self) -> bool {
        self.start.address.is_some()
            || self.nodes.form.is_some()
            || self.authentication.form.is_some()
            || (self.screen == Screen::Credentials && self.credentials.field < 2)
    }

    /// Which text field has focus, if one has.
    fn focus_id(&self) -> Option<String> {
        if self.start.address.is_some() {
            return Some("start".into());
        }
        if let Some(f) = &self.authentication.form {
            return Some(format!("auth:{}", f.focus));
        }
        if let Some(f) = &self.nodes.form {
            return Some(format!("nodes:{:?}:{}", f.index, f.focus));
        }
        match (self.shared.screen, self.credentials.field) {
            (Screen::Credentials, n @ (0 | 1)) => Some(format!("credentials:{n}")),
            _ => None,
        }
    }

    /// A field that just got focus has its cursor at its end.
    fn follow_focus(&mut self) {
        let id = self.focus_id();
        if id != self.shared.cursor_of {
            let end = self.field_mut().map_or(0, |f| f.chars().count());
            self.shared.cursor = end;
            self.shared.cursor_of = id;
        }
    }

    /// Edit the focused field (and keep its cursor).
    fn edit_field(&mut self, edit: impl FnOnce(&mut String, &mut usize)) {
        self.follow_focus();
        let mut cursor = self.shared.cursor;
        if let Some(f) = self.field_mut() {
            edit(f, &mut cursor);
        }
        self.shared.cursor = cursor;
    }

    /// The text field that has focus.
    fn field_mut(&mut self) -> Option<&mut String> {
        if let Some(a) = &mut self.start.address {
            return Some(a);
        }
        if let Some(f) = &mut self.authentication.form {
            return f.fields.get_mut(f.focus).map(|x| &mut x.value);
        }
        if let Some(f) = &mut self.nodes.form {
            return Some(&mut f.fields[f.focus]);
        }
        match (self.shared.screen, self.credentials.field) {
            (Screen::Credentials, 0) => Some(&mut self.shared.password),
            (Screen::Credentials, 1) => Some(&mut self.credentials.superuser_edit),
            _ => None,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(k) => {
                self.follow_focus();
                let cmds = self.key(k);
                self.follow_focus();
                cmds
            }
            Msg::Paste(text) => {
                let text = text.trim_end_matches(['\n', '\r']).to_string();
                self.edit_field(|f, c| crate::tui::text_field::paste(f, c, &text));
                vec![]
            }
            Msg::Resize => vec![],
            Msg::Tick => {
                self.tick = self.tick.wrapping_add(1);
                vec![]
            }
            Msg::Probed {
                facts,
                notes,
                partial,
            } => {
                self.probing = false;
                let merged = match (partial, self.facts.take()) {
                    (true, Some(mut old)) => {
                        for n in facts.nodes {
                            match old.nodes.iter_mut().find(|m| m.name == n.name) {
                                Some(slot) => *slot = n,
                                None => old.nodes.push(n),
                            }
                        }
                        old
                    }
                    _ => facts,
                };
                self.findings = crate::findings::findings(&self.plan, &merged);
                self.facts = Some(merged);
                self.notes = notes;
                if partial {
                    self.message = Some("probed again".into());
                }
                vec![]
            }
            Msg::NodeProbed { node, ok } => {
                let at = self.shared.tick;
                self.shared.probe_done.push((node, ok, at));
                vec![]
            }
            Msg::Saved(r) => {
                self.message = Some(match r {
                    Ok(()) => {
                        self.plan_dirty = false;
                        format!("saved {}", self.plan_path.display())
                    }
                    Err(e) => format!("saving failed: {e}"),
                });
                vec![]
            }
            Msg::Built(Ok(steps)) => {
                self.step_views = vec![StepView::Pending; steps.len()];
                self.steps = steps;
                self.build_error = None;
                vec![]
            }
            Msg::Built(Err(e)) => {
                self.build_error = Some(e);
                vec![]
            }
            Msg::Run(e) => {
                self.run_event(e);
                vec![]
            }
            Msg::Interrupt => self.interrupt(),
            Msg::Discovered(found) => start::discovered(&mut self.shared, found),
            Msg::Exported(r) => {
                self.message = Some(match r {
                    Ok(dir) => format!("exported to {dir}: review README.md, then run sh setup.sh"),
                    Err(e) => format!("export failed: {e}"),
                });
                vec![]
            }
        }
    }

    fn run_event(&mut self, e: Event) {
        match &e {
            Event::StepStarted { step, .. } => {
                if let Some(i) = self.steps.iter().position(|s| &s.id == step) {
                    self.step_views[i] = StepView::Running { since: self.tick };
                }
            }
            Event::StepFinished { step, outcome, .. } => {
                if let Some(i) = self.steps.iter().position(|s| &s.id == step) {
                    self.step_views[i] = StepView::Finished(outcome.clone());
                }
            }
            Event::Finished { ok } => {
                self.running = false;
                if self.quit_when_idle {
                    self.quit = true;
                }
                self.finished = Some(
                    *ok && !self
                        .step_views
                        .iter()
                        .any(|v| matches!(v, StepView::Finished(Outcome::Blocked { .. }))),
                );
            }
            _ => {}
        }
        if let Some(line) = crate::report::apply::line(&e) {
            self.log.push(line);
        }
    }

    /// Ctrl-C, SIGTERM or SIGHUP: while a run goes, the first lets the
    /// running step finish on every node and then quits (the CLI's first
    /// interrupt, on the same cancel switch); a second quits at once.
    pub(super) fn interrupt(&mut self) -> Vec<Cmd> {
        if self.running && !self.quit_when_idle {
            return self.stop_then_quit();
        }
        self.quit = true;
        vec![Cmd::Quit]
    }

    fn stop_then_quit(&mut self) -> Vec<Cmd> {
        self.quit_when_idle = true;
        self.message = Some(
            "stopping: the running step finishes on every node and is recorded in the journal, then tsmn quits (Ctrl-C again: quit at once, the running step may be left half done)"
                .into(),
        );
        vec![Cmd::Cancel]
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        if self.help {
            // Any key closes the help overlay (Ctrl-C still quits).
            if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
                self.quit = true;
                return vec![Cmd::Quit];
            }
            self.help = false;
            return vec![];
        }
        if self.confirm_quit {
            return match k.code {
                KeyCode::Char('s') if self.plan_dirty && !self.busy() => {
                    self.quit = true;
                    vec![Cmd::Save, Cmd::Quit]
                }
                KeyCode::Char('y') | KeyCode::Char('q') if self.running => {
                    self.confirm_quit = false;
                    self.stop_then_quit()
                }
                KeyCode::Char('y') | KeyCode::Char('q') => {
                    self.quit = true;
                    vec![Cmd::Quit]
                }
                _ => {
                    self.confirm_quit = false;
                    vec![]
                }
            };
        }
        let Some(action) = screens::action(self.mode(), self.typing(), &k) else {
            if let Some(req) = crate::tui::text_field::request(&k) {
                self.edit_field(|f, c| crate::tui::text_field::edit(f, c, req));
            }
            return vec![];
        };
        match action {
            Action::ForceQuit => self.interrupt(),
            Action::Quit => {
                if self.busy() || self.plan_dirty {
                    self.confirm_quit = true;
                    vec![]
                } else {
                    self.quit = true;
                    vec![Cmd::Quit]
                }
            }
            Action::Help => {
                self.help = true;
                vec![]
            }
            // On the execute screen the pages are the log's (the grid above
            // keeps running and failed nodes in view by itself).
            Action::PageUp if self.screen == Screen::Execute => {
                self.log_back = (self.log_back + 10).min(self.log.len());
                vec![]
            }
            Action::PageDown if self.screen == Screen::Execute => {
                self.log_back = self.log_back.saturating_sub(10);
                vec![]
            }
            Action::PageUp => {
                self.scroll = self.scroll.saturating_sub(10);
                vec![]
            }
            Action::PageDown => {
                self.scroll = self.scroll.saturating_add(10);
                vec![]
            }
            a => self.on_screen(a),
        }
    }

    /// An action the app did not take itself, for the active screen.
    fn on_screen(&mut self, action: Action) -> Vec<Cmd> {
        let sh = &mut self.shared;
        match sh.screen {
            Screen::Start => start::on_action(&mut self.start, sh, action),
            Screen::Nodes => nodes::on_action(&mut self.nodes, sh, action),
            Screen::Credentials => credentials::on_action(&mut self.credentials, sh, action),
            // Editing a node from here opens the nodes screen's form on it.
            Screen::Connectivity if action == Action::Edit => {
                let i = self.connectivity.selected;
                sh.go(Screen::Nodes);
                self.nodes.cursor = i;
                nodes::open_form(&mut self.nodes, sh, Some(i));
                vec![]
            }
            Screen::Connectivity => connectivity::on_action(&mut self.connectivity, sh, action),
            Screen::Authentication => {
                authentication::on_action(&mut self.authentication, sh, action)
            }
            Screen::Preview if self.preview.choosing => {
                screens::preview::on_choose(&mut self.preview, sh, action)
            }
            Screen::Preview => screens::preview::on_action(&mut self.preview, sh, action),
            Screen::Execute => screens::execute::on_action(sh, action),
            Screen::Summary => screens::summary::on_action(sh, action),
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "app_editing_tests.rs"]
mod editing_tests;
