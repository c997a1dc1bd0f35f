//! Small drawing helpers shared by the screens: boxes, choices, centred
//! popups and the form popup.

use super::theme::Theme;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn boxed<'a>(title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} "))
}

pub fn choice<'a>(theme: &Theme, selected: bool, title: &'a str, text: &'a str) -> Vec<Line<'a>> {
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

/// A rectangle of `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clear the popup's rectangle and one column either side of it, so no
/// character of the screen below is left touching its border.
pub fn clear_for(f: &mut Frame, area: Rect, r: Rect) {
    let x = r.x.saturating_sub(1).max(area.x);
    let right = (r.x + r.width + 1).min(area.x + area.width);
    f.render_widget(
        Clear,
        Rect {
            x,
            y: r.y,
            width: right - x,
            height: r.height,
        },
    );
}

/// What a secret field shows: that something is typed, never how much.
pub fn mask(secret: &str) -> String {
    if secret.is_empty() {
        String::new()
    } else {
        "••••••••".into()
    }
}

/// A form over the screen: labelled fields (the focused one reversed, with
/// `cursor` drawn in it unless it is masked: None) and the error that keeps
/// it open.
#[allow(clippy::too_many_arguments)]
pub fn form_popup(
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    width: u16,
    fields: &[(&str, String, bool)],
    cursor: Option<usize>,
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
        let mut line = vec![Span::raw("  ")];
        line.extend(crate::tui::text_field::spans(
            shown,
            44,
            style,
            cursor.filter(|_| *focused),
        ));
        text.push(Line::from(line));
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
    clear_for(f, area, r);
    f.render_widget(
        Paragraph::new(text)
            .block(boxed(title))
            .wrap(Wrap { trim: false }),
        r,
    );
}

pub fn popup(f: &mut Frame, area: Rect, title: &str, text: &str) {
    let r = centered(area, 72.min(area.width - 4), 9.min(area.height - 2));
    clear_for(f, area, r);
    f.render_widget(
        Paragraph::new(text)
            .block(boxed(title))
            .wrap(Wrap { trim: false }),
        r,
    );
}

/// The cluster map as lines (report::map's layout), each link's glyph in
/// its colour.
pub fn map_lines(map: &crate::report::map::Map, theme: &Theme) -> Vec<Line<'static>> {
    use crate::report::map::{branches, root, LinkState};
    let mut out = vec![Line::from(Span::styled(root(map), theme.bold()))];
    for b in branches(map) {
        let colour = match b.state {
            LinkState::Attached => theme.fg(Color::Green),
            LinkState::Reaches => theme.fg(Color::Yellow),
            LinkState::Broken => theme
                .fg(Color::Red)
                .add_modifier(ratatui::style::Modifier::BOLD),
            LinkState::Unknown => Style::default(),
        };
        out.push(Line::from(vec![
            Span::raw(format!("{}─", b.connector)),
            Span::styled(b.state.glyph(), colour),
            Span::raw(format!("─ {}", b.rest)),
        ]));
    }
    out
}
