//! Cluster: the running cluster at a glance, refreshed every two seconds
//! (what `tsmn status --watch` shows): each node up or down with its
//! versions and size, each link access node -> data node with its round
//! trip, chunks per data node of each distributed hypertable, rows and
//! bytes per second since the last refresh, and what needs attention with
//! the code `tsmn check` explains. Reached from the start screen and from
//! the summary; Esc goes back there and stops the refresh.

use super::{Keys, Page, Screen};
use crate::status::{problems, rates, render, Limits, Snapshot};
use crate::tui::keys::{b, Action, Binding, SCROLL};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Char('r'), "r", Action::Retry, "refresh now", true),
    b(
        KeyCode::Char('l'),
        "l",
        Action::RetryAll,
        "test links between data nodes",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];

#[derive(Debug, Default)]
pub struct State {
    /// The newest snapshot and the one before it (for the rates).
    now: Option<Box<Snapshot>>,
    before: Option<Box<Snapshot>>,
    /// Why no snapshot can be taken (the plan's TLS files, say).
    error: Option<String>,
    /// Where Esc goes back to.
    from: Option<Screen>,
    /// Refreshes seen since the screen opened.
    pub refreshes: u64,
    /// The links between data nodes are being tested (until the next snapshot).
    peer_links_asked: bool,
}

impl State {
    /// The screen opened from `from` (the refresh starts): what an earlier
    /// visit saw is gone.
    pub fn opened(&mut self, from: Screen) {
        *self = State {
            from: Some(from),
            ..State::default()
        };
    }
}

/// A snapshot in (or why there is none).
pub fn status(st: &mut State, sh: &mut Shared, s: Result<Box<Snapshot>, String>) {
    if sh.screen != Screen::Cluster {
        return;
    }
    match s {
        Ok(s) => {
            st.before = st.now.take();
            st.now = Some(s);
            st.error = None;
            st.refreshes += 1;
            st.peer_links_asked = false;
            sh.message = None;
        }
        Err(e) => st.error = Some(e),
    }
}

impl Page for State {
    fn keys(&self) -> Keys {
        (KEYS, SCROLL)
    }
    fn enabled(&self, _sh: &Shared, action: Action) -> bool {
        // The links between data nodes are tested once per ask.
        !(action == Action::RetryAll && self.peer_links_asked)
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        match action {
            Action::Retry => vec![Cmd::WatchNow],
            Action::RetryAll if !self.peer_links_asked => {
                self.peer_links_asked = true;
                sh.message =
                    Some("testing every link between data nodes in the next refresh ...".into());
                vec![Cmd::WatchPeerLinks]
            }
            Action::Back => {
                sh.go(self.from.unwrap_or(Screen::Start));
                vec![Cmd::StopWatch]
            }
            a => {
                super::scroll(sh, a);
                vec![]
            }
        }
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
}

fn draw(f: &mut Frame, st: &State, sh: &Shared, area: Rect, theme: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &st.error {
        lines.push(Line::from(Span::styled(
            format!("cannot read the cluster: {e}"),
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    match &st.now {
        None => lines.push(Line::from("waiting for the first snapshot ...")),
        Some(now) => {
            let found = problems(now, &Limits::from_env());
            let moved = st.before.as_ref().map(|b| rates(b, now));
            lines.push(Line::from(Span::styled(
                format!(
                    "refresh {} · every {} s",
                    st.refreshes,
                    crate::tui::watch::EVERY.as_secs()
                ),
                theme.dim(),
            )));
            lines.extend(
                render::text(now, &found, moved.as_deref())
                    .lines()
                    .map(|l| Line::from(l.to_string())),
            );
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((sh.scroll, 0))
            .block(boxed("Cluster (live)")),
        area,
    );
}
