//! PURE: libpq's two connection-string syntaxes, read as libpq 15 reads
//! them (`conninfo_parse` and `conninfo_uri_parse_options` in
//! src/interfaces/libpq/fe-connect.c; the rules are in the PostgreSQL
//! docs, "Connection Strings"):
//!
//! * `key=value` pairs separated by white space, spaces around `=`
//!   allowed; a value in single quotes may hold spaces; `\` escapes the
//!   next character, quoted or not.
//! * `postgresql://[user[:password]@][host][:port][,...][/dbname][?key=value&...]`
//!   (or `postgres://`), every part percent-decoded, a host in `[...]` an
//!   IPv6 address, `ssl=true` in the query meaning `sslmode=require`.
//!
//! A key libpq does not know is an error naming it, as libpq's own is.
//! `requiressl` (long deprecated) becomes sslmode, as in libpq. No error
//! repeats a value: a password may be in it.

use super::keys::{self, Key};

/// What a connection string sets: each key libpq knows, in the order given;
/// a key given twice keeps its last value (libpq's rule).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conninfo {
    pairs: Vec<(&'static Key, String)>,
}

/// A connection string's host, as libpq tells them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnHost {
    Tcp(String),
    /// A Unix socket directory (the host starts with `/`, or `@` for
    /// Linux's abstract namespace).
    Socket(String),
}

impl Conninfo {
    /// Either syntax, told apart by the URI prefix as libpq does.
    pub fn parse(text: &str) -> Result<Conninfo, String> {
        let mut c = Conninfo::default();
        match uri_rest(text) {
            Some(rest) => c.parse_uri(rest)?,
            None => c.parse_pairs(text)?,
        }
        Ok(c)
    }

    /// The value of `key` (libpq's name), when the string sets it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v.as_str())
    }

    /// Each key set, with its value, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static Key, &str)> {
        self.pairs.iter().map(|(k, v)| (*k, v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Set `key` (an error names a key libpq does not know).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let (key, value) = match key {
            // libpq: requiressl=1 is sslmode=require, anything else prefer.
            "requiressl" => (
                "sslmode",
                if value.starts_with('1') {
                    "require"
                } else {
                    "prefer"
                },
            ),
            _ => (key, value),
        };
        let Some(k) = keys::find(key) else {
            return Err(format!(
                "`{key}` is not a libpq connection key (libpq refuses it too)"
            ));
        };
        match self.pairs.iter_mut().find(|(have, _)| have.name == k.name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.pairs.push((k, value.to_string())),
        }
        Ok(())
    }

    /// This string over a service's keys: what the string sets wins, as
    /// in libpq (the service only fills what the string leaves out).
    pub fn over(mut self, service: &Conninfo) -> Conninfo {
        for (k, v) in &service.pairs {
            if k.name != "service" && self.get(k.name).is_none() {
                self.pairs.push((k, v.clone()));
            }
        }
        self
    }

    pub fn has_password(&self) -> bool {
        self.get("password").is_some_and(|p| !p.is_empty())
    }

    /// The hosts, comma-separated as libpq lists them (an empty entry
    /// means libpq's default, and is left out).
    pub fn hosts(&self) -> Vec<ConnHost> {
        list(self.get("host"))
            .into_iter()
            .filter(|h| !h.is_empty())
            .map(|h| {
                if h.starts_with('/') || h.starts_with('@') {
                    ConnHost::Socket(h)
                } else {
                    ConnHost::Tcp(h)
                }
            })
            .collect()
    }

    /// The hostaddr entries (numeric addresses libpq connects to).
    pub fn hostaddrs(&self) -> Vec<String> {
        list(self.get("hostaddr"))
            .into_iter()
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// The ports, comma-separated (an empty entry: libpq's default 5432).
    pub fn ports(&self) -> Result<Vec<u16>, String> {
        list(self.get("port"))
            .into_iter()
            .map(|p| match p.trim() {
                "" => Ok(5432),
                p => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("port `{p}` is not a TCP port (1 to 65535)")),
            })
            .collect()
    }

    fn parse_pairs(&mut self, text: &str) -> Result<(), String> {
        let mut chars = text.chars().peekable();
        loop {
            while chars.next_if(|c| space(*c)).is_some() {}
            if chars.peek().is_none() {
                return Ok(());
            }
            let mut key = String::new();
            while let Some(c) = chars.next_if(|c| *c != '=' && !space(*c)) {
                key.push(c);
            }
            while chars.next_if(|c| space(*c)).is_some() {}
            if chars.next() != Some('=') {
                return Err(format!("missing `=` after `{key}`"));
            }
            while chars.next_if(|c| space(*c)).is_some() {}
            let mut value = String::new();
            if chars.next_if_eq(&'\'').is_some() {
                loop {
                    match chars.next() {
                        None => return Err(format!("the value of `{key}` has no closing quote")),
                        Some('\\') => value.extend(chars.next()),
                        Some('\'') => break,
                        Some(c) => value.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.next_if(|c| !space(*c)) {
                    if c == '\\' {
                        value.extend(chars.next());
                    } else {
                        value.push(c);
                    }
                }
            }
            self.set(&key, &value)?;
        }
    }

    fn parse_uri(&mut self, rest: &str) -> Result<(), String> {
        // user[:password]@ comes before the first `/`, if there is an `@`.
        let mut rest = rest;
        let head_end = rest.find(['@', '/']).unwrap_or(rest.len());
        if rest[head_end..].starts_with('@') {
            let creds = &rest[..head_end];
            let (user, password) = match creds.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (creds, None),
            };
            if !user.is_empty() {
                self.set("user", &decode(user, "user")?)?;
            }
            if let Some(p) = password.filter(|p| !p.is_empty()) {
                self.set("password", &decode(p, "password")?)?;
            }
            rest = &rest[head_end + 1..];
        }
        let (hosts, ports, after) = uri_hosts(rest)?;
        if !hosts.is_empty() {
            self.set("host", &decode(&hosts, "host")?)?;
        }
        if !ports.is_empty() {
            self.set("port", &decode(&ports, "port")?)?;
        }
        let query = match after.strip_prefix('/') {
            Some(path) => {
                let (db, query) = match path.split_once('?') {
                    Some((d, q)) => (d, Some(q)),
                    None => (path, None),
                };
                // libpq leaves an empty dbname unset.
                if !db.is_empty() {
                    self.set("dbname", &decode(db, "dbname")?)?;
                }
                query
            }
            None => after.strip_prefix('?'),
        };
        match query {
            Some(q) => self.parse_query(q),
            None => Ok(()),
        }
    }

    fn parse_query(&mut self, query: &str) -> Result<(), String> {
        for param in query.split('&') {
            let Some((key, value)) = param.split_once('=') else {
                return Err(format!(
                    "the URI parameter `{}` has no `=`",
                    decode(param, "parameter").unwrap_or_default()
                ));
            };
            let key = decode(key, "parameter")?;
            if value.contains('=') {
                return Err(format!("the URI parameter `{key}` has a second `=`"));
            }
            let value = decode(value, &key)?;
            // libpq's JDBC habit: ssl=true means sslmode=require.
            let (key, value) = if key == "ssl" && value == "true" {
                ("sslmode".to_string(), "require".to_string())
            } else {
                (key, value)
            };
            self.set(&key, &value)?;
        }
        Ok(())
    }
}

/// White space as C's isspace() has it (libpq's separator), vertical tab too.
fn space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// What follows `postgresql://` or `postgres://`, when the text is a URI.
fn uri_rest(text: &str) -> Option<&str> {
    text.strip_prefix("postgresql://")
        .or_else(|| text.strip_prefix("postgres://"))
}

/// A comma-separated list as libpq splits host, hostaddr and port.
fn list(value: Option<&str>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(v) => v.split(',').map(str::to_string).collect(),
    }
}

/// The URI's hosts and ports (each comma-joined, still percent-encoded, as
/// libpq keeps them until it stores them) and the rest of the URI.
fn uri_hosts(rest: &str) -> Result<(String, String, &str), String> {
    let (mut hosts, mut ports) = (Vec::new(), Vec::new());
    let mut p = rest;
    loop {
        let host;
        if let Some(inner) = p.strip_prefix('[') {
            let end = inner
                .find(']')
                .ok_or("the URI's IPv6 address has no closing `]`")?;
            if end == 0 {
                return Err("the URI's IPv6 address in `[]` is empty".into());
            }
            host = &inner[..end];
            p = &inner[end + 1..];
            if !(p.is_empty() || p.starts_with([':', '/', '?', ','])) {
                return Err(
                    "the URI has a character after `]` other than `:`, `/`, `?` or `,`".into(),
                );
            }
        } else {
            let end = p.find([':', '/', '?', ',']).unwrap_or(p.len());
            host = &p[..end];
            p = &p[end..];
        }
        hosts.push(host);
        let port = match p.strip_prefix(':') {
            Some(after) => {
                let end = after.find(['/', '?', ',']).unwrap_or(after.len());
                p = &after[end..];
                Some(&after[..end])
            }
            None => None,
        };
        ports.push(port.unwrap_or(""));
        match p.strip_prefix(',') {
            Some(next) => p = next,
            None => break,
        }
    }
    let joined = |v: &[&str]| {
        if v.iter().all(|s| s.is_empty()) && v.len() == 1 {
            String::new()
        } else {
            v.join(",")
        }
    };
    let ports = if ports.iter().all(|s| s.is_empty()) {
        String::new()
    } else {
        ports.join(",")
    };
    Ok((joined(&hosts), ports, p))
}

/// Percent-decoding as libpq does it: `%` and two hex digits, `%00`
/// refused, `+` left alone. `what` names the part in an error.
fn decode(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    format!("the URI's {what} has a `%` not followed by two hex digits")
                })?;
            if hex == 0 {
                return Err(format!("the URI's {what} holds %00, which libpq refuses"));
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URI's {what} does not decode to UTF-8"))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
