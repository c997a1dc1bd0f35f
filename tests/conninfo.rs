//! Nodes given the libpq way: a connection string or a pg_service.conf
//! service in the plan, every key libpq takes (used, ignored with a note
//! naming it, or refused by name), strings read as psql reads them,
//! PGUSER, PGCONNECT_TIMEOUT and PGAPPNAME alike for every command, and a
//! note for the PG* variables a multi-node plan cannot use.

mod support;

use support::*;

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tsmn();
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A data node by URI and one by service: validate fills host and port
/// from them, and check connects there.
#[test]
fn a_dsn_and_a_service_name_the_nodes() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let dir = temp_dir();
    let service_file = dir.path().join("pg_service.conf");
    std::fs::write(
        &service_file,
        format!(
            "# the operator's services\n[dn2]\nhost=127.0.0.1\nport={}\n",
            dn2.cluster.port
        ),
    )
    .unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "superuser = \"{su}\"\n[access_node]\nname = \"an\"\ndsn = \"postgresql://127.0.0.1:{an_port}/tsdb\"\nconnect_host = \"{an_sock}\"\n\n[[data_nodes]]\nname = \"dn1\"\ndsn = \"host=127.0.0.1 port={dn_port}\"\nconnect_host = \"{dn_sock}\"\n\n[[data_nodes]]\nname = \"dn2\"\nservice = \"dn2\"\nconnect_host = \"{dn2_sock}\"\n",
            su = plan_for(&an.cluster, &[], tsmn::plan::AuthMode::Trust).superuser,
            an_port = an.cluster.port,
            an_sock = an.cluster.socket_dir().display(),
            dn_port = dn.cluster.port,
            dn_sock = dn.cluster.socket_dir().display(),
            dn2_sock = dn2.cluster.socket_dir().display(),
        ),
    )
    .unwrap();
    let service_env = [("PGSERVICEFILE", service_file.to_str().unwrap())];
    let p = plan.to_str().unwrap();
    let out = run(&["validate", "--json", "--plan", p], &service_env);
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nodes = &doc["plan"]["data_nodes"];
    assert_eq!(nodes[0]["host"], "127.0.0.1");
    assert_eq!(nodes[0]["port"], dn.cluster.port);
    assert_eq!(nodes[1]["port"], dn2.cluster.port, "{doc}");
    assert_eq!(doc["plan"]["access_node"]["port"], an.cluster.port);

    let out = run(&["check", "--json", "--plan", p], &service_env);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for n in doc["nodes"].as_array().unwrap() {
        assert_eq!(n["connection"]["state"], "connected", "{n}");
    }

    // Without the service file the node cannot be placed: said, with the files looked in.
    let out = run(
        &["validate", "--plan", p],
        &[("PGSERVICEFILE", "/nonexistent/pg_service.conf")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data_nodes[1].service")
            && err.contains("no service [dn2] in /nonexistent/pg_service.conf"),
        "{err}"
    );
}

/// What a connection string says that tsmn cannot use is an error naming
/// the node's field, and a password in it is never shown.
#[test]
fn a_dsn_that_tsmn_cannot_use_is_refused_by_name() {
    let dir = temp_dir();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.12\"\ndsn = \"postgresql://alice:Sekr1t@10.0.0.11:6432/other\"\n",
    )
    .unwrap();
    let out = run(&["validate", "--plan", plan.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "data_nodes[0].dsn: holds a password",
        "names the user alice",
        "names the database other",
        "data_nodes[0].host: is 10.0.0.12 but data_nodes[0].dsn says 10.0.0.11",
    ] {
        assert!(err.contains(needle), "{needle}:\n{err}");
    }
    assert_no_secret(&err, "Sekr1t", "validate's error");

    // A key libpq does not know, and one whose loss would weaken the
    // connection: each named, with no value of the string but the key's.
    for (dsn, needles) in [
        (
            "host=10.0.0.11 sslmod=require password=Sekr1t",
            &[
                "data_nodes[0].dsn",
                "`sslmod` is not a libpq connection key",
            ][..],
        ),
        (
            "postgresql://10.0.0.11/?sslcrl=%2Fetc%2Fcrl.pem",
            &[
                "sets sslcrl=/etc/crl.pem",
                "revocation",
                "fix: remove sslcrl",
            ][..],
        ),
        (
            "host=10.0.0.11 gssencmode=require",
            &["sets gssencmode=require", "GSSAPI"][..],
        ),
    ] {
        let text = format!(
            "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n\n[[data_nodes]]\nname = \"dn1\"\ndsn = \"{dsn}\"\n"
        );
        std::fs::write(&plan, text).unwrap();
        let out = run(&["validate", "--plan", plan.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{dsn}");
        let err = String::from_utf8_lossy(&out.stderr);
        for needle in needles {
            assert!(err.contains(needle), "{dsn}: {needle}:\n{err}");
        }
        assert_no_secret(&err, "Sekr1t", "validate's error");
    }
}

/// Every key libpq 15 takes is read: the TLS keys and the passfile of a
/// node's string become the plan's credentials (one for all nodes; two
/// strings that disagree are an error), hostaddr is where tsmn connects,
/// and each key tsmn does not use is named in a note with why (not with
/// -q). What tokio-postgres refused before (verify-full, sslrootcert,
/// passfile, service, fallback_application_name) is accepted.
#[test]
fn every_libpq_key_is_used_or_named_in_a_note() {
    let dir = temp_dir();
    let service_file = dir.path().join("pg_service.conf");
    std::fs::write(
        &service_file,
        "[dn1]\nhost=10.0.0.11\nport=6432\nsslmode=verify-full\n",
    )
    .unwrap();
    let plan = dir.path().join("plan.toml");
    let an_dsn = "host=db0.example.com hostaddr=10.0.0.10 port=5432 user=postgres dbname=tsdb sslmode=verify-full sslrootcert=/etc/tsmn/ca.crt sslcert=/etc/tsmn/su.crt sslkey=/etc/tsmn/su.key passfile=/etc/tsmn/pgpass connect_timeout=7 application_name='my app' fallback_application_name=fb options='-c search_path=x' keepalives=1 keepalives_idle=1 keepalives_interval=1 keepalives_count=1 tcp_user_timeout=1 client_encoding=UTF8 channel_binding=prefer gssencmode=prefer sslcompression=0 sslsni=1 ssl_min_protocol_version=TLSv1.2 ssl_max_protocol_version=TLSv1.3 krbsrvname=postgres gsslib=gssapi replication=0 target_session_attrs=any";
    std::fs::write(
        &plan,
        format!(
            "[access_node]\nname = \"an\"\ndsn = \"{an_dsn}\"\n\n[[data_nodes]]\nname = \"dn1\"\ndsn = \"service=dn1 fallback_application_name=x\"\n"
        ),
    )
    .unwrap();
    let env = [("PGSERVICEFILE", service_file.to_str().unwrap())];
    let p = plan.to_str().unwrap();
    let out = run(&["validate", "--json", "--plan", p], &env);
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &doc["plan"]["credentials"];
    assert_eq!(
        (
            &c["sslmode"],
            &c["sslrootcert"],
            &c["sslcert"],
            &c["sslkey"],
            &c["passfile"]
        ),
        (
            &serde_json::json!("verify-full"),
            &serde_json::json!("/etc/tsmn/ca.crt"),
            &serde_json::json!("/etc/tsmn/su.crt"),
            &serde_json::json!("/etc/tsmn/su.key"),
            &serde_json::json!("/etc/tsmn/pgpass")
        ),
        "{doc}"
    );
    let an = &doc["plan"]["access_node"];
    assert_eq!(
        (&an["host"], &an["connect_host"]),
        (
            &serde_json::json!("db0.example.com"),
            &serde_json::json!("10.0.0.10")
        )
    );
    assert_eq!(
        doc["plan"]["data_nodes"][0]["port"], 6432,
        "from the service"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "connect_timeout",
        "application_name",
        "fallback_application_name",
        "options",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "client_encoding",
        "channel_binding",
        "gssencmode",
        "sslcompression",
        "sslsni",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "krbsrvname",
        "gsslib",
        "replication",
        "target_session_attrs",
    ] {
        assert!(
            err.contains(&format!("note: access_node.dsn: {key} is ignored: ")),
            "{key}:\n{err}"
        );
    }
    assert!(err.contains("note: data_nodes[0].dsn: fallback_application_name is ignored"));
    assert_eq!(
        err.matches("note: access_node.dsn: keepalives is ignored")
            .count(),
        1,
        "once each:\n{err}"
    );
    let quiet = run(&["-q", "validate", "--plan", p], &env);
    assert_success(&quiet);
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "", "-q: no notes");

    // One sslmode for every node: a string that says another is refused.
    let text = read(&plan).replace("service=dn1 ", "service=dn1 sslmode=require ");
    std::fs::write(&plan, text).unwrap();
    let out = run(&["validate", "--plan", p], &env);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "data_nodes[0].dsn: sets sslmode=require, but access_node.dsn says verify-full"
        ),
        "{err}"
    );
}

/// The two syntaxes read as libpq reads them: psql logs in to a real
/// server with each string, and the role, database and application_name
/// it got are the ones tsmn's parser reads from the same string (quotes,
/// backslash escapes, percent-encoding, a socket directory in a URI,
/// several hosts with the first unreachable).
#[test]
fn strings_are_read_as_psql_reads_them() {
    let node = TestCluster::named("an");
    node.sql("postgres", "CREATE ROLE \"al@ce o'b\" LOGIN");
    node.sql("postgres", "CREATE DATABASE \"my db\\x\"");
    let sock = node.cluster.socket_dir().display().to_string();
    let port = node.cluster.port;
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let strings = [
        format!("host={sock} port={port} user='al@ce o\\'b' dbname='my db\\\\x' application_name='a b\\\\c'"),
        format!("host = {sock}  port={port}\tuser=al@ce\\ o\\'b dbname=postgres application_name=x\\ y"),
        format!("postgresql://{}@{}:{port}/{}?application_name={}", enc("al@ce o'b"), enc(&sock), enc("my db\\x"), enc("p%q r")),
        format!("postgres://:{port}/postgres?host={}&user=postgres&application_name=q%26a%3Db", enc(&sock)),
        format!("postgresql://postgres@127.0.0.1:1,{}:{port}/postgres?application_name=second", enc(&sock)),
    ];
    for s in &strings {
        let (ok, got, err) = psql(
            s,
            "SELECT current_user || '|' || current_database() || '|' || current_setting('application_name')",
            &[],
        );
        assert!(ok, "psql {s}: {err}");
        let c = tsmn::plan::dsn::Conninfo::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let want = format!(
            "{}|{}|{}",
            c.get("user").unwrap_or("postgres"),
            c.get("dbname").unwrap_or("postgres"),
            // psql's own fallback_application_name wins over a string's.
            c.get("application_name").unwrap_or("psql")
        );
        assert_eq!(got, want, "{s}");
    }
}

/// PGUSER is the superuser a plan leaves out; PGCONNECT_TIMEOUT the
/// connect timeout; PGHOST and PGPORT are ignored, with a note.
#[test]
fn environment_defaults_and_notes() {
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-trust.toml");
    let text = read(&plan).replace("superuser = \"postgres\"", "");
    std::fs::write(&plan, text).unwrap();
    let p = plan.to_str().unwrap();
    let out = run(
        &["validate", "--json", "--plan", p],
        &[
            ("PGUSER", "ops"),
            ("PGHOST", "elsewhere"),
            ("PGPORT", "6000"),
        ],
    );
    assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["plan"]["superuser"], "ops", "{doc}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: PGHOST is set and ignored")
            && err.contains("note: PGPORT is set and ignored"),
        "{err}"
    );
    let quiet = run(&["-q", "validate", "--plan", p], &[("PGHOST", "elsewhere")]);
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");

    // 0 is libpq's "wait without a limit": no usage error. The example
    // plan's hosts are addresses nobody answers at (10.0.0.x): offline.
    let out = run(
        &["preview", "--offline", "--plan", p],
        &[("PGCONNECT_TIMEOUT", "0")],
    );
    assert_success(&out);
    // A value libpq would refuse is named by its variable, for every
    // command that connects, under --json as tsmn-error/1.
    for cmd in [
        "check", "preview", "export", "apply", "undo", "report", "status",
    ] {
        let mut args = vec![cmd, "--plan", p];
        if cmd == "export" || cmd == "report" {
            args.extend(["--out", "/nonexistent/x"]);
        }
        let out = run(&args, &[("PGCONNECT_TIMEOUT", "5s")]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("PGCONNECT_TIMEOUT: `5s` is not a whole number of seconds"),
            "{cmd}: {err}"
        );
    }
    let out = run(
        &["check", "--json", "--plan", p],
        &[("PGCONNECT_TIMEOUT", "soon")],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "tsmn-error/1");
    assert!(doc["error"].as_str().unwrap().contains("PGCONNECT_TIMEOUT"));
    // --connect-timeout wins over the variable (the bad value is not read).
    let out = run(
        &[
            "preview",
            "--offline",
            "--connect-timeout",
            "3",
            "--plan",
            p,
        ],
        &[("PGCONNECT_TIMEOUT", "soon")],
    );
    assert_success(&out);
    // Every PG* variable tsmn does not read is named, with why.
    let out = run(
        &["validate", "--plan", p],
        &[("PGOPTIONS", "-c x=1"), ("PGTARGETSESSIONATTRS", "any")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("note: PGOPTIONS is set and ignored")
            && err.contains("note: PGTARGETSESSIONATTRS is set and ignored"),
        "{err}"
    );
}

/// The server's log line of each login tsmn made since `from` bytes.
fn logins(c: &TestCluster, from: usize) -> String {
    let log = read(&c.cluster.log_file());
    log.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("connection authorized"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// discover reads PGUSER, PGCONNECT_TIMEOUT and PGAPPNAME as the other
/// commands do, and what its connection string says of the connection;
/// every session is named `tsmn <command>` unless PGAPPNAME names it.
/// (A plain server: discover reads it, then says it has no data nodes.)
#[test]
fn discover_and_check_read_the_environment_alike() {
    let an = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "an".into(),
        settings: vec![("log_connections".into(), "on".into())],
        ..Default::default()
    });
    an.sql("postgres", "CREATE ROLE ops LOGIN SUPERUSER");
    let dir = temp_dir();
    let out = dir.path().join("p.toml");
    let at = format!("{}:{}", an.cluster.socket_dir().display(), an.cluster.port);
    let discover = |target: &str, env: &[(&str, &str)]| {
        let from = read(&an.cluster.log_file()).len();
        let r = run(
            &[
                "discover",
                "--access-node",
                target,
                "--out",
                out.to_str().unwrap(),
            ],
            env,
        );
        (r, logins(&an, from))
    };
    let (r, seen) = discover(&at, &[("PGUSER", "ops")]);
    assert_eq!(r.status.code(), Some(1), "no data nodes here");
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("has data nodes"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(
        seen.contains("user=ops database=postgres application_name=tsmn discover"),
        "PGUSER and tsmn's name: {seen}"
    );
    let (_, seen) = discover(&at, &[("PGUSER", "ops"), ("PGAPPNAME", "ops-tool")]);
    assert!(seen.contains("application_name=ops-tool"), "{seen}");
    assert!(!seen.contains("tsmn discover"), "{seen}");
    let string = format!(
        "host={} port={} user=ops application_name=from-string keepalives=1 connect_timeout=0",
        an.cluster.socket_dir().display(),
        an.cluster.port
    );
    let (r, seen) = discover(&string, &[("PGAPPNAME", "ops-tool")]);
    assert!(
        seen.contains("application_name=from-string"),
        "libpq's order: {seen}"
    );
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("note: --access-node: keepalives is ignored"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let fallback = string.replace(
        "application_name=from-string",
        "fallback_application_name=fb",
    );
    let (_, seen) = discover(&fallback, &[]);
    assert!(seen.contains("application_name=fb"), "{seen}");
    // A connect timeout libpq would refuse, from the variable or the string.
    let (r, _) = discover(&at, &[("PGCONNECT_TIMEOUT", "soon")]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("PGCONNECT_TIMEOUT"));
    let (r, _) = discover(
        &string.replace("connect_timeout=0", "connect_timeout=soon"),
        &[],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("connect_timeout: `soon`"));
    // Under --json the refusal is one document naming the key.
    let r = run(
        &[
            "discover",
            "--json",
            "--access-node",
            "host=h sslmod=x",
            "--out",
            "x.toml",
        ],
        &[],
    );
    assert_eq!(r.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (doc["schema"].as_str(), doc["command"].as_str()),
        (Some("tsmn-error/1"), Some("discover"))
    );
    assert!(doc["error"].as_str().unwrap().contains("`sslmod`"), "{doc}");

    // check names its sessions after itself too.
    let dn = TestCluster::named("dn1");
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], tsmn::plan::AuthMode::Trust);
    plan.superuser = "ops".into();
    let path = write_plan(dir.path(), &plan);
    let from = read(&an.cluster.log_file()).len();
    run(&["check", "--plan", path.to_str().unwrap()], &[]);
    let seen = logins(&an, from);
    assert!(
        seen.contains("user=ops database=postgres application_name=tsmn check"),
        "{seen}"
    );
}
