//! Drawing: a pure function of the state. State is never shown by colour
//! alone: glyphs, bold and reverse carry it, and colour only adds to it.

use super::app::App;
use super::keys;
use super::screens::{self, Screen};
use super::widgets::{boxed, centered, popup};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub use super::theme::Theme;

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
    let sh = &app.shared;
    match app.screen {
        Screen::Start => screens::start::draw(f, &app.start, sh, body, theme),
        Screen::Nodes => screens::nodes::draw(f, &app.nodes, sh, body, theme),
        Screen::Credentials => screens::credentials::draw(f, &app.credentials, sh, body, theme),
        Screen::Connectivity => screens::connectivity::draw(f, &app.connectivity, sh, body, theme),
        Screen::Authentication => {
            screens::authentication::draw(f, &app.authentication, sh, body, theme)
        }
        Screen::Preview => screens::preview::draw(f, sh, body),
        Screen::Execute => screens::execute::draw(f, sh, body, theme),
        Screen::Summary => screens::summary::draw(f, sh, body, theme),
    }
    draw_footer(f, app, footer, theme);
    if app.preview.choosing {
        screens::preview::draw_chooser(f, &app.preview, sh, area);
    }
    if app.confirming {
        popup(
            f,
            area,
            "Run the steps?",
            confirm_text(app.settings.restart),
        );
    }
    if app.confirm_quit {
        popup(f, area, "Quit?", quit_question(app));
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
    // The way out and the way to help first, so a narrow footer keeps them;
    // a hint that does not fit whole is left out (help lists every key),
    // never cut mid-word.
    let screen = screens::bindings(app.mode()).filter(|b| b.footer);
    let mut used = 0usize;
    for b in keys::GLOBAL.iter().filter(|b| b.footer).chain(screen) {
        let (key, hint) = (format!(" {} ", b.label), format!(" {}  ", b.hint));
        let width = key.chars().count() + hint.trim_end().chars().count();
        if used + width > area.width as usize {
            break;
        }
        used += key.chars().count() + hint.chars().count();
        spans.push(Span::styled(key, theme.selected()));
        spans.push(Span::raw(hint));
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

fn help(f: &mut Frame, app: &App, area: Rect) {
    let mut text = format!("Keys on the {} screen\n\n", app.screen.title());
    for b in screens::bindings(app.mode()).chain(keys::GLOBAL.iter()) {
        text.push_str(&format!("  {:<10} {}\n", b.label, b.hint));
    }
    if app.typing() {
        text.push_str("\nIn a text field\n");
        for (labels, hint) in crate::tui::text_field::help_lines() {
            text.push_str(&format!("  {labels:<18} {hint}\n"));
        }
    }
    text.push_str("\nAny key closes this help.");
    let r = centered(
        area,
        60.min(area.width - 4),
        (text.lines().count() as u16 + 2).min(area.height - 2),
    );
    crate::tui::widgets::clear_for(f, area, r);
    f.render_widget(Paragraph::new(Text::from(text)).block(boxed("Help")), r);
}

/// The confirmation says what happens to restarts under --restart.
fn confirm_text(restart: crate::run::RestartPolicy) -> &'static str {
    match restart {
        crate::run::RestartPolicy::Never => "tsmn will change the nodes as previewed. Files are backed up first;\npg_hba.conf is checked before each reload. No node is restarted\n(--restart never): a node that needs it stops the run at the restart\ngate, which names it and says how.\n\ny: run   Esc: not now",
        _ => "tsmn will change the nodes as previewed. Files are backed up first;\npg_hba.conf is checked before each reload. Nodes on this host that\nneed it are restarted; for the others tsmn says how and waits.\n\ny: run   Esc: not now",
    }
}

/// What the quit question says depends on what would be lost.
fn quit_question(app: &App) -> &'static str {
    if app.running {
        "Steps are running on the nodes.\ny: stop after the running step (the journal records it), then quit\nany other key: stay"
    } else if app.probing {
        "The nodes are being probed (nothing changes on them).\ny: quit   any other key: stay"
    } else {
        "The plan has unsaved changes.\ns: save and quit   y: quit without saving\nany other key: stay"
    }
}
