//! pg_hba.conf fields: a name is double-quoted when it holds anything but
//! plain characters, or is one of the keywords (a quoted keyword means the
//! literal name); a double quote inside is doubled (`"Ops ""Team"""`, read
//! by PostgreSQL 15 as `Ops "Team"`). A line break cannot be
//! written at all. Addresses are written bare with a mask (an IPv6 address
//! in brackets would be taken as a host name and never match). Which
//! characters no name may hold at all is quote::text's rule.

const KEYWORDS: [&str; 6] = [
    "all",
    "sameuser",
    "samerole",
    "samegroup",
    "replication",
    "samehost",
];

pub fn field(name: &str) -> Result<String, String> {
    // The one rule for names (a line break cannot be written in
    // pg_hba.conf at all), shared with tsmn validate.
    if let Err(why) = super::text::check(name, super::text::Kind::Name) {
        return Err(format!("`{}` {why}", name.escape_default()));
    }
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !name.starts_with(['+', '@'])
        && !KEYWORDS.contains(&name);
    Ok(if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    })
}

/// An address field: an IP with its mask (/32, /128), a CIDR block as
/// given, or a host name as given; brackets around IPv6 are dropped.
pub fn address(addr: &str) -> String {
    let (ip, bits) = match addr.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (addr, None),
    };
    let bare = ip
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(ip);
    match (bare.parse::<std::net::IpAddr>(), bits) {
        (Ok(_), Some(b)) => format!("{bare}/{b}"),
        (Ok(ip), None) if ip.is_ipv4() => format!("{bare}/32"),
        (Ok(_), None) => format!("{bare}/128"),
        (Err(_), _) => addr.to_string(),
    }
}

/// A comma-separated list of names.
pub fn list(names: &[String]) -> Result<String, String> {
    names
        .iter()
        .map(|n| field(n))
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.join(","))
}

/// The lines that mark tsmn's block in a pg_hba.conf (written by
/// steps::hba_block, recognised by check's findings).
pub const BLOCK_BEGIN: &str =
    "# BEGIN tsmn: the access node's rules; managed by tsmn, edit the plan instead";
pub const BLOCK_END: &str = "# END tsmn";

#[cfg(test)]
mod tests {
    #[test]
    fn fields() {
        assert_eq!(super::field("postgres").unwrap(), "postgres");
        assert_eq!(super::field("all").unwrap(), "\"all\"");
        assert_eq!(super::field("app user").unwrap(), "\"app user\"");
        assert_eq!(
            super::field("Ops \"Team\"").unwrap(),
            "\"Ops \"\"Team\"\"\""
        );
        assert!(super::field("bad\nname").is_err());
        assert!(super::field("adm\u{202e}in").is_err());
        assert_eq!(super::address("[::1]"), "::1/128");
        assert_eq!(super::address("[fd00::5]/64"), "fd00::5/64");
        assert_eq!(super::address("10.0.0.5"), "10.0.0.5/32");
        assert_eq!(super::address("10.0.0.0/24"), "10.0.0.0/24");
        assert_eq!(super::address("an.example.com"), "an.example.com");
    }
}
