//! Summary: what the run did, the backups it made, and what to do next.

use super::{Keys, Page};
use crate::run::Outcome;
use crate::tui::keys::{b, Action, Binding, NONE};
use crate::tui::msg::Cmd;
use crate::tui::run_record::StepView;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Char('s'), "s", Action::Save, "save the plan", true),
    b(
        KeyCode::Char('e'),
        "e",
        Action::Export,
        "export the script",
        true,
    ),
    b(
        KeyCode::Char('w'),
        "w",
        Action::Watch,
        "watch the cluster",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the steps", true),
];

/// The summary keeps nothing of its own: it reads the run's record.
#[derive(Debug, Default)]
pub struct State;

impl Page for State {
    fn keys(&self) -> Keys {
        (KEYS, NONE)
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        on_action(sh, action)
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, sh, area, theme)
    }
}

fn on_action(app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::Save => vec![Cmd::Save],
        Action::Export => vec![Cmd::Export],
        Action::Watch => app.watch(),
        Action::Back => {
            app.back();
            vec![]
        }
        _ => vec![],
    }
}

fn draw(f: &mut Frame, app: &Shared, area: Rect, theme: &Theme) {
    let count = |pred: fn(&StepView) -> bool| app.run.step_views.iter().filter(|v| pred(v)).count();
    let done = count(|v| matches!(v, StepView::Finished(Outcome::Done { .. })));
    let already = count(|v| matches!(v, StepView::Finished(Outcome::AlreadyDone { .. })));
    let failed = count(|v| matches!(v, StepView::Finished(Outcome::Failed { .. })));
    let blocked = count(|v| matches!(v, StepView::Finished(Outcome::Blocked { .. })));
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                "{done} step(s) done, {already} already done, {failed} failed, {blocked} blocked"
            ),
            theme.bold(),
        )),
        Line::from(""),
    ];
    // What this run proved from the access node, link by link.
    let outcomes: Vec<Option<&Outcome>> = app
        .run
        .step_views
        .iter()
        .map(|v| match v {
            StepView::Finished(o) => Some(o),
            _ => None,
        })
        .collect();
    let map = crate::report::map::from_run(&app.plan, &app.steps, &outcomes);
    lines.extend(crate::tui::widgets::map_lines(&map, theme));
    lines.push(Line::from(""));
    lines.push(Line::from("Backups made:"));
    let backups: Vec<&String> = app
        .run
        .log
        .iter()
        .filter(|l| l.contains("backup "))
        .collect();
    if backups.is_empty() {
        lines.push(Line::from("  none"));
    }
    for b in backups {
        lines.push(Line::from(format!(
            "  {}",
            b.rsplit("backup ").next().unwrap_or(b)
        )));
    }
    lines.push(Line::from(""));
    // Where tsmn itself got in from this machine (the sandbox's access node
    // admits only its socket), quoted for the shell.
    let an = &app.plan.access_node;
    let word = crate::quote::shell::word;
    lines.push(Line::from(format!(
        "Connect to the cluster: psql -h {} -p {} -U {} {}",
        word(an.effective_connect_host()),
        an.effective_connect_port(),
        word(&app.plan.superuser),
        word(&app.plan.database)
    )));
    lines.push(Line::from(format!(
        "Check it any time:      tsmn check --plan {}",
        app.plan_path.display()
    )));
    if blocked > 0 {
        lines.push(Line::from("Next: install TimescaleDB 2.13 on every node, then run the wizard again (finished steps are skipped)."));
    } else if failed > 0 {
        lines.push(Line::from(
            "Next: fix what the log names, then run again: tsmn apply resumes where it stopped.",
        ));
    } else {
        lines.push(Line::from(
            "Next: CREATE TABLE ...; SELECT create_distributed_hypertable('t', 'time', 'device');",
        ));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("Summary"))
            .wrap(Wrap { trim: false }),
        area,
    );
}
