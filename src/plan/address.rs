//! Host names and addresses as an operator may type them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether an address as pg_hba.conf and the plan write it (an IP, or
/// IP/bits; brackets allowed) covers `ip`; None when it is no address (a
/// host name, samehost, all, ...). The one reading of a CIDR in tsmn.
pub fn cidr_covers(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let net = net.trim_matches(['[', ']']).parse::<IpAddr>().ok()?;
    Some(match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let b = bits.unwrap_or(32).min(32);
            let m = if b == 0 { 0 } else { u32::MAX << (32 - b) };
            u32::from(n) & m == u32::from(i) & m
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let b = bits.unwrap_or(128).min(128);
            let m = if b == 0 { 0 } else { u128::MAX << (128 - b) };
            u128::from(n) & m == u128::from(i) & m
        }
        _ => false,
    })
}

/// Why a host string is not usable, in words an operator can act on.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("is empty".into());
    }
    if host.trim() != host {
        return Err("has leading or trailing spaces".into());
    }
    if let Some(inner) = host.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err("opens a bracket for an IPv6 address but does not close it".into());
        };
        return inner
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("`{inner}` inside brackets is not an IPv6 address"));
    }
    if host.contains(']') {
        return Err("closes a bracket it never opened".into());
    }
    if host.contains(':') {
        return host
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| "contains `:` but is not an IPv6 address (a port goes in `port`)".into());
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return host
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| "looks like an IPv4 address but is not one (four numbers 0-255)".into());
    }
    check_dns_name(host)
}

fn check_dns_name(host: &str) -> Result<(), String> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Err("is longer than the 253 characters a DNS name may have".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "has the label `{label}`, longer than 63 characters"
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "contains `{}`, which a host name may not (letters, digits, `-` and `.` only)",
                bad.escape_default()
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "has the label `{label}`, which starts or ends with `-`"
            ));
        }
    }
    Ok(())
}

/// libpq wants IPv6 addresses without brackets; operators often type them with.
pub fn normalize_host(host: &str) -> String {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if inner.parse::<Ipv6Addr>().is_ok() => inner.to_string(),
        _ => host.to_string(),
    }
}

/// An address a data node sees the access node connect from: an IP or a CIDR block.
pub fn check_source_address(addr: &str) -> Result<(), String> {
    let (ip, bits) = match addr.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (addr, None),
    };
    let ip: IpAddr = normalize_host(ip)
        .parse()
        .map_err(|_| format!("`{ip}` is not an IP address"))?;
    if let Some(bits) = bits {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        match bits.parse::<u8>() {
            Ok(b) if b <= max => {}
            _ => return Err(format!("`/{bits}` is not a prefix length from 0 to {max}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_addresses() {
        for ok in [
            "db1",
            "db-1.example.com",
            "db.example.com.",
            "10.0.0.1",
            "::1",
            "[::1]",
            "[fe80::1]",
            "2001:db8::5",
        ] {
            assert_eq!(check_host(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_hosts() {
        for bad in [
            "",
            " db",
            "db..x",
            "-db",
            "db_1",
            "1.2.3.256",
            "[::1",
            "::g",
            "db:5432",
            "dé.example",
        ] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strips_ipv6_brackets() {
        assert_eq!(normalize_host("[::1]"), "::1");
        assert_eq!(normalize_host("db1"), "db1");
    }

    #[test]
    fn source_addresses() {
        assert!(check_source_address("10.0.0.0/8").is_ok());
        assert!(check_source_address("::1").is_ok());
        assert!(check_source_address("10.0.0.1/33").is_err());
        assert!(check_source_address("db1").is_err());
    }
}
