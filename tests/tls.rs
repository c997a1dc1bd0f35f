//! tsmn's own connections speak TLS the way libpq does: every sslmode
//! against a real server with a real certificate, never TLS over a Unix
//! socket, a client certificate for a superuser that logs in by
//! certificate, and the PGSSL* environment variables.

mod support;

use std::time::Duration;
use support::*;
use tsmn::facts::Connection;
use tsmn::plan::{AuthMode, Plan};

const LOCAL: &str = "local all all trust";

/// The node over TCP (named `tls`) and the same server over its Unix
/// socket (named `sock`).
fn tcp_and_socket(node: &TestCluster) -> Plan {
    let mut plan = plan_for(&node.cluster, &[&node.cluster], AuthMode::Trust);
    let socket = plan.access_node.clone();
    assert!(
        socket.effective_connect_host().starts_with('/'),
        "the harness plan connects over the socket"
    );
    plan.access_node.connect_host = None;
    // The access node would reach it as localhost (a name of its own,
    // so the plan does not see the access node twice).
    plan.data_nodes = vec![tsmn::plan::Node {
        name: "sock".into(),
        host: "localhost".into(),
        ..socket
    }];
    plan
}

fn connection(plan: &Plan, node: &str) -> (Connection, Vec<tsmn::findings::Finding>) {
    let (facts, found) = check(plan, Duration::from_secs(5));
    (facts.node(node).unwrap().connection.clone(), found)
}

fn refused(c: &Connection) -> bool {
    matches!(c, Connection::Failed { .. })
}

/// A server that admits TCP only with TLS, its certificate for another
/// name than 127.0.0.1: each mode does what libpq's does.
#[test]
fn every_sslmode_does_what_libpq_does() {
    let ca = TestCa::new("tsmn sslmode CA");
    let node = TestCluster::start(tls_spec(
        "tls",
        ca.server("tls", "DNS:elsewhere.example"),
        &[LOCAL, "hostssl all all 127.0.0.1/32 trust"],
    ));
    let mut plan = tcp_and_socket(&node);
    let with = |plan: &mut Plan, mode: &str, root: &str| {
        plan.credentials.sslmode = mode.into();
        plan.credentials.sslrootcert = root.into();
    };
    let ca_file = ca.ca_cert().display().to_string();

    with(&mut plan, "disable", "");
    let (c, found) = connection(&plan, "tls");
    assert!(refused(&c), "disable never offers TLS: {c:?}");
    assert!(found.iter().any(|f| f.node == "tls"), "{found:#?}");

    for mode in ["allow", "prefer", "require"] {
        with(&mut plan, mode, "");
        let (c, _) = connection(&plan, "tls");
        assert_eq!(c, Connection::Connected { tls: true }, "{mode}");
    }

    // verify-ca checks the chain only; require with a CA at hand does too.
    for mode in ["verify-ca", "require"] {
        with(&mut plan, mode, &ca_file);
        let (c, _) = connection(&plan, "tls");
        assert_eq!(c, Connection::Connected { tls: true }, "{mode}");
    }

    // verify-full also wants the name, and says so.
    with(&mut plan, "verify-full", &ca_file);
    let (c, found) = connection(&plan, "tls");
    assert!(refused(&c), "{c:?}");
    let f = finding(&found, "tls", "server_cert_name");
    assert!(f.fix.contains("verify-ca"), "{f:?}");

    // Another CA: untrusted even by verify-ca.
    let other = TestCa::new("some other CA");
    with(
        &mut plan,
        "verify-ca",
        &other.ca_cert().display().to_string(),
    );
    let (_, found) = connection(&plan, "tls");
    finding(&found, "tls", "server_cert_untrusted");

    // The socket never carries TLS, whatever the mode (the server would
    // refuse it, and a false "ssl = off" used to follow).
    for (mode, root) in [("verify-full", ca_file.as_str()), ("require", "")] {
        with(&mut plan, mode, root);
        let (c, found) = connection(&plan, "sock");
        assert_eq!(c, Connection::Connected { tls: false }, "{mode}");
        assert!(!has_finding(&found, "sock", "server_no_ssl"), "{found:#?}");
    }
}

/// A node's connection string gives the sslmode and root certificate
/// (libpq's verify-ca and verify-full, which tokio-postgres's parser
/// refused): the binary's check connects as the string says, verified.
#[test]
fn a_connection_string_gives_the_sslmode_and_root_certificate() {
    let ca = TestCa::new("tsmn dsn CA");
    let node = TestCluster::start(tls_spec(
        "tls",
        ca.server("tls", "DNS:elsewhere.example"),
        &[LOCAL, "hostssl all all 127.0.0.1/32 trust"],
    ));
    let dir = temp_dir();
    let plan = dir.path().join("plan.toml");
    let su = plan_for(&node.cluster, &[], AuthMode::Trust).superuser;
    let ca_file = ca.ca_cert().display().to_string().replace('/', "%2F");
    let run = |mode: &str| {
        std::fs::write(
            &plan,
            format!(
                "superuser = \"{su}\"\n[access_node]\nname = \"tls\"\ndsn = \"postgresql://127.0.0.1:{port}/?sslmode={mode}&sslrootcert={ca_file}\"\n\n[[data_nodes]]\nname = \"sock\"\nhost = \"localhost\"\nport = {port}\nconnect_host = \"{sock}\"\n",
                port = node.cluster.port,
                sock = node.cluster.socket_dir().display(),
            ),
        )
        .unwrap();
        let out = tsmn()
            .args(["check", "--json", "--plan"])
            .arg(&plan)
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        doc
    };
    let doc = run("verify-ca");
    let tls = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "tls")
        .unwrap();
    assert_eq!(tls["connection"]["state"], "connected", "{doc}");
    assert_eq!(tls["connection"]["tls"], true, "{doc}");
    let doc = run("verify-full");
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["node"] == "tls" && f["code"] == "server_cert_name"),
        "verify-full from the string checks the name: {doc}"
    );
}

/// allow goes without TLS first (a hostnossl rule admits it), require
/// cannot.
#[test]
fn allow_connects_without_tls_where_only_that_is_admitted() {
    let ca = TestCa::new("tsmn allow CA");
    let node = TestCluster::start(tls_spec(
        "tls",
        ca.server("tls", "IP:127.0.0.1"),
        &[LOCAL, "hostnossl all all 127.0.0.1/32 trust"],
    ));
    let mut plan = tcp_and_socket(&node);
    plan.credentials.sslmode = "allow".into();
    let (c, _) = connection(&plan, "tls");
    assert_eq!(c, Connection::Connected { tls: false });
    plan.credentials.sslmode = "require".into();
    let (c, _) = connection(&plan, "tls");
    assert!(refused(&c), "{c:?}");
}

/// A superuser that may log in only by certificate: tsmn presents the
/// client certificate the plan names; without it the server refuses.
#[test]
fn a_client_certificate_logs_the_superuser_in() {
    let ca = TestCa::new("tsmn client CA");
    let mut spec = tls_spec(
        "tls",
        ca.server("tls", "IP:127.0.0.1"),
        &[LOCAL, "hostssl all all 127.0.0.1/32 cert"],
    );
    spec.settings
        .push(("ssl_ca_file".into(), "root.crt".into()));
    spec.files.push(tsmn::sandbox::DataFile {
        name: "root.crt".into(),
        contents: std::fs::read(ca.ca_cert()).unwrap(),
        mode: 0o644,
    });
    let node = TestCluster::start(spec);
    let mut plan = tcp_and_socket(&node);
    plan.credentials.sslrootcert = ca.ca_cert().display().to_string();

    let (c, _) = connection(&plan, "tls");
    assert!(refused(&c), "no certificate, no login: {c:?}");

    let dir = tempfile::tempdir().unwrap();
    let (crt, key) = ca.client(&plan.superuser);
    let (crt_path, key_path) = (dir.path().join("su.crt"), dir.path().join("su.key"));
    std::fs::write(&crt_path, crt).unwrap();
    std::fs::write(&key_path, key).unwrap();
    set_mode(&key_path, 0o600);
    plan.credentials.sslcert = crt_path.display().to_string();
    plan.credentials.sslkey = key_path.display().to_string();
    let (c, found) = connection(&plan, "tls");
    assert_eq!(c, Connection::Connected { tls: true }, "{found:#?}");

    // The same certificate from PGSSLCERT/PGSSLKEY, and from libpq's own
    // files in ~/.postgresql, when the plan names none.
    let mut bare = plan.clone();
    bare.credentials.sslcert.clear();
    bare.credentials.sslkey.clear();
    let bare_path = write_plan(dir.path(), &bare);
    let home = tempfile::tempdir().unwrap();
    let connected = |env: &[(&str, &std::path::Path)]| {
        let mut cmd = tsmn();
        cmd.args(["check", "--json", "--plan"]).arg(&bare_path);
        cmd.env("HOME", home.path());
        for v in ["PGSSLCERT", "PGSSLKEY", "PGSSLMODE", "PGSSLROOTCERT"] {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&cmd.output().unwrap().stdout).expect("JSON");
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "tls")
            .map(|n| n["connection"]["state"] == "connected")
            .unwrap_or(false)
    };
    assert!(!connected(&[]), "no certificate anywhere: refused");
    assert!(connected(&[
        ("PGSSLCERT", &crt_path),
        ("PGSSLKEY", &key_path)
    ]));
    let dot = home.path().join(".postgresql");
    std::fs::create_dir_all(&dot).unwrap();
    std::fs::copy(&crt_path, dot.join("postgresql.crt")).unwrap();
    std::fs::copy(&key_path, dot.join("postgresql.key")).unwrap();
    set_mode(&dot.join("postgresql.key"), 0o600);
    assert!(connected(&[]), "libpq's default files");

    // A key others may read is refused before anything connects, as libpq does.
    set_mode(&key_path, 0o644);
    let path = write_plan(dir.path(), &plan);
    let out = tsmn()
        .args(["check", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("credentials.sslkey") && err.contains("chmod 600"),
        "{err}"
    );
}

/// PGSSLMODE and PGSSLROOTCERT apply when the plan says nothing; a bad
/// value is named with its variable.
#[test]
fn the_environment_gives_sslmode_and_root_certificate() {
    let ca = TestCa::new("tsmn env CA");
    let node = TestCluster::start(tls_spec(
        "tls",
        ca.server("tls", "DNS:elsewhere.example"),
        &[LOCAL, "hostssl all all 127.0.0.1/32 trust"],
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = write_plan(dir.path(), &tcp_and_socket(&node));
    let check = |env: &[(&str, String)]| {
        let mut cmd = tsmn();
        cmd.args(["check", "--json", "--plan"]).arg(&path);
        cmd.env("HOME", dir.path())
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let ca_file = ca.ca_cert().display().to_string();

    let (code, _, err) = check(&[("PGSSLMODE", "verify-ca".into())]);
    assert_eq!(code, Some(2), "verify-ca without a root certificate: {err}");
    assert!(
        err.contains("PGSSLMODE") && err.contains("root certificate"),
        "{err}"
    );

    let (code, _, err) = check(&[("PGSSLMODE", "verify_full".into())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("PGSSLMODE is `verify_full`"), "{err}");

    let (_, out, _) = check(&[
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", ca_file.clone()),
    ]);
    assert!(out.contains("server_cert_name"), "{out}");

    // libpq's own file: ~/.postgresql/root.crt.
    std::fs::create_dir_all(dir.path().join(".postgresql")).unwrap();
    std::fs::copy(ca.ca_cert(), dir.path().join(".postgresql/root.crt")).unwrap();
    let (_, out, _) = check(&[("PGSSLMODE", "verify-full".into())]);
    assert!(out.contains("server_cert_name"), "{out}");
    let (_, out, _) = check(&[("PGSSLMODE", "verify-ca".into())]);
    assert!(!out.contains("server_cert"), "{out}");
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
