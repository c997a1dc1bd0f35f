//! `tsmn discover` on a cluster set up by hand, the documented way (the
//! trust section of TimescaleDB's multinode-auth docs page, with the
//! required settings only: pg_hba.conf rules, add_data_node), by this test
//! and not by tsmn: the plan it writes describes the cluster as it runs,
//! check finds nothing in the way, and apply on it changes nothing.

mod support;

use std::time::Duration;
use support::*;
use tsmn::sandbox::ClusterSpec;

const LOCAL: &str = "local all all trust";
const TCP: &str = "host all postgres 127.0.0.1/32 trust";

fn node(name: &str) -> TestCluster {
    TestCluster::start(ClusterSpec {
        name: name.into(),
        hba: Some(vec![LOCAL.into(), TCP.into()]),
        settings: vec![("max_prepared_transactions".into(), "150".into())],
        files: vec![],
    })
}

#[test]
fn a_trust_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op() {
    if !timescaledb_tier("a_trust_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op") {
        return;
    }
    let an = node("an");
    let dns = [node("dn1"), node("dn2")];
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    add_data_nodes(&an, &dns);
    let (work, out, said) = discover_from(&an);
    assert!(
        said.contains("database tsdb, trust mode, 2 data node(s)"),
        "{said}"
    );

    let plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert!(plan.adopted);
    assert_eq!(plan.database, "tsdb");
    assert_eq!(plan.auth.mode, tsmn::plan::AuthMode::Trust);
    assert_nodes(&plan, &dns);
    let text = read(&out);
    assert!(
        text.contains("# tsmn plan written by `tsmn discover`"),
        "{text}"
    );
    assert!(
        text.contains("# - tsmn connects to each data node"),
        "{text}"
    );

    let (_, findings) = check(&plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&findings), 0, "{findings:#?}");
    let all = assert_no_op(&an, &dns, &out, &[]);
    assert!(
        all.contains("an existing rule admits the access node"),
        "{all}"
    );
    drop(work);
}

/// Password mode by hand (the password section of the multinode-auth
/// page): SCRAM rules on the data nodes, the superuser's internal password
/// set there, the access node's passfile with `*` lines, and a second role
/// created the documented way. tsmn gets
/// the superuser's password from the operator's own pgpass (PGPASSFILE);
/// the role passwords are given to nobody: the cluster proves they work.
#[test]
fn a_password_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op() {
    if !timescaledb_tier("a_password_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op") {
        return;
    }
    const SCRAM: &str = "host all all 127.0.0.1/32 scram-sha-256";
    let an = node("an");
    let dns = [with_hba("dn1", SCRAM), with_hba("dn2", SCRAM)];
    for d in &dns {
        d.sql("postgres", "ALTER ROLE postgres PASSWORD 'su-internal'");
    }
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    let passfile = an.cluster.data_dir().join("passfile");
    std::fs::write(
        &passfile,
        "*:*:*:postgres:su-internal\n*:*:*:ops:ops-internal\n",
    )
    .unwrap();
    own_by_server(&passfile, 0o600);
    add_data_nodes(&an, &dns);
    an.sql("tsdb", "CREATE ROLE ops LOGIN PASSWORD 'ops-client'");
    an.sql("tsdb", "GRANT USAGE ON FOREIGN SERVER dn1, dn2 TO ops");
    an.sql(
        "tsdb",
        "CALL distributed_exec($$ CREATE ROLE ops PASSWORD 'ops-internal' LOGIN $$)",
    );

    let (work, out, said) = discover_from(&an);
    assert!(
        said.contains("database tsdb, password mode, 2 data node(s)"),
        "{said}"
    );
    let mut plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert_eq!(plan.auth.mode, tsmn::plan::AuthMode::Password);
    assert_eq!(plan.auth.roles, ["postgres", "ops"]);
    assert_nodes(&plan, &dns);
    assert_no_secret(&read(&out), "ops-internal", "the discovered plan");
    assert_no_secret(&read(&out), "su-internal", "the discovered plan");

    // tsmn's own login to the data nodes: the operator's pgpass.
    let mine = work.path().join("my.pgpass");
    std::fs::write(&mine, "*:*:*:postgres:su-internal\n").unwrap();
    std::fs::set_permissions(&mine, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    plan.credentials.passfile = mine.display().to_string();
    let (_, findings) = check(&plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&findings), 0, "{findings:#?}");

    let pgpassfile = mine.display().to_string();
    let all = assert_no_op(&an, &dns, &out, &[("PGPASSFILE", &pgpassfile)]);
    assert_no_secret(&all, "ops-internal", "apply's output");
    assert!(
        all.contains("proved from the access node"),
        "the passfile is kept because it was shown to work:\n{all}"
    );
    // The role still reaches every data node as it did.
    assert_eq!(
        an.sql(
            "tsdb",
            "SET ROLE ops; SELECT bool_and(_timescaledb_functions.ping_data_node(node_name)) FROM timescaledb_information.data_nodes",
        ),
        ["t"]
    );
}

/// Certificate mode by hand (the certificate section of the
/// multinode-auth page, with a single CA as TimescaleDB's own tests use):
/// a CA made with openssl, a server certificate and ssl_ca_file on every
/// node, `hostssl ... cert` on the data nodes, md5-named client
/// certificates in the access node's default ssl_dir, and a second role.
/// tsmn logs in to the data nodes with the operator's own client
/// certificate (PGSSLCERT, PGSSLKEY). tsmn is given no CA: the cluster
/// proves its certificates work.
#[test]
fn a_certificate_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op() {
    if !timescaledb_tier(
        "a_certificate_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op",
    ) {
        return;
    }
    let ca = TestCa::new("hand-made CA");
    let an = TestCluster::start(tls_node(&ca, "an", TCP));
    let dns = [
        TestCluster::start(tls_node(&ca, "dn1", "hostssl all all 127.0.0.1/32 cert")),
        TestCluster::start(tls_node(&ca, "dn2", "hostssl all all 127.0.0.1/32 cert")),
    ];
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    let certs = an.cluster.data_dir().join("timescaledb/certs");
    std::fs::create_dir_all(&certs).unwrap();
    own_by_server(&an.cluster.data_dir().join("timescaledb"), 0o700);
    own_by_server(&certs, 0o700);
    for role in ["postgres", "ops"] {
        let (crt, key) = ca.client(role);
        let stem = md5_hex(role);
        for (ext, pem, mode) in [("crt", &crt, 0o644), ("key", &key, 0o600)] {
            let f = certs.join(format!("{stem}.{ext}"));
            std::fs::write(&f, pem).unwrap();
            own_by_server(&f, mode);
        }
    }
    add_data_nodes(&an, &dns);
    an.sql("tsdb", "CREATE ROLE ops LOGIN");
    an.sql("tsdb", "GRANT USAGE ON FOREIGN SERVER dn1, dn2 TO ops");
    an.sql("tsdb", "CALL distributed_exec($$ CREATE ROLE ops LOGIN $$)");

    let (work, out, said) = discover_from(&an);
    assert!(
        said.contains("database tsdb, certificate mode, 2 data node(s)"),
        "{said}"
    );
    let mut plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert_eq!(plan.auth.mode, tsmn::plan::AuthMode::Certificate);
    assert_eq!(plan.auth.roles, ["postgres", "ops"]);
    assert_nodes(&plan, &dns);

    // tsmn's own login to the data nodes: the operator's client certificate.
    let (crt, key) = ca.client("postgres");
    let (my_crt, my_key) = (work.path().join("me.crt"), work.path().join("me.key"));
    std::fs::write(&my_crt, crt).unwrap();
    std::fs::write(&my_key, key).unwrap();
    std::fs::set_permissions(&my_key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    plan.credentials.sslcert = my_crt.display().to_string();
    plan.credentials.sslkey = my_key.display().to_string();
    let (_, findings) = check(&plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&findings), 0, "{findings:#?}");

    let (c, k) = (my_crt.display().to_string(), my_key.display().to_string());
    let all = assert_no_op(&an, &dns, &out, &[("PGSSLCERT", &c), ("PGSSLKEY", &k)]);
    assert!(all.contains("own TLS works"), "{all}");
    assert!(
        !tsmn::plan::state_dir(&out).join("ca.key").exists(),
        "tsmn made a CA of its own for a cluster that has one"
    );
    // A certificate it cannot issue is named, with the way out: a role
    // added to the plan needs one, and tsmn has no CA.
    let text = read(&out).replace(
        "roles = [\"postgres\", \"ops\"]",
        "roles = [\"postgres\", \"ops\", \"reader\"]",
    );
    std::fs::write(&out, text).unwrap();
    let (code, said) = apply_file(&out, &[], &[("PGSSLCERT", &c), ("PGSSLKEY", &k)]);
    // What the plan must give (the CA) is missing: a plan error, exit 2.
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("are not proved to work from the access node: reader's client certificate\n")
            && said.contains("set ca_cert and ca_key"),
        "only the new role's certificate is missing: {said}"
    );

    // Renewal of an adopted cluster's own certificates, with its CA given:
    // they are issued anew and put in place on the nodes (before: made
    // beside the plan only, while apply said "done").
    let mut plan = tsmn::plan::load_plan(&out).unwrap();
    plan.auth.roles.retain(|r| r != "reader");
    let certs = plan.auth.certificate.get_or_insert_with(Default::default);
    certs.ca_cert = ca.ca_cert().display().to_string();
    certs.ca_key = ca.dir.path().join("ca.key").display().to_string();
    plan.credentials.sslcert = my_crt.display().to_string();
    plan.credentials.sslkey = my_key.display().to_string();
    let renew_plan = write_plan(work.path(), &plan);
    let server_crt =
        |d: &TestCluster| std::fs::read(d.cluster.data_dir().join("server.crt")).unwrap();
    let before: Vec<Vec<u8>> = dns.iter().map(server_crt).collect();
    let (code, said) = apply_file(
        &renew_plan,
        &["--renew-certificates"],
        &[("PGSSLCERT", &c), ("PGSSLKEY", &k)],
    );
    assert_eq!(code, Some(0), "{said}");
    for (d, old) in dns.iter().zip(&before) {
        assert_ne!(
            &server_crt(d),
            old,
            "{}: a new server certificate: {said}",
            d.cluster.name
        );
    }
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT bool_and(_timescaledb_functions.ping_data_node(node_name)) FROM timescaledb_information.data_nodes",
        ),
        ["t"],
        "the cluster runs on the renewed certificates"
    );
}

/// A TLS node signed by `ca` (ssl_ca_file root.crt, that CA) whose TCP
/// rule is `rule` (after local trust).
fn tls_node(ca: &TestCa, name: &str, rule: &str) -> ClusterSpec {
    let mut spec = tls_spec(name, ca.server(name, "IP:127.0.0.1"), &[LOCAL, rule]);
    spec.settings
        .push(("ssl_ca_file".into(), "root.crt".into()));
    spec.settings
        .push(("max_prepared_transactions".into(), "150".into()));
    spec.files.push(tsmn::sandbox::DataFile {
        name: "root.crt".into(),
        contents: std::fs::read(ca.ca_cert()).unwrap(),
        mode: 0o644,
    });
    spec
}

/// TimescaleDB's file name for a role's certificate, by md5sum (the md5 of
/// the role name: `make_user_path` in tsl/src/remote/connection.c).
fn md5_hex(role: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "printf %s \"$1\" | md5sum | cut -c1-32", "sh", role])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A node whose TCP rule is `rule` (after local trust).
fn with_hba(name: &str, rule: &str) -> TestCluster {
    TestCluster::start(ClusterSpec {
        name: name.into(),
        hba: Some(vec![LOCAL.into(), rule.into()]),
        settings: vec![("max_prepared_transactions".into(), "150".into())],
        files: vec![],
    })
}

fn add_data_nodes(an: &TestCluster, dns: &[TestCluster]) {
    for d in dns {
        an.sql(
            "tsdb",
            &format!(
                "SELECT add_data_node('{}', host => '127.0.0.1', port => {})",
                d.cluster.name, d.cluster.port
            ),
        );
    }
}

/// Owned by the server's OS user, with this mode (a file the server reads).
fn own_by_server(path: &std::path::Path, mode: u32) {
    server_user().chown(path).expect("chown");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

/// `tsmn discover` on `an`'s cluster: (its directory, the plan, stderr).
fn discover_from(an: &TestCluster) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let work = temp_dir();
    let out = work.path().join("discovered.toml");
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!("127.0.0.1:{}", an.cluster.port))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).to_string();
    assert_success(&run);
    (work, out, said)
}

/// The plan lists the data nodes by the names and addresses they were added with.
fn assert_nodes(plan: &tsmn::plan::Plan, dns: &[TestCluster]) {
    let found: Vec<(String, String, i64)> = plan
        .data_nodes
        .iter()
        .map(|n| (n.name.clone(), n.host.clone(), n.port))
        .collect();
    let want: Vec<(String, String, i64)> = dns
        .iter()
        .map(|d| {
            (
                d.cluster.name.clone(),
                "127.0.0.1".into(),
                i64::from(d.cluster.port),
            )
        })
        .collect();
    assert_eq!(found, want);
}

/// `tsmn apply` on the discovered plan changes no file on any node and no
/// setting, and says so. Returns its output.
fn assert_no_op(
    an: &TestCluster,
    dns: &[TestCluster],
    plan: &std::path::Path,
    env: &[(&str, &str)],
) -> String {
    let nodes: Vec<&TestCluster> = std::iter::once(an).chain(dns).collect();
    let before: Vec<Vec<(String, Vec<u8>)>> = nodes.iter().map(|n| data_files(n)).collect();
    let (code, all) = apply_file(plan, &[], env);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("nothing changed"), "{all}");
    let after: Vec<Vec<(String, Vec<u8>)>> = nodes.iter().map(|n| data_files(n)).collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let changed: Vec<&String> = b
            .iter()
            .filter(|(rel, bytes)| !a.iter().any(|(r, x)| r == rel && x == bytes))
            .map(|(rel, _)| rel)
            .chain(
                a.iter()
                    .filter(|(rel, _)| !b.iter().any(|(r, _)| r == rel))
                    .map(|(rel, _)| rel),
            )
            .collect();
        assert!(
            changed.is_empty(),
            "{}: files changed: {changed:?}\n{all}",
            nodes[i].cluster.name
        );
    }
    assert_eq!(
        an.sql(
            "postgres",
            "SELECT count(*) FROM pg_settings WHERE name = 'jit' AND source = 'default'"
        ),
        ["1"],
        "a recommendation is not applied to an adopted cluster"
    );
    all
}

/// `--out -` prints the plan on standard output (and nothing else
/// there); `--json` prints one document (tsmn-discover/1) beside the file;
/// both at once are refused. A connection string's TLS keys reach the
/// plan: tsmn connects to every node the way it reached this one.
#[test]
fn discover_writes_to_standard_output_and_as_json() {
    if !timescaledb_tier("discover_writes_to_standard_output_and_as_json") {
        return;
    }
    let an = node("an");
    let dns = [node("dn1")];
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    add_data_nodes(&an, &dns);
    let work = temp_dir();
    let at = format!("127.0.0.1:{}", an.cluster.port);
    let run = tsmn()
        .args(["discover", "--access-node", &at, "--out", "-"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_success(&run);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        text.starts_with("# tsmn plan written by `tsmn discover`"),
        "{text}"
    );
    assert!(text.contains("[[data_nodes]]"), "{text}");
    assert!(!work.path().join("-").exists(), "no file named -");
    assert!(String::from_utf8_lossy(&run.stderr).contains("wrote the plan (standard output)"));

    let out = work.path().join("p.toml");
    let string = format!("host=127.0.0.1 port={} sslmode=disable", an.cluster.port);
    let run = tsmn()
        .args(["discover", "--json", "--access-node", &string, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&run);
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(doc["schema"], "tsmn-discover/1");
    assert_eq!(doc["plan"]["database"], "tsdb");
    assert_eq!(doc["plan"]["data_nodes"][0]["name"], "dn1");
    assert_eq!(doc["out"], out.to_str().unwrap());
    assert!(
        doc["notes"].as_array().is_some_and(|n| !n.is_empty()),
        "{doc}"
    );
    let plan = tsmn::plan::load_plan(&out).expect("the plan loads");
    assert_eq!(
        plan.credentials.sslmode, "disable",
        "the string's sslmode is the plan's"
    );

    let run = tsmn()
        .args(["discover", "--json", "--access-node", &at, "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(doc["schema"], "tsmn-error/1");
}

#[test]
fn discover_says_what_is_wrong_with_its_input() {
    let work = temp_dir();
    let out = work.path().join("p.toml");
    let run = tsmn()
        .args([
            "discover",
            "--access-node",
            "postgresql://ops:hunter2@10.0.0.10/tsdb",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("holds a password") && err.contains("PGPASSWORD"),
        "{err}"
    );
    assert_no_secret(&err, "hunter2", "discover's error");
    assert!(!out.exists());

    // A server that is not an access node: named, with the way out.
    let plain = TestCluster::start(ClusterSpec {
        name: "plain".into(),
        hba: Some(vec![LOCAL.into(), TCP.into()]),
        settings: vec![],
        files: vec![],
    });
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!("127.0.0.1:{}", plain.cluster.port))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no database on 127.0.0.1:")
            && err.contains("has data nodes")
            && err.contains("--database"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}

/// The command line goes to the log before any refusal: with the password
/// of a URI or of a key=value string masked, in a log file tsmn creates
/// 0600.
#[test]
fn a_password_on_the_command_line_never_reaches_the_log() {
    use std::os::unix::fs::PermissionsExt;
    let work = temp_dir();
    let secret = "Zq9-evidence!pw";
    for (i, target) in [
        format!("postgresql://ops:{secret}@127.0.0.1:1/db"),
        format!("host=127.0.0.1 port=1 user=ops password='{secret}' dbname=db"),
        format!("host=127.0.0.1 port=1 password={secret}"),
    ]
    .iter()
    .enumerate()
    {
        let log = work.path().join(format!("x{i}.log"));
        let run = tsmn()
            .env("TSMN_LOG_FILE", &log)
            .args(["discover", "--access-node", target, "--out"])
            .arg(work.path().join("p.toml"))
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{target}");
        let text = read(&log);
        assert!(
            text.contains("discover --access-node"),
            "the command line is logged: {text}"
        );
        assert_no_secret(&text, secret, "the log");
        assert_no_secret(&String::from_utf8_lossy(&run.stderr), secret, "stderr");
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the log tsmn created is {mode:o}");
    }
}

/// Password mode by hand in another layout: the passfile where
/// `timescaledb.passfile` says (not the data directory), a password with
/// `:` and `\` escaped in it, host-specific lines and one for another port;
/// discovered through the access node's socket; then the plan edited as
/// tsmn's own notes advise (access_node_addresses set) and with tsmn
/// reaching every node over its socket, so it never learns a password.
/// Apply is a no-op: no file changes (the operator's passfile is kept byte
/// for byte), no role password is asked for.
#[test]
fn a_password_cluster_in_another_layout_is_adopted_as_it_is() {
    if !timescaledb_tier("a_password_cluster_in_another_layout_is_adopted_as_it_is") {
        return;
    }
    const SCRAM: &str = "host all all 127.0.0.1/32 scram-sha-256";
    let secrets = temp_dir();
    let passfile = secrets.path().join("cluster.pgpass");
    let an = TestCluster::start(ClusterSpec {
        name: "an".into(),
        hba: Some(vec![LOCAL.into(), TCP.into()]),
        settings: vec![
            ("max_prepared_transactions".into(), "150".into()),
            (
                "timescaledb.passfile".into(),
                passfile.display().to_string(),
            ),
        ],
        files: vec![],
    });
    let dns = [with_hba("dn1", SCRAM), with_hba("dn2", SCRAM)];
    for d in &dns {
        d.sql("postgres", r"ALTER ROLE postgres PASSWORD 'su:int\ernal'");
    }
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    let mut lines = String::from("# the operator's own layout\n127.0.0.1:1:*:postgres:wrong\n");
    for d in &dns {
        lines.push_str(&format!(
            "127.0.0.1:{}:*:postgres:su\\:int\\\\ernal\n",
            d.cluster.port
        ));
    }
    std::fs::write(&passfile, &lines).unwrap();
    own_by_server(secrets.path(), 0o700);
    own_by_server(&passfile, 0o600);
    add_data_nodes(&an, &dns);

    let (work, out) = discover_through_socket(&an);
    let mut plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert_eq!(plan.auth.mode, tsmn::plan::AuthMode::Password);
    // As tsmn's notes advise, and tsmn over each node's own socket.
    plan.access_node_addresses = vec!["127.0.0.1".into()];
    for (n, d) in plan.data_nodes.iter_mut().zip(&dns) {
        n.connect_host = Some(d.cluster.socket_dir().display().to_string());
    }
    let path = write_plan(work.path(), &plan);
    let all = assert_no_op(&an, &dns, &path, &[]);
    assert!(!all.contains("TSMN_ROLE_PW"), "{all}");
    assert_eq!(
        read(&passfile),
        lines,
        "the operator's passfile, byte for byte"
    );
    assert!(
        !an.cluster.data_dir().join("passfile").exists(),
        "no second passfile beside the operator's"
    );
}

/// Trust mode by hand with rules tsmn's reading of pg_hba.conf cannot
/// settle alone (a host name, a group), discovered through the access
/// node's socket and applied as it is: the engine shows the links work,
/// so apply writes no block of its own.
#[test]
fn a_trust_cluster_with_host_name_and_group_rules_is_adopted_as_it_is() {
    if !timescaledb_tier("a_trust_cluster_with_host_name_and_group_rules_is_adopted_as_it_is") {
        return;
    }
    let an = node("an");
    let dns = [
        with_hba("dn1", "host all postgres localhost trust"),
        with_hba("dn2", "host all +cluster_admins samenet trust"),
    ];
    dns[1].sql(
        "postgres",
        "CREATE ROLE cluster_admins; GRANT cluster_admins TO postgres",
    );
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    add_data_nodes(&an, &dns);
    let (_work, out) = discover_through_socket(&an);
    let plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    let (_, findings) = check(&plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&findings), 0, "{findings:#?}");
    assert_no_op(&an, &dns, &out, &[]);
}

/// `tsmn discover` through the access node's Unix socket: (its directory,
/// the plan).
fn discover_through_socket(an: &TestCluster) -> (tempfile::TempDir, std::path::PathBuf) {
    let work = temp_dir();
    let out = work.path().join("discovered.toml");
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!(
            "host={} port={}",
            an.cluster.socket_dir().display(),
            an.cluster.port
        ))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&run);
    (work, out)
}

/// A hand-built cluster whose data nodes prepare fewer transactions than
/// tsmn would set (20, below max_connections): multi-node needs only more
/// than 0, so adopting it changes no setting and restarts nothing (check's
/// note advises more). Before: apply raised it to 150 and restarted both
/// data nodes.
#[test]
fn an_adopted_cluster_keeps_its_max_prepared_transactions() {
    if !timescaledb_tier("an_adopted_cluster_keeps_its_max_prepared_transactions") {
        return;
    }
    let few = |name: &str| {
        TestCluster::start(ClusterSpec {
            name: name.into(),
            hba: Some(vec![LOCAL.into(), TCP.into()]),
            settings: vec![("max_prepared_transactions".into(), "20".into())],
            files: vec![],
        })
    };
    let an = node("an");
    let dns = [few("dn1"), few("dn2")];
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    add_data_nodes(&an, &dns);
    let (_work, out) = discover_through_socket(&an);
    let plan = tsmn::plan::load_plan(&out).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "max_prepared_transactions_low");
    assert!(
        f.fix.contains("= 150"),
        "the same value apply would set: {f:?}"
    );
    let pids: Vec<Vec<String>> = dns
        .iter()
        .map(|d| d.sql("postgres", "SELECT pg_postmaster_start_time()"))
        .collect();
    let all = assert_no_op(&an, &dns, &out, &[]);
    assert!(!all.contains("restarted"), "{all}");
    for (d, before) in dns.iter().zip(&pids) {
        assert_eq!(
            &d.sql("postgres", "SELECT pg_postmaster_start_time()"),
            before,
            "{} was not restarted",
            d.cluster.name
        );
        assert_eq!(d.sql("postgres", "SHOW max_prepared_transactions"), ["20"]);
    }
}

/// Password mode by hand, the superuser with another password on each
/// data node, and the passfile's line for dn2 wrong: check names the line
/// to put in the cluster's own passfile (not "run tsmn apply"), and apply
/// changes nothing: writing the passfile in tsmn's layout (one password
/// per role) would cut dn1, which works. Before: apply rewrote the
/// passfile, and dn1 was cut off too.
#[test]
fn an_adopted_passfile_that_serves_some_links_is_not_rewritten() {
    if !timescaledb_tier("an_adopted_passfile_that_serves_some_links_is_not_rewritten") {
        return;
    }
    const SCRAM: &str = "host all all 127.0.0.1/32 scram-sha-256";
    let an = node("an");
    let dns = [with_hba("dn1", SCRAM), with_hba("dn2", SCRAM)];
    dns[0].sql("postgres", "ALTER ROLE postgres PASSWORD 'one'");
    dns[1].sql("postgres", "ALTER ROLE postgres PASSWORD 'two'");
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    let passfile = an.cluster.data_dir().join("passfile");
    let good = format!(
        "127.0.0.1:{}:*:postgres:one\n127.0.0.1:{}:*:postgres:two\n",
        dns[0].cluster.port, dns[1].cluster.port
    );
    std::fs::write(&passfile, &good).unwrap();
    own_by_server(&passfile, 0o600);
    add_data_nodes(&an, &dns);
    let broken = good.replace(":two\n", ":wrong\n");
    std::fs::write(&passfile, &broken).unwrap();
    let (_work, out) = discover_through_socket(&an);
    let mut plan = tsmn::plan::load_plan(&out).unwrap();
    for (n, d) in plan.data_nodes.iter_mut().zip(&dns) {
        n.connect_host = Some(d.cluster.socket_dir().display().to_string());
    }
    let path = write_plan(out.parent().unwrap(), &plan);
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = found
        .iter()
        .find(|f| f.node == "an" && f.code == "access_node_password_failed")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert!(
        f.fix.starts_with(&format!(
            "put the line 127.0.0.1:{}:*:postgres:PASSWORD at the top of",
            dns[1].cluster.port
        )),
        "{f:?}"
    );
    let (code, said) = apply_file(&path, &[], &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("an/auth/passfile: blocked"), "{said}");
    assert!(!said.contains("TSMN_ROLE_PW"), "no password asked: {said}");
    assert_eq!(read(&passfile), broken, "the cluster's passfile as it was");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT _timescaledb_functions.ping_data_node('dn1')"
        ),
        ["t"],
        "dn1 still reached"
    );
    // The fix as check wrote it: the line at the top, with dn2's password.
    std::fs::write(
        &passfile,
        format!("127.0.0.1:{}:*:postgres:two\n{broken}", dns[1].cluster.port),
    )
    .unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "an", "access_node_password_failed"),
        "{found:#?}"
    );
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT _timescaledb_functions.ping_data_node('dn2')"
        ),
        ["t"]
    );
}
