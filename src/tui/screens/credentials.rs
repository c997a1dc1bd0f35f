//! Credentials: the superuser's password (kept in memory only) and the
//! superuser role itself.

use super::{Keys, Page};
use crate::tui::keys::{b, Action, Binding, FIELDS};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "test connectivity",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];

/// Which field has focus (0: password, 1: superuser, 2: continue), and the
/// superuser role as typed. The password itself is the app's (the tasks use it).
#[derive(Debug, Default)]
pub struct State {
    pub field: usize,
    pub superuser_edit: TextField,
}

impl State {
    pub fn new(plan: &crate::plan::Plan) -> State {
        State {
            field: 0,
            superuser_edit: plan.superuser.as_str().into(),
        }
    }
}

impl Page for State {
    fn keys(&self) -> Keys {
        (KEYS, FIELDS)
    }
    fn field<'a>(&'a mut self, sh: &'a mut Shared) -> Option<&'a mut TextField> {
        match self.field {
            0 => Some(&mut sh.password),
            1 => Some(&mut self.superuser_edit),
            _ => None,
        }
    }
    fn typing(&self) -> bool {
        self.field < 2
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        on_action(self, sh, action)
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
}

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::NextField => st.field = (st.field + 1) % 3,
        Action::PrevField => st.field = (st.field + 2) % 3,
        Action::Back => app.back(),
        Action::Next => return next(st, app),
        _ => {}
    }
    vec![]
}

/// Take the superuser as typed (renaming it among the plan's roles too),
/// then probe every node.
fn next(st: &mut State, app: &mut Shared) -> Vec<Cmd> {
    let role = st.superuser_edit.trim().to_string();
    if role != app.plan.superuser {
        let mut plan = app.plan.clone();
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
            app.message = Some(format!("superuser: {} (fix: {})", p.problem, p.fix));
            return vec![];
        }
        app.plan = plan;
        app.plan_dirty = true;
    }
    app.go(super::Screen::Connectivity);
    app.probe()
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    let masked = crate::tui::widgets::mask(&app.password);
    let field = |focused: bool| {
        if focused {
            theme.selected()
        } else {
            Style::default()
        }
    };
    let lines = vec![
        Line::from(vec![
            Span::raw("Password:  "),
            Span::styled(format!("[{masked:<24}]"), field(st.field == 0)),
        ]),
        Line::from("  Leave empty to use the variable the plan names, PGPASSWORD, or ~/.pgpass."),
        Line::from("  The password stays in memory: it is never written to the plan or a log."),
        Line::from(""),
        Line::from(
            vec![Span::raw("Superuser: ")]
                .into_iter()
                .chain(crate::tui::text_field::spans(
                    &st.superuser_edit,
                    24,
                    field(st.field == 1),
                    (st.field == 1).then_some(st.superuser_edit.cursor()),
                ))
                .collect::<Vec<_>>(),
        ),
        Line::from(
            "  The role tsmn connects as; the access node reaches the data nodes as it too.",
        ),
        Line::from(""),
        Line::from(Span::styled("[ Test connectivity ]", field(st.field == 2))),
    ];
    f.render_widget(Paragraph::new(lines).block(boxed("Credentials")), area);
}
