//! Preview: exactly what will run, and the confirmation before it does.

use crate::tui::keys::{b, Action, Binding};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "execute", true),
    b(KeyCode::Char('e'), "e", Action::Export, "export", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
/// The confirmation popup over the preview.
pub static CONFIRM: &[Binding] = &[
    b(
        KeyCode::Char('y'),
        "y",
        Action::Next,
        "yes, run the steps",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "no", true),
    b(KeyCode::Char('n'), "n", Action::Back, "no", false),
];

pub fn on_action(app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::Next if app.confirming => app.execute(),
        Action::Next => {
            if !app.steps.is_empty() {
                app.confirming = true;
            }
            vec![]
        }
        Action::Back if app.confirming => {
            app.confirming = false;
            vec![]
        }
        Action::Back => {
            app.back();
            vec![]
        }
        Action::Export => vec![Cmd::Export],
        a => {
            super::scroll(app, a);
            vec![]
        }
    }
}

pub fn draw(f: &mut Frame, app: &Shared, area: Rect) {
    let text = if let Some(e) = &app.build_error {
        format!("The steps could not be built:\n{e}")
    } else if app.steps.is_empty() {
        "Building the steps ...".to_string()
    } else {
        crate::report::preview::render(
            &app.plan,
            app.facts.as_ref(),
            &app.steps,
            None,
            &crate::report::preview::Style { color: false },
        )
    };
    f.render_widget(
        Paragraph::new(text)
            .block(boxed("Preview: exactly what will run"))
            .scroll((app.scroll, 0)),
        area,
    );
}
