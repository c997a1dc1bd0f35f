//! Password mode against a real server: the SCRAM verifier tsmn computes is
//! accepted for a login with the password, the plaintext never reaches the
//! server's log, and the generated passfile authenticates psql.

mod support;

use secrecy::{ExposeSecret, SecretString};
use support::*;
use tsmn::plan::AuthMode;
use tsmn::sandbox::ClusterSpec;
use tsmn::steps::secrets::Secrets;
use tsmn::steps::{build, Action, Content, Inputs, Phase};

const PASSWORD: &str = "p@ss:w\\rd 'quoted' ünï";

#[test]
fn scram_verifier_and_passfile_work_on_a_real_server() {
    let an = TestCluster::named("an");
    let dn = TestCluster::start(ClusterSpec {
        name: "dn1".into(),
        settings: vec![("log_statement".into(), "all".into())],
        hba: Some(vec![
            "local all all trust".into(),
            "host all all 127.0.0.1/32 scram-sha-256".into(),
        ]),
        files: vec![],
    });
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password);
    let steps = build(&plan, Inputs::default()).expect("steps");
    let mut secrets = Secrets::default();
    secrets.insert("postgres", SecretString::from(PASSWORD));

    // The data node's password step: an ALTER ROLE with the verifier.
    let step = steps
        .iter()
        .find(|s| s.node == "dn1" && s.phase == Phase::Auth && s.id.ends_with("/password"))
        .expect("password step");
    let Action::Sql { statements, .. } = &step.action else {
        panic!("{step:?}")
    };
    let sql = secrets
        .fill(&statements[0].sql, "TSMN_ROLE_PW_POSTGRES")
        .unwrap();
    assert!(
        sql.expose_secret().contains("SCRAM-SHA-256$4096:")
            && !sql.expose_secret().contains("p@ss"),
        "only the verifier is sent"
    );
    dn.sql("postgres", sql.expose_secret());

    // The access node's passfile, as tsmn renders it.
    let step = steps
        .iter()
        .find(|s| s.node == "an" && s.id.ends_with("/passfile"))
        .expect("passfile step");
    let Action::File {
        mode,
        content: Content::Text { text },
        ..
    } = &step.action
    else {
        panic!("{step:?}")
    };
    assert_eq!(*mode, 0o600);
    assert!(
        text.masked().contains("<password of postgres>") && !text.masked().contains("p@ss"),
        "{}",
        text.masked()
    );
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("passfile");
    std::fs::write(&passfile, secrets.fill(text, "x").unwrap().expose_secret()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();

    let conn = format!(
        "host=127.0.0.1 port={} dbname=postgres user=postgres",
        dn.cluster.port
    );
    let (ok, out, err) = psql(
        &conn,
        "SELECT current_user",
        &[("PGPASSFILE", passfile.to_str().unwrap())],
    );
    assert!(ok, "the passfile authenticates over scram-sha-256: {err}");
    assert_eq!(out, "postgres");

    // A wrong password in the passfile is refused (the test can fail).
    std::fs::write(
        &passfile,
        format!("127.0.0.1:{}:*:postgres:not-it\n", dn.cluster.port),
    )
    .unwrap();
    let (ok, _, err) = psql(
        &conn,
        "SELECT 1",
        &[("PGPASSFILE", passfile.to_str().unwrap())],
    );
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );

    // The server's log saw the verifier, never the password.
    let log = read(&dn.cluster.log_file());
    assert!(
        log.contains("SCRAM-SHA-256$4096:"),
        "log_statement=all logged the ALTER ROLE"
    );
    assert!(
        !log.contains("p@ss"),
        "the plaintext reached the server log"
    );
}

/// tsmn picks a pgpass line exactly when psql (libpq) does: a socket
/// directory of its own is not `localhost`, only a bare `*` is a
/// wildcard, and the password ends at the first unescaped colon.
#[test]
fn pgpass_lines_match_where_psql_matches_them() {
    let node = TestCluster::named("pw");
    let su = plan_for(&node.cluster, &[], AuthMode::Trust).superuser;
    node.sql("postgres", &format!("ALTER ROLE {su} PASSWORD 'right'"));
    // Reloaded by the last trusted connection: from now on a password.
    set_hba(
        &node,
        &[
            "local all all scram-sha-256",
            "host all all 127.0.0.1/32 scram-sha-256",
        ],
    );
    let port = node.cluster.port;
    let sock = node.cluster.socket_dir().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    let cases = [
        format!("localhost:{port}:*:{su}:right"),
        format!("{sock}:{port}:*:{su}:right"),
        format!("\\*:{port}:*:{su}:right"),
        format!("*:*:*:{su}:right:left over"),
        format!("*:{port}:*:{su}:wrong"),
        format!("127.0.0.1:{port}:*:{su}:right"),
    ];
    let mut matched = 0;
    for line in &cases {
        std::fs::write(&file, format!("{line}\n")).unwrap();
        set_private(&file);
        for (host, name) in [(sock.as_str(), "socket"), ("127.0.0.1", "tcp")] {
            let conninfo = format!("host={host} port={port} dbname=postgres user={su}");
            let env = [("PGPASSFILE", file.to_str().unwrap())];
            let (psql_ok, _, err) = psql(&conninfo, "SELECT 1", &env);
            let mut plan = plan_for(&node.cluster, &[], AuthMode::Trust);
            plan.access_node.connect_host = Some(host.to_string());
            plan.credentials.passfile = file.display().to_string();
            let passwords = tsmn::probe::credentials::PasswordSource::from_plan(&plan);
            let ours = passwords.password_for(host, port, "postgres", &su);
            let tsmn_ok = ours.as_ref().map(ExposeSecret::expose_secret) == Some("right");
            assert_eq!(
                tsmn_ok,
                psql_ok,
                "{line} over {name}: psql {psql_ok} ({err}), tsmn found {:?}",
                ours.is_some()
            );
            matched += usize::from(psql_ok);
        }
    }
    assert_eq!(matched, 4, "lines 2, 4 (twice) and 6 let psql in");
}

fn set_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
