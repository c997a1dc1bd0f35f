//! SQL identifiers and literals: libpq's PQescapeIdentifier and
//! PQescapeLiteral as postgres-protocol carries them; the dollar quoting
//! and psql's meta-command arguments have no crate.

use postgres_protocol::escape::{escape_identifier, escape_literal};

/// A double-quoted identifier: always quoted, so case and keywords are kept.
pub fn ident(name: &str) -> String {
    escape_identifier(name)
}

/// A string literal; with a backslash in it, written as E'...' (doubled
/// backslashes), so it means the same under any standard_conforming_strings.
pub fn literal(value: &str) -> String {
    // libpq puts a space before E'...' (against an identifier right before
    // it); tsmn's SQL never needs it.
    escape_literal(value).trim_start().to_string()
}

/// A dollar-quoted body (`$tag$...$tag$`) whose tag does not occur in it,
/// so names quoted inside the body cannot end it early.
pub fn dollar(tag: &str, body: &str) -> String {
    let mut t = format!("${tag}$");
    let mut n = 0;
    while body.contains(&t) {
        n += 1;
        t = format!("${tag}{n}$");
    }
    format!("{t}{body}{t}")
}

/// A value for a psql meta-command argument (`\set name 'value'`): single
/// quotes, with `'` doubled and `\` doubled (psql reads C-like escapes there).
pub fn psql_arg(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("Weird \"name\""), "\"Weird \"\"name\"\"\"");
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(r"a\b'c"), r"E'a\\b''c'");
        assert_eq!(psql_arg(r"a'b\c"), r"'a''b\\c'");
        assert_eq!(dollar("v", "x"), "$v$x$v$");
        assert_eq!(dollar("v", "a $v$ b"), "$v1$a $v$ b$v1$");
    }
}
