//! What several of the wizard's screens read: the plan, the facts and
//! findings, the steps and the run, the typed secrets, the message line;
//! and the moves every screen may make (go to a screen, probe, run). Each
//! screen's own state lives in its module (tui/screens/), the overlays'
//! in tui/overlay.rs, and the app holds them all.

use super::msg::Cmd;
use super::run_record::RunRecord;
use super::screen::Screen;
use super::text_field::TextField;
use crate::facts::Facts;
use crate::findings::Finding;
use crate::plan::{Plan, Problem};
use crate::steps::Step;
use secrecy::SecretString;

pub struct Shared {
    pub screen: Screen,
    pub plan: Plan,
    pub plan_path: std::path::PathBuf,
    /// The plan was changed here and not saved.
    pub plan_dirty: bool,
    /// The superuser's password as typed on the credentials screen: memory only.
    pub password: TextField,
    /// Role passwords typed or generated here (password mode): memory only.
    pub role_passwords: std::collections::BTreeMap<String, String>,
    pub probing: bool,
    pub facts: Option<Facts>,
    pub findings: Vec<Finding>,
    /// Notes about the password sources and the discovered plan.
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
    pub run: RunRecord,
    /// Tenths of a second since the wizard began (the spinner, timings).
    pub tick: u64,
    pub message: Option<String>,
    /// How far the active screen's text is scrolled (reset on a new screen).
    pub scroll: u16,
    /// Connect timeout and restart policy, from the command line.
    pub settings: crate::flow::Settings,
}

impl Shared {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> Shared {
        Shared {
            screen: Screen::Start,
            plan,
            plan_path,
            plan_dirty: false,
            password: TextField::default(),
            role_passwords: std::collections::BTreeMap::new(),
            probing: false,
            facts: None,
            findings: Vec::new(),
            notes: Vec::new(),
            steps: Vec::new(),
            run: RunRecord::default(),
            tick: 0,
            message: None,
            scroll: 0,
            settings: crate::flow::Settings::default(),
        }
    }

    /// The plan's problems as edited, by the plan's own validation.
    pub fn problems(&self) -> Vec<Problem> {
        crate::plan::validate(&self.plan)
    }

    /// Whether something is running (and the spinner should move).
    pub fn busy(&self) -> bool {
        self.probing || self.run.running
    }

    pub fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.scroll = 0;
        self.message = None;
    }

    /// Esc: the screen before (not while a run is going).
    pub fn back(&mut self) {
        if !self.run.running {
            self.go(self.screen.back());
        }
    }

    /// The superuser's password as typed, if any.
    pub fn typed_password(&self) -> Option<SecretString> {
        (!self.password.is_empty()).then(|| SecretString::from(self.password.to_string()))
    }

    /// Probe every node (the connectivity screen shows it).
    pub fn probe(&mut self) -> Vec<Cmd> {
        self.probing = true;
        self.facts = None;
        self.findings.clear();
        vec![Cmd::Probe {
            password: self.typed_password(),
            nodes: vec![],
        }]
    }

    /// Watch the running cluster (the cluster screen, refreshed).
    pub fn watch(&mut self) -> Vec<Cmd> {
        self.go(Screen::Cluster);
        self.message = Some("reading the cluster ...".into());
        vec![Cmd::Watch]
    }

    /// Run the steps (confirmed on the preview, or again from the execute screen).
    pub fn execute(&mut self) -> Vec<Cmd> {
        self.run.start(self.steps.len());
        self.go(Screen::Execute);
        vec![Cmd::Execute]
    }
}
