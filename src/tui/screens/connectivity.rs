//! Connectivity: every node probed in parallel, each shown as it comes
//! in, then the report with the findings; probe one node or all again.

use super::{Keys, Page};
use crate::tui::keys::{b, Action, Binding, SCROLL};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, SPINNER};
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "choose authentication",
        true,
    ),
    b(
        KeyCode::Tab,
        "Tab",
        Action::NextField,
        "select a node",
        false,
    ),
    b(
        KeyCode::BackTab,
        "Shift-Tab",
        Action::PrevField,
        "select the previous node",
        false,
    ),
    b(
        KeyCode::Char('r'),
        "r",
        Action::Retry,
        "probe the selected node again",
        true,
    ),
    b(
        KeyCode::Char('a'),
        "a",
        Action::RetryAll,
        "probe all again",
        true,
    ),
    b(
        KeyCode::Char('e'),
        "e",
        Action::Edit,
        "edit the selected node",
        false,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];

/// The selected node, and the probe's progress: the tick it started at,
/// and each finished node with whether tsmn got in and the tick it
/// finished at (the app starts it over whenever a screen starts a probe).
#[derive(Debug, Default)]
pub struct State {
    pub selected: usize,
    pub probe_started: u64,
    pub probe_done: Vec<(String, bool, u64)>,
}

impl State {
    /// A probe begins at `tick`.
    pub fn probe_started(&mut self, tick: u64) {
        self.probe_started = tick;
        self.probe_done.clear();
    }
}

impl Page for State {
    fn keys(&self) -> Keys {
        (KEYS, SCROLL)
    }
    fn enabled(&self, sh: &Shared, action: Action) -> bool {
        !(sh.probing && matches!(action, Action::Retry | Action::RetryAll | Action::Next))
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        on_action(self, sh, action)
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
}

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    let n = app.plan.nodes().count();
    match action {
        Action::NextField => st.selected = (st.selected + 1) % n,
        Action::PrevField => st.selected = (st.selected + n - 1) % n,
        Action::Retry if !app.probing => return probe_one(st, app),
        Action::RetryAll if !app.probing => return app.probe(),
        Action::Next if !app.probing => app.go(super::Screen::Authentication),
        Action::Back => app.back(),
        a => super::scroll(app, a),
    }
    vec![]
}

fn probe_one(st: &mut State, app: &mut Shared) -> Vec<Cmd> {
    let Some(name) = app.plan.nodes().nth(st.selected).map(|n| n.name.clone()) else {
        return vec![];
    };
    app.probing = true;
    app.message = Some(format!("probing {name} again"));
    let password = app.typed_password();
    vec![Cmd::Probe {
        password,
        nodes: vec![name],
    }]
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    if app.probing || app.facts.is_none() {
        let spin = SPINNER[(app.tick % 4) as usize];
        let secs = |t: u64| t.saturating_sub(st.probe_started) as f64 / 10.0;
        let mut lines = vec![Line::from(format!(
            "Probing every node in parallel ({:.1} s) ...",
            secs(app.tick)
        ))];
        for n in app.plan.nodes() {
            let target = format!(
                "{:<10} {}:{}",
                n.name,
                n.effective_connect_host(),
                n.effective_connect_port()
            );
            let line = match st.probe_done.iter().find(|(name, _, _)| *name == n.name) {
                Some((_, true, at)) => Line::from(vec![
                    Span::styled(" ✓ ", theme.fg(Color::Green)),
                    Span::raw(format!("{target}  connected ({:.1} s)", secs(*at))),
                ]),
                Some((_, false, at)) => Line::from(vec![
                    Span::styled(" ✗ ", theme.fg(Color::Red).add_modifier(Modifier::BOLD)),
                    Span::raw(format!(
                        "{target}  FAILED ({:.1} s); the report follows",
                        secs(*at)
                    )),
                ]),
                None => Line::from(vec![
                    Span::styled(format!(" {spin} "), theme.bold()),
                    Span::raw(format!("{target}  {:.1} s", secs(app.tick))),
                ]),
            };
            lines.push(line);
        }
        f.render_widget(Paragraph::new(lines).block(boxed("Connectivity")), area);
        return;
    }
    let facts = app.facts.as_ref().expect("checked above");
    let selected = app
        .plan
        .nodes()
        .nth(st.selected)
        .map(|n| n.name.as_str())
        .unwrap_or("");
    let map = crate::report::map::from_facts(&app.plan, facts);
    let mut lines = vec![
        Line::from(format!(
            "Selected: {selected} (Tab selects another; r probes it again, a probes all, e edits it)"
        )),
        Line::from(""),
    ];
    lines.extend(crate::tui::widgets::map_lines(&map, theme));
    lines.push(Line::from(""));
    lines.extend(
        crate::report::check::human(facts, &app.findings, &app.notes)
            .lines()
            .map(|l| Line::from(l.to_string())),
    );
    let blockers = crate::findings::blockers(&app.findings);
    let title = if blockers == 0 {
        "Connectivity: nothing blocks".to_string()
    } else {
        format!("Connectivity: {blockers} blocker(s)")
    };
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed(&title))
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}
