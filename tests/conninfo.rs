//! Nodes given the libpq way: a connection string or a pg_service.conf
//! service in the plan, PGUSER and PGCONNECT_TIMEOUT as defaults, and a
//! note for the PG* variables a multi-node plan cannot use.

mod support;

use support::*;

fn run(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tsmn();
    cmd.args(args);
    for v in [
        "PGUSER",
        "PGHOST",
        "PGPORT",
        "PGSERVICEFILE",
        "PGCONNECT_TIMEOUT",
    ] {
        cmd.env_remove(v);
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

    let out = run(&["check", "--plan", p], &[("PGCONNECT_TIMEOUT", "0")]);
    assert_eq!(out.status.code(), Some(2), "0 is outside 1..=300");
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect-timeout"));
}
