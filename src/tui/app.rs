//! The wizard's state and its update function: keys and task results in,
//! new state and commands out. No I/O here: commands are carried out by
//! tasks (tui/tasks.rs), whose results come back as messages.

use super::keys::{self, Action};
use crate::facts::Facts;
use crate::findings::Finding;
use crate::plan::{AuthMode, Plan};
use crate::run::{Event, Outcome};
use crate::steps::Step;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Start,
    Nodes,
    Credentials,
    Connectivity,
    Authentication,
    Preview,
    Execute,
    Summary,
}

impl Screen {
    pub const ORDER: [Screen; 8] = [
        Screen::Start,
        Screen::Nodes,
        Screen::Credentials,
        Screen::Connectivity,
        Screen::Authentication,
        Screen::Preview,
        Screen::Execute,
        Screen::Summary,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Screen::Start => "Start",
            Screen::Nodes => "Nodes",
            Screen::Credentials => "Credentials",
            Screen::Connectivity => "Connectivity",
            Screen::Authentication => "Authentication",
            Screen::Preview => "Preview",
            Screen::Execute => "Execute",
            Screen::Summary => "Summary",
        }
    }
}

/// Messages into `update`.
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize,
    Tick,
    Probed {
        facts: Facts,
        findings: Vec<Finding>,
        notes: Vec<String>,
    },
    Built(Result<Vec<Step>, String>),
    Run(Event),
    Exported(Result<String, String>),
}

/// Work for the tasks.
#[derive(Debug)]
pub enum Cmd {
    Probe { password: Option<SecretString> },
    Build,
    Execute,
    Export,
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepView {
    Pending,
    Running,
    Finished(Outcome),
}

pub struct App {
    pub screen: Screen,
    pub plan: Plan,
    pub plan_path: std::path::PathBuf,
    /// 0: set up, 1: troubleshoot.
    pub start_choice: usize,
    pub node_cursor: usize,
    pub password: String,
    /// Which field of the credentials screen has focus (0: password, 1: continue).
    pub cred_field: usize,
    pub probing: bool,
    pub facts: Option<Facts>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub auth_choice: usize,
    pub steps: Vec<Step>,
    pub build_error: Option<String>,
    pub step_views: Vec<StepView>,
    pub log: Vec<String>,
    pub running: bool,
    pub finished: Option<bool>,
    pub confirming: bool,
    pub confirm_quit: bool,
    pub help: bool,
    pub scroll: u16,
    pub tick: u64,
    pub message: Option<String>,
    pub quit: bool,
}

impl App {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> App {
        let auth_choice = AuthMode::ALL
            .iter()
            .position(|m| *m == plan.auth.mode)
            .unwrap_or(0);
        App {
            screen: Screen::Start,
            plan,
            plan_path,
            start_choice: 0,
            node_cursor: 0,
            password: String::new(),
            cred_field: 0,
            probing: false,
            facts: None,
            findings: Vec::new(),
            notes: Vec::new(),
            auth_choice,
            steps: Vec::new(),
            build_error: None,
            step_views: Vec::new(),
            log: Vec::new(),
            running: false,
            finished: None,
            confirming: false,
            confirm_quit: false,
            help: false,
            scroll: 0,
            tick: 0,
            message: None,
            quit: false,
        }
    }

    /// Whether something is running (and the spinner should move).
    pub fn busy(&self) -> bool {
        self.probing || self.running
    }

    fn typing(&self) -> bool {
        self.screen == Screen::Credentials && self.cred_field == 0
    }

    fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.scroll = 0;
        self.message = None;
    }

    fn probe(&mut self) -> Vec<Cmd> {
        self.probing = true;
        self.facts = None;
        self.findings.clear();
        let password =
            (!self.password.is_empty()).then(|| SecretString::from(self.password.clone()));
        vec![Cmd::Probe { password }]
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Paste(text) => {
                if self.typing() {
                    self.password.push_str(text.trim_end_matches(['\n', '\r']));
                }
                vec![]
            }
            Msg::Resize => vec![],
            Msg::Tick => {
                self.tick = self.tick.wrapping_add(1);
                vec![]
            }
            Msg::Probed {
                facts,
                findings,
                notes,
            } => {
                self.probing = false;
                self.facts = Some(facts);
                self.findings = findings;
                self.notes = notes;
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
                    self.step_views[i] = StepView::Running;
                }
            }
            Event::StepFinished { step, outcome, .. } => {
                if let Some(i) = self.steps.iter().position(|s| &s.id == step) {
                    self.step_views[i] = StepView::Finished(outcome.clone());
                }
            }
            Event::Finished { ok } => {
                self.running = false;
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
        let Some(action) = keys::action(self.screen, self.confirming, self.typing(), &k) else {
            if self.typing() {
                match k.code {
                    KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                        self.password.push(c)
                    }
                    KeyCode::Backspace => {
                        self.password.pop();
                    }
                    _ => {}
                }
            }
            return vec![];
        };
        match action {
            Action::ForceQuit => {
                self.quit = true;
                vec![Cmd::Quit]
            }
            Action::Quit => {
                if self.busy() {
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
            Action::Up => {
                self.up();
                vec![]
            }
            Action::Down => {
                self.down();
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
            Action::NextField | Action::PrevField => {
                self.cred_field = 1 - self.cred_field.min(1);
                vec![]
            }
            Action::Retry => match self.screen {
                Screen::Connectivity if !self.probing => self.probe(),
                Screen::Execute if !self.running => self.execute(),
                _ => vec![],
            },
            Action::Export => vec![Cmd::Export],
            Action::Back => {
                if self.confirming {
                    self.confirming = false;
                    return vec![];
                }
                let back = match self.screen {
                    Screen::Start => Screen::Start,
                    Screen::Nodes => Screen::Start,
                    Screen::Credentials => Screen::Nodes,
                    Screen::Connectivity => Screen::Credentials,
                    Screen::Authentication => Screen::Connectivity,
                    Screen::Preview => Screen::Authentication,
                    Screen::Execute | Screen::Summary => Screen::Preview,
                };
                if !self.running {
                    self.go(back);
                }
                vec![]
            }
            Action::Next => self.next(),
        }
    }

    fn up(&mut self) {
        match self.screen {
            Screen::Start => self.start_choice = self.start_choice.saturating_sub(1),
            Screen::Nodes => self.node_cursor = self.node_cursor.saturating_sub(1),
            Screen::Authentication => self.auth_choice = self.auth_choice.saturating_sub(1),
            _ => self.scroll = self.scroll.saturating_sub(1),
        }
    }

    fn down(&mut self) {
        match self.screen {
            Screen::Start => self.start_choice = (self.start_choice + 1).min(1),
            Screen::Nodes => {
                self.node_cursor = (self.node_cursor + 1).min(self.plan.data_nodes.len())
            }
            Screen::Authentication => self.auth_choice = (self.auth_choice + 1).min(2),
            _ => self.scroll = self.scroll.saturating_add(1),
        }
    }

    fn execute(&mut self) -> Vec<Cmd> {
        self.confirming = false;
        self.running = true;
        self.finished = None;
        self.log.clear();
        self.step_views = vec![StepView::Pending; self.steps.len()];
        self.go(Screen::Execute);
        vec![Cmd::Execute]
    }

    fn next(&mut self) -> Vec<Cmd> {
        match self.screen {
            Screen::Start => {
                if self.start_choice == 1 {
                    // Troubleshooting: straight to the facts and findings.
                    self.go(Screen::Connectivity);
                    return self.probe();
                }
                self.go(Screen::Nodes);
                vec![]
            }
            Screen::Nodes => {
                self.go(Screen::Credentials);
                vec![]
            }
            Screen::Credentials => {
                self.go(Screen::Connectivity);
                self.probe()
            }
            Screen::Connectivity if self.probing => vec![],
            Screen::Connectivity => {
                self.go(Screen::Authentication);
                vec![]
            }
            Screen::Authentication => {
                let mode = AuthMode::ALL[self.auth_choice];
                if mode != self.plan.auth.mode {
                    self.plan.auth.mode = mode;
                    self.plan.auth.password = None;
                    self.plan.auth.certificate = None;
                    self.plan = self.plan.clone().normalized();
                }
                self.steps.clear();
                self.go(Screen::Preview);
                vec![Cmd::Build]
            }
            Screen::Preview if self.confirming => self.execute(),
            Screen::Preview => {
                if !self.steps.is_empty() {
                    self.confirming = true;
                }
                vec![]
            }
            Screen::Execute if self.finished.is_some() => {
                self.go(Screen::Summary);
                vec![]
            }
            Screen::Execute | Screen::Summary => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn plan() -> Plan {
        crate::plan::parse_plan("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n", "p").unwrap()
    }

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new_with_kind(
            code,
            KeyModifiers::NONE,
            KeyEventKind::Press,
        ))
    }

    fn app() -> App {
        App::new(plan(), "plan.toml".into())
    }

    #[test]
    fn forward_through_the_screens() {
        let mut a = app();
        assert!(a.update(key(KeyCode::Enter)).is_empty());
        assert_eq!(a.screen, Screen::Nodes);
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Credentials);
        let cmds = a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Connectivity);
        assert!(matches!(cmds.as_slice(), [Cmd::Probe { password: None }]));
        assert!(a.busy());
        // Enter waits while probing.
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Connectivity);
        a.update(Msg::Probed {
            facts: Facts::default(),
            findings: vec![],
            notes: vec![],
        });
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Authentication);
        a.update(key(KeyCode::Down));
        let cmds = a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Preview);
        assert_eq!(
            a.plan.auth.mode,
            AuthMode::Password,
            "the choice changes the plan"
        );
        assert!(a.plan.auth.password.is_some(), "with its defaults");
        assert!(matches!(cmds.as_slice(), [Cmd::Build]));
        let steps = crate::steps::build(&a.plan, crate::steps::Inputs::default()).unwrap();
        a.update(Msg::Built(Ok(steps)));
        a.update(key(KeyCode::Enter));
        assert!(a.confirming, "execution asks first");
        let cmds = a.update(key(KeyCode::Char('y')));
        assert_eq!(a.screen, Screen::Execute);
        assert!(matches!(cmds.as_slice(), [Cmd::Execute]));
        a.update(Msg::Run(Event::Finished { ok: true }));
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Summary);
    }

    #[test]
    fn troubleshooting_goes_straight_to_the_probe() {
        let mut a = app();
        a.update(key(KeyCode::Down));
        let cmds = a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Connectivity);
        assert!(matches!(cmds.as_slice(), [Cmd::Probe { .. }]));
    }

    #[test]
    fn the_password_field_takes_q_and_quit_asks_while_busy() {
        let mut a = app();
        a.update(key(KeyCode::Enter));
        a.update(key(KeyCode::Enter));
        for c in "quit?".chars() {
            a.update(key(KeyCode::Char(c)));
        }
        assert_eq!(
            a.password, "quit?",
            "typed characters are text while the field has focus"
        );
        assert!(!a.quit && !a.help);
        a.update(key(KeyCode::Backspace));
        assert_eq!(a.password, "quit");
        a.update(key(KeyCode::Tab));
        let cmds = a.update(key(KeyCode::Enter));
        assert!(matches!(
            cmds.as_slice(),
            [Cmd::Probe { password: Some(_) }]
        ));
        a.update(key(KeyCode::Char('q')));
        assert!(
            a.confirm_quit && !a.quit,
            "quitting while work runs asks first"
        );
        a.update(key(KeyCode::Char('n')));
        assert!(!a.confirm_quit && !a.quit);
        let cc = Msg::Key(KeyEvent::new_with_kind(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
            KeyEventKind::Press,
        ));
        assert!(matches!(a.update(cc).as_slice(), [Cmd::Quit]));
        assert!(a.quit, "Ctrl-C always quits");
    }

    #[test]
    fn back_keeps_what_was_entered_and_help_opens_and_closes() {
        let mut a = app();
        a.update(key(KeyCode::Enter));
        a.update(key(KeyCode::Enter));
        a.update(key(KeyCode::Char('x')));
        a.update(key(KeyCode::Esc));
        assert_eq!(a.screen, Screen::Nodes);
        a.update(key(KeyCode::Enter));
        assert_eq!(a.password, "x", "back and forward keep what was entered");
        a.update(key(KeyCode::Tab));
        a.update(key(KeyCode::Char('?')));
        assert!(a.help);
        a.update(key(KeyCode::Esc));
        assert!(!a.help && a.screen == Screen::Credentials);
        a.update(key(KeyCode::F(1)));
        assert!(a.help);
    }

    #[test]
    fn every_binding_in_the_table_dispatches() {
        for screen in Screen::ORDER {
            for b in keys::bindings(screen, false)
                .iter()
                .chain(keys::GLOBAL.iter())
            {
                let k = KeyEvent::new_with_kind(b.key, b.mods, KeyEventKind::Press);
                assert_eq!(
                    keys::action(screen, false, false, &k),
                    Some(b.action),
                    "{screen:?} {}",
                    b.label
                );
            }
        }
    }
}
