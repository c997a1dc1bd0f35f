//! The pgpass format: `host:port:database:username:password`, where `:` and
//! `\` inside a field are escaped with `\`, and a field that is exactly an
//! unescaped `*` matches anything. Read the way libpq reads it
//! (passwordFromFile in fe-connect.c): `\*` is a literal star, the password
//! ends at the first unescaped `:`, and a Unix socket matches `localhost`
//! only when it is libpq's default socket directory.

/// Escape one field for a pgpass line (a field that is just `*` becomes
/// `\*`, so a role called `*` is not a wildcard).
pub fn escape(field: &str) -> String {
    if field == "*" {
        return "\\*".into();
    }
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One pgpass line from its five fields; a key field given as `*` stays
/// the wildcard (a password is always literal).
pub fn line(host: &str, port: &str, database: &str, user: &str, password: &str) -> String {
    let key = |f: &str| if f == "*" { f.to_string() } else { escape(f) };
    [
        key(host),
        key(port),
        key(database),
        key(user),
        escape(password),
    ]
    .join(":")
}

/// One field as read: its text with the escapes undone, and whether it was
/// the bare wildcard.
struct Field {
    text: String,
    wildcard: bool,
}

fn fields(line: &str) -> Option<[Field; 5]> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.starts_with('#') {
        return None;
    }
    let mut out: Vec<Field> = Vec::with_capacity(5);
    let (mut raw, mut text) = (String::new(), String::new());
    let mut chars = line.chars();
    loop {
        let c = chars.next();
        match c {
            Some('\\') => {
                raw.push('\\');
                // A backslash at the very end stays itself (libpq too).
                let next = chars.next().unwrap_or('\\');
                raw.push(next);
                text.push(next);
            }
            Some(':') | None => {
                out.push(Field {
                    wildcard: raw == "*",
                    text: std::mem::take(&mut text),
                });
                raw.clear();
                // libpq: the password ends at the first unescaped colon.
                if out.len() == 5 || c.is_none() {
                    break;
                }
            }
            Some(c) => {
                raw.push(c);
                text.push(c);
            }
        }
    }
    out.try_into().ok()
}

/// Split a pgpass line into its fields, undoing the escapes. Comments and
/// lines with fewer than five fields give None (libpq skips them too).
pub fn split(line: &str) -> Option<[String; 5]> {
    fields(line).map(|f| f.map(|f| f.text))
}

/// libpq's default socket directory: Debian's build, and upstream's.
const DEFAULT_SOCKET_DIRS: [&str; 2] = ["/var/run/postgresql", "/tmp"];

/// The password for a connection, by libpq's rules: first matching line wins.
pub fn lookup(text: &str, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    let host = if host.is_empty() || DEFAULT_SOCKET_DIRS.contains(&host) {
        "localhost"
    } else {
        host
    };
    text.lines()
        .filter_map(fields)
        .find_map(|[h, p, d, u, pw]| {
            let ok = |f: &Field, want: &str| f.wildcard || f.text == want;
            (ok(&h, host) && ok(&p, &port) && ok(&d, database) && ok(&u, user)).then_some(pw.text)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for value in [
            "plain",
            "with:colon",
            "back\\slash",
            "both\\:x",
            "ünï cødé",
            "trailing\\",
        ] {
            let l = line("h", "5432", "db", "u", value);
            assert_eq!(split(&l).unwrap()[4], value, "{l}");
            let l = line(value, "5432", "db", value, "pw");
            let f = split(&l).unwrap();
            assert_eq!((f[0].as_str(), f[3].as_str()), (value, value), "{l}");
        }
    }

    #[test]
    fn lookup_follows_libpq() {
        let text =
            "# comment\nother:5432:*:postgres:nope\n*:5433:*:postgres:first\n*:*:*:*:fallback\n";
        assert_eq!(
            lookup(text, "db1", 5433, "tsdb", "postgres").as_deref(),
            Some("first")
        );
        assert_eq!(
            lookup(text, "db1", 5432, "tsdb", "app").as_deref(),
            Some("fallback")
        );
        assert_eq!(lookup("h:1:*:u:x\n", "h2", 1, "d", "u"), None);
    }

    #[test]
    fn lookup_reads_as_libpq_reads() {
        // Only a bare * is a wildcard; \* is a star.
        assert_eq!(lookup("\\*:1:d:u:x\n", "db1", 1, "d", "u"), None);
        assert_eq!(
            lookup("\\*:1:d:u:x\n", "*", 1, "d", "u").as_deref(),
            Some("x")
        );
        assert_eq!(lookup("h:1:d:*x:pw\n", "h", 1, "d", "ux"), None);
        // The password ends at an unescaped colon.
        assert_eq!(
            lookup("h:1:d:u:a:b\n", "h", 1, "d", "u").as_deref(),
            Some("a")
        );
        assert_eq!(
            lookup("h:1:d:u:a\\:b\r\n", "h", 1, "d", "u").as_deref(),
            Some("a:b")
        );
        // A socket directory of its own is matched by its path, not localhost.
        assert_eq!(lookup("localhost:1:*:u:x\n", "/srv/pg", 1, "d", "u"), None);
        assert_eq!(
            lookup("/srv/pg:1:*:u:x\n", "/srv/pg", 1, "d", "u").as_deref(),
            Some("x")
        );
        assert_eq!(
            lookup("localhost:1:*:u:x\n", "/var/run/postgresql", 1, "d", "u").as_deref(),
            Some("x")
        );
        // A role called * is written so that it is no wildcard.
        assert_eq!(
            lookup(&format!("h:1:*:{}:pw", escape("*")), "h", 1, "d", "other"),
            None
        );
        assert_eq!(line("h", "1", "*", "u", "*"), "h:1:*:u:\\*");
    }
}
