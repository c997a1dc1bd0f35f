//! libpq connection strings: `key='value'` with `\` and `'` escaped.

pub fn value(v: &str) -> String {
    let mut out = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A connection string from key/value pairs.
pub fn conninfo<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", value(&v)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(super::value(r"a'b\c d"), r"'a\'b\\c d'");
        assert_eq!(
            super::conninfo([("host", "h".to_string()), ("port", "1".to_string())]),
            "host='h' port='1'"
        );
    }
}
