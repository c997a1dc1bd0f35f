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
    /// A rule before any certain answer may or may not match, and tsmn
    /// cannot tell from here (a host name, samehost or samenet, a +group
    /// or samerole whose membership it does not know, a quoted keyword):
    /// only a connection from the access node can say.
    Unknown(&'r HbaRule),
}

pub fn evaluate<'r>(rules: &'r [HbaRule], attempt: &Attempt, accepted: &[&str]) -> Verdict<'r> {
    let mut live = rules.iter().filter(|r| r.error.is_none());
    let first = loop {
        let Some(r) = live.next() else {
            return Verdict::NoRule;
        };
        match matches(r, attempt) {
            Match::Yes => break r,
            Match::No => continue,
            Match::Unknown => return Verdict::Unknown(r),
        }
    };
    if method_ok(first, accepted) {
        return Verdict::Admitted(first);
    }
    // A later rule that would admit it, were the first one not there.
    let would = live.find(|r| matches(r, attempt) == Match::Yes && method_ok(r, accepted));
    Verdict::Shadowed { first, would }
}

/// With libpq's default sslmode `prefer` (the access node's ssl off): TLS
/// first when the data node offers it, and on a refusal the same login
/// again without TLS. What counts is the plain retry's answer when the
/// TLS attempt is not admitted.
pub fn evaluate_prefer<'r>(
    rules: &'r [HbaRule],
    attempt: &Attempt,
    accepted: &[&str],
) -> Verdict<'r> {
    let with_tls = Attempt {
        ssl: true,
        ..attempt.clone()
    };
    match evaluate(rules, &with_tls, accepted) {
        Verdict::Admitted(r) => Verdict::Admitted(r),
        _ => evaluate(
            rules,
            &Attempt {
                ssl: false,
                ..attempt.clone()
            },
            accepted,
        ),
    }
}

fn method_ok(rule: &HbaRule, accepted: &[&str]) -> bool {
    rule.method
        .as_deref()
        .is_some_and(|m| accepted.contains(&m))
}

/// Whether a rule matches a connection, as far as tsmn can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    Unknown,
}

impl Match {
    fn and(self, other: Match) -> Match {
        match (self, other) {
            (Match::No, _) | (_, Match::No) => Match::No,
            (Match::Yes, Match::Yes) => Match::Yes,
            _ => Match::Unknown,
        }
    }

    /// Any of the list's entries.
    fn any(items: impl Iterator<Item = Match>) -> Match {
        let mut out = Match::No;
        for m in items {
            match m {
                Match::Yes => return Match::Yes,
                Match::Unknown => out = Match::Unknown,
                Match::No => {}
            }
        }
        out
    }
}

fn matches(rule: &HbaRule, a: &Attempt) -> Match {
    let kind_ok = match rule.kind.as_deref() {
        Some("host") | Some("hostnogssenc") => true,
        Some("hostssl") => a.ssl,
        Some("hostnossl") => !a.ssl,
        _ => false, // local, hostgssenc, or a row that failed to parse
    };
    if !kind_ok {
        return Match::No;
    }
    // pg_hba_file_rules shows a quoted "all" as all: a rule whose line
    // quotes a keyword cannot be read from the view alone.
    let keyword = |w: &str| {
        if rule.quoted_keywords {
            Match::Unknown
        } else if w == "yes" {
            Match::Yes
        } else {
            Match::No
        }
    };
    let database = Match::any(rule.databases.iter().map(|d| match d.as_str() {
        "all" => keyword("yes"),
        "sameuser" if a.database == a.user => keyword("yes"),
        "sameuser" => keyword("no"),
        "samerole" | "samegroup" if a.database == a.user => keyword("yes"),
        "samerole" | "samegroup" => Match::Unknown,
        "replication" => Match::No,
        d if d == a.database => Match::Yes,
        _ => Match::No,
    }));
    let user = Match::any(rule.users.iter().map(|u| match u.strip_prefix('+') {
        // A role is a member of itself; of another group, only the server
        // knows (pg_has_role on the data node).
        Some(g) if g == a.user => Match::Yes,
        Some(_) => Match::Unknown,
        None if u == "all" => keyword("yes"),
        None if u == a.user => Match::Yes,
        None => Match::No,
    }));
    database.and(user).and(address_matches(rule, a.address))
}

fn address_matches(rule: &HbaRule, ip: IpAddr) -> Match {
    let Some(addr) = rule.address.as_deref() else {
        return Match::No;
    };
    if addr == "all" {
        return Match::Yes;
    }
    let (Ok(net), Some(Ok(mask))) = (
        addr.parse::<IpAddr>(),
        rule.netmask.as_deref().map(str::parse::<IpAddr>),
    ) else {
        // Host names (localhost too: which of ::1 and 127.0.0.1 it means
        // is the data node's resolver's word), samehost and samenet: only
        // the data node can tell.
        return Match::Unknown;
    };
    let hit = match (net, mask, ip) {
        (IpAddr::V4(n), IpAddr::V4(m), IpAddr::V4(i)) => {
            u32::from(n) & u32::from(m) == u32::from(i) & u32::from(m)
        }
        (IpAddr::V6(n), IpAddr::V6(m), IpAddr::V6(i)) => {
            u128::from(n) & u128::from(m) == u128::from(i) & u128::from(m)
        }
        _ => false,
    };
    if hit {
        Match::Yes
    } else {
        Match::No
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
    fn what_only_the_server_knows_is_unknown_not_refused() {
        let a = attempt(false);
        for r in [
            rule(
                1,
                "host",
                "all",
                "+tsmn_group",
                "10.0.0.10",
                "255.255.255.255",
                "trust",
            ),
            rule(1, "host", "all", "postgres", "localhost", "", "trust"),
            rule(1, "host", "all", "postgres", "samenet", "", "trust"),
        ] {
            assert!(
                matches!(
                    evaluate(std::slice::from_ref(&r), &a, &["trust"]),
                    Verdict::Unknown(_)
                ),
                "{r:?}"
            );
        }
        // samerole: the user's membership of the role named like the
        // database; its own name is certain, another only the server knows.
        let samerole = rule(1, "host", "samerole", "postgres", "all", "", "trust");
        assert!(matches!(
            evaluate(std::slice::from_ref(&samerole), &a, &["trust"]),
            Verdict::Admitted(_)
        ));
        let to_tsdb = Attempt {
            database: "tsdb",
            ..a.clone()
        };
        assert!(matches!(
            evaluate(&[samerole], &to_tsdb, &["trust"]),
            Verdict::Unknown(_)
        ));
        let mut quoted = rule(1, "host", "all", "postgres", "all", "", "trust");
        quoted.quoted_keywords = true;
        assert!(matches!(
            evaluate(&[quoted], &a, &["trust"]),
            Verdict::Unknown(_)
        ));
        // A certain refusal before an unknown rule still decides.
        let rules = vec![
            rule(1, "host", "all", "all", "10.0.0.0", "255.0.0.0", "reject"),
            rule(2, "host", "all", "+g", "all", "", "trust"),
        ];
        assert!(matches!(
            evaluate(&rules, &a, &["trust"]),
            Verdict::Shadowed { .. }
        ));
    }

    #[test]
    fn prefer_retries_without_tls() {
        let rules = vec![
            rule(1, "hostssl", "all", "all", "all", "", "reject"),
            rule(2, "hostnossl", "all", "all", "all", "", "trust"),
        ];
        assert!(matches!(
            evaluate_prefer(&rules, &attempt(false), &["trust"]),
            Verdict::Admitted(r) if r.line_number == 2
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
