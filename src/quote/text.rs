//! What no quoting can make safe: the one rule for characters a plan's
//! values may not hold. `tsmn validate` and the writers of pg_hba.conf,
//! SQL files and setup.sh all ask here, so a value validate accepts is
//! one preview and export can write, and the reverse.
//!
//! * No value may hold a control character (NUL, a line break, a tab,
//!   ESC, DEL, the C1 range): a NUL ends a C string early (libpq, psql,
//!   the kernel's paths), a line break cannot be written into pg_hba.conf
//!   or a pgpass line, and ESC drives the operator's terminal.
//! * A name (node, role, database) may not hold an invisible character
//!   either: bidirectional controls reorder what a terminal shows, and
//!   zero-width characters make two different names look alike, so the
//!   name an operator reads in a preview is not the name that is written.

/// Whether a value is a name (shown to the operator and compared by eye)
/// or any other text (a path, a host, an option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Name,
    Text,
}

/// Unicode's bidirectional formatting characters: the embeddings and
/// overrides (U+202A-U+202E), the isolates (U+2066-U+2069) and the marks
/// (LRM, RLM, ALM).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that take no width: ZWSP, ZWNJ, ZWJ, WORD JOINER and the
/// byte-order mark (ZWNBSP).
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// What the character is, in words an operator can search for.
fn describe(c: char) -> String {
    let code = format!("U+{:04X}", u32::from(c));
    match c {
        '\0' => format!("a NUL byte ({code})"),
        '\n' | '\r' => format!("a line break ({code})"),
        '\t' => format!("a tab ({code})"),
        c if c.is_control() => format!("the control character {code}"),
        c if is_bidi_control(c) => {
            format!(
                "the invisible bidirectional control {code}, which reorders what a terminal shows"
            )
        }
        _ => format!("the zero-width character {code}, which makes two different names look alike"),
    }
}

/// Why `value` cannot be written as a value of this kind: which character,
/// and where (counted in characters from 1). Ok when it can.
pub fn check(value: &str, kind: Kind) -> Result<(), String> {
    let bad = |c: char| {
        c.is_control() || (kind == Kind::Name && (is_bidi_control(c) || is_zero_width(c)))
    };
    match value.chars().enumerate().find(|(_, c)| bad(*c)) {
        Some((i, c)) => Err(format!("contains {} at character {}", describe(c), i + 1)),
        None => Ok(()),
    }
}

/// The fix that goes with a refusal of `check`.
pub fn fix(kind: Kind) -> &'static str {
    match kind {
        Kind::Name => "remove the character from the name (retype it: an invisible character often comes from a copy and paste)",
        Kind::Text => "remove the character (retype the value: no quoting can write it into pg_hba.conf, SQL or setup.sh safely)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_everywhere() {
        for v in [
            "a\0b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{1b}[2Jb",
            "a\u{7f}b",
            "a\u{85}b",
        ] {
            assert!(check(v, Kind::Text).is_err(), "{v:?} as text");
            assert!(check(v, Kind::Name).is_err(), "{v:?} as a name");
        }
        let why = check("ab\0", Kind::Text).unwrap_err();
        assert!(why.contains("NUL") && why.contains("character 3"), "{why}");
        assert!(check("a\nb", Kind::Name)
            .unwrap_err()
            .contains("line break"));
    }

    #[test]
    fn invisible_characters_are_refused_in_names_only() {
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
        ] {
            let v = format!("adm{c}in");
            assert!(
                check(&v, Kind::Name).is_err(),
                "{:04X} in a name",
                u32::from(c)
            );
            assert!(
                check(&v, Kind::Text).is_ok(),
                "{:04X} in a path",
                u32::from(c)
            );
        }
    }

    #[test]
    fn ordinary_values_pass() {
        for v in [
            "postgres",
            "App User",
            "Ops \"Team\"",
            "/var/lib/pg data",
            "tsdb",
            "名前",
            "",
        ] {
            assert!(check(v, Kind::Name).is_ok(), "{v:?}");
        }
    }
}
