//! The overlays over every screen: the help (every key of the screen as
//! it is now) and the quit question. Each has its key table, as the
//! screens have, so the footer shows what it takes; a key it does not
//! bind closes it (the help) or stays (the question).

use super::keys::{b, Action, Binding};
use super::screens::{self, Page};
use super::shared::Shared;
use super::widgets::{boxed, centered, popup};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::Text;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Quit,
}

pub static HELP_KEYS: &[Binding] = &[b(KeyCode::Esc, "Esc", Action::Back, "close", true)];

pub static QUIT_KEYS: &[Binding] = &[
    b(KeyCode::Char('y'), "y", Action::Quit, "quit", true),
    b(KeyCode::Char('q'), "q", Action::Quit, "quit", false),
    b(KeyCode::Char('s'), "s", Action::Save, "save and quit", true),
    b(KeyCode::Esc, "Esc", Action::Back, "stay", true),
];

impl Overlay {
    pub fn keys(self) -> &'static [Binding] {
        match self {
            Overlay::Help => HELP_KEYS,
            Overlay::Quit => QUIT_KEYS,
        }
    }

    /// Whether a key of the table can act now: saving only a changed plan,
    /// and not while something runs.
    pub fn enabled(self, sh: &Shared, action: Action) -> bool {
        action != Action::Save || (sh.plan_dirty && !sh.busy())
    }

    /// What a key does over this overlay: Ctrl-C quits at once from
    /// anywhere; a key the table does not bind, or one not available now,
    /// closes the help and keeps the question's answer "stay".
    pub fn action(self, sh: &Shared, key: &KeyEvent) -> Action {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return Action::ForceQuit;
        }
        self.keys()
            .iter()
            .find(|bd| bd.key == key.code && bd.mods == key.modifiers - KeyModifiers::SHIFT)
            .map(|bd| bd.action)
            .filter(|a| self.enabled(sh, *a))
            .unwrap_or(Action::Back)
    }

    pub fn draw(self, f: &mut Frame, sh: &Shared, page: &dyn Page, area: Rect) {
        match self {
            Overlay::Help => help(f, sh, page, area),
            Overlay::Quit => popup(f, area, "Quit?", quit_question(sh)),
        }
    }
}

fn help(f: &mut Frame, sh: &Shared, page: &dyn Page, area: Rect) {
    let mut text = format!("Keys on the {} screen\n\n", sh.screen.title());
    for bd in screens::bindings(page).chain(super::keys::GLOBAL.iter()) {
        let off = if page.enabled(sh, bd.action) {
            ""
        } else {
            " (not now)"
        };
        text.push_str(&format!("  {:<10} {}{off}\n", bd.label, bd.hint));
    }
    if page.typing() {
        text.push_str("\nIn a text field\n");
        for (labels, hint) in super::text_field::help_lines() {
            text.push_str(&format!("  {labels:<18} {hint}\n"));
        }
    }
    text.push_str("\nAny key closes this help.");
    let r = centered(
        area,
        60.min(area.width - 4),
        (text.lines().count() as u16 + 2).min(area.height - 2),
    );
    super::widgets::clear_for(f, area, r);
    f.render_widget(Paragraph::new(Text::from(text)).block(boxed("Help")), r);
}

/// What the quit question says depends on what would be lost.
fn quit_question(sh: &Shared) -> &'static str {
    if sh.run.running {
        "Steps are running on the nodes.\ny: stop after the running step (the journal records it), then quit\nany other key: stay"
    } else if sh.probing {
        "The nodes are being probed (nothing changes on them).\ny: quit   any other key: stay"
    } else {
        "The plan has unsaved changes.\ns: save and quit   y: quit without saving\nany other key: stay"
    }
}
