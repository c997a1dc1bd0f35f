//! pg_hba.conf as the server evaluates it: rules in order, first match wins.

use crate::facts::HbaRule;
use std::net::IpAddr;

/// The connection the access node will make to a data node.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub ssl: bool,
    pub database: &'a str,
    pub user: &'a str,
    pub address: IpAddr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'r> {
    /// The first matching rule uses a method the mode accepts.
    Admitted(&'r HbaRule),
    /// The first matching rule rejects or asks for another method; `would`
    /// is the later rule that would have admitted the connection, if any.
    Shadowed {
        first: &'r HbaRule,
        would: Option<&'r HbaRule>,
    },
    /// No rule matches at all.
    NoRule,
}

pub fn evaluate<'r>(rules: &'r [HbaRule], attempt: &Attempt, accepted: &[&str]) -> Verdict<'r> {
    let mut matching = rules
        .iter()
        .filter(|r| r.error.is_none() && matches(r, attempt));
    let Some(first) = matching.next() else {
        return Verdict::NoRule;
    };
    if method_ok(first, accepted) {
        return Verdict::Admitted(first);
    }
    Verdict::Shadowed {
        first,
        would: matching.find(|r| method_ok(r, accepted)),
    }
}

fn method_ok(rule: &HbaRule, accepted: &[&str]) -> bool {
    rule.method
        .as_deref()
        .is_some_and(|m| accepted.contains(&m))
}

fn matches(rule: &HbaRule, a: &Attempt) -> bool {
    let kind_ok = match rule.kind.as_deref() {
        Some("host") | Some("hostnogssenc") => true,
        Some("hostssl") => a.ssl,
        Some("hostnossl") => !a.ssl,
        _ => false, // local, hostgssenc, or a row that failed to parse
    };
    kind_ok
        && rule
            .databases
            .iter()
            .any(|d| d == "all" || d == a.database || (d == "sameuser" && a.database == a.user))
        && rule
            .users
            .iter()
            .any(|u| u == "all" || u == a.user || u.strip_prefix('+') == Some(a.user))
        && address_matches(rule, a.address)
}

fn address_matches(rule: &HbaRule, ip: IpAddr) -> bool {
    let Some(addr) = rule.address.as_deref() else {
        return false;
    };
    if addr == "all" {
        return true;
    }
    let (Ok(net), Some(Ok(mask))) = (
        addr.parse::<IpAddr>(),
        rule.netmask.as_deref().map(str::parse::<IpAddr>),
    ) else {
        // Host names, samehost and samenet cannot be judged from here.
        return false;
    };
    match (net, mask, ip) {
        (IpAddr::V4(n), IpAddr::V4(m), IpAddr::V4(i)) => {
            u32::from(n) & u32::from(m) == u32::from(i) & u32::from(m)
        }
        (IpAddr::V6(n), IpAddr::V6(m), IpAddr::V6(i)) => {
            u128::from(n) & u128::from(m) == u128::from(i) & u128::from(m)
        }
        _ => false,
    }
}

/// The text of a rule's line, for quoting in a finding.
pub fn quote(lines: &[String], rule: &HbaRule) -> String {
    let n = rule.line_number as usize;
    match lines.get(n.wrapping_sub(1)) {
        Some(l) => format!("line {n}: {}", l.trim()),
        None => format!("line {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        n: u32,
        kind: &str,
        db: &str,
        user: &str,
        addr: &str,
        mask: &str,
        method: &str,
    ) -> HbaRule {
        HbaRule {
            line_number: n,
            kind: Some(kind.into()),
            databases: vec![db.into()],
            users: vec![user.into()],
            address: (!addr.is_empty()).then(|| addr.into()),
            netmask: (!mask.is_empty()).then(|| mask.into()),
            method: Some(method.into()),
            ..Default::default()
        }
    }

    fn attempt(ssl: bool) -> Attempt<'static> {
        Attempt {
            ssl,
            database: "postgres",
            user: "postgres",
            address: "10.0.0.10".parse().unwrap(),
        }
    }

    #[test]
    fn first_match_wins() {
        let rules = vec![
            rule(1, "local", "all", "all", "", "", "trust"),
            rule(
                2,
                "host",
                "all",
                "all",
                "10.0.0.0",
                "255.255.255.0",
                "scram-sha-256",
            ),
            rule(
                3,
                "host",
                "all",
                "all",
                "10.0.0.10",
                "255.255.255.255",
                "trust",
            ),
        ];
        match evaluate(&rules, &attempt(false), &["trust"]) {
            Verdict::Shadowed { first, would } => {
                assert_eq!(first.line_number, 2);
                assert_eq!(would.map(|r| r.line_number), Some(3));
            }
            v => panic!("{v:?}"),
        }
        assert!(
            matches!(evaluate(&rules, &attempt(false), &["scram-sha-256"]), Verdict::Admitted(r) if r.line_number == 2)
        );
    }

    #[test]
    fn ssl_kinds_and_no_rule() {
        let rules = vec![rule(1, "hostssl", "all", "all", "all", "", "cert")];
        assert_eq!(
            evaluate(&rules, &attempt(false), &["cert"]),
            Verdict::NoRule
        );
        assert!(matches!(
            evaluate(&rules, &attempt(true), &["cert"]),
            Verdict::Admitted(_)
        ));
    }

    #[test]
    fn database_and_user_must_match() {
        let rules = vec![rule(1, "host", "tsdb", "postgres", "all", "", "trust")];
        assert_eq!(
            evaluate(&rules, &attempt(false), &["trust"]),
            Verdict::NoRule,
            "bootstrap uses postgres"
        );
        let rules = vec![rule(
            1,
            "host",
            "all",
            "+postgres",
            "10.0.0.0",
            "255.0.0.0",
            "trust",
        )];
        assert!(matches!(
            evaluate(&rules, &attempt(false), &["trust"]),
            Verdict::Admitted(_)
        ));
    }

    #[test]
    fn ipv6_netmask() {
        let rules = vec![rule(
            1,
            "host",
            "all",
            "all",
            "fe80::",
            "ffff:ffff:ffff:ffff::",
            "trust",
        )];
        let a = Attempt {
            ssl: false,
            database: "postgres",
            user: "postgres",
            address: "fe80::1".parse().unwrap(),
        };
        assert!(matches!(
            evaluate(&rules, &a, &["trust"]),
            Verdict::Admitted(_)
        ));
    }
}
