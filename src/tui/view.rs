//! Drawing: a pure function of the state. State is never shown by colour
//! alone: glyphs, bold and reverse carry it, and colour only adds to it.

use super::app::App;
use super::keys;
use super::screens::{self, Screen};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
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
    let (sh, page) = (&app.shared, app.page());
    page.draw(f, sh, body, theme);
    draw_footer(f, app, footer, theme);
    page.draw_over(f, sh, area, theme);
    if let Some(o) = app.overlay {
        o.draw(f, sh, page, area);
    }
}

fn draw_header(f: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let mut spans = vec![Span::styled("tsmn ", theme.bold())];
    spans.push(Span::raw(format!(
        "{} · {} mode · ",
        app.shared.plan_path.display(),
        app.shared.plan.auth.mode.as_str()
    )));
    let full: usize = Screen::ORDER.iter().map(|s| s.title().len() + 3).sum();
    // A screen beside the setup path (the live cluster) has no place in it.
    let crumbs: Vec<Span> = if !Screen::ORDER.contains(&app.shared.screen) {
        vec![Span::styled(app.shared.screen.title(), theme.selected())]
    } else if full <= area.width as usize {
        Screen::ORDER
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let sep = if i == 0 {
                    Span::raw("")
                } else {
                    Span::raw(" > ")
                };
                let style = if *s == app.shared.screen {
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
            .position(|s| *s == app.shared.screen)
            .unwrap_or(0)
            + 1;
        vec![
            Span::raw(format!("Screen {pos} of {}: ", Screen::ORDER.len())),
            Span::styled(app.shared.screen.title(), theme.selected()),
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
    // Over an overlay its keys; else the screen's as they apply now, what
    // cannot act now dimmed (and said so in the help).
    let sh = &app.shared;
    let page = app.page();
    let shown: Vec<(&keys::Binding, bool)> = match app.overlay {
        Some(o) => o
            .keys()
            .iter()
            .filter(|b| b.footer)
            .map(|b| (b, o.enabled(sh, b.action)))
            .collect(),
        None => keys::GLOBAL
            .iter()
            .filter(|b| b.footer)
            .chain(screens::bindings(page).filter(|b| b.footer))
            .map(|b| (b, page.enabled(sh, b.action)))
            .collect(),
    };
    let mut used = 0usize;
    for (b, on) in shown {
        let (key, hint) = (format!(" {} ", b.label), format!(" {}  ", b.hint));
        let width = key.chars().count() + hint.trim_end().chars().count();
        if used + width > area.width as usize {
            break;
        }
        used += key.chars().count() + hint.chars().count();
        let (key_style, hint_style) = if on {
            (theme.selected(), Style::default())
        } else {
            (theme.dim(), theme.dim())
        };
        spans.push(Span::styled(key, key_style));
        spans.push(Span::styled(hint, hint_style));
    }
    let msg = sh.message.clone().unwrap_or_default();
    f.render_widget(
        Paragraph::new(vec![
            Line::from(spans),
            Line::from(Span::styled(msg, theme.fg(Color::Yellow))),
        ]),
        area,
    );
}
