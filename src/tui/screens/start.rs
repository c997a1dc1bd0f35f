//! Start: set up a cluster, or troubleshoot the one the plan describes.

use crate::tui::keys::{b, Action, Binding};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, choice};
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "continue", true),
];

/// The choice on the start screen.
#[derive(Debug, Default)]
pub struct State {
    /// 0: set up, 1: troubleshoot.
    pub choice: usize,
}

pub fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::Up => st.choice = st.choice.saturating_sub(1),
        Action::Down => st.choice = (st.choice + 1).min(1),
        Action::Back => app.back(),
        Action::Next if st.choice == 1 => {
            // Troubleshooting: straight to the facts and findings.
            app.go(super::Screen::Connectivity);
            return app.probe();
        }
        Action::Next => app.go(super::Screen::Nodes),
        _ => {}
    }
    vec![]
}

pub fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::from(format!(
            "Plan: {} (access node {}, {} data node(s))",
            app.plan_path.display(),
            app.plan.access_node.name,
            app.plan.data_nodes.len()
        )),
        Line::from(""),
    ];
    lines.extend(choice(
        theme,
        st.choice == 0,
        "Set up multi-node",
        "walk through nodes, credentials, connectivity, authentication, preview and execution",
    ));
    lines.extend(choice(
        theme,
        st.choice == 1,
        "Troubleshoot this cluster",
        "probe every node now and show what stands in the way, with the fixes",
    ));
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("What do you want to do?"))
            .wrap(Wrap { trim: false }),
        area,
    );
}
