//! POSIX shell words.

/// One shell word: bare when it is plainly safe, else in single quotes with
/// each `'` written as `'\''`.
pub fn word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn words() {
        assert_eq!(super::word("/var/lib/pg"), "/var/lib/pg");
        assert_eq!(super::word("it's here"), "'it'\\''s here'");
        assert_eq!(super::word(""), "''");
    }
}
