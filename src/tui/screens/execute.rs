//! Execute: each step's state as it runs, and the log.

use crate::run::Outcome;
use crate::tui::keys::{b, Action, Binding};
use crate::tui::msg::{Cmd, StepView};
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

// Cancel first: a narrow footer keeps the keys that come first.
pub static KEYS: &[Binding] = &[
    b(
        KeyCode::Char('c'),
        "c",
        Action::Cancel,
        "stop after the running step",
        true,
    ),
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "summary (when done)",
        true,
    ),
    b(
        KeyCode::Char('r'),
        "r",
        Action::Retry,
        "run again (resume)",
        true,
    ),
];

pub fn on_action(app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::Next if app.finished.is_some() => {
            app.go(super::Screen::Summary);
            vec![]
        }
        Action::Retry if !app.running => app.execute(),
        Action::Cancel if app.running => {
            app.message =
                Some("cancelling: the running step finishes, the rest are skipped".into());
            vec![Cmd::Cancel]
        }
        Action::Back => {
            app.back();
            vec![]
        }
        a => {
            super::scroll(app, a);
            vec![]
        }
    }
}

pub fn glyph(v: &StepView) -> (&'static str, &'static str) {
    match v {
        StepView::Pending => ("·", "pending"),
        StepView::Running => ("▸", "running"),
        StepView::Finished(Outcome::Done { .. }) => ("✓", "done"),
        StepView::Finished(Outcome::AlreadyDone { .. }) => ("=", "already done"),
        StepView::Finished(Outcome::Verified { .. }) => ("✓", "verified"),
        StepView::Finished(Outcome::Failed { .. }) => ("✗", "FAILED"),
        StepView::Finished(Outcome::Blocked { .. }) => ("⊘", "blocked"),
        StepView::Finished(Outcome::Skipped { .. }) => ("-", "skipped"),
    }
}

pub fn draw(f: &mut Frame, app: &Shared, area: Rect, theme: &Theme) {
    let [steps_area, log_area] =
        Layout::vertical([Constraint::Percentage(65), Constraint::Percentage(35)]).areas(area);
    let mut lines = Vec::new();
    for (s, v) in app.steps.iter().zip(&app.step_views) {
        let (g, word) = glyph(v);
        let style = match v {
            StepView::Finished(Outcome::Failed { .. }) => {
                theme.fg(Color::Red).add_modifier(Modifier::BOLD)
            }
            StepView::Running => theme.bold(),
            StepView::Finished(Outcome::Done { .. }) => theme.fg(Color::Green),
            _ => Style::default(),
        };
        lines.push(Line::from(Span::styled(
            format!(
                " {g} {:<8} {:<8} {:<40} {word}",
                s.node,
                s.phase.as_str(),
                s.title
            ),
            style,
        )));
    }
    let failed = app
        .step_views
        .iter()
        .any(|v| matches!(v, StepView::Finished(Outcome::Failed { .. })));
    let title = match (app.finished, failed) {
        (None, _) => "Execute: running".to_string(),
        (Some(_), true) => {
            "Execute: stopped at a failure (see the log; r runs again and resumes)".to_string()
        }
        (Some(true), false) => "Execute: finished".to_string(),
        (Some(false), false) => {
            "Execute: finished what it could; blocked steps are waiting (see the log)".to_string()
        }
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed(&title))
            .scroll((app.scroll, 0)),
        steps_area,
    );
    let start = app
        .log
        .len()
        .saturating_sub(log_area.height.saturating_sub(2) as usize);
    let log: Vec<Line> = app.log[start..]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    f.render_widget(
        Paragraph::new(log)
            .block(boxed("Log"))
            .wrap(Wrap { trim: false }),
        log_area,
    );
}
