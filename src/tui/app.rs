//! The wizard's state and its update function: keys and task results in,
//! new state and commands out. No I/O here: commands are carried out by
//! tasks (tui/tasks.rs), whose results come back as messages.

use super::keys::{self, Action, Mode};
use crate::facts::Facts;
use crate::findings::Finding;
use crate::plan::{AuthMode, Node, Plan, Problem};
use crate::run::{Event, Outcome};
use crate::steps::Step;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use secrecy::SecretString;

/// 24 random characters from the system's random source (URL-safe base64
/// of 18 bytes): for internal passwords nobody types.
pub fn generate_password() -> Option<String> {
    use base64::Engine;
    use std::io::Read;
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

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
    /// Facts for every node, or (`partial`) for the ones probed again.
    Probed {
        facts: Facts,
        notes: Vec<String>,
        partial: bool,
    },
    Saved(Result<(), String>),
    /// One node's probe is done (tsmn got in, or not).
    NodeProbed {
        node: String,
        ok: bool,
    },
    Built(Result<Vec<Step>, String>),
    Run(Event),
    Exported(Result<String, String>),
}

/// Work for the tasks.
#[derive(Debug)]
pub enum Cmd {
    /// Probe these nodes (all when empty).
    Probe {
        password: Option<SecretString>,
        nodes: Vec<String>,
    },
    Save,
    Cancel,
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
    /// The superuser role as typed on the credentials screen.
    pub superuser_edit: String,
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
    /// The node being added or edited on the nodes screen.
    pub form: Option<NodeForm>,
    /// Validation problems of the plan as edited (shown next to the nodes).
    pub problems: Vec<Problem>,
    /// The plan was changed here and not saved.
    pub plan_dirty: bool,
    /// The node selected on the connectivity screen.
    pub conn_selected: usize,
    /// While probing: the tick it started at, and each finished node with
    /// whether tsmn got in and the tick it finished at.
    pub probe_started: u64,
    pub probe_done: Vec<(String, bool, u64)>,
    /// The chosen mode's options, being edited.
    pub auth_form: Option<AuthForm>,
    /// Role passwords typed or generated here (password mode): memory only.
    pub role_passwords: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// Masked on screen; never written to the plan.
    Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthField {
    /// `roles`, `passfile`, ..., or `password:<role>`.
    pub key: String,
    pub label: String,
    pub value: String,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthForm {
    pub fields: Vec<AuthField>,
    pub focus: usize,
    pub error: Option<String>,
}

/// Labels of the node form's fields, in order.
pub const FORM_FIELDS: [&str; 4] = [
    "name",
    "host (as the access node reaches it; a postgresql:// URI is split)",
    "port",
    "connect host (optional: where tsmn connects, if different)",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeForm {
    /// Position in plan.nodes() (0 is the access node); None adds a data node.
    pub index: Option<usize>,
    pub fields: [String; 4],
    pub focus: usize,
    pub error: Option<String>,
}

impl App {
    pub fn new(plan: Plan, plan_path: std::path::PathBuf) -> App {
        let auth_choice = AuthMode::ALL
            .iter()
            .position(|m| *m == plan.auth.mode)
            .unwrap_or(0);
        let superuser_edit = plan.superuser.clone();
        App {
            screen: Screen::Start,
            plan,
            plan_path,
            start_choice: 0,
            node_cursor: 0,
            password: String::new(),
            cred_field: 0,
            superuser_edit,
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
            form: None,
            problems: Vec::new(),
            plan_dirty: false,
            conn_selected: 0,
            probe_started: 0,
            probe_done: Vec::new(),
            auth_form: None,
            role_passwords: std::collections::BTreeMap::new(),
        }
    }

    /// The options of the chosen mode, from the plan.
    fn open_auth_form(&mut self) {
        let text = |key: &str, label: &str, value: String| AuthField {
            key: key.into(),
            label: label.into(),
            value,
            kind: FieldKind::Text,
        };
        let mut fields = vec![text(
            "roles",
            "roles that reach the data nodes (comma-separated)",
            self.plan.auth.roles.join(", "),
        )];
        match AuthMode::ALL[self.auth_choice] {
            AuthMode::Trust => {}
            AuthMode::Password => {
                let p = self.plan.auth.password.clone().unwrap_or_default();
                fields.push(text(
                    "passfile",
                    "passfile on the access node (absolute; empty: <PGDATA>/passfile)",
                    p.passfile,
                ));
                fields.push(text(
                    "user_mapping",
                    "also keep the passwords in user mappings (yes/no)",
                    if p.user_mapping { "yes" } else { "no" }.into(),
                ));
                for role in &self.plan.auth.roles {
                    let value = self.role_passwords.get(role).cloned().unwrap_or_default();
                    fields.push(AuthField {
                        key: format!("password:{role}"),
                        label: format!(
                            "password of {role} (F2 generates one; empty: from the environment)"
                        ),
                        value,
                        kind: FieldKind::Secret,
                    });
                }
            }
            AuthMode::Certificate => {
                let c = self.plan.auth.certificate.clone().unwrap_or_default();
                fields.push(text("ssl_dir", "client certificates on the access node (absolute; empty: <PGDATA>/timescaledb/certs)", c.ssl_dir));
                fields.push(text(
                    "ca_cert",
                    "existing CA certificate to import (empty: tsmn generates a CA)",
                    c.ca_cert,
                ));
                fields.push(text("ca_key", "its private key", c.ca_key));
                fields.push(text(
                    "validity_days",
                    "validity of generated certificates, in days",
                    c.validity_days.to_string(),
                ));
            }
        }
        self.auth_form = Some(AuthForm {
            fields,
            focus: 0,
            error: None,
        });
    }

    /// Apply the options to the plan when they are valid; else say why.
    fn apply_auth_form(&mut self) -> Vec<Cmd> {
        let Some(mut form) = self.auth_form.take() else {
            return vec![];
        };
        let mode = AuthMode::ALL[self.auth_choice];
        let mut plan = self.plan.clone();
        plan.auth.mode = mode;
        plan.auth.password = None;
        plan.auth.certificate = None;
        let get = |k: &str| {
            form.fields
                .iter()
                .find(|f| f.key == k)
                .map(|f| f.value.trim().to_string())
                .unwrap_or_default()
        };
        plan.auth.roles = get("roles")
            .split(',')
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        match mode {
            AuthMode::Trust => {}
            AuthMode::Password => {
                let mut p = self.plan.auth.password.clone().unwrap_or_default();
                p.passfile = get("passfile");
                p.user_mapping = matches!(
                    get("user_mapping").to_ascii_lowercase().as_str(),
                    "yes" | "y" | "true" | "on"
                );
                plan.auth.password = Some(p);
            }
            AuthMode::Certificate => {
                let mut c = self.plan.auth.certificate.clone().unwrap_or_default();
                c.ssl_dir = get("ssl_dir");
                c.ca_cert = get("ca_cert");
                c.ca_key = get("ca_key");
                match get("validity_days").parse() {
                    Ok(d) => c.validity_days = d,
                    Err(_) => {
                        form.error =
                            Some("validity_days: not a number (fix: days, e.g. 825)".into());
                        self.auth_form = Some(form);
                        return vec![];
                    }
                }
                plan.auth.certificate = Some(c);
            }
        }
        let plan = plan.normalized();
        if let Some(p) = crate::plan::validate(&plan)
            .into_iter()
            .find(|p| p.path.starts_with("auth"))
        {
            form.error = Some(format!("{}: {} (fix: {})", p.path, p.problem, p.fix));
            self.auth_form = Some(form);
            return vec![];
        }
        for f in form.fields.iter().filter(|f| f.kind == FieldKind::Secret) {
            let role = f.key.trim_start_matches("password:").to_string();
            if f.value.is_empty() {
                self.role_passwords.remove(&role);
            } else {
                self.role_passwords.insert(role, f.value.clone());
            }
        }
        if plan != self.plan {
            self.plan = plan;
            self.plan_dirty = true;
        }
        self.steps.clear();
        self.go(Screen::Preview);
        vec![Cmd::Build]
    }

    pub fn mode(&self) -> Mode {
        if self.confirming {
            Mode::Confirm
        } else if self.auth_form.is_some() {
            Mode::AuthForm
        } else if self.form.is_some() {
            Mode::NodeForm
        } else {
            Mode::Screen(self.screen)
        }
    }

    fn revalidate(&mut self) {
        self.problems = crate::plan::validate(&self.plan);
    }

    fn open_form(&mut self, index: Option<usize>) {
        let fields = match index.and_then(|i| self.plan.nodes().nth(i)) {
            Some(n) => [
                n.name.clone(),
                n.host.clone(),
                n.port.to_string(),
                n.connect_host.clone().unwrap_or_default(),
            ],
            None => [
                format!("dn{}", self.plan.data_nodes.len() + 1),
                String::new(),
                "5432".into(),
                String::new(),
            ],
        };
        self.form = Some(NodeForm {
            index,
            fields,
            focus: if index.is_some() { 1 } else { 0 },
            error: None,
        });
    }

    /// Save the form into the plan when the node is valid; else say why.
    fn save_form(&mut self) {
        let Some(mut form) = self.form.take() else {
            return;
        };
        if let Some((host, port)) = crate::plan::address::split_uri(&form.fields[1]) {
            form.fields[1] = host;
            if let Some(p) = port {
                form.fields[2] = p.to_string();
            }
        }
        let port: i64 = match form.fields[2].trim().parse() {
            Ok(p) => p,
            Err(_) => {
                form.error = Some(format!(
                    "port: `{}` is not a number; fix: a port from 1 to 65535",
                    form.fields[2]
                ));
                self.form = Some(form);
                return;
            }
        };
        let node = Node {
            name: form.fields[0].trim().to_string(),
            host: crate::plan::address::normalize_host(form.fields[1].trim()),
            port,
            connect_host: Some(form.fields[3].trim().to_string()).filter(|h| !h.is_empty()),
            connect_port: None,
        };
        let mut candidate = self.plan.clone();
        let index = match form.index {
            Some(0) => {
                candidate.access_node = node;
                0
            }
            Some(i) => {
                candidate.data_nodes[i - 1] = node;
                i
            }
            None => {
                candidate.data_nodes.push(node);
                candidate.data_nodes.len()
            }
        };
        let path = if index == 0 {
            "access_node".to_string()
        } else {
            format!("data_nodes[{}]", index - 1)
        };
        let problems = crate::plan::validate(&candidate);
        if let Some(p) = problems.iter().find(|p| p.path.starts_with(&path)) {
            form.error = Some(format!(
                "{}: {} (fix: {})",
                p.path.trim_start_matches(&path).trim_start_matches('.'),
                p.problem,
                p.fix
            ));
            self.form = Some(form);
            return;
        }
        self.plan = candidate;
        self.node_cursor = index;
        self.plan_dirty = true;
        self.revalidate();
    }

    /// Whether something is running (and the spinner should move).
    pub fn busy(&self) -> bool {
        self.probing || self.running
    }

    fn typing(&self) -> bool {
        self.form.is_some()
            || self.auth_form.is_some()
            || (self.screen == Screen::Credentials && self.cred_field < 2)
    }

    /// The text field that has focus.
    fn field_mut(&mut self) -> Option<&mut String> {
        if let Some(f) = &mut self.auth_form {
            return f.fields.get_mut(f.focus).map(|x| &mut x.value);
        }
        if let Some(f) = &mut self.form {
            return Some(&mut f.fields[f.focus]);
        }
        match (self.screen, self.cred_field) {
            (Screen::Credentials, 0) => Some(&mut self.password),
            (Screen::Credentials, 1) => Some(&mut self.superuser_edit),
            _ => None,
        }
    }

    fn go(&mut self, screen: Screen) {
        self.screen = screen;
        self.scroll = 0;
        self.message = None;
    }

    fn probe(&mut self) -> Vec<Cmd> {
        self.probing = true;
        self.probe_started = self.tick;
        self.probe_done.clear();
        self.facts = None;
        self.findings.clear();
        let password =
            (!self.password.is_empty()).then(|| SecretString::from(self.password.clone()));
        vec![Cmd::Probe {
            password,
            nodes: vec![],
        }]
    }

    fn probe_one(&mut self) -> Vec<Cmd> {
        let Some(name) = self
            .plan
            .nodes()
            .nth(self.conn_selected)
            .map(|n| n.name.clone())
        else {
            return vec![];
        };
        self.probing = true;
        self.message = Some(format!("probing {name} again"));
        let password =
            (!self.password.is_empty()).then(|| SecretString::from(self.password.clone()));
        vec![Cmd::Probe {
            password,
            nodes: vec![name],
        }]
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Paste(text) => {
                if let Some(f) = self.field_mut() {
                    f.push_str(text.trim_end_matches(['\n', '\r']));
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
                self.probe_done.push((node, ok, self.tick));
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
                KeyCode::Char('s') if self.plan_dirty && !self.busy() => {
                    self.quit = true;
                    vec![Cmd::Save, Cmd::Quit]
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
        let Some(action) = keys::action(self.mode(), self.typing(), &k) else {
            let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
            if let Some(f) = self.field_mut() {
                match k.code {
                    KeyCode::Char(c) if !ctrl => f.push(c),
                    KeyCode::Backspace => {
                        f.pop();
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
                let forward = action == Action::NextField;
                if let Some(f) = &mut self.auth_form {
                    let n = f.fields.len();
                    f.focus = if forward {
                        (f.focus + 1) % n
                    } else {
                        (f.focus + n - 1) % n
                    };
                } else if let Some(f) = &mut self.form {
                    f.focus = if forward {
                        (f.focus + 1) % 4
                    } else {
                        (f.focus + 3) % 4
                    };
                } else if self.screen == Screen::Connectivity {
                    let n = self.plan.nodes().count();
                    self.conn_selected = if forward {
                        (self.conn_selected + 1) % n
                    } else {
                        (self.conn_selected + n - 1) % n
                    };
                } else {
                    self.cred_field = if forward {
                        (self.cred_field + 1) % 3
                    } else {
                        (self.cred_field + 2) % 3
                    };
                }
                vec![]
            }
            Action::Retry => match self.screen {
                Screen::Connectivity if !self.probing => self.probe_one(),
                Screen::Execute if !self.running => self.execute(),
                _ => vec![],
            },
            Action::RetryAll if !self.probing => self.probe(),
            Action::RetryAll => vec![],
            Action::Add => {
                self.open_form(None);
                vec![]
            }
            Action::Edit => {
                let i = if self.screen == Screen::Connectivity {
                    self.conn_selected
                } else {
                    self.node_cursor
                };
                if self.screen == Screen::Connectivity {
                    self.go(Screen::Nodes);
                    self.node_cursor = i;
                }
                self.open_form(Some(i));
                vec![]
            }
            Action::Delete => {
                if self.node_cursor == 0 {
                    self.message =
                        Some("the access node cannot be removed; edit it instead".into());
                } else if self.plan.data_nodes.len() == 1 {
                    self.message = Some("a cluster needs at least one data node".into());
                } else {
                    let gone = self.plan.data_nodes.remove(self.node_cursor - 1);
                    self.message = Some(format!("removed {}", gone.name));
                    self.node_cursor = self.node_cursor.min(self.plan.data_nodes.len());
                    self.plan_dirty = true;
                    self.revalidate();
                }
                vec![]
            }
            Action::MoveUp | Action::MoveDown => {
                let i = self.node_cursor;
                let j = if action == Action::MoveUp {
                    i.saturating_sub(1)
                } else {
                    i + 1
                };
                if i >= 1 && j >= 1 && j <= self.plan.data_nodes.len() && i != j {
                    self.plan.data_nodes.swap(i - 1, j - 1);
                    self.node_cursor = j;
                    self.plan_dirty = true;
                }
                vec![]
            }
            Action::Cancel if self.running => {
                self.message =
                    Some("cancelling: the running step finishes, the rest are skipped".into());
                vec![Cmd::Cancel]
            }
            Action::Cancel => vec![],
            Action::Save => vec![Cmd::Save],
            Action::Generate => {
                if let Some(f) = self
                    .auth_form
                    .as_mut()
                    .and_then(|f| f.fields.get_mut(f.focus))
                {
                    if f.kind == FieldKind::Secret {
                        self.message = Some(match generate_password() {
                            Some(p) => {
                                f.value = p;
                                "generated a password (kept in memory; it goes into the passfile)"
                                    .into()
                            }
                            None => {
                                "cannot generate a password here (no /dev/urandom): type one".into()
                            }
                        });
                    }
                }
                vec![]
            }
            Action::Export => vec![Cmd::Export],
            Action::Back => {
                if self.confirming {
                    self.confirming = false;
                    return vec![];
                }
                if self.form.take().is_some() || self.auth_form.take().is_some() {
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
        if self.auth_form.is_some() {
            return self.apply_auth_form();
        }
        if self.form.is_some() {
            self.save_form();
            return vec![];
        }
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
                self.revalidate();
                if let Some(p) = self.problems.first() {
                    self.message = Some(format!("fix the plan first: {}: {}", p.path, p.problem));
                    return vec![];
                }
                self.go(Screen::Credentials);
                vec![]
            }
            Screen::Credentials => {
                let role = self.superuser_edit.trim().to_string();
                if role != self.plan.superuser {
                    let mut plan = self.plan.clone();
                    let old = std::mem::replace(&mut plan.superuser, role.clone());
                    for r in &mut plan.auth.roles {
                        if *r == old {
                            *r = role.clone();
                        }
                    }
                    let plan = plan.normalized();
                    if let Some(p) = crate::plan::validate(&plan)
                        .into_iter()
                        .find(|p| p.path == "superuser" || p.path.starts_with("auth.roles"))
                    {
                        self.message = Some(format!("superuser: {} (fix: {})", p.problem, p.fix));
                        return vec![];
                    }
                    self.plan = plan;
                    self.plan_dirty = true;
                }
                self.go(Screen::Connectivity);
                self.probe()
            }
            Screen::Connectivity if self.probing => vec![],
            Screen::Connectivity => {
                self.go(Screen::Authentication);
                vec![]
            }
            Screen::Authentication => {
                self.open_auth_form();
                vec![]
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
        assert!(matches!(
            cmds.as_slice(),
            [Cmd::Probe { password: None, .. }]
        ));
        assert!(a.busy());
        // Enter waits while probing.
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Connectivity);
        a.update(Msg::Probed {
            facts: Facts::default(),
            notes: vec![],
            partial: false,
        });
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Authentication);
        a.update(key(KeyCode::Down));
        assert!(a.update(key(KeyCode::Enter)).is_empty());
        assert_eq!(a.mode(), Mode::AuthForm, "the mode's options come first");
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
            [Cmd::Probe {
                password: Some(_),
                ..
            }]
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
        assert!(
            !a.help && a.superuser_edit == "postgres?",
            "the superuser field takes text"
        );
        a.update(key(KeyCode::Backspace));
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
            for b in keys::bindings(Mode::Screen(screen)).chain(keys::GLOBAL.iter()) {
                let k = KeyEvent::new_with_kind(b.key, b.mods, KeyEventKind::Press);
                assert_eq!(
                    keys::action(Mode::Screen(screen), false, &k),
                    Some(b.action),
                    "{screen:?} {}",
                    b.label
                );
            }
        }
    }
}

#[cfg(test)]
mod editing_tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new_with_kind(
            code,
            KeyModifiers::NONE,
            KeyEventKind::Press,
        ))
    }

    fn typed(a: &mut App, text: &str) {
        for c in text.chars() {
            a.update(key(KeyCode::Char(c)));
        }
    }

    fn at_nodes() -> App {
        let plan = crate::plan::parse_plan("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n", "p").unwrap();
        let mut a = App::new(plan, "plan.toml".into());
        a.update(key(KeyCode::Enter));
        assert_eq!(a.screen, Screen::Nodes);
        a
    }

    #[test]
    fn add_a_node_from_a_uri_then_reorder_and_remove() {
        let mut a = at_nodes();
        a.update(key(KeyCode::Char('a')));
        assert_eq!(a.mode(), Mode::NodeForm);
        assert_eq!(
            a.form.as_ref().unwrap().fields[0],
            "dn2",
            "a sensible default name"
        );
        a.update(key(KeyCode::Tab));
        typed(&mut a, "postgresql://ops:pw@db2.example.com:6432/tsdb");
        a.update(key(KeyCode::Enter));
        assert!(a.form.is_none(), "{:?}", a.form);
        let dn2 = &a.plan.data_nodes[1];
        assert_eq!(
            (dn2.host.as_str(), dn2.port),
            ("db2.example.com", 6432),
            "the URI was split; its password dropped"
        );
        assert!(a.plan_dirty);
        let up = Msg::Key(KeyEvent::new_with_kind(
            KeyCode::Up,
            KeyModifiers::SHIFT,
            KeyEventKind::Press,
        ));
        a.update(up);
        assert_eq!(a.plan.data_nodes[0].name, "dn2");
        a.update(key(KeyCode::Char('d')));
        assert_eq!(a.plan.data_nodes.len(), 1);
        a.update(key(KeyCode::Char('d')));
        assert_eq!(a.plan.data_nodes.len(), 1, "the last data node stays");
    }

    #[test]
    fn a_bad_node_is_refused_inline_with_its_fix() {
        let mut a = at_nodes();
        a.update(key(KeyCode::Char('a')));
        a.update(key(KeyCode::Tab));
        typed(&mut a, "10.0.0.10");
        a.update(key(KeyCode::Enter));
        let form = a.form.as_ref().expect("the form stays open");
        let e = form.error.as_deref().unwrap();
        assert!(
            e.contains("cannot also be a data node") && e.contains("fix:"),
            "{e}"
        );
        a.update(key(KeyCode::Esc));
        assert!(
            a.form.is_none() && a.plan.data_nodes.len() == 1,
            "cancel keeps the plan"
        );
    }

    #[test]
    fn the_superuser_can_be_changed_on_the_credentials_screen() {
        let mut a = at_nodes();
        a.update(key(KeyCode::Enter));
        a.update(key(KeyCode::Tab));
        for _ in 0.."postgres".len() {
            a.update(key(KeyCode::Backspace));
        }
        typed(&mut a, "tsdbadmin");
        let cmds = a.update(key(KeyCode::Enter));
        assert!(matches!(cmds.as_slice(), [Cmd::Probe { .. }]));
        assert_eq!(a.plan.superuser, "tsdbadmin");
        assert_eq!(a.plan.auth.roles, ["tsdbadmin"], "the role list follows");
        assert!(a.plan_dirty);
    }

    #[test]
    fn quitting_with_an_unsaved_plan_offers_to_save() {
        let mut a = at_nodes();
        a.update(key(KeyCode::Char('a')));
        a.update(key(KeyCode::Tab));
        typed(&mut a, "10.0.0.12");
        a.update(key(KeyCode::Enter));
        a.update(key(KeyCode::Char('q')));
        assert!(a.confirm_quit && !a.quit);
        let cmds = a.update(key(KeyCode::Char('s')));
        assert!(matches!(cmds.as_slice(), [Cmd::Save, Cmd::Quit]));
    }
}
