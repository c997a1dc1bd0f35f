//! Hostile values through each quoting function, checked by the real parser:
//! PostgreSQL for SQL and pg_hba.conf, the shell for shell words, libpq's
//! reader for pgpass (in tests/passwords.rs) and our own for round trips.

mod support;

use proptest::prelude::*;
use support::*;
use tsmn::quote::{hba, pgpass, shell, sql};

/// Strings with the characters that break naive quoting.
fn hostile() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('\''),
            Just('"'),
            Just('\\'),
            Just(':'),
            Just(' '),
            Just('\n'),
            Just('$'),
            Just('`'),
            Just('*'),
            Just(','),
            Just('é'),
            Just('日'),
            Just('a'),
            Just('Z'),
            Just('0'),
            Just('#')
        ],
        0..24,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn sql_literals_and_identifiers_round_trip_through_postgresql() {
    let c = TestCluster::named("quote");
    let mut runner = proptest::test_runner::TestRunner::new(config(48));
    runner
        .run(&hostile(), |s| {
            for scs in ["on", "off"] {
                let got = c.sql("postgres", &format!("SET standard_conforming_strings = {scs}; SELECT {}", sql::literal(&s)));
                prop_assert_eq!(&got, &vec![s.clone()], "literal with standard_conforming_strings={}", scs);
            }
            if !s.is_empty() && s.len() <= 63 {
                let got = c.sql("postgres", &format!("SELECT attname FROM (SELECT 1 AS {}) t, LATERAL (SELECT {} AS attname) x", sql::ident(&s), sql::literal(&s)));
                prop_assert_eq!(&got, &vec![s.clone()]);
                let made = c.sql("postgres", &format!("CREATE TEMP TABLE {} (x int); SELECT relname FROM pg_class WHERE relname = {}", sql::ident(&s), sql::literal(&s)));
                // (A temporary table: it ends with the session.)
                prop_assert_eq!(&made, &vec![s.clone()]);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn shell_words_round_trip_through_sh() {
    let mut runner = proptest::test_runner::TestRunner::new(config(64));
    runner
        .run(&hostile(), |s| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", shell::word(&s)))
                .output()
                .unwrap();
            prop_assert!(out.status.success());
            prop_assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(config(256))]
    #[test]
    fn pgpass_fields_round_trip(user in hostile(), password in hostile()) {
        prop_assume!(!user.contains('\n') && !password.contains('\n'));
        let line = pgpass::line("127.0.0.1", "5432", "*", &user, &password);
        prop_assert_eq!(pgpass::lookup(&line, "127.0.0.1", 5432, "db", &user), Some(password));
    }
}

/// tsmn's pgpass lines as libpq reads them, not as tsmn's own reader
/// does: for hostile role names and passwords, a role is made with that
/// password (SCRAM) on a real server, tsmn writes its line, and psql with
/// PGPASSFILE pointing at it logs in over TCP where a password is asked.
#[test]
fn pgpass_lines_are_read_by_libpq_as_written() {
    use std::os::unix::fs::PermissionsExt;
    let c = TestCluster::named("pgpass");
    set_hba(
        &c,
        &[
            "local all all trust",
            "host all all 127.0.0.1/32 scram-sha-256",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    let port = c.cluster.port;
    let mut runner = proptest::test_runner::TestRunner::new(config(32));
    runner
        .run(&(hostile(), hostile()), |(user, password)| {
            // libpq cannot take a line break in either, nor an empty
            // password from a passfile; a role name is at most 63 bytes.
            prop_assume!(!user.contains('\n') && !password.contains('\n'));
            prop_assume!(!user.is_empty() && user.len() <= 63 && !password.is_empty());
            c.sql("postgres", &format!(
                "DROP ROLE IF EXISTS {u}; SET password_encryption = 'scram-sha-256'; CREATE ROLE {u} LOGIN PASSWORD {p}",
                u = sql::ident(&user),
                p = sql::literal(&password)
            ));
            let line = pgpass::line("127.0.0.1", &port.to_string(), "*", &user, &password);
            std::fs::write(&file, format!("{line}\n")).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            let info = tsmn::quote::conninfo::conninfo(vec![
                ("host", "127.0.0.1".to_string()),
                ("port", port.to_string()),
                ("dbname", "postgres".to_string()),
                ("user", user.clone()),
            ]);
            let (ok, _, err) = psql(&info, "SELECT 1", &[("PGPASSFILE", file.to_str().unwrap())]);
            prop_assert!(ok, "libpq did not log in as {:?} with {:?} from {:?}: {}", user, password, line, err);
            Ok(())
        })
        .unwrap();
}

#[test]
fn hba_role_names_are_read_back_by_postgresql() {
    let c = TestCluster::named("hba");
    let names = [
        "plain",
        "all",
        "with space",
        "Mixed,Case",
        "dé,jà",
        "+plus",
        "sameuser",
        "#hash",
        "Ops \"Team\"",
    ];
    let mut lines = vec!["local all all trust".to_string()];
    for n in names {
        lines.push(format!(
            "host all {} 10.0.0.1/32 trust",
            hba::field(n).unwrap()
        ));
    }
    set_hba(&c, &lines);
    let got = c.sql(
        "postgres",
        "SELECT user_name[1] FROM pg_hba_file_rules WHERE type = 'host' ORDER BY line_number",
    );
    let errors = c.sql(
        "postgres",
        "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL",
    );
    assert_eq!(errors, ["0"]);
    // PostgreSQL reads back exactly the names, quotes removed.
    assert_eq!(got, names);
    assert!(hba::field("bad\nline").is_err());
}

/// `all`, `sameuser` and `+plus` read back the same quoted or not, so the
/// round trip above cannot see quoting dropped for them; their meaning can.
/// Each quoted keyword in a reject rule must turn away only the role of
/// that literal name, never another role (over TCP, through the real rules).
#[test]
fn quoted_hba_keywords_mean_the_literal_name() {
    let c = TestCluster::named("hbakw");
    c.sql(
        "postgres",
        "CREATE ROLE plus; CREATE ROLE member LOGIN IN ROLE plus; CREATE ROLE other LOGIN",
    );
    c.sql("postgres", "CREATE DATABASE other OWNER other");
    let port = c.cluster.port.to_string();
    let as_role = |role: &str| {
        psql(
            &format!("host=127.0.0.1 port={port} dbname={role} user={role}"),
            "SELECT 1",
            &[],
        )
        .0
    };
    c.sql("postgres", "CREATE DATABASE member OWNER member");
    // (rule for the keyword, written quoted), the role it must not turn away.
    let cases = [
        ("host all {} 127.0.0.1/32 reject", "all", "other"),
        ("host all {} 127.0.0.1/32 reject", "+plus", "member"),
        ("host {} all 127.0.0.1/32 reject", "sameuser", "other"),
        ("host {} all 127.0.0.1/32 reject", "all", "other"),
    ];
    for (rule, keyword, victim) in cases {
        let write = |field: &str| {
            let lines = [
                "local all all trust".to_string(),
                rule.replace("{}", field),
                "host all all 127.0.0.1/32 trust".to_string(),
            ];
            std::fs::write(
                c.cluster.data_dir().join("pg_hba.conf"),
                lines.join("\n") + "\n",
            )
            .unwrap();
            reload(&c);
        };
        write(&hba::field(keyword).unwrap());
        assert!(
            as_role(victim),
            "`{rule}` with {keyword:?} turned away {victim}: the keyword was not quoted"
        );
        // The same rule unquoted does turn it away (so the check can fail).
        write(keyword);
        assert!(
            !as_role(victim),
            "unquoted {keyword:?} should turn {victim} away"
        );
    }
}

/// Addresses go through the one quoting function: an IPv6 address given in
/// brackets is written bare with its mask, which PostgreSQL reads as an
/// address (in brackets it would be a host name that never matches).
#[test]
fn hba_addresses_are_read_as_addresses() {
    let c = TestCluster::named("hbaaddr");
    let addrs = ["[::1]", "10.1.2.3", "10.0.0.0/8", "[fd00::5]/64"];
    let mut lines = vec!["local all all trust".to_string()];
    for a in addrs {
        lines.push(format!("host all all {} trust", hba::address(a)));
    }
    set_hba(&c, &lines);
    let got = c.sql(
        "postgres",
        "SELECT address || ' ' || netmask FROM pg_hba_file_rules WHERE type = 'host' AND error IS NULL ORDER BY line_number",
    );
    assert_eq!(
        got,
        [
            "::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "10.1.2.3 255.255.255.255",
            "10.0.0.0 255.0.0.0",
            "fd00::5 ffff:ffff:ffff:ffff::",
        ]
    );
}
