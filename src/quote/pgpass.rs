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

/// A passfile after a role's password changed for one data node, and the
/// backup to keep of the file before (see `redacted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub text: String,
    pub backup: String,
}

/// PURE: the passfile `text` with `role`'s password for the connection to
/// (`host`, `port`, `database`) set to `password`, every other line kept.
/// The line libpq would use is edited when it names exactly this host,
/// port and role; otherwise (a wildcard line, or none) an exact line goes
/// in just before it, so that libpq finds the new password first.
pub fn rotate(
    text: &str,
    host: &str,
    port: u16,
    database: &str,
    role: &str,
    password: &str,
) -> Rotated {
    let port_text = port.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let used = lines
        .iter()
        .position(|l| lookup(l, host, port, database, role).is_some());
    let exact = |l: &str| {
        fields(l).is_some_and(|[h, p, _, u, _]| {
            !h.wildcard
                && !p.wildcard
                && !u.wildcard
                && h.text == host
                && p.text == port_text
                && u.text == role
        })
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match used {
        Some(i) if exact(lines[i]) => {
            let [h, p, d, u, _] = split(lines[i]).unwrap_or_default();
            let key = |f: &str, raw_wild: bool| if raw_wild { "*".to_string() } else { escape(f) };
            let db_wild = fields(lines[i]).is_some_and(|f| f[2].wildcard);
            out[i] = [
                escape(&h),
                escape(&p),
                key(&d, db_wild),
                escape(&u),
                escape(password),
            ]
            .join(":");
        }
        Some(i) => out.insert(i, line(host, &port_text, "*", role, password)),
        None => {
            // After the leading comments (a header stays on top).
            let at = lines.iter().take_while(|l| l.starts_with('#')).count();
            out.insert(at, line(host, &port_text, "*", role, password));
        }
    }
    Rotated {
        text: join(&out),
        backup: redacted(text, role),
    }
}

/// PURE: the passfile with every line for `role` (by name, not a
/// wildcard) turned into a comment without its password: a backup kept
/// after a rotation holds no old password, and restoring it cannot put
/// one back.
pub fn redacted(text: &str, role: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| match fields(l) {
            Some([h, p, d, u, _]) if !u.wildcard && u.text == role => format!(
                "# password of {} removed by tsmn (rotated): {}:{}:{}:{}:",
                escape(role),
                if h.wildcard {
                    "*".into()
                } else {
                    escape(&h.text)
                },
                if p.wildcard {
                    "*".into()
                } else {
                    escape(&p.text)
                },
                if d.wildcard {
                    "*".into()
                } else {
                    escape(&d.text)
                },
                escape(&u.text)
            ),
            _ => l.to_string(),
        })
        .collect();
    join(&lines)
}

/// PURE: the passfile without `role`'s lines (by name) whose password is
/// not `password`: once every data node has an exact line with the new
/// one, the old lines only keep an old password on disk.
pub fn without_stale(text: &str, role: &str, password: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .filter(|l| {
            !fields(l).is_some_and(|[_, _, _, u, pw]| {
                !u.wildcard && u.text == role && pw.text != password
            })
        })
        .map(str::to_string)
        .collect();
    join(&lines)
}

fn join(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut t = lines.join("\n");
    t.push('\n');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_edits_the_line_libpq_uses_and_keeps_the_rest() {
        let tsmn = "# written by tsmn\n10.0.0.11:5432:*:ops:old\n10.0.0.12:5432:*:ops:old\n10.0.0.11:5432:*:postgres:su\n";
        let r = rotate(tsmn, "10.0.0.11", 5432, "tsdb", "ops", "n:ew");
        assert_eq!(
            r.text,
            "# written by tsmn\n10.0.0.11:5432:*:ops:n\\:ew\n10.0.0.12:5432:*:ops:old\n10.0.0.11:5432:*:postgres:su\n"
        );
        assert_eq!(
            lookup(&r.text, "10.0.0.11", 5432, "tsdb", "ops").as_deref(),
            Some("n:ew")
        );
        assert_eq!(
            lookup(&r.text, "10.0.0.12", 5432, "tsdb", "ops").as_deref(),
            Some("old")
        );
        assert!(!r.backup.contains("old"), "{}", r.backup);
        assert!(
            r.backup.contains("10.0.0.11:5432:*:postgres:su"),
            "other roles stay"
        );
        // A second time changes nothing.
        assert_eq!(
            rotate(&r.text, "10.0.0.11", 5432, "tsdb", "ops", "n:ew").text,
            r.text
        );

        // A wildcard line (a passfile written by hand): an exact line goes first.
        let hand = "*:*:*:postgres:su\n*:*:*:ops:old\n";
        let r = rotate(hand, "127.0.0.1", 6433, "tsdb", "ops", "new");
        assert_eq!(
            r.text,
            "*:*:*:postgres:su\n127.0.0.1:6433:*:ops:new\n*:*:*:ops:old\n"
        );
        assert_eq!(
            lookup(&r.text, "127.0.0.1", 6433, "tsdb", "ops").as_deref(),
            Some("new")
        );
        assert_eq!(
            lookup(&r.text, "127.0.0.1", 6434, "tsdb", "ops").as_deref(),
            Some("old")
        );
        let done = without_stale(&r.text, "ops", "new");
        assert_eq!(done, "*:*:*:postgres:su\n127.0.0.1:6433:*:ops:new\n");
        // No line at all: after the header.
        let r = rotate("# h\n", "h", 1, "d", "ops", "p");
        assert_eq!(r.text, "# h\nh:1:*:ops:p\n");
    }

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
