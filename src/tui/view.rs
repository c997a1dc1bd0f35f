//! Drawing: a pure function of the state. State is never shown by colour
//! alone: glyphs, bold and reverse carry it, and colour only adds to it.

use super::app::{App, Screen, StepView};
use super::keys;
use crate::plan::AuthMode;
use crate::run::Outcome;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
}

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn draw(f: &mut Frame, app: &App, theme: &Theme) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "The terminal is too small: {}x{}.\nThe wizard needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\nEnlarge the window, or press q to quit.\n(The same steps run without a screen: tsmn check, preview, apply.)",
            area.width, area.height
        );
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(5),
        Constraint::Length(2),
    ])
    .areas(area);
    draw_header(f, app, header, theme);
    match app.screen {
        Screen::Start => start(f, app, body, theme),
        Screen::Nodes => nodes(f, app, body, theme),
        Screen::Credentials => credentials(f, app, body, theme),
        Screen::Connectivity => connectivity(f, app, body, theme),
        Screen::Authentication => authentication(f, app, body, theme),
        Screen::Preview => preview(f, app, body),
        Screen::Execute => execute(f, app, body, theme),
        Screen::Summary => summary(f, app, body, theme),
    }
    draw_footer(f, app, footer, theme);
    if app.confirming {
        popup(
            f,
            area,
            "Run the steps?",
            "tsmn will change the nodes as previewed. Files are backed up first;\npg_hba.conf is checked before each reload. Nodes on this host that\nneed it are restarted; for the others tsmn says how and waits.\n\ny: run   Esc: not now",
        );
    }
    if app.confirm_quit {
        popup(
            f,
            area,
            "Quit?",
            "Work is still running.\ny: quit anyway   any other key: stay",
        );
    }
    if app.help {
        help(f, app, area);
    }
}

fn draw_header(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let mut spans = vec![Span::styled("tsmn ", theme.bold())];
    spans.push(Span::raw(format!(
        "{} · {} mode · ",
        app.plan_path.display(),
        app.plan.auth.mode.as_str()
    )));
    let full: usize = Screen::ORDER.iter().map(|s| s.title().len() + 3).sum();
    let crumbs: Vec<Span> = if full <= area.width as usize {
        Screen::ORDER
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let sep = if i == 0 {
                    Span::raw("")
                } else {
                    Span::raw(" > ")
                };
                let style = if *s == app.screen {
                    theme.selected()
                } else {
                    Style::default()
                };
                [sep, Span::styled(s.title(), style)]
            })
            .collect()
    } else {
        let pos = Screen::ORDER
            .iter()
            .position(|s| *s == app.screen)
            .unwrap_or(0)
            + 1;
        vec![
            Span::raw(format!("Screen {pos} of {}: ", Screen::ORDER.len())),
            Span::styled(app.screen.title(), theme.selected()),
        ]
    };
    f.render_widget(
        Paragraph::new(vec![Line::from(spans), Line::from(crumbs)]),
        area,
    );
}

fn draw_footer(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let mut spans = Vec::new();
    // The way out and the way to help first, so a narrow footer keeps them.
    let screen = keys::bindings(app.mode()).filter(|b| b.footer);
    for b in keys::GLOBAL.iter().filter(|b| b.footer).chain(screen) {
        spans.push(Span::styled(format!(" {} ", b.label), theme.selected()));
        spans.push(Span::raw(format!(" {}  ", b.hint)));
    }
    let msg = app.message.clone().unwrap_or_default();
    f.render_widget(
        Paragraph::new(vec![
            Line::from(spans),
            Line::from(Span::styled(msg, theme.fg(Color::Yellow))),
        ]),
        area,
    );
}

fn boxed<'a>(title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "))
}

fn choice<'a>(theme: &Theme, selected: bool, title: &'a str, text: &'a str) -> Vec<Line<'a>> {
    let marker = if selected { "> " } else { "  " };
    let style = if selected {
        theme.selected()
    } else {
        theme.bold()
    };
    vec![
        Line::from(vec![Span::raw(marker), Span::styled(title, style)]),
        Line::from(format!("    {text}")),
        Line::from(""),
    ]
}

fn start(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
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
        app.start_choice == 0,
        "Set up multi-node",
        "walk through nodes, credentials, connectivity, authentication, preview and execution",
    ));
    lines.extend(choice(
        theme,
        app.start_choice == 1,
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

fn nodes(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
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
        let marker = if i == app.node_cursor { ">" } else { " " };
        let text = format!("{marker} {:<10} {role:<7} {reach:<28} {connect}", n.name);
        lines.push(Line::from(Span::styled(
            text,
            if i == app.node_cursor {
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
    for p in &app.problems {
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
    if let Some(form) = &app.form {
        let title = match form.index {
            None => "Add a data node",
            Some(0) => "Edit the access node",
            Some(_) => "Edit a data node",
        };
        let fields: Vec<(&str, String, bool)> = super::app::FORM_FIELDS
            .iter()
            .enumerate()
            .map(|(i, label)| (*label, form.fields[i].clone(), i == form.focus))
            .collect();
        form_popup(f, area, theme, title, 76, &fields, form.error.as_deref());
    }
}

fn credentials(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let masked: String = "•".repeat(app.password.chars().count());
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
            Span::styled(format!("[{masked:<24}]"), field(app.cred_field == 0)),
        ]),
        Line::from("  Leave empty to use the variable the plan names, PGPASSWORD, or ~/.pgpass."),
        Line::from("  The password stays in memory: it is never written to the plan or a log."),
        Line::from(""),
        Line::from(vec![
            Span::raw("Superuser: "),
            Span::styled(
                format!("[{:<24}]", app.superuser_edit),
                field(app.cred_field == 1),
            ),
        ]),
        Line::from(
            "  The role tsmn connects as; the access node reaches the data nodes as it too.",
        ),
        Line::from(""),
        Line::from(Span::styled(
            "[ Test connectivity ]",
            field(app.cred_field == 2),
        )),
    ];
    f.render_widget(Paragraph::new(lines).block(boxed("Credentials")), area);
}

fn connectivity(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    if app.probing || app.facts.is_none() {
        let spin = SPINNER[(app.tick % 4) as usize];
        let secs = |t: u64| t.saturating_sub(app.probe_started) as f64 / 10.0;
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
            let line = match app.probe_done.iter().find(|(name, _, _)| *name == n.name) {
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
        .nth(app.conn_selected)
        .map(|n| n.name.as_str())
        .unwrap_or("");
    let text = format!(
        "Selected: {selected} (Tab selects another; r probes it again, a probes all, e edits it)\n\n{}",
        crate::report::check::human(facts, &app.findings, &app.notes)
    );
    let blockers = crate::findings::blockers(&app.findings);
    let title = if blockers == 0 {
        "Connectivity: nothing blocks".to_string()
    } else {
        format!("Connectivity: {blockers} blocker(s)")
    };
    f.render_widget(
        Paragraph::new(text)
            .block(boxed(&title))
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        area,
    );
}

fn authentication(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
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
        lines.extend(choice(theme, app.auth_choice == i, m.as_str(), texts[i]));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("Authentication"))
            .wrap(Wrap { trim: false }),
        area,
    );
    if let Some(form) = &app.auth_form {
        let fields: Vec<(&str, String, bool)> = form
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let shown = match field.kind {
                    super::app::FieldKind::Text => field.value.clone(),
                    super::app::FieldKind::Secret => "•".repeat(field.value.chars().count()),
                };
                (field.label.as_str(), shown, i == form.focus)
            })
            .collect();
        let title = format!("{} mode: options", AuthMode::ALL[app.auth_choice].as_str());
        form_popup(f, area, theme, &title, 96, &fields, form.error.as_deref());
    }
}

fn preview(f: &mut Frame, app: &App, area: Rect) {
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

fn glyph(v: &StepView) -> (&'static str, &'static str) {
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

fn execute(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
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

fn summary(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let count = |pred: fn(&StepView) -> bool| app.step_views.iter().filter(|v| pred(v)).count();
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
        Line::from("Backups made:"),
    ];
    let backups: Vec<&String> = app.log.iter().filter(|l| l.contains("backup ")).collect();
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
    lines.push(Line::from(format!(
        "Connect to the cluster: psql -h {} -p {} -U {} {}",
        app.plan.access_node.host, app.plan.access_node.port, app.plan.superuser, app.plan.database
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

/// A rectangle of `w` x `h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A form over the screen: labelled fields (the focused one reversed) and
/// the error that keeps it open.
fn form_popup(
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    width: u16,
    fields: &[(&str, String, bool)],
    error: Option<&str>,
) {
    let mut text: Vec<Line> = Vec::new();
    for (label, shown, focused) in fields {
        let style = if *focused {
            theme.selected()
        } else {
            Style::default()
        };
        text.push(Line::from(format!("{label}:")));
        text.push(Line::from(Span::styled(format!("  [{shown:<44}]"), style)));
    }
    if let Some(e) = error {
        text.push(Line::from(Span::styled(
            format!("✗ {e}"),
            theme.fg(Color::Red),
        )));
    }
    let r = centered(
        area,
        width.min(area.width.saturating_sub(2)),
        text.len() as u16 + 4,
    );
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .block(boxed(title))
            .wrap(Wrap { trim: false }),
        r,
    );
}

fn popup(f: &mut Frame, area: Rect, title: &str, text: &str) {
    let r = centered(area, 72.min(area.width - 4), 9.min(area.height - 2));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .block(boxed(title))
            .wrap(Wrap { trim: false }),
        r,
    );
}

fn help(f: &mut Frame, app: &App, area: Rect) {
    let mut text = format!("Keys on the {} screen\n\n", app.screen.title());
    for b in keys::bindings(app.mode()).chain(keys::GLOBAL.iter()) {
        text.push_str(&format!("  {:<10} {}\n", b.label, b.hint));
    }
    text.push_str("\nAny key closes this help.");
    let r = centered(
        area,
        60.min(area.width - 4),
        (text.lines().count() as u16 + 2).min(area.height - 2),
    );
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(Text::from(text)).block(boxed("Help")), r);
}
