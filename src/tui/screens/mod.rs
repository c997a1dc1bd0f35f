//! The wizard's screens, one module each, behind one contract (`Page`):
//! a screen owns its state (its text fields with their cursors, its forms
//! and popups), says which key table applies now and which of its keys are
//! available, takes the actions of those keys, and draws itself. The app
//! routes keys to the open overlay, else to the active page; adding a
//! screen is a new module and one line in the list in screen.rs.

use super::keys::{Action, Binding};
use super::msg::Cmd;
pub use super::screen::Screen;
use super::shared::Shared;
use super::text_field::TextField;
use super::theme::Theme;
use ratatui::layout::Rect;
use ratatui::Frame;

/// The key tables that apply: the page's own (or its open form's or
/// popup's), then a shared one below it (fields, scrolling, or none).
pub type Keys = (&'static [Binding], &'static [Binding]);

/// What every screen is to the app.
pub trait Page {
    /// The key tables that apply now.
    fn keys(&self) -> Keys;
    /// Whether a key of the table can do something now (the footer dims
    /// what cannot: a run that is going cannot be started again).
    fn enabled(&self, _sh: &Shared, _action: Action) -> bool {
        true
    }
    /// The text field that has focus, if one has: typed and pasted text
    /// goes to it, and plain keys are text, not commands.
    fn field<'a>(&'a mut self, _sh: &'a mut Shared) -> Option<&'a mut TextField> {
        None
    }
    /// Whether a text field has focus (`field` without borrowing).
    fn typing(&self) -> bool {
        false
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd>;
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme);
    /// What the page draws over the whole frame (a chooser, a question).
    fn draw_over(&self, _f: &mut Frame, _sh: &Shared, _area: Rect, _theme: &Theme) {}
}

/// The wizard's screens as the list in screen.rs names them: each one's
/// module (one file in this folder, holding its `State`), and `Pages`,
/// one state per screen, with the lookups the app routes through.
macro_rules! pages {
    ($( $module:ident : $variant:ident $title:literal => $init:expr ),* $(,)?) => {
        $( pub mod $module; )*

        /// One state per screen.
        pub struct Pages {
            $( pub $module: $module::State, )*
        }

        impl Pages {
            pub fn new(plan: &crate::plan::Plan) -> Pages {
                Pages {
                    $( $module: ($init)(plan), )*
                }
            }

            pub fn page(&self, screen: Screen) -> &dyn Page {
                match screen {
                    $( Screen::$variant => &self.$module, )*
                }
            }

            pub fn page_mut(&mut self, screen: Screen) -> &mut dyn Page {
                match screen {
                    $( Screen::$variant => &mut self.$module, )*
                }
            }
        }
    };
}

super::screen::with_screens!(pages);

/// The bindings of a page as they apply now, in the order the footer and
/// the help show them.
pub fn bindings(page: &dyn Page) -> impl Iterator<Item = &'static Binding> {
    let (own, extra) = page.keys();
    own.iter().chain(extra.iter())
}

/// Scrolling by one line or a page, for the screens whose ↑/↓ scroll.
pub fn scroll(sh: &mut Shared, action: Action) {
    match action {
        Action::Up => sh.scroll = sh.scroll.saturating_sub(1),
        Action::Down => sh.scroll = sh.scroll.saturating_add(1),
        Action::PageUp => sh.scroll = sh.scroll.saturating_sub(10),
        Action::PageDown => sh.scroll = sh.scroll.saturating_add(10),
        _ => {}
    }
}

/// Every key table of the wizard (for the test that every action has a key).
#[cfg(test)]
pub fn every_table() -> Vec<&'static [Binding]> {
    use super::keys::{FIELDS, SCROLL};
    vec![
        start::KEYS,
        start::ADDRESS_FORM,
        nodes::KEYS,
        nodes::NODE_FORM,
        credentials::KEYS,
        connectivity::KEYS,
        authentication::KEYS,
        authentication::AUTH_FORM,
        authentication::AUTH_SECRET_FORM,
        preview::KEYS,
        preview::CONFIRM,
        preview::CHOOSE,
        execute::KEYS,
        summary::KEYS,
        FIELDS,
        SCROLL,
        super::overlay::HELP_KEYS,
        super::overlay::QUIT_KEYS,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::{lookup, Action, GLOBAL};
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
        let bound: Vec<Action> = every_table()
            .into_iter()
            .flatten()
            .chain(GLOBAL.iter())
            .map(|b| b.action)
            .collect();
        for a in all {
            assert!(bound.contains(&a), "{a:?} has no key");
        }
    }

    #[test]
    fn the_keys_the_readme_names() {
        let plan = crate::plan::parse_plan(
            "[access_node]\nname = \"an\"\nhost = \"a\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"b\"\n",
            "p",
        )
        .unwrap();
        let pages = Pages::new(&plan);
        let has = |screen: Screen, code: KeyCode, wanted: Action| {
            let k = KeyEvent::new(code, KeyModifiers::NONE);
            assert_eq!(
                lookup(bindings(pages.page(screen)), false, &k),
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
            lookup(bindings(pages.page(Screen::Nodes)), false, &shift_up),
            Some(Action::MoveUp)
        );
        let typed_q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            lookup(bindings(&nodes::State::default()), true, &typed_q),
            None,
            "q is text in a field"
        );
    }
}
