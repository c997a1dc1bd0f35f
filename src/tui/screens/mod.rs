//! The wizard's screens, one module each: its state, its key table, what
//! its keys do (over its own state and the shared one) and how it is
//! drawn. This file holds the table that applies in each mode; the app
//! routes actions to the active screen, the view draws it.

pub mod authentication;
pub mod connectivity;
pub mod credentials;
pub mod execute;
pub mod nodes;
pub mod preview;
pub mod start;
pub mod summary;

use super::keys::{self, Action, Binding, FIELDS, NONE, SCROLL};
pub use super::screen::Screen;
use super::shared::Shared;
use crossterm::event::KeyEvent;

/// Which table applies: a screen's, or a popup's or form's over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Screen(Screen),
    Confirm,
    NodeForm,
    AuthForm,
    /// The options form of a mode with passwords to type (F2 generates one).
    AuthFormWithSecrets,
    /// The access node's address typed on the start screen.
    AddressForm,
    /// The hypertables chooser over the preview.
    Choose,
}

/// The bindings of a mode, in the order the footer and the help show them.
pub fn bindings(mode: Mode) -> impl Iterator<Item = &'static Binding> {
    let (own, extra): (&'static [Binding], &'static [Binding]) = match mode {
        Mode::Confirm => (preview::CONFIRM, NONE),
        Mode::NodeForm => (nodes::NODE_FORM, FIELDS),
        Mode::AuthForm => (authentication::AUTH_FORM, FIELDS),
        Mode::AuthFormWithSecrets => (authentication::AUTH_SECRET_FORM, FIELDS),
        Mode::AddressForm => (start::ADDRESS_FORM, NONE),
        Mode::Choose => (preview::CHOOSE, NONE),
        Mode::Screen(Screen::Start) => (start::KEYS, NONE),
        Mode::Screen(Screen::Nodes) => (nodes::KEYS, NONE),
        Mode::Screen(Screen::Credentials) => (credentials::KEYS, FIELDS),
        Mode::Screen(Screen::Connectivity) => (connectivity::KEYS, SCROLL),
        Mode::Screen(Screen::Authentication) => (authentication::KEYS, NONE),
        Mode::Screen(Screen::Preview) => (preview::KEYS, SCROLL),
        Mode::Screen(Screen::Execute) => (execute::KEYS, SCROLL),
        Mode::Screen(Screen::Summary) => (summary::KEYS, NONE),
    };
    own.iter().chain(extra.iter())
}

/// The action for a key in a mode (the mode's table, then the global one).
pub fn action(mode: Mode, typing: bool, key: &KeyEvent) -> Option<Action> {
    keys::lookup(bindings(mode), typing, key)
}

/// Scrolling by one line, for the screens whose ↑/↓ scroll.
pub fn scroll(app: &mut Shared, action: Action) {
    match action {
        Action::Up => app.scroll = app.scroll.saturating_sub(1),
        Action::Down => app.scroll = app.scroll.saturating_add(1),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::{Action, GLOBAL};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    /// Every action the wizard handles is reachable from some key.
    #[test]
    fn every_action_has_a_key() {
        use Action::*;
        let all = [
            Next, Back, Up, Down, PageUp, PageDown, Retry, Help, Quit, ForceQuit, Export,
            NextField, PrevField, Add, Edit, Delete, MoveUp, MoveDown, RetryAll, Cancel, Save,
            Generate, Choose, Toggle,
        ];
        let modes = Screen::ORDER.iter().map(|s| Mode::Screen(*s)).chain([
            Mode::Confirm,
            Mode::NodeForm,
            Mode::AuthForm,
            Mode::AuthFormWithSecrets,
            Mode::AddressForm,
            Mode::Choose,
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
        let has = |screen: Screen, code: KeyCode, wanted: Action| {
            let k = KeyEvent::new(code, KeyModifiers::NONE);
            assert_eq!(
                action(Mode::Screen(screen), false, &k),
                Some(wanted),
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
            action(Mode::Screen(Screen::Nodes), false, &shift_up),
            Some(Action::MoveUp)
        );
        let typed_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            action(Mode::NodeForm, true, &typed_q),
            None,
            "q is text in a field"
        );
    }
}
