//! The pgpass format: `host:port:database:username:password`, where `:` and
//! `\` inside a field are escaped with `\`, and a field of `*` matches anything.

/// Escape one field for a pgpass line.
pub fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        if c == ':' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One pgpass line from its five fields.
pub fn line(host: &str, port: &str, database: &str, user: &str, password: &str) -> String {
    [host, port, database, user, password].map(escape).join(":")
}

/// Split a pgpass line into its fields, undoing the escapes. Comments and
/// lines with fewer than five fields give None (libpq skips them too).
pub fn split(line: &str) -> Option<[String; 5]> {
    if line.starts_with('#') {
        return None;
    }
    let mut fields: Vec<String> = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut()?.push(next);
                }
            }
            // The password is the rest of the line, colons included.
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => fields.last_mut()?.push(c),
        }
    }
    let f: [String; 5] = fields.try_into().ok()?;
    Some(f)
}

/// The password for a connection, by libpq's rules: first matching line wins.
pub fn lookup(text: &str, host: &str, port: u16, database: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    // libpq matches a Unix-socket connection against `localhost`.
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    text.lines().filter_map(split).find_map(|[h, p, d, u, pw]| {
        let ok = |field: &str, want: &str| field == "*" || field == want;
        (ok(&h, host) && ok(&p, &port) && ok(&d, database) && ok(&u, user)).then_some(pw)
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
        assert_eq!(
            lookup("localhost:1:*:u:sock\n", "/run/pg", 1, "d", "u").as_deref(),
            Some("sock")
        );
        assert_eq!(lookup("h:1:*:u:x\n", "h2", 1, "d", "u"), None);
    }
}
