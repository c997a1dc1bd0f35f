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
    ];
    let mut lines = vec!["local all all trust".to_string()];
    for n in names {
        lines.push(format!(
            "host all {} 10.0.0.1/32 trust",
            hba::field(n).unwrap()
        ));
    }
    std::fs::write(
        c.cluster.data_dir().join("pg_hba.conf"),
        lines.join("\n") + "\n",
    )
    .unwrap();
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
    assert!(hba::field("bad\"quote").is_err());
}
