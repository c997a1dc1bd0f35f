//! What the wizard's screens share: the plan, the facts, the steps and
//! the run, the overlays and the message line; and the moves every screen
//! may make (go to a screen, probe, run). Each screen's own state lives in
//! its module; the app holds both.

use super::msg::{Cmd, StepView};
use super::screen::Screen;
use crate::facts::Facts;
use crate::findings::Finding;
use crate::plan::{Plan, Problem};
use crate::steps::Step;
use secrecy::SecretString;

pub struct Shared {
    pub screen: Screen,
    pub plan: Plan,
    pub plan_path: std::path::PathBuf,
    /// The superuser's password as typed on the credentials screen: memory only.
    pub password: String,
    pub probing: bool,
    pub facts: Option<Facts>,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
    pub build_error: Option<String>,
    pub step_views: Vec<StepView>,
    pub log: Vec<String>,
    pub running: bool,
    pub finished: Option<bool>,
    /// The confirmation over the preview is open.
    pub confirming: bool,
    pub confirm_quit: bool,
    pub help: bool,
    pub scroll: u16,
    pub tick: u64,
    pub message: Option<String>,
    pub quit: bool,
    /// Asked to quit while a run was going: the running step finishes on
    /// every node (the journal records it), then the wizard quits. A second
    /// interrupt quits at once.
    pub quit_when_idle: bool,
    /// Validation problems of the plan as edited (shown next to the nodes).
    pub problems: Vec<Problem>,
    /// The plan was changed here and not saved.
    pub plan_dirty: bool,
    /// Role passwords typed or generated here (password mode): memory only.
    pub role_passwords: std::collections::BTreeMap<String, String>,
    /// While probing: the tick it started at, and each finished node with
    /// whether tsmn got in and the tick it finished at.
    pub probe_started: u64,
    pub probe_done: Vec<(String, bool, u64)>,
    /// The cursor in the focused text field (characters), and which field
    /// it belongs to (it goes to the end when the focus moves).
    pub cursor: usize,
    pub cursor_of: Option<String>,
    /// How many lines the execute screen's log is scrolled back (0: the end).
    pub log_back: usize,
    /// Connect timeout and restart policy, from the command line.
    pub settings: crate::flow::Settings,
}

impl Shared {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> Shared {
        Shared {
            screen: Screen::Start,
            plan,
            plan_path,
            password: String::new(),
            probing: false,
            facts: None,
            findings: Vec::new(),
            notes: Vec::new(),
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
            quit_when_idle: false,
            problems: Vec::new(),
            plan_dirty: false,
            cursor: 0,
            cursor_of: None,
            log_back: 0,
            settings: crate::flow::Settings::default(),
            role_passwords: std::collections::BTreeMap::new(),
            probe_started: 0,
            probe_done: Vec::new(),
        }
    }

    pub fn revalidate(&mut self) {
        self.problems = crate::plan::validate(&self.plan);
    }

    /// Whether something is running (and the spinner should move).
    pub fn busy(&self) -> bool {
        self.probing || self.running
    }

    pub fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.scroll = 0;
        self.message = None;
    }

    /// Esc: the screen before (not while a run is going).
    pub fn back(&mut self) {
        if !self.running {
            self.go(self.screen.back());
        }
    }

    /// The superuser's password as typed, if any.
    pub fn typed_password(&self) -> Option<SecretString> {
        (!self.password.is_empty()).then(|| SecretString::from(self.password.clone()))
    }

    /// Probe every node (the connectivity screen shows it).
    pub fn probe(&mut self) -> Vec<Cmd> {
        self.probing = true;
        self.probe_started = self.tick;
        self.probe_done.clear();
        self.facts = None;
        self.findings.clear();
        vec![Cmd::Probe {
            password: self.typed_password(),
            nodes: vec![],
        }]
    }

    /// Run the steps (confirmed on the preview, or again from the execute screen).
    pub fn execute(&mut self) -> Vec<Cmd> {
        self.confirming = false;
        self.running = true;
        self.finished = None;
        self.log.clear();
        self.step_views = vec![StepView::Pending; self.steps.len()];
        self.go(Screen::Execute);
        vec![Cmd::Execute]
    }
}
