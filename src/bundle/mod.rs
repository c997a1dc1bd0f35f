//! `tsmn report`: a support bundle. What goes in is a list of `Entry`
//! (plain data, made by collect.rs from the servers and tsmn's own files),
//! each masked on its way in; `README.txt` names every file; archive.rs
//! writes them as a tar.gz of mode 0600. What never goes in: passfiles,
//! private keys and certificates' directories, password verifiers
//! (`rolpassword` is never read), passwords in connection strings or SQL
//! (masked wherever text from a server or a file could hold one).

pub mod archive;
pub mod collect;

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its path inside the bundle, `/`-separated.
    pub path: String,
    /// One line for README.txt.
    pub about: String,
    pub text: String,
}

impl Entry {
    /// An entry whose text is masked (see `mask`).
    pub fn masked(path: impl Into<String>, about: impl Into<String>, text: &str) -> Entry {
        Entry {
            path: path.into(),
            about: about.into(),
            text: mask(text),
        }
    }
}

/// PURE: `text` with every password tsmn can recognise masked: libpq's
/// `password=` (bare or quoted), a URI's `user:password@`, and SQL's
/// `PASSWORD '...'` (a logged `ALTER ROLE`), with its `ENCRYPTED` form.
pub fn mask(text: &str) -> String {
    // SQL's forms first: `password => '...'` is not libpq's `password=`.
    let masked = mask_json_secrets(&crate::quote::secrets::masked(&mask_sql_passwords(text)));
    mask_passphrases(&masked)
}

/// A line that names a passphrase (ALTER SYSTEM SET ssl_passphrase_command
/// = '...', the server's `parameter "ssl_passphrase_command" changed to
/// "..."`): every quoted value after the word is masked (the command may
/// carry the passphrase itself).
fn mask_passphrases(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let Some(at) = line.to_ascii_lowercase().find("passphrase") else {
            out.push_str(line);
            continue;
        };
        let (head, tail) = line.split_at(at);
        out.push_str(head);
        // The word itself may sit inside quotes (parameter "..._command"):
        // values start after the word's own closing quote.
        let word_end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let (word, mut rest) = tail.split_at(word_end);
        out.push_str(word);
        if let Some(r) = rest.strip_prefix('"') {
            out.push('"');
            rest = r;
        }
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' || c == '"' {
                out.push(c);
                out.push_str("***");
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                out.push(c);
            } else {
                out.push(c);
            }
        }
    }
    out
}

/// The names of JSON keys whose values are secrets (a job's config, say:
/// `{"password": "..."}`), lower case, matched as parts of the key.
const SECRET_KEYS: [&str; 5] = ["password", "passwd", "secret", "token", "api_key"];

/// `"<a secret's key>": "..."` in JSON text, wherever it stands (a jsonb
/// column, a logged statement): the value masked. Each secret's key is
/// found by its name, not by pairing every quote of the text (a log has
/// quotes that pair with nothing).
fn mask_json_secrets(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    // (start, end) of each value to mask, in order.
    let mut values: Vec<(usize, usize)> = Vec::new();
    for marker in SECRET_KEYS {
        for (at, _) in lower.match_indices(marker) {
            let line_start = lower[..at].rfind('\n').map_or(0, |i| i + 1);
            let Some(open) = lower[line_start..at].rfind('"').map(|i| line_start + i) else {
                continue;
            };
            let Some(close) = string_end(&text[at..]).map(|i| at + i) else {
                continue;
            };
            if text[open + 1..close].contains('"') {
                continue;
            }
            let after = &text[close + 1..];
            let Some(value) = after.trim_start().strip_prefix(':').map(str::trim_start) else {
                continue;
            };
            let Some(body) = value.strip_prefix('"') else {
                continue;
            };
            let start = text.len() - body.len();
            if let Some(end) = string_end(body) {
                values.push((start, start + end));
            }
        }
    }
    values.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in values {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str("***");
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Where a JSON string that began just before `s` ends (its closing
/// quote's index), a backslash escaping the character after it.
fn string_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A password in SQL: after the word `password` (`PASSWORD '...'` of a
/// logged ALTER ROLE, `password => '...'` or `:=` of a named argument such
/// as add_data_node's), a literal in any of SQL's forms is masked whole:
/// standard ('it''s'), escape (E'\'' and doubled quotes), Unicode
/// (U&'...') and dollar-quoted ($$...$$, $tag$...$tag$).
fn mask_sql_passwords(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("password") {
        let key_end = at + found + "password".len();
        out.push_str(&text[at..key_end]);
        let mut rest = &text[key_end..];
        // A quoted option name: OPTIONS (user 'u', "password" '...').
        if let Some(r) = rest.strip_prefix('"') {
            rest = r;
        }
        let spaced = rest.trim_start();
        let after_arrow = ["=>", ":="]
            .iter()
            .find_map(|a| spaced.strip_prefix(a))
            .map(str::trim_start);
        // ALTER ROLE's form needs a space before the literal; a named
        // argument its arrow.
        let literal = match after_arrow {
            Some(l) => l,
            None if spaced.len() < rest.len() => spaced,
            None => {
                at = key_end;
                continue;
            }
        };
        let Some(len) = literal_len(literal) else {
            at = key_end;
            continue;
        };
        let start = text.len() - literal.len();
        out.push_str(&text[key_end..start]);
        let _ = rest;
        out.push_str("'***'");
        at = start + len;
    }
    out.push_str(&text[at..]);
    out
}

/// The length of the SQL string literal `s` starts with (None: it starts
/// with none). An unterminated one runs to the end (a log line cut short).
fn literal_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let (body, escapes) = match b.first()? {
        b'\'' => (1, false),
        b'E' | b'e' if b.get(1) == Some(&b'\'') => (2, true),
        b'U' | b'u' if s.get(1..3) == Some("&'") => (3, false),
        b'$' => {
            let tag_end = s[1..].find('$')? + 2;
            let tag = &s[..tag_end];
            if !tag[1..tag_end - 1]
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_')
            {
                return None;
            }
            return Some(
                s[tag_end..]
                    .find(tag)
                    .map_or(s.len(), |i| tag_end + i + tag.len()),
            );
        }
        _ => return None,
    };
    let mut i = body;
    while i < b.len() {
        match b[i] {
            b'\\' if escapes => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return Some(i + 1),
            _ => i += 1,
        }
    }
    Some(s.len())
}

/// PURE: the last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    let mut out = lines[from..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// PURE: README.txt: what the bundle is and one line per file.
pub fn readme(entries: &[Entry], made: &str) -> String {
    let mut out = format!(
        "Support bundle written by tsmn report at {made}.\n\
         Passwords in connection strings and SQL are masked (***); passfiles,\n\
         private keys and password verifiers are not included.\n\nFiles:\n"
    );
    let width = entries.iter().map(|e| e.path.len()).max().unwrap_or(0);
    for e in entries {
        out.push_str(&format!("  {:<width$}  {}\n", e.path, e.about));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_every_form_tsmn_reads() {
        let t = "host=a password=s3cret user=b\npostgresql://u:s3cret@h/db\n\
                 LOG: statement: ALTER ROLE x ENCRYPTED PASSWORD 'it''s s3cret' LOGIN\n\
                 password_encryption = scram-sha-256";
        let m = mask(t);
        assert!(!m.contains("s3cret"), "{m}");
        assert!(m.contains("PASSWORD '***' LOGIN"), "{m}");
        assert!(m.contains("password_encryption = scram-sha-256"), "{m}");
    }

    #[test]
    fn every_form_of_an_sql_literal_after_password_is_masked() {
        let t = "LOG: statement: alter role a with encrypted password $q$DollarS3cret$q$\n\
                 LOG: statement: alter role b password $$Dollar2S3cret$$ login\n\
                 LOG: statement: alter role c password E'Esc\\'S3cret' valid until 'infinity'\n\
                 LOG: statement: alter role d password U&'Uni\\0041S3cret'\n\
                 LOG: statement: select add_data_node('x', host=>'h', port=>1, password=>'AddDnS3cret')\n\
                 LOG: statement: select f(password := 'NamedS3cret')\n\
                 password_encryption = scram-sha-256";
        let m = mask(t);
        assert!(!m.contains("S3cret"), "{m}");
        assert!(m.contains("password '***' login"), "{m}");
        assert!(m.contains("password=>'***')"), "{m}");
        assert!(m.contains("valid until 'infinity'"), "{m}");
        assert!(m.contains("password_encryption = scram-sha-256"), "{m}");
    }

    #[test]
    fn passphrase_commands_and_quoted_option_names_are_masked() {
        let t = "LOG:  statement: ALTER SYSTEM SET ssl_passphrase_command='echo PassS3cret'\n\
                 LOG:  parameter \"ssl_passphrase_command\" changed to \"echo PassS3cret\"\n\
                 LOG:  statement: create user mapping for x server s options (user 'p', \"password\" 'UmS3cret')\n\
                 LOG:  statement: select dblink_connect('host=h password=DbS3cret')\n";
        let m = mask(t);
        assert!(!m.contains("S3cret"), "{m}");
        assert!(
            m.contains("parameter \"ssl_passphrase_command\" changed to \"***\""),
            "{m}"
        );
        assert!(
            m.contains("password=***')"),
            "the literal's end is kept: {m}"
        );
    }

    #[test]
    fn secrets_in_json_are_masked_and_the_rest_kept() {
        let t = r#"1001	leaky	{"note": "say \"hi\"", "password": "JobCfg\"N8", "dsn": "x", "api_key":"K9", "drop_after": "7 days"}"#;
        let m = mask(t);
        assert!(
            !m.contains("JobCfg") && !m.contains("N8") && !m.contains("K9"),
            "{m}"
        );
        assert!(m.contains(r#""password": "***""#), "{m}");
        assert!(m.contains(r#""drop_after": "7 days""#), "{m}");
        assert!(m.contains(r#""dsn": "x""#), "{m}");
    }

    #[test]
    fn the_log_keeps_only_the_runs_on_this_plan() {
        let log = "t INFO tsmn 0.1.0 started: tsmn apply --plan /x/other.toml\n\
                   t INFO [dn1] other cluster's line\n\
                   t INFO tsmn 0.1.0 started: tsmn check --plan /x/mine.toml\n\
                   t INFO [dn1] my line\n\
                   t INFO tsmn 0.1.0 started: tsmn status -p /x/mine.toml --json\n\
                   t INFO my second run\n\
                   t INFO tsmn 0.1.0 started: tsmn sandbox up\n\
                   t INFO not mine\n\
                   t INFO tsmn 0.1.0 started: tsmn apply --plan=sb/../mine.toml (in /x/y)\n\
                   t INFO mine from a relative path\n\
                   t INFO tsmn 0.1.0 started: tsmn apply --plan mine.toml (in /elsewhere)\n\
                   t INFO same name, another directory\n\
                   t INFO tsmn 0.1.0 started: tsmn apply --plan mine.toml\n\
                   t INFO relative, directory unknown\n";
        let mine = collect::runs_of(log, std::path::Path::new("/x/y/mine.toml"));
        let log = log.replace("/x/mine.toml", "/x/y/mine.toml");
        let mine_too = collect::runs_of(&log, std::path::Path::new("/x/y/mine.toml"));
        assert!(mine.contains("mine from a relative path"), "{mine}");
        assert!(
            mine_too.contains("my line") && mine_too.contains("my second run"),
            "{mine_too}"
        );
        for not in [
            "other",
            "not mine",
            "another directory",
            "directory unknown",
        ] {
            assert!(!mine_too.contains(not), "{not}: {mine_too}");
        }
    }

    #[test]
    fn the_tail_and_the_readme() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(tail("", 2), "");
        let e = [Entry::masked(
            "an/settings.tsv",
            "non-default settings",
            "x",
        )];
        let r = readme(&e, "now");
        assert!(
            r.contains("  an/settings.tsv  non-default settings\n"),
            "{r}"
        );
    }
}
