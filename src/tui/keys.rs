//! The key map: one table per screen drives both dispatch and the footer
//! hints (and the help overlay), so the hints can never lie.

use super::app::Screen;
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
}

/// Which table applies: a screen's, or a popup's or form's over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Screen(Screen),
    Confirm,
    NodeForm,
    AuthForm,
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

const fn b(
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

static START: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "continue", true),
];
static NODES: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "continue", true),
    b(
        KeyCode::Char('a'),
        "a",
        Action::Add,
        "add a data node",
        true,
    ),
    b(KeyCode::Char('e'), "e", Action::Edit, "edit", true),
    b(KeyCode::Char('d'), "d", Action::Delete, "remove", true),
    Binding {
        key: KeyCode::Up,
        mods: KeyModifiers::SHIFT,
        label: "Shift-↑",
        action: Action::MoveUp,
        hint: "move up",
        footer: false,
    },
    Binding {
        key: KeyCode::Down,
        mods: KeyModifiers::SHIFT,
        label: "Shift-↓",
        action: Action::MoveDown,
        hint: "move down",
        footer: false,
    },
    b(KeyCode::Up, "↑", Action::Up, "select", false),
    b(KeyCode::Down, "↓", Action::Down, "select", false),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static NODE_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "save the node", true),
    b(KeyCode::Tab, "Tab", Action::NextField, "next field", true),
    b(
        KeyCode::BackTab,
        "Shift-Tab",
        Action::PrevField,
        "previous field",
        false,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "cancel", true),
];
static CREDENTIALS: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "test connectivity",
        true,
    ),
    b(KeyCode::Tab, "Tab", Action::NextField, "next field", true),
    b(
        KeyCode::BackTab,
        "Shift-Tab",
        Action::PrevField,
        "previous field",
        false,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static AUTH_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "preview", true),
    b(KeyCode::Tab, "Tab", Action::NextField, "next field", true),
    b(
        KeyCode::BackTab,
        "Shift-Tab",
        Action::PrevField,
        "previous field",
        false,
    ),
    b(
        KeyCode::F(2),
        "F2",
        Action::Generate,
        "generate a password",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the modes", true),
];
static CONNECTIVITY: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "choose authentication",
        true,
    ),
    b(KeyCode::Char('r'), "r", Action::Retry, "probe again", true),
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
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static AUTH: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "preview", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static PREVIEW: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "execute", true),
    b(KeyCode::Up, "↑", Action::Up, "scroll", true),
    b(KeyCode::Down, "↓", Action::Down, "scroll", false),
    b(KeyCode::PageUp, "PgUp", Action::PageUp, "page up", true),
    b(
        KeyCode::PageDown,
        "PgDn",
        Action::PageDown,
        "page down",
        false,
    ),
    b(KeyCode::Char('e'), "e", Action::Export, "export", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static CONFIRM: &[Binding] = &[
    b(
        KeyCode::Char('y'),
        "y",
        Action::Next,
        "yes, run the steps",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "no", true),
    b(KeyCode::Char('n'), "n", Action::Back, "no", false),
];
static EXECUTE: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "summary (when finished)",
        true,
    ),
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
    b(
        KeyCode::Char('r'),
        "r",
        Action::Retry,
        "run again (resume)",
        true,
    ),
];
static SUMMARY: &[Binding] = &[
    b(
        KeyCode::Char('e'),
        "e",
        Action::Export,
        "export the script",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the steps", true),
];

pub fn bindings(mode: Mode) -> &'static [Binding] {
    let screen = match mode {
        Mode::Confirm => return CONFIRM,
        Mode::NodeForm => return NODE_FORM,
        Mode::AuthForm => return AUTH_FORM,
        Mode::Screen(s) => s,
    };
    match screen {
        Screen::Start => START,
        Screen::Nodes => NODES,
        Screen::Credentials => CREDENTIALS,
        Screen::Connectivity => CONNECTIVITY,
        Screen::Authentication => AUTH,
        Screen::Preview => PREVIEW,
        Screen::Execute => EXECUTE,
        Screen::Summary => SUMMARY,
    }
}

/// The action for a key: the mode's own table first, then the global one.
/// `typing`: a text field has focus, so plain characters are text, not keys.
pub fn action(mode: Mode, typing: bool, key: &KeyEvent) -> Option<Action> {
    // Modifiers must match exactly (Shift-↑ is not ↑), except the Shift that
    // comes with BackTab and with characters such as `?`.
    let mods = match key.code {
        KeyCode::BackTab | KeyCode::Char(_) => key.modifiers - KeyModifiers::SHIFT,
        _ => key.modifiers,
    };
    let matches = |bd: &&Binding| bd.key == key.code && mods == bd.mods;
    if let Some(bd) = bindings(mode).iter().find(matches) {
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
