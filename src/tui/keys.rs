//! Keys: the binding type, the actions, the tables every screen shares
//! (global keys, form fields, scrolling) and the lookup. Each screen keeps
//! its own table in its module (screens/); one table drives both dispatch
//! and the footer hints (and the help overlay), so the hints can never lie.
//! Imports nothing else of the wizard.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Next,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Retry,
    Help,
    Quit,
    ForceQuit,
    Export,
    NextField,
    PrevField,
    Add,
    Edit,
    Delete,
    MoveUp,
    MoveDown,
    RetryAll,
    Cancel,
    Save,
    Generate,
    /// Open the chooser of the hypertables a joining data node gets.
    Choose,
    /// Turn the selected choice on or off.
    Toggle,
    /// Open the live cluster screen.
    Watch,
    /// Choose whether the roles' passwords come (migrate).
    Passwords,
}

pub struct Binding {
    pub key: KeyCode,
    pub mods: KeyModifiers,
    pub label: &'static str,
    pub action: Action,
    pub hint: &'static str,
    /// Shown in the footer (the help overlay shows every binding).
    pub footer: bool,
}

pub(super) const fn b(
    key: KeyCode,
    label: &'static str,
    action: Action,
    hint: &'static str,
    footer: bool,
) -> Binding {
    Binding {
        key,
        mods: KeyModifiers::NONE,
        label,
        action,
        hint,
        footer,
    }
}

/// Keys that work on every screen.
pub static GLOBAL: &[Binding] = &[
    Binding {
        key: KeyCode::Char('c'),
        mods: KeyModifiers::CONTROL,
        label: "Ctrl-C",
        action: Action::ForceQuit,
        hint: "quit now",
        footer: false,
    },
    b(KeyCode::F(1), "F1", Action::Help, "help", false),
    b(KeyCode::Char('?'), "?", Action::Help, "help", true),
    b(KeyCode::Char('q'), "q", Action::Quit, "quit", true),
];

/// Moving between the fields of a form.
pub static FIELDS: &[Binding] = &[
    b(KeyCode::Tab, "Tab", Action::NextField, "next field", true),
    b(
        KeyCode::BackTab,
        "Shift-Tab",
        Action::PrevField,
        "previous field",
        false,
    ),
];
/// Scrolling, on the screens that show long text.
pub static SCROLL: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "scroll", true),
    b(KeyCode::Down, "↓", Action::Down, "scroll", false),
    b(KeyCode::PageUp, "PgUp", Action::PageUp, "page up", false),
    b(
        KeyCode::PageDown,
        "PgDn",
        Action::PageDown,
        "page down",
        false,
    ),
];
pub static NONE: &[Binding] = &[];

pub(super) const fn shift(
    key: KeyCode,
    label: &'static str,
    action: Action,
    hint: &'static str,
) -> Binding {
    Binding {
        key,
        mods: KeyModifiers::SHIFT,
        label,
        action,
        hint,
        footer: false,
    }
}

/// The action for a key: the given table first, then the global one.
/// `typing`: a text field has focus, so plain characters are text, not keys.
pub fn lookup<'a>(
    mut table: impl Iterator<Item = &'a Binding>,
    typing: bool,
    key: &KeyEvent,
) -> Option<Action> {
    // Modifiers must match exactly (Shift-↑ is not ↑), except the Shift that
    // comes with BackTab and with characters such as `?`.
    let mods = match key.code {
        KeyCode::BackTab | KeyCode::Char(_) => key.modifiers - KeyModifiers::SHIFT,
        _ => key.modifiers,
    };
    let matches = |bd: &&Binding| bd.key == key.code && mods == bd.mods;
    if let Some(bd) = table.find(|bd| matches(bd)) {
        return Some(bd.action);
    }
    GLOBAL
        .iter()
        .filter(|bd| {
            !(typing && matches!(bd.key, KeyCode::Char(_)) && bd.mods == KeyModifiers::NONE)
        })
        .find(matches)
        .map(|bd| bd.action)
}
