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
    shift(KeyCode::Up, "Shift-↑", Action::MoveUp, "move up"),
    shift(KeyCode::Down, "Shift-↓", Action::MoveDown, "move down"),
    b(KeyCode::Up, "↑", Action::Up, "select", false),
    b(KeyCode::Down, "↓", Action::Down, "select", false),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static NODE_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "save the node", true),
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
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static CONNECTIVITY: &[Binding] = &[
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
static AUTH: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "options", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
static AUTH_FORM: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "preview", true),
    b(
        KeyCode::F(2),
        "F2",
        Action::Generate,
        "generate a password",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the modes", true),
];
static PREVIEW: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "execute", true),
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
    b(
        KeyCode::Char('c'),
        "c",
        Action::Cancel,
        "cancel after the running step",
        true,
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
    b(KeyCode::Char('s'), "s", Action::Save, "save the plan", true),
    b(
        KeyCode::Char('e'),
        "e",
        Action::Export,
        "export the script",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back to the steps", true),
];
/// Moving between the fields of a form.
static FIELDS: &[Binding] = &[
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
static SCROLL: &[Binding] = &[
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
static NONE: &[Binding] = &[];

const fn shift(key: KeyCode, label: &'static str, action: Action, hint: &'static str) -> Binding {
    Binding {
        key,
        mods: KeyModifiers::SHIFT,
        label,
        action,
        hint,
        footer: false,
    }
}

/// The bindings of a mode, in the order the footer and the help show them.
pub fn bindings(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    let (own, extra): (&'static [Binding], &'static [Binding]) = match mode {
        Mode::Confirm => (CONFIRM, NONE),
        Mode::NodeForm => (NODE_FORM, FIELDS),
        Mode::AuthForm => (AUTH_FORM, FIELDS),
        Mode::Screen(Screen::Start) => (START, NONE),
        Mode::Screen(Screen::Nodes) => (NODES, NONE),
        Mode::Screen(Screen::Credentials) => (CREDENTIALS, FIELDS),
        Mode::Screen(Screen::Connectivity) => (CONNECTIVITY, SCROLL),
        Mode::Screen(Screen::Authentication) => (AUTH, NONE),
        Mode::Screen(Screen::Preview) => (PREVIEW, SCROLL),
        Mode::Screen(Screen::Execute) => (EXECUTE, SCROLL),
        Mode::Screen(Screen::Summary) => (SUMMARY, NONE),
    };
    own.iter().chain(extra.iter())
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
    if let Some(bd) = bindings(mode).find(|bd| matches(bd)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action the wizard handles is reachable from some key.
    #[test]
    fn every_action_has_a_key() {
        use Action::*;
        let all = [
            Next, Back, Up, Down, PageUp, PageDown, Retry, Help, Quit, ForceQuit, Export,
            NextField, PrevField, Add, Edit, Delete, MoveUp, MoveDown, RetryAll, Cancel, Save,
            Generate,
        ];
        let modes = Screen::ORDER.iter().map(|s| Mode::Screen(*s)).chain([
            Mode::Confirm,
            Mode::NodeForm,
            Mode::AuthForm,
        ]);
        let bound: Vec<Action> = modes
            .flat_map(bindings)
            .chain(GLOBAL.iter())
            .map(|b| b.action)
            .collect();
        for a in all {
            assert!(bound.contains(&a), "{a:?} has no key");
        }
    }

    #[test]
    fn the_keys_the_readme_names() {
        let has = |screen: Screen, code: KeyCode, action: Action| {
            let k = KeyEvent::new(code, KeyModifiers::NONE);
            assert_eq!(
                super::action(Mode::Screen(screen), false, &k),
                Some(action),
                "{screen:?} {code:?}"
            );
        };
        has(Screen::Execute, KeyCode::Char('c'), Action::Cancel);
        has(Screen::Summary, KeyCode::Char('s'), Action::Save);
        has(Screen::Connectivity, KeyCode::Char('a'), Action::RetryAll);
        has(Screen::Connectivity, KeyCode::Tab, Action::NextField);
        has(Screen::Preview, KeyCode::PageDown, Action::PageDown);
        has(Screen::Nodes, KeyCode::Char('?'), Action::Help);
        let shift_up = KeyEvent::new(KeyCode::Up, KeyModifiers::SHIFT);
        assert_eq!(
            super::action(Mode::Screen(Screen::Nodes), false, &shift_up),
            Some(Action::MoveUp)
        );
        let typed_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            super::action(Mode::NodeForm, true, &typed_q),
            None,
            "q is text in a field"
        );
    }
}
