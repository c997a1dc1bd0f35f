//! Authentication: the mode, then its options (roles, passfile, user
//! mappings, role passwords kept in memory, CA import, ssl directory,
//! validity), validated by the plan's own rules before the preview.

use super::{Keys, Page};
use crate::plan::AuthMode;
use crate::tui::keys::{b, Action, Binding, FIELDS, NONE};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, choice, form_popup};
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "options", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
pub static AUTH_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "preview", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the modes", true),
];
/// The same, where the form has passwords to type.
pub static AUTH_SECRET_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "preview", true),
    b(
        KeyCode::F(2),
        "F2",
        Action::Generate,
        "generate a password",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the modes", true),
];

/// The chosen mode and, once chosen, its options being edited.
#[derive(Debug, Default)]
pub struct State {
    pub choice: usize,
    pub form: Option<AuthForm>,
}

impl State {
    /// The plan's mode chosen.
    pub fn new(plan: &crate::plan::Plan) -> State {
        State {
            choice: AuthMode::ALL
                .iter()
                .position(|m| *m == plan.auth.mode)
                .unwrap_or(0),
            form: None,
        }
    }
}

impl Page for State {
    fn keys(&self) -> Keys {
        match &self.form {
            // F2 is offered only where there is a password to generate.
            Some(f) if f.fields.iter().any(|x| x.kind == FieldKind::Secret) => {
                (AUTH_SECRET_FORM, FIELDS)
            }
            Some(_) => (AUTH_FORM, FIELDS),
            None => (KEYS, NONE),
        }
    }
    fn field<'a>(&'a mut self, _sh: &'a mut Shared) -> Option<&'a mut TextField> {
        let f = self.form.as_mut()?;
        f.fields.get_mut(f.focus).map(|x| &mut x.value)
    }
    fn typing(&self) -> bool {
        self.form.is_some()
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        on_action(self, sh, action)
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
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
    pub value: TextField,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthForm {
    pub fields: Vec<AuthField>,
    pub focus: usize,
    pub error: Option<String>,
}

/// 24 random characters from the system's random source (URL-safe base64
/// of 18 bytes): for internal passwords nobody types.
pub fn generate_password() -> Option<String> {
    use base64::Engine;
    let bytes = crate::os::random_bytes(18).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    if let Some(f) = &mut st.form {
        let n = f.fields.len();
        match action {
            Action::NextField => f.focus = (f.focus + 1) % n,
            Action::PrevField => f.focus = (f.focus + n - 1) % n,
            Action::Generate => generate(st, app),
            Action::Next => return apply_form(st, app),
            Action::Back => st.form = None,
            _ => {}
        }
        return vec![];
    }
    match action {
        Action::Up => st.choice = st.choice.saturating_sub(1),
        Action::Down => st.choice = (st.choice + 1).min(2),
        Action::Next => open_form(st, app),
        Action::Back => app.back(),
        _ => {}
    }
    vec![]
}

/// F2 on a password field: a generated password, in memory only.
fn generate(st: &mut State, app: &mut Shared) {
    let Some(f) = st.form.as_mut().and_then(|f| f.fields.get_mut(f.focus)) else {
        return;
    };
    if f.kind == FieldKind::Secret {
        app.message = Some(match generate_password() {
            Some(p) => {
                f.value = p.into();
                "generated a password (kept in memory; it goes into the passfile)".into()
            }
            None => "cannot generate a password here (the system's random source failed): type one"
                .into(),
        });
    }
}

/// The options of the chosen mode, from the plan.
pub fn open_form(st: &mut State, app: &mut Shared) {
    let text = |key: &str, label: &str, value: String| AuthField {
        key: key.into(),
        label: label.into(),
        value: value.into(),
        kind: FieldKind::Text,
    };
    let mut fields = vec![text(
        "roles",
        "roles that reach the data nodes (comma-separated)",
        app.plan.auth.roles.join(", "),
    )];
    match AuthMode::ALL[st.choice] {
        AuthMode::Trust => {}
        AuthMode::Password => {
            let p = app.plan.auth.password.clone().unwrap_or_default();
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
            for role in &app.plan.auth.roles {
                let value = app.role_passwords.get(role).cloned().unwrap_or_default();
                fields.push(AuthField {
                    key: format!("password:{role}"),
                    label: format!(
                        "password of {role} (F2 generates one; empty: from the environment)"
                    ),
                    value: value.into(),
                    kind: FieldKind::Secret,
                });
            }
        }
        AuthMode::Certificate => {
            let c = app.plan.auth.certificate.clone().unwrap_or_default();
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
    st.form = Some(AuthForm {
        fields,
        focus: 0,
        error: None,
    });
}

/// Apply the options to the plan when they are valid; else say why.
fn apply_form(st: &mut State, app: &mut Shared) -> Vec<Cmd> {
    let Some(mut form) = st.form.take() else {
        return vec![];
    };
    let mode = AuthMode::ALL[st.choice];
    let mut plan = app.plan.clone();
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
            let mut p = app.plan.auth.password.clone().unwrap_or_default();
            p.passfile = get("passfile");
            p.user_mapping = matches!(
                get("user_mapping").to_ascii_lowercase().as_str(),
                "yes" | "y" | "true" | "on"
            );
            plan.auth.password = Some(p);
        }
        AuthMode::Certificate => {
            let mut c = app.plan.auth.certificate.clone().unwrap_or_default();
            c.ssl_dir = get("ssl_dir");
            c.ca_cert = get("ca_cert");
            c.ca_key = get("ca_key");
            match get("validity_days").parse() {
                Ok(d) => c.validity_days = d,
                Err(_) => {
                    form.error = Some("validity_days: not a number (fix: days, e.g. 825)".into());
                    st.form = Some(form);
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
        st.form = Some(form);
        return vec![];
    }
    for f in form.fields.iter().filter(|f| f.kind == FieldKind::Secret) {
        let role = f.key.trim_start_matches("password:").to_string();
        if f.value.is_empty() {
            app.role_passwords.remove(&role);
        } else {
            app.role_passwords.insert(role, f.value.to_string());
        }
    }
    if plan != app.plan {
        app.plan = plan;
        app.plan_dirty = true;
    }
    app.steps.clear();
    app.go(super::Screen::Preview);
    vec![Cmd::Build]
}

fn draw(f: &mut Frame, st: &State, _app: &Shared, area: Rect, theme: &Theme) {
    let texts = [
        "The data nodes admit the access node's address without a password. Quick, and anyone who can connect from that address gets in: only on a network you control.",
        "SCRAM passwords: tsmn sets each role's password from a verifier it computes and writes the access node's passfile (0600). Protects against other hosts; the password lives on the access node.",
        "Client certificates: tsmn makes a CA, server certificates and one md5-named client certificate per role, and turns TLS on everywhere. Strongest; certificates must be renewed before they expire.",
    ];
    let mut lines = vec![
        Line::from("How does the access node prove who it is to the data nodes?"),
        Line::from(""),
    ];
    for (i, m) in AuthMode::ALL.iter().enumerate() {
        lines.extend(choice(theme, st.choice == i, m.as_str(), texts[i]));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("Authentication"))
            .wrap(Wrap { trim: false }),
        area,
    );
    if let Some(form) = &st.form {
        let fields: Vec<(&str, String, bool)> = form
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let shown = match field.kind {
                    FieldKind::Text => field.value.to_string(),
                    FieldKind::Secret => crate::tui::widgets::mask(&field.value),
                };
                (field.label.as_str(), shown, i == form.focus)
            })
            .collect();
        let title = format!("{} mode: options", AuthMode::ALL[st.choice].as_str());
        // A masked field shows no cursor: where it stands would tell the length.
        let cursor = form
            .fields
            .get(form.focus)
            .filter(|x| matches!(x.kind, FieldKind::Text))
            .map(|x| x.value.cursor());
        form_popup(
            f,
            area,
            theme,
            &title,
            96,
            &fields,
            cursor,
            form.error.as_deref(),
        );
    }
}
