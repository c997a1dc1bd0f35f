//! Bad plans: each case asserts the field path and the specific problem.

use tsmn::plan::{parse_plan, plan_to_toml, PlanError};

const GOOD: &str = r#"
database = "tsdb"
superuser = "postgres"

[access_node]
name = "an"
host = "10.0.0.10"
port = 5432

[[data_nodes]]
name = "dn1"
host = "10.0.0.11"
port = 5432

[[data_nodes]]
name = "dn2"
host = "10.0.0.12"
port = 5432

[auth]
mode = "trust"
"#;

/// The plan with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(
        GOOD.contains(from),
        "test case edits text that is not there: {from}"
    );
    GOOD.replacen(from, to, 1)
}

fn with(extra: &str) -> String {
    format!("{GOOD}{extra}")
}

/// Expect exactly one validation problem at `path` whose text contains `needle`.
fn expect_problem(text: &str, path: &str, needle: &str) {
    match parse_plan(text, "plan.toml") {
        Err(PlanError::Invalid { problems, .. }) => {
            let hit = problems.iter().find(|p| p.path == path);
            let p = hit.unwrap_or_else(|| panic!("no problem at {path}; got {problems:#?}"));
            assert!(
                p.problem.contains(needle),
                "problem at {path} is {:?}, expected it to mention {needle:?}",
                p.problem
            );
            assert!(!p.fix.is_empty(), "every problem carries a fix");
        }
        other => panic!("expected validation problems at {path}, got {other:?}"),
    }
}

fn expect_syntax(text: &str, needle: &str, line: usize) {
    match parse_plan(text, "plan.toml") {
        Err(PlanError::Syntax {
            message,
            line: l,
            fix,
            ..
        }) => {
            assert!(
                message.contains(needle),
                "syntax message {message:?} should mention {needle:?}"
            );
            assert_eq!(l, line, "line of {message:?}");
            assert!(!fix.is_empty());
        }
        other => panic!("expected a syntax error mentioning {needle}, got {other:?}"),
    }
}

#[test]
fn the_base_plan_is_valid() {
    let plan = parse_plan(GOOD, "plan.toml").expect("valid");
    assert_eq!(plan.data_nodes.len(), 2);
    assert_eq!(
        plan.auth.roles,
        vec!["postgres"],
        "the superuser is always a role"
    );
}

#[test]
fn no_data_nodes() {
    let text =
        GOOD.split("[[data_nodes]]").next().unwrap().to_string() + "[auth]\nmode = \"trust\"\n";
    expect_problem(&text, "data_nodes", "no data nodes");
}

#[test]
fn duplicate_node_names() {
    expect_problem(
        &edit("name = \"dn2\"", "name = \"dn1\""),
        "data_nodes[1].name",
        "also the name of data_nodes[0]",
    );
}

#[test]
fn data_node_named_like_the_access_node() {
    expect_problem(
        &edit("name = \"dn1\"", "name = \"an\""),
        "data_nodes[0].name",
        "also the name of access_node",
    );
}

#[test]
fn two_nodes_on_one_address() {
    expect_problem(
        &edit("host = \"10.0.0.12\"", "host = \"10.0.0.11\""),
        "data_nodes[1].host",
        "also the address of data_nodes[0]",
    );
}

#[test]
fn access_node_listed_as_data_node() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"10.0.0.10\""),
        "data_nodes[0].host",
        "cannot also be a data node",
    );
}

#[test]
fn same_ipv6_address_with_and_without_brackets() {
    let text = edit("host = \"10.0.0.11\"", "host = \"[::1]\"").replacen(
        "host = \"10.0.0.12\"",
        "host = \"::1\"",
        1,
    );
    expect_problem(
        &text,
        "data_nodes[1].host",
        "also the address of data_nodes[0]",
    );
}

#[test]
fn port_zero() {
    expect_problem(
        &edit(
            "port = 5432\n\n[[data_nodes]]\nname = \"dn1\"",
            "port = 0\n\n[[data_nodes]]\nname = \"dn1\"",
        ),
        "access_node.port",
        "0 is not a TCP port",
    );
}

#[test]
fn port_too_large() {
    expect_problem(
        &edit(
            "host = \"10.0.0.12\"\nport = 5432",
            "host = \"10.0.0.12\"\nport = 70000",
        ),
        "data_nodes[1].port",
        "70000 is not a TCP port",
    );
}

#[test]
fn negative_connect_port() {
    expect_problem(
        &edit(
            "host = \"10.0.0.11\"",
            "host = \"10.0.0.11\"\nconnect_port = -1",
        ),
        "data_nodes[0].connect_port",
        "-1 is not a TCP port",
    );
}

#[test]
fn host_with_a_space() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"db one\""),
        "data_nodes[0].host",
        "contains ` `",
    );
}

#[test]
fn host_with_empty_label() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"db..example.com\""),
        "data_nodes[0].host",
        "empty label",
    );
}

#[test]
fn bad_ipv4() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"10.0.0.256\""),
        "data_nodes[0].host",
        "not one",
    );
}

#[test]
fn unclosed_ipv6_bracket() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"[fe80::1\""),
        "data_nodes[0].host",
        "does not close",
    );
}

#[test]
fn host_with_port_glued_on() {
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"db1:5432\""),
        "data_nodes[0].host",
        "a port goes in `port`",
    );
}

#[test]
fn empty_host() {
    expect_problem(
        &edit("host = \"10.0.0.10\"", "host = \"\""),
        "access_node.host",
        "is empty",
    );
}

#[test]
fn relative_socket_dir_is_not_a_host() {
    expect_problem(
        &edit(
            "host = \"10.0.0.11\"",
            "host = \"10.0.0.11\"\nconnect_host = \"run/pg\"",
        ),
        "data_nodes[0].connect_host",
        "run/pg",
    );
}

#[test]
fn node_name_with_a_dot() {
    expect_problem(
        &edit("name = \"dn1\"", "name = \"dn.1\""),
        "data_nodes[0].name",
        "contains `.`",
    );
}

#[test]
fn node_name_too_long() {
    let long = "d".repeat(64);
    expect_problem(
        &edit("name = \"dn1\"", &format!("name = \"{long}\"")),
        "data_nodes[0].name",
        "64 bytes",
    );
}

#[test]
fn empty_node_name() {
    expect_problem(
        &edit("name = \"an\"", "name = \"\""),
        "access_node.name",
        "is empty",
    );
}

#[test]
fn database_name_too_long() {
    let long = "t".repeat(64);
    expect_problem(
        &edit("database = \"tsdb\"", &format!("database = \"{long}\"")),
        "database",
        "64 bytes",
    );
}

#[test]
fn role_name_too_long() {
    // 22 three-byte characters: 22 characters but 66 bytes.
    let long = "é".repeat(33);
    expect_problem(
        &edit(
            "superuser = \"postgres\"",
            &format!("superuser = \"{long}\""),
        ),
        "superuser",
        "66 bytes",
    );
}

#[test]
fn duplicate_roles() {
    expect_problem(
        &edit(
            "mode = \"trust\"",
            "mode = \"trust\"\nroles = [\"postgres\", \"app\", \"app\"]",
        ),
        "auth.roles[2]",
        "listed twice",
    );
}

#[test]
fn password_options_under_trust() {
    expect_problem(
        &with("\n[auth.password]\nuser_mapping = true\n"),
        "auth.password",
        "auth.mode is \"trust\"",
    );
}

#[test]
fn certificate_options_under_password() {
    let text = edit("mode = \"trust\"", "mode = \"password\"")
        + "\n[auth.certificate]\nvalidity_days = 30\n";
    expect_problem(&text, "auth.certificate", "auth.mode is \"password\"");
}

#[test]
fn ca_certificate_without_key() {
    let text = edit("mode = \"trust\"", "mode = \"certificate\"")
        + "\n[auth.certificate]\nca_cert = \"/etc/ca.crt\"\n";
    expect_problem(&text, "auth.certificate.ca_key", "without its private key");
}

#[test]
fn ca_key_without_certificate() {
    let text = edit("mode = \"trust\"", "mode = \"certificate\"")
        + "\n[auth.certificate]\nca_key = \"/etc/ca.key\"\n";
    expect_problem(&text, "auth.certificate.ca_cert", "without its certificate");
}

#[test]
fn zero_validity() {
    let text = edit("mode = \"trust\"", "mode = \"certificate\"")
        + "\n[auth.certificate]\nvalidity_days = 0\n";
    expect_problem(&text, "auth.certificate.validity_days", "0 days");
}

#[test]
fn relative_ssl_dir() {
    let text = edit("mode = \"trust\"", "mode = \"certificate\"")
        + "\n[auth.certificate]\nssl_dir = \"certs\"\n";
    expect_problem(&text, "auth.certificate.ssl_dir", "relative path");
}

#[test]
fn relative_passfile() {
    let text = edit("mode = \"trust\"", "mode = \"password\"")
        + "\n[auth.password]\npassfile = \"passfile\"\n";
    expect_problem(&text, "auth.password.passfile", "relative path");
}

#[test]
fn bad_environment_variable_name() {
    expect_problem(
        &with("\n[credentials]\npassword_env = \"MY-PASSWORD\"\n"),
        "credentials.password_env",
        "not an environment variable name",
    );
}

#[test]
fn bad_access_node_address() {
    expect_problem(
        &edit(
            "superuser = \"postgres\"",
            "superuser = \"postgres\"\naccess_node_addresses = [\"10.0.0.0/40\"]",
        ),
        "access_node_addresses[0]",
        "/40",
    );
}

#[test]
fn a_password_in_the_plan_is_rejected_without_echoing_it() {
    let text = edit(
        "name = \"dn1\"",
        "name = \"dn1\"\npassword = \"hunter2-secret\"",
    );
    let err = parse_plan(&text, "plan.toml").expect_err("a password is rejected");
    let shown = err.to_string();
    assert!(shown.contains("data_nodes[0].password"), "{shown}");
    assert!(shown.contains("never holds a secret"), "{shown}");
    assert!(
        shown.contains("prompt") && shown.contains("~/.pgpass"),
        "says where secrets come from: {shown}"
    );
    assert!(
        !shown.contains("hunter2"),
        "the secret must not be echoed: {shown}"
    );
}

#[test]
fn a_superuser_password_key_is_rejected() {
    let text = edit(
        "superuser = \"postgres\"",
        "superuser = \"postgres\"\nsuperuser_password = \"s3cret\"",
    );
    let err = parse_plan(&text, "plan.toml")
        .expect_err("rejected")
        .to_string();
    assert!(
        err.contains("superuser_password") && !err.contains("s3cret"),
        "{err}"
    );
}

#[test]
fn unknown_field() {
    expect_syntax(
        &edit(
            "port = 5432\n\n[[data_nodes]]\nname = \"dn1\"",
            "port = 5432\nprot = 1\n\n[[data_nodes]]\nname = \"dn1\"",
        ),
        "unknown field `prot`",
        9,
    );
}

#[test]
fn unknown_auth_mode() {
    expect_syntax(
        &edit("mode = \"trust\"", "mode = \"md5\""),
        "unknown variant `md5`",
        21,
    );
}

#[test]
fn missing_host() {
    // host may be left out for a dsn or service, so its absence is a
    // validation problem, not a TOML one.
    expect_problem(
        &edit("host = \"10.0.0.11\"\n", ""),
        "data_nodes[0].host",
        "missing",
    );
}

#[test]
fn broken_toml() {
    expect_syntax(&edit("database = \"tsdb\"", "database = tsdb"), "", 2);
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = edit(
        "port = 5432\n\n[[data_nodes]]\nname = \"dn1\"",
        "port = 0\n\n[[data_nodes]]\nname = \"dn 1\"",
    )
    .replacen("host = \"10.0.0.12\"", "host = \"bad..host\"", 1);
    match parse_plan(&text, "plan.toml") {
        Err(PlanError::Invalid { problems, .. }) => {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "access_node.port",
                    "data_nodes[0].name",
                    "data_nodes[1].host"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ipv6_brackets_are_removed_for_libpq() {
    let plan =
        parse_plan(&edit("host = \"10.0.0.11\"", "host = \"[fe80::1]\""), "p").expect("valid");
    assert_eq!(plan.data_nodes[0].host, "fe80::1");
}

#[test]
fn saved_plan_spells_out_defaults_and_replays() {
    let minimal = "[access_node]\nname = \"an\"\nhost = \"a\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"b\"\n[auth]\nmode = \"password\"\n";
    let plan = parse_plan(minimal, "p").expect("valid");
    let saved = plan_to_toml(&plan);
    for key in [
        "database = \"tsdb\"",
        "superuser = \"postgres\"",
        "port = 5432",
        "[auth.password]",
        "user_mapping = false",
        "password_env = \"\"",
    ] {
        assert!(saved.contains(key), "saved plan lacks {key}:\n{saved}");
    }
    assert_eq!(parse_plan(&saved, "p").expect("replays"), plan);
}

/// A role (in auth.roles or as the superuser) with a line break or another
/// control character: preview refuses to write it into pg_hba.conf, so
/// validate refuses it too.
#[test]
fn role_names_with_control_characters() {
    expect_problem(
        &edit(
            "mode = \"trust\"",
            "mode = \"trust\"\nroles = [\"postgres\", \"app\\nuser\"]",
        ),
        "auth.roles[1]",
        "line break",
    );
    expect_problem(
        &edit(
            "superuser = \"postgres\"",
            "superuser = \"post\\u001bgres\"",
        ),
        "superuser",
        "control character U+001B",
    );
    expect_problem(
        &edit(
            "mode = \"trust\"",
            "mode = \"trust\"\nroles = [\"postgres\", \"app\\tuser\"]",
        ),
        "auth.roles[1]",
        "tab",
    );
}

/// A NUL byte or a control character in any path or name: no quoting
/// writes it into SQL, pg_hba.conf or setup.sh.
#[test]
fn nul_and_control_characters_in_paths_and_names() {
    let cert = edit("mode = \"trust\"", "mode = \"certificate\"");
    expect_problem(
        &(cert.clone() + "\n[auth.certificate]\nssl_dir = \"/etc/certs\\u0000x\"\n"),
        "auth.certificate.ssl_dir",
        "NUL byte",
    );
    expect_problem(
        &(cert + "\n[auth.certificate]\nca_cert = \"/etc/ca.crt\\n\"\nca_key = \"/etc/ca.key\"\n"),
        "auth.certificate.ca_cert",
        "line break",
    );
    let password = edit("mode = \"trust\"", "mode = \"password\"");
    expect_problem(
        &(password + "\n[auth.password]\npassfile = \"/var/lib/pg/pass\\u0000file\"\n"),
        "auth.password.passfile",
        "NUL byte",
    );
    expect_problem(
        &with("\n[credentials]\nsslrootcert = \"/etc/root\\r.crt\"\n"),
        "credentials.sslrootcert",
        "line break",
    );
    expect_problem(
        &edit("name = \"dn1\"", "name = \"dn\\u00001\""),
        "data_nodes[0].name",
        "NUL byte",
    );
    expect_problem(
        &edit("host = \"10.0.0.11\"", "host = \"db\\u0000.example.com\""),
        "data_nodes[0].host",
        "NUL byte",
    );
    expect_problem(
        &edit(
            "host = \"10.0.0.11\"",
            "host = \"10.0.0.11\"\nconnect_host = \"/run/pg\\u0007\"",
        ),
        "data_nodes[0].connect_host",
        "control character U+0007",
    );
    expect_problem(
        &edit("database = \"tsdb\"", "database = \"ts\\u0000db\""),
        "database",
        "NUL byte",
    );
}

/// Invisible characters make a name look like another: refused in node,
/// role and database names (each of the bidirectional controls and the
/// zero-width characters), not in paths.
#[test]
fn invisible_characters_in_names() {
    let invisible = [
        "202A", "202B", "202C", "202D", "202E", "2066", "2067", "2068", "2069", "200E", "200F",
        "061C", "200B", "200C", "200D", "2060", "FEFF",
    ];
    for code in invisible {
        let c = format!("\\u{code}");
        expect_problem(
            &edit("name = \"dn2\"", &format!("name = \"dn{c}2\"")),
            "data_nodes[1].name",
            &format!("U+{code}"),
        );
        expect_problem(
            &edit(
                "mode = \"trust\"",
                &format!("mode = \"trust\"\nroles = [\"postgres\", \"adm{c}in\"]"),
            ),
            "auth.roles[1]",
            &format!("U+{code}"),
        );
        expect_problem(
            &edit(
                "superuser = \"postgres\"",
                &format!("superuser = \"post{c}gres\""),
            ),
            "superuser",
            &format!("U+{code}"),
        );
        expect_problem(
            &edit("database = \"tsdb\"", &format!("database = \"ts{c}db\"")),
            "database",
            &format!("U+{code}"),
        );
    }
    // A path may hold them (a directory can be named so).
    let text = edit("mode = \"trust\"", "mode = \"certificate\"")
        + "\n[auth.certificate]\nssl_dir = \"/etc/\\u200Bcerts\"\n";
    parse_plan(&text, "plan.toml").expect("an invisible character in a path is not refused");
}

/// One field, one problem: the character to remove, not also the field's
/// own rule (a host with a NUL is not "not a DNS name" as well).
#[test]
fn an_unwritable_character_is_the_field_s_one_problem() {
    let text = edit("host = \"10.0.0.11\"", "host = \"db\\n.example.com\"");
    match parse_plan(&text, "plan.toml") {
        Err(PlanError::Invalid { problems, .. }) => {
            let at: Vec<_> = problems
                .iter()
                .filter(|p| p.path == "data_nodes[0].host")
                .collect();
            assert_eq!(at.len(), 1, "{problems:#?}");
            assert!(at[0].fix.contains("remove the character"), "{:?}", at[0]);
        }
        other => panic!("{other:?}"),
    }
}

/// Validate and the writer of pg_hba.conf use one rule for role names:
/// whatever preview would refuse to write, validate refuses.
#[test]
fn validate_refuses_every_role_preview_refuses() {
    for role in [
        "app\nuser",
        "app\ruser",
        "app\0user",
        "app\u{1b}user",
        "app\u{85}user",
        "adm\u{202e}in",
        "adm\u{200b}in",
        "app user",
        "Ops \"Team\"",
        "all",
        "app",
    ] {
        let mut plan = parse_plan(GOOD, "plan.toml").expect("valid");
        plan.auth.roles.push(role.to_string());
        let preview_refuses = tsmn::quote::hba::field(role).is_err();
        let validate_refuses = tsmn::plan::validate(&plan)
            .iter()
            .any(|p| p.path == format!("auth.roles[{}]", plan.auth.roles.len() - 1));
        assert_eq!(
            validate_refuses, preview_refuses,
            "role {role:?}: validate and preview disagree"
        );
    }
}

/// A plan file that is not UTF-8 exists: the error gives the byte offset,
/// line and column of its first bad byte and says to save it as UTF-8,
/// not to check the path.
#[test]
fn a_plan_that_is_not_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.toml");
    // "Ærø" in Latin-1 on line 3, after two lines of plain ASCII.
    let mut bytes = b"database = \"tsdb\"\nsuperuser = \"postgres\"\n# h\xc3\xa9 ".to_vec();
    let offset = bytes.len() + 2;
    bytes.extend_from_slice(b"= \xc6r\xf8\n");
    bytes.extend_from_slice(&GOOD.as_bytes()[GOOD.find("[access_node]").unwrap()..]);
    std::fs::write(&path, &bytes).unwrap();
    match tsmn::plan::load_plan(&path) {
        Err(e @ PlanError::Syntax { .. }) => {
            let PlanError::Syntax {
                line,
                column,
                ref message,
                ref fix,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!((line, column), (3, 8), "{e}");
            assert!(
                message.contains(&format!("byte {offset} (0xC6")),
                "{message}"
            );
            assert!(fix.contains("save the file as UTF-8"), "{fix}");
            let shown = e.to_string();
            assert!(!shown.contains("check the path"), "{shown}");
        }
        other => panic!("expected the place of the bad byte, got {other:?}"),
    }
}
