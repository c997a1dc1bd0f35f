//! Nodes: the access node and the data nodes of the plan; add, edit,
//! remove and reorder them, each checked by the plan's own validation.

use super::{Keys, Page};
use crate::plan::Node;
use crate::tui::keys::{b, shift, Action, Binding, FIELDS, NONE};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, form_popup};
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "continue", true),
    b(
        KeyCode::Char('a'),
        "a",
        Action::Add,
        "add a data node",
        true,
    ),
    b(KeyCode::Char('e'), "e", Action::Edit, "edit", true),
    b(KeyCode::Char('d'), "d", Action::Delete, "remove", true),
    shift(KeyCode::Up, "Shift-↑", Action::MoveUp, "move up"),
    shift(KeyCode::Down, "Shift-↓", Action::MoveDown, "move down"),
    b(KeyCode::Up, "↑", Action::Up, "select", false),
    b(KeyCode::Down, "↓", Action::Down, "select", false),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
pub static NODE_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "save the node", true),
    b(KeyCode::Esc, "Esc", Action::Back, "cancel", true),
];

/// Labels of the node form's fields, in order.
pub const FORM_FIELDS: [&str; 4] = [
    "name",
    "host (as the access node reaches it; or a postgresql:// URI)",
    "port",
    "connect host (optional: where tsmn connects, if different)",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeForm {
    /// Position in plan.nodes() (0 is the access node); None adds a data node.
    pub index: Option<usize>,
    pub fields: [TextField; 4],
    pub focus: usize,
    pub error: Option<String>,
}

/// The node list's cursor, and the node being added or edited.
#[derive(Debug, Default)]
pub struct State {
    pub cursor: usize,
    pub form: Option<NodeForm>,
}

impl Page for State {
    fn keys(&self) -> Keys {
        if self.form.is_some() {
            (NODE_FORM, FIELDS)
        } else {
            (KEYS, NONE)
        }
    }
    fn field<'a>(&'a mut self, _sh: &'a mut Shared) -> Option<&'a mut TextField> {
        let f = self.form.as_mut()?;
        Some(&mut f.fields[f.focus])
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

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    if let Some(f) = &mut st.form {
        match action {
            Action::NextField => f.focus = (f.focus + 1) % 4,
            Action::PrevField => f.focus = (f.focus + 3) % 4,
            Action::Next => save_form(st, app),
            Action::Back => st.form = None,
            _ => {}
        }
        return vec![];
    }
    match action {
        Action::Up => st.cursor = st.cursor.saturating_sub(1),
        Action::Down => st.cursor = (st.cursor + 1).min(app.plan.data_nodes.len()),
        Action::Add => open_form(st, app, None),
        Action::Edit => open_form(st, app, Some(st.cursor)),
        Action::Delete => delete(st, app),
        Action::MoveUp | Action::MoveDown => reorder(st, app, action == Action::MoveUp),
        Action::Back => app.back(),
        Action::Next => {
            if let Some(p) = app.problems().first() {
                app.message = Some(format!("fix the plan first: {}: {}", p.path, p.problem));
            } else {
                app.go(super::Screen::Credentials);
            }
        }
        _ => {}
    }
    vec![]
}

fn delete(st: &mut State, app: &mut Shared) {
    if st.cursor == 0 {
        app.message = Some("the access node cannot be removed; edit it instead".into());
    } else if app.plan.data_nodes.len() == 1 {
        app.message = Some("a cluster needs at least one data node".into());
    } else {
        let gone = app.plan.data_nodes.remove(st.cursor - 1);
        app.message = Some(format!("removed {}", gone.name));
        st.cursor = st.cursor.min(app.plan.data_nodes.len());
        app.plan_dirty = true;
    }
}

fn reorder(st: &mut State, app: &mut Shared, up: bool) {
    let i = st.cursor;
    let j = if up { i.saturating_sub(1) } else { i + 1 };
    if i >= 1 && j >= 1 && j <= app.plan.data_nodes.len() && i != j {
        app.plan.data_nodes.swap(i - 1, j - 1);
        st.cursor = j;
        app.plan_dirty = true;
    }
}

pub fn open_form(st: &mut State, app: &mut Shared, index: Option<usize>) {
    let fields = match index.and_then(|i| app.plan.nodes().nth(i)) {
        Some(n) => [
            n.name.as_str().into(),
            n.host.as_str().into(),
            n.port.to_string().into(),
            n.connect_host.clone().unwrap_or_default().into(),
        ],
        None => [
            format!("dn{}", app.plan.data_nodes.len() + 1).into(),
            TextField::default(),
            "5432".into(),
            TextField::default(),
        ],
    };
    st.form = Some(NodeForm {
        index,
        fields,
        focus: if index.is_some() { 1 } else { 0 },
        error: None,
    });
}

/// Save the form into the plan when the node is valid; else say why.
fn save_form(st: &mut State, app: &mut Shared) {
    let Some(mut form) = st.form.take() else {
        return;
    };
    // A pasted connection string: its host and port, or why it cannot be
    // used (a user or database other than the plan's, a password...).
    if crate::plan::dsn::looks_like_one(&form.fields[1]) {
        match crate::plan::dsn::host_and_port(
            &form.fields[1],
            &app.plan,
            &crate::plan::system::System,
        ) {
            Ok((host, port)) => {
                form.fields[1] = host.into();
                if let Some(p) = port {
                    form.fields[2] = p.to_string().into();
                }
            }
            Err(why) => {
                form.error = Some(format!("host: the connection string {why}"));
                st.form = Some(form);
                return;
            }
        }
    }
    let port: i64 = match form.fields[2].trim().parse() {
        Ok(p) => p,
        Err(_) => {
            form.error = Some(format!(
                "port: `{}` is not a number; fix: a port from 1 to 65535",
                form.fields[2]
            ));
            st.form = Some(form);
            return;
        }
    };
    let mut candidate = app.plan.clone();
    // What the form does not show stays as it was (the hypertables an
    // added data node joins, chosen on the preview screen).
    let kept = form
        .index
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| candidate.data_nodes.get(i))
        .and_then(|n| n.hypertables.clone());
    let node = Node {
        name: form.fields[0].trim().to_string(),
        host: crate::plan::address::normalize_host(form.fields[1].trim()),
        port,
        connect_host: Some(form.fields[3].trim().to_string()).filter(|h| !h.is_empty()),
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: kept,
    };
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
        st.form = Some(form);
        return;
    }
    app.plan = candidate;
    st.cursor = index;
    app.plan_dirty = true;
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "  {:<10} {:<7} {:<28} {}",
            "NAME", "ROLE", "ADDRESS (from the access node)", "TSMN CONNECTS TO"
        ),
        theme.bold(),
    ))];
    for (i, n) in app.plan.nodes().enumerate() {
        let role = if i == 0 { "access" } else { "data" };
        let reach = format!("{}:{}", n.host, n.port);
        let connect = format!(
            "{}:{}",
            n.effective_connect_host(),
            n.effective_connect_port()
        );
        let marker = if i == st.cursor { ">" } else { " " };
        let text = format!("{marker} {:<10} {role:<7} {reach:<28} {connect}", n.name);
        lines.push(Line::from(Span::styled(
            text,
            if i == st.cursor {
                theme.selected()
            } else {
                Style::default()
            },
        )));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "Database {} · superuser {}{}",
        app.plan.database,
        app.plan.superuser,
        if app.plan_dirty {
            " · changed, not saved yet (s on the summary, or asked when you quit)"
        } else {
            ""
        }
    )));
    for p in &app.problems() {
        lines.push(Line::from(Span::styled(
            format!("✗ {}: {}", p.path, p.problem),
            theme.fg(Color::Red),
        )));
        lines.push(Line::from(format!("    fix: {}", p.fix)));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("Nodes"))
            .wrap(Wrap { trim: false }),
        area,
    );
    if let Some(form) = &st.form {
        let title = match form.index {
            None => "Add a data node",
            Some(0) => "Edit the access node",
            Some(_) => "Edit a data node",
        };
        let fields: Vec<(&str, String, bool)> = FORM_FIELDS
            .iter()
            .enumerate()
            .map(|(i, label)| (*label, form.fields[i].to_string(), i == form.focus))
            .collect();
        form_popup(
            f,
            area,
            theme,
            title,
            76,
            &fields,
            Some(form.fields[form.focus].cursor()),
            form.error.as_deref(),
        );
    }
}
