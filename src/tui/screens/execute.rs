//! Execute: each step's state as it runs, and the log.

use super::{Keys, Page};
use crate::run::Outcome;
use crate::tui::keys::{b, Action, Binding, SCROLL};
use crate::tui::msg::Cmd;
use crate::tui::run_record::StepView;
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

/// How many lines the log is scrolled back (0: its end).
#[derive(Debug, Default)]
pub struct State {
    pub log_back: usize,
}

impl Page for State {
    fn keys(&self) -> Keys {
        (KEYS, SCROLL)
    }
    fn enabled(&self, sh: &Shared, action: Action) -> bool {
        match action {
            Action::Cancel => sh.run.running,
            Action::Retry => !sh.run.running,
            Action::Next => sh.run.finished.is_some(),
            _ => true,
        }
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
        Action::Next if app.run.finished.is_some() => {
            app.go(super::Screen::Summary);
            vec![]
        }
        Action::Retry if !app.run.running => {
            st.log_back = 0;
            app.execute()
        }
        // The pages are the log's here (the grid keeps running and failed
        // nodes in view by itself).
        Action::PageUp => {
            st.log_back = (st.log_back + 10).min(app.run.log.len());
            vec![]
        }
        Action::PageDown => {
            st.log_back = st.log_back.saturating_sub(10);
            vec![]
        }
        Action::Cancel if app.run.running => {
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
        StepView::Running { .. } => ("▸", "running"),
        StepView::Finished(Outcome::Done { .. }) => ("✓", "done"),
        StepView::Finished(Outcome::AlreadyDone { .. }) => ("=", "already done"),
        StepView::Finished(Outcome::Verified { .. }) => ("✓", "verified"),
        StepView::Finished(Outcome::Failed { .. }) => ("✗", "FAILED"),
        StepView::Finished(Outcome::Blocked { .. }) => ("⊘", "blocked"),
        StepView::Finished(Outcome::Skipped { .. }) => ("-", "skipped"),
    }
}

/// One phase of one node, as a grid cell shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// The node has no step in this phase.
    None,
    Pending,
    Partly,
    Running,
    Done,
    AlreadyDone,
    Blocked,
    Failed,
}

impl Cell {
    fn glyph(self) -> &'static str {
        match self {
            Cell::None => " ",
            Cell::Pending => "·",
            Cell::Partly => "…",
            Cell::Running => "▸",
            Cell::Done => "✓",
            Cell::AlreadyDone => "=",
            Cell::Blocked => "⊘",
            Cell::Failed => "✗",
        }
    }
}

/// A row of the grid: a node, a cell per phase, what it does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub node: String,
    pub cells: [Cell; 4],
    pub now: String,
    /// 0 failed, 1 running, 2 the rest: the order rows keep their place in
    /// when the grid does not fit.
    pub rank: u8,
}

fn cell(views: &[&StepView]) -> Cell {
    let finished = |v: &&&StepView| matches!(v, StepView::Finished(_));
    if views.is_empty() {
        Cell::None
    } else if views
        .iter()
        .any(|v| matches!(v, StepView::Finished(Outcome::Failed { .. })))
    {
        Cell::Failed
    } else if views.iter().any(|v| matches!(v, StepView::Running { .. })) {
        Cell::Running
    } else if views
        .iter()
        .any(|v| matches!(v, StepView::Finished(Outcome::Blocked { .. })))
    {
        Cell::Blocked
    } else if views.iter().all(|v| finished(&v)) {
        // Changed or proven in this run: ✓; everything already so: =.
        if views.iter().any(|v| {
            matches!(
                v,
                StepView::Finished(Outcome::Done { .. } | Outcome::Verified { .. })
            )
        }) {
            Cell::Done
        } else {
            Cell::AlreadyDone
        }
    } else if views.iter().any(|v| finished(&v)) {
        Cell::Partly
    } else {
        Cell::Pending
    }
}

/// The grid's rows, in plan order (pure: the snapshot tests and the
/// benchmark see the same).
pub fn rows(app: &Shared) -> Vec<Row> {
    app.plan
        .nodes()
        .map(|n| {
            let mine: Vec<(&crate::steps::Step, &StepView)> = app
                .steps
                .iter()
                .zip(&app.run.step_views)
                .filter(|(s, _)| s.node == n.name)
                .collect();
            let cells = crate::steps::Phase::ALL.map(|ph| {
                let views: Vec<&StepView> = mine
                    .iter()
                    .filter(|(s, _)| s.phase == ph)
                    .map(|(_, v)| *v)
                    .collect();
                cell(&views)
            });
            let running = mine.iter().find_map(|(s, v)| match v {
                StepView::Running { since } => Some((s, *since)),
                _ => None,
            });
            let failed = mine
                .iter()
                .find(|(_, v)| matches!(v, StepView::Finished(Outcome::Failed { .. })));
            let (now, rank) = match (failed, running) {
                (Some((s, _)), _) => (format!("FAILED: {}", s.title), 0),
                // The time first: a narrow screen cuts the title, not it.
                (None, Some((s, since))) => (
                    format!(
                        "{:.1} s  {}",
                        app.tick.saturating_sub(since) as f64 / 10.0,
                        s.title
                    ),
                    1,
                ),
                (None, None) if cells.contains(&Cell::Blocked) => {
                    ("blocked (see the log)".into(), 2)
                }
                (None, None)
                    if cells
                        .iter()
                        .all(|c| matches!(c, Cell::None | Cell::Done | Cell::AlreadyDone)) =>
                {
                    ("done".into(), 2)
                }
                (None, None) => (String::new(), 2),
            };
            Row {
                node: n.name.clone(),
                cells,
                now,
                rank,
            }
        })
        .collect()
}

/// The rows that fit in `height`: the failed and running ones first, then
/// the others from `skip` on (↑/↓ scroll them).
pub fn visible(rows: Vec<Row>, height: usize, skip: usize) -> (Vec<Row>, usize) {
    if rows.len() <= height {
        return (rows, 0);
    }
    let (mut pinned, rest): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| r.rank < 2);
    pinned.truncate(height.saturating_sub(1));
    let room = height.saturating_sub(pinned.len() + 1);
    let skip = skip.min(rest.len().saturating_sub(room));
    let hidden = rest.len() - room.min(rest.len() - skip);
    pinned.extend(rest.into_iter().skip(skip).take(room));
    (pinned, hidden)
}

fn cell_style(c: Cell, theme: &Theme) -> Style {
    match c {
        Cell::Failed => theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        Cell::Running => theme.bold(),
        Cell::Done => theme.fg(Color::Green),
        Cell::Blocked => theme.fg(Color::Yellow),
        _ => Style::default(),
    }
}

fn title(app: &Shared) -> String {
    let failed = app
        .run
        .step_views
        .iter()
        .any(|v| matches!(v, StepView::Finished(Outcome::Failed { .. })));
    match (app.run.finished, failed) {
        (None, _) => "Execute: running".to_string(),
        (Some(_), true) => {
            "Execute: stopped at a failure (see the log; r runs again and resumes)".to_string()
        }
        (Some(true), false) => "Execute: finished".to_string(),
        (Some(false), false) => {
            "Execute: finished what it could; blocked steps are waiting (see the log)".to_string()
        }
    }
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    let [grid_area, log_area] =
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    let w = app
        .plan
        .nodes()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut lines = vec![Line::from(Span::styled(
        format!("{:<w$}  settings auth cluster verify  now", "node"),
        theme.bold(),
    ))];
    let height = grid_area.height.saturating_sub(3) as usize;
    let (shown, hidden) = visible(rows(app), height, app.scroll as usize);
    for r in &shown {
        let mut spans = vec![Span::raw(format!("{:<w$}  ", r.node))];
        for (c, width) in r.cells.iter().zip([8, 4, 7, 6]) {
            spans.push(Span::styled(
                format!("{:^width$}", c.glyph()),
                cell_style(*c, theme),
            ));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw(format!(" {}", r.now)));
        lines.push(Line::from(spans));
    }
    if hidden > 0 {
        lines.push(Line::from(format!(
            "… {hidden} more node(s), none running or failed (↑/↓ scroll)"
        )));
    }
    f.render_widget(Paragraph::new(lines).block(boxed(&title(app))), grid_area);
    let inner = log_area.height.saturating_sub(2) as usize;
    let log = &app.run.log;
    let end = log.len().saturating_sub(st.log_back.min(log.len()));
    let start = end.saturating_sub(inner);
    let log_lines: Vec<Line> = log[start..end]
        .iter()
        .map(|l| Line::from(l.as_str()))
        .collect();
    let log_title = if st.log_back > 0 {
        format!("Log ({} line(s) back; PgDn to the end)", log.len() - end)
    } else {
        "Log (PgUp scrolls back)".to_string()
    };
    f.render_widget(
        Paragraph::new(log_lines)
            .block(boxed(&log_title))
            .wrap(Wrap { trim: false }),
        log_area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(node: &str, rank: u8) -> Row {
        Row {
            node: node.into(),
            cells: [Cell::None; 4],
            now: String::new(),
            rank,
        }
    }

    #[test]
    fn running_and_failed_nodes_stay_in_view() {
        let mut rows: Vec<Row> = (0..64).map(|i| row(&format!("dn{i}"), 2)).collect();
        rows[40].rank = 1;
        rows[63].rank = 0;
        let (shown, hidden) = visible(rows, 10, 0);
        let names: Vec<&str> = shown.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(&names[..3], ["dn40", "dn63", "dn0"]);
        assert_eq!(shown.len(), 9);
        assert_eq!(hidden, 62 - 7);
    }

    #[test]
    fn a_phase_cell_is_its_worst_step() {
        let done = StepView::Finished(Outcome::Done {
            detail: String::new(),
        });
        let failed = StepView::Finished(Outcome::Failed {
            message: String::new(),
        });
        assert_eq!(cell(&[]), Cell::None);
        assert_eq!(cell(&[&done, &failed]), Cell::Failed);
        assert_eq!(cell(&[&done, &StepView::Pending]), Cell::Partly);
        assert_eq!(
            cell(&[&done, &StepView::Running { since: 0 }]),
            Cell::Running
        );
        assert_eq!(cell(&[&done]), Cell::Done);
    }
}
