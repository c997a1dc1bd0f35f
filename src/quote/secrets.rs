//! Text tsmn did not write (its own command line) as the log may show it:
//! every place a secret can stand, masked. Where a value may or may not be
//! a secret, it is masked: a log with a role name too few does no harm.

const MASK: &str = "***";

/// The arguments joined by spaces, with the passwords masked: inside
/// connection URIs and key=value strings (see `masked`), and the value of
/// any flag whose name holds "password" (`--x-password VALUE` and
/// `--x-password=VALUE`).
pub fn masked_args(args: &[String]) -> String {
    let mut out = Vec::with_capacity(args.len());
    let mut after_password_flag = false;
    for arg in args {
        if after_password_flag {
            out.push(MASK.to_string());
            after_password_flag = false;
            continue;
        }
        let flag = arg.starts_with('-').then(|| arg.split_once('='));
        match flag {
            Some(Some((name, _))) if names_password(name) => out.push(format!("{name}={MASK}")),
            Some(None) if names_password(arg) => {
                after_password_flag = true;
                out.push(arg.clone());
            }
            _ => out.push(masked(arg)),
        }
    }
    out.join(" ")
}

fn names_password(flag: &str) -> bool {
    flag.to_ascii_lowercase().contains("password")
}

/// `text` with the password of every URI's user information
/// (`scheme://user:PASSWORD@host`) and the value of every `password=`
/// key (libpq's key=value form, quoted or bare, and a URI's query
/// parameter; also `sslpassword`) masked.
pub fn masked(text: &str) -> String {
    mask_pairs(&mask_userinfo(text))
}

/// The password in each `://user:password@` (libpq's rule: the user
/// information ends at the first `@` before any `/`).
fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '@' || c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let userinfo = &tail[..end];
        match (tail[end..].starts_with('@'), userinfo.split_once(':')) {
            (true, Some((user, _))) => {
                out.push_str(user);
                out.push(':');
                out.push_str(MASK);
            }
            _ => out.push_str(userinfo),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The value after each `password` key and its `=` (spaces around the
/// `=` allowed, as libpq allows them): a quoted value to its closing
/// quote (a backslash escapes the next character), a bare one to the next
/// space.
fn mask_pairs(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(found) = lower[at..].find("password") {
        let key_end = at + found + "password".len();
        let Some(value_start) = after_equals(text, key_end) else {
            out.push_str(&text[at..key_end]);
            at = key_end;
            continue;
        };
        out.push_str(&text[at..value_start]);
        out.push_str(MASK);
        at = value_end(text, value_start);
    }
    out.push_str(&text[at..]);
    out
}

/// Where the value starts when `=` follows the key (after spaces).
fn after_equals(text: &str, key_end: usize) -> Option<usize> {
    let rest = &text[key_end..];
    let eq = rest.trim_start();
    let eq = eq.strip_prefix('=')?;
    // `password => '...'`: SQL's named argument, not a libpq key.
    if eq.starts_with('>') {
        return None;
    }
    let value = eq.trim_start();
    Some(text.len() - value.len())
}

fn value_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut chars = rest.char_indices();
    if rest.starts_with('\'') {
        chars.next();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => return start + i + 1,
                _ => {}
            }
        }
        return text.len();
    }
    // A bare value ends at a space, or where the text around it goes on
    // (the quote closing an SQL literal, a parenthesis, a comma).
    rest.find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ')' | ',' | ';'))
        .map_or(text.len(), |i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn uri_passwords_are_masked() {
        assert_eq!(
            masked("postgresql://ops:S3cr%40t@127.0.0.1:1/db"),
            "postgresql://ops:***@127.0.0.1:1/db"
        );
        assert_eq!(masked("postgres://ops:a:b@h"), "postgres://ops:***@h");
        // No password, or no user information: nothing to mask.
        assert_eq!(
            masked("postgresql://ops@h:5432/db"),
            "postgresql://ops@h:5432/db"
        );
        assert_eq!(
            masked("postgresql://h:5432/db?x=a@b"),
            "postgresql://h:5432/db?x=a@b"
        );
        assert_eq!(
            masked("postgresql://h/db?sslmode=require&password=p%26w"),
            "postgresql://h/db?sslmode=require&password=***"
        );
    }

    #[test]
    fn key_value_passwords_are_masked() {
        assert_eq!(
            masked("host=h password=pw user=u"),
            "host=h password=*** user=u"
        );
        assert_eq!(
            masked(r"host=h password = 'it\'s a pw' user=u"),
            "host=h password = *** user=u"
        );
        assert_eq!(masked("PASSWORD='x y'"), "PASSWORD=***");
        assert_eq!(masked("sslpassword=k host=h"), "sslpassword=*** host=h");
        assert_eq!(masked("password='unterminated"), "password=***");
        assert_eq!(masked("a password-less host"), "a password-less host");
    }

    #[test]
    fn flags_naming_a_password_have_their_value_masked() {
        assert_eq!(
            masked_args(&args(&[
                "tsmn",
                "apply",
                "--rotate-password",
                "app",
                "--plan",
                "p.toml"
            ])),
            "tsmn apply --rotate-password *** --plan p.toml"
        );
        assert_eq!(
            masked_args(&args(&["tsmn", "--db-password=hunter2", "-v"])),
            "tsmn --db-password=*** -v"
        );
        assert_eq!(
            masked_args(&args(&[
                "tsmn",
                "discover",
                "--access-node",
                "postgresql://u:pw@h/d"
            ])),
            "tsmn discover --access-node postgresql://u:***@h/d"
        );
    }
}
