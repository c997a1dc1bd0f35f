//! Editing the focused text field as readline does (tui-input does the
//! editing; this file maps the keys, the one table of them, which the help
//! overlay lists too), and drawing it with its cursor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use tui_input::{Input, InputRequest};

/// Keys, what they do, and the request: the one source for both.
pub static KEYS: &[(KeyCode, KeyModifiers, &str, &str, InputRequest)] = &[
    (
        KeyCode::Left,
        KeyModifiers::NONE,
        "←",
        "move",
        InputRequest::GoToPrevChar,
    ),
    (
        KeyCode::Right,
        KeyModifiers::NONE,
        "→",
        "move",
        InputRequest::GoToNextChar,
    ),
    (
        KeyCode::Left,
        KeyModifiers::CONTROL,
        "Ctrl-←",
        "move by word",
        InputRequest::GoToPrevWord,
    ),
    (
        KeyCode::Right,
        KeyModifiers::CONTROL,
        "Ctrl-→",
        "move by word",
        InputRequest::GoToNextWord,
    ),
    (
        KeyCode::Home,
        KeyModifiers::NONE,
        "Home",
        "to the start",
        InputRequest::GoToStart,
    ),
    (
        KeyCode::Char('a'),
        KeyModifiers::CONTROL,
        "Ctrl-A",
        "to the start",
        InputRequest::GoToStart,
    ),
    (
        KeyCode::End,
        KeyModifiers::NONE,
        "End",
        "to the end",
        InputRequest::GoToEnd,
    ),
    (
        KeyCode::Char('e'),
        KeyModifiers::CONTROL,
        "Ctrl-E",
        "to the end",
        InputRequest::GoToEnd,
    ),
    (
        KeyCode::Backspace,
        KeyModifiers::NONE,
        "Backspace",
        "delete a character",
        InputRequest::DeletePrevChar,
    ),
    (
        KeyCode::Delete,
        KeyModifiers::NONE,
        "Delete",
        "delete a character",
        InputRequest::DeleteNextChar,
    ),
    (
        KeyCode::Char('w'),
        KeyModifiers::CONTROL,
        "Ctrl-W",
        "delete the word before",
        InputRequest::DeletePrevWord,
    ),
    (
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
        "Ctrl-U",
        "delete to the start",
        InputRequest::DeleteFromStart,
    ),
    (
        KeyCode::Char('k'),
        KeyModifiers::CONTROL,
        "Ctrl-K",
        "delete to the end",
        InputRequest::DeleteTillEnd,
    ),
];

/// The keys for the help overlay: one line per thing they do.
pub fn help_lines() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (.., label, hint, _) in KEYS {
        match out.iter_mut().find(|(_, h)| h == hint) {
            Some((labels, _)) => {
                labels.push(' ');
                labels.push_str(label);
            }
            None => out.push(((*label).to_string(), hint)),
        }
    }
    out
}

/// The request a key makes of a text field: an editing key, or a plain
/// character to insert.
pub fn request(key: &KeyEvent) -> Option<InputRequest> {
    let mods = key.modifiers - KeyModifiers::SHIFT;
    if let Some((.., r)) = KEYS.iter().find(|(k, m, ..)| *k == key.code && *m == mods) {
        return Some(*r);
    }
    match key.code {
        KeyCode::Char(c) if mods.is_empty() => Some(InputRequest::InsertChar(c)),
        _ => None,
    }
}

/// A text field: its value and its own cursor (in characters), which
/// stays where it was when the focus leaves and comes back. A field made
/// from a value has its cursor at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextField {
    value: String,
    cursor: usize,
}

impl TextField {
    pub fn cursor(&self) -> usize {
        self.cursor
    }
    pub fn as_str(&self) -> &str {
        &self.value
    }
    /// An editing key, or a character to insert.
    pub fn apply(&mut self, req: InputRequest) {
        edit(&mut self.value, &mut self.cursor, req);
    }
    /// Pasted text, at the cursor (control characters left out).
    pub fn paste(&mut self, text: &str) {
        paste(&mut self.value, &mut self.cursor, text);
    }
}

impl From<String> for TextField {
    fn from(value: String) -> TextField {
        let cursor = value.chars().count();
        TextField { value, cursor }
    }
}

impl From<&str> for TextField {
    fn from(value: &str) -> TextField {
        TextField::from(value.to_string())
    }
}

impl std::ops::Deref for TextField {
    type Target = str;
    fn deref(&self) -> &str {
        &self.value
    }
}

impl PartialEq<&str> for TextField {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

impl std::fmt::Display for TextField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

/// Apply `req` to `value` with the cursor at `cursor` (in characters).
fn edit(value: &mut String, cursor: &mut usize, req: InputRequest) {
    let at = (*cursor).min(value.chars().count());
    let mut input = Input::new(std::mem::take(value)).with_cursor(at);
    input.handle(req);
    *cursor = input.cursor();
    *value = input.value().to_string();
}

/// Insert pasted text at the cursor.
fn paste(value: &mut String, cursor: &mut usize, text: &str) {
    for c in text.chars().filter(|c| !c.is_control()) {
        edit(value, cursor, InputRequest::InsertChar(c));
    }
}

/// `[shown      ]`, `width` characters wide; with `cursor` (a focused,
/// unmasked field), the character under it reversed.
pub fn spans(shown: &str, width: usize, style: Style, cursor: Option<usize>) -> Vec<Span<'static>> {
    let padded = format!("{shown:<width$}");
    let Some(at) = cursor else {
        return vec![Span::styled(format!("[{padded}]"), style)];
    };
    let chars: Vec<char> = padded.chars().collect();
    let at = at.min(chars.len());
    let before: String = chars[..at].iter().collect();
    let under: String = chars.get(at).map_or(" ".into(), |c| c.to_string());
    let after: String = chars.iter().skip(at + 1).collect();
    vec![
        Span::styled(format!("[{before}"), style),
        Span::styled(
            under,
            style.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
        ),
        Span::styled(format!("{after}]"), style),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn typed(keys: &[KeyEvent]) -> (String, usize) {
        let (mut v, mut c) = (String::new(), 0);
        for k in keys {
            if let Some(r) = request(k) {
                edit(&mut v, &mut c, r);
            }
        }
        (v, c)
    }

    #[test]
    fn readline_keys_edit_in_the_middle() {
        let n = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let mut keys: Vec<KeyEvent> = "db.example"
            .chars()
            .map(|c| key(KeyCode::Char(c), n))
            .collect();
        keys.push(key(KeyCode::Home, n));
        keys.push(key(KeyCode::Char('1'), n));
        keys.push(key(KeyCode::Right, n));
        keys.push(key(KeyCode::Delete, n));
        assert_eq!(typed(&keys), ("1d.example".into(), 2));
        keys.push(key(KeyCode::End, n));
        keys.push(key(KeyCode::Char('w'), ctrl));
        // Ctrl-W as readline: back to the previous whitespace.
        assert_eq!(typed(&keys).0, "");
        keys.extend("a b".chars().map(|c| key(KeyCode::Char(c), n)));
        keys.push(key(KeyCode::Left, n));
        keys.push(key(KeyCode::Char('u'), ctrl));
        assert_eq!(typed(&keys), ("b".into(), 0));
        keys.push(key(KeyCode::Char('k'), ctrl));
        assert_eq!(typed(&keys), (String::new(), 0));
    }

    #[test]
    fn the_cursor_is_drawn_on_its_character() {
        let s = spans("abc", 5, Style::default(), Some(1));
        let text: Vec<&str> = s.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, ["[a", "b", "c  ]"]);
        let s = spans("abc", 5, Style::default(), None);
        assert_eq!(s[0].content, "[abc  ]");
    }
}
