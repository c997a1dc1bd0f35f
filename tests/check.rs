//! `tsmn check` against real clusters: one fault per data node or per test,
//! each asserting its finding and its fix.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::*;
use tsmn::facts::{AccessProbes, Connection};
use tsmn::plan::AuthMode;
use tsmn::sandbox::ClusterSpec;

const LOCAL: &str = "local all all trust";

fn spec(name: &str, hba: &[&str], settings: &[(&str, &str)]) -> ClusterSpec {
    ClusterSpec {
        name: name.into(),
        hba: Some(hba.iter().map(|s| s.to_string()).collect()),
        settings: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        files: vec![],
    }
}

/// Trust mode on four real nodes: a data node with no rule for the access
/// node, one whose rule is shadowed, and one that is ready.
#[test]
fn trust_mode_faults_on_real_data_nodes() {
    let an = TestCluster::named("an");
    let missing = TestCluster::named("dnmissing");
    let shadowed = TestCluster::start(spec(
        "dnshadow",
        &[
            LOCAL,
            "host all all 127.0.0.1/32 scram-sha-256",
            "host all all 127.0.0.1/32 trust",
        ],
        &[("max_prepared_transactions", "10")],
    ));
    let ready = TestCluster::start(spec(
        "dnready",
        &[LOCAL, "host all postgres 127.0.0.1/32 trust"],
        &[("max_prepared_transactions", "100")],
    ));
    let plan = plan_for(
        &an.cluster,
        &[&missing.cluster, &shadowed.cluster, &ready.cluster],
        AuthMode::Trust,
    );
    let (facts, found) = check(&plan, Duration::from_secs(5));

    // Missing rule: named, with the line to add.
    let f = finding(&found, "dnmissing", "hba_no_rule");
    assert!(
        f.what
            .contains("no pg_hba.conf rule admits the access node"),
        "{f:?}"
    );
    assert!(
        f.fix.contains("host all postgres 127.0.0.1/32 trust") && f.fix.contains("pg_reload_conf"),
        "{f:?}"
    );

    // Shadowed rule: both lines quoted, and which to move.
    let f = finding(&found, "dnshadow", "hba_shadowed");
    assert!(
        f.what
            .contains("line 2: host all all 127.0.0.1/32 scram-sha-256"),
        "{f:?}"
    );
    assert!(
        f.what.contains("line 3: host all all 127.0.0.1/32 trust"),
        "{f:?}"
    );
    assert!(f.fix.contains("move line 3 above line 2"), "{f:?}");

    // max_prepared_transactions = 0 (the default) on one node only.
    let f = finding(&found, "dnmissing", "max_prepared_transactions_zero");
    assert!(
        f.fix.contains("ALTER SYSTEM SET max_prepared_transactions")
            && f.fix.contains("restart dnmissing"),
        "{f:?}"
    );
    assert!(!has_finding(
        &found,
        "dnready",
        "max_prepared_transactions_zero"
    ));
    assert!(
        has_finding(&found, "dnshadow", "max_prepared_transactions_low"),
        "10 < max_connections"
    );

    // The ready node: no hba finding, and the access node reached it itself.
    assert!(
        !found
            .iter()
            .any(|f| f.node == "dnready" && f.code.starts_with("hba")),
        "{found:#?}"
    );
    match &facts.access().unwrap().access_probes {
        AccessProbes::Tested { results } => {
            let r = results.iter().find(|r| r.data_node == "dnready").unwrap();
            assert_eq!(r.source_address.as_deref(), Some("127.0.0.1"), "{r:?}");
            let r = results.iter().find(|r| r.data_node == "dnmissing").unwrap();
            assert!(r.error.as_deref().unwrap_or("").contains("no pg_hba.conf entry"), "{r:?}");
        }
        other => panic!("dblink is installed with postgresql-contrib, so the access node side is tested: {other:?}"),
    }
    // ... and left nothing behind.
    assert_eq!(
        an.sql(
            "postgres",
            "SELECT count(*) FROM pg_extension WHERE extname = 'dblink'"
        ),
        ["0"]
    );

    // TimescaleDB missing where it is not installed, and not claimed
    // missing where it is.
    if pg_bin().has_extension("timescaledb") {
        assert!(
            !has_finding(&found, "an", "timescaledb_missing"),
            "{found:#?}"
        );
    } else {
        let f = finding(&found, "an", "timescaledb_missing");
        assert!(
            f.fix.contains(&format!("PostgreSQL {}", pg_bin().major)),
            "{f:?}"
        );
    }

    binary_reports_the_same(&plan);
}

/// The binary on the same plan: human report, JSON schema, exit code 1 for
/// blockers.
fn binary_reports_the_same(plan: &tsmn::plan::Plan) {
    let dir = temp_dir();
    let path = write_plan(dir.path(), plan);
    let out = tsmn()
        .args(["check", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("dnready")
            && text.contains("the data node sees the access node as 127.0.0.1"),
        "{text}"
    );
    assert!(text.contains("fix: move line 3 above line 2"), "{text}");
    // The map: the ready node reachable, not attached yet; the node whose
    // rule is missing broken, with its cause.
    let map: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "Cluster map")
        .take_while(|l| !l.is_empty())
        .collect();
    assert!(
        map.iter()
            .any(|l| l.contains("─~─ dnready") && l.contains("not attached yet")),
        "{map:#?}"
    );
    assert!(map.iter().any(|l| l.contains("─✗─ dnmissing")), "{map:#?}");
    let out = tsmn()
        .args(["check", "--json", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["schema"], "tsmn-check/1");
    assert_eq!(v["ok"], false);
    assert_eq!(v["nodes"].as_array().unwrap().len(), 4);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "hba_shadowed" && f["node"] == "dnshadow"));
}

#[test]
fn unreachable_nodes_refused_hung_and_unknown() {
    let an = TestCluster::named("an");
    let refused_port = tsmn::sandbox::free_ports(1).unwrap()[0];
    // A listener that accepts and never says a word.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    let keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = hung.accept() {
            held.push(s);
            if held.len() > 8 {
                break;
            }
        }
    });
    let mut plan = plan_for(&an.cluster, &[&an.cluster], AuthMode::Trust);
    let template = plan.data_nodes[0].clone();
    let node = |name: &str, host: &str, port: u16| tsmn::plan::Node {
        name: name.into(),
        host: host.into(),
        port: i64::from(port),
        connect_host: None,
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    };
    let _ = template;
    plan.data_nodes = vec![
        node("refused", "127.0.0.1", refused_port),
        node("hung", "127.0.0.1", hung_port),
        node("nowhere", "no-such-host.invalid", 5432),
    ];

    let started = Instant::now();
    let (facts, found) = check(&plan, Duration::from_secs(1));
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "a hung node held the run for {took:?} (timeout 1 s)"
    );
    assert!(matches!(
        facts.node("hung").unwrap().connection,
        Connection::TimedOut { .. }
    ));

    let f = finding(&found, "refused", "refused");
    assert!(
        f.fix.contains("start PostgreSQL on refused") && f.fix.contains("listen_addresses"),
        "{f:?}"
    );
    let f = finding(&found, "hung", "timeout");
    assert!(
        f.fix
            .contains(&format!("pg_isready -h 127.0.0.1 -p {hung_port}")),
        "{f:?}"
    );
    let f = finding(&found, "nowhere", "unknown_host");
    assert!(f.fix.contains("no-such-host.invalid"), "{f:?}");
    // The access node itself was fine.
    assert!(matches!(
        facts.node("an").unwrap().connection,
        Connection::Connected { .. }
    ));
    drop(keep);
}

#[test]
fn wrong_password_and_non_superuser() {
    let node = TestCluster::start(spec(
        "pw",
        &[LOCAL, "host all all 127.0.0.1/32 scram-sha-256"],
        &[],
    ));
    node.sql("postgres", "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD 'right-one'; CREATE ROLE plain LOGIN PASSWORD 'plain-pw'");
    let mut plan = plan_for(&node.cluster, &[&node.cluster], AuthMode::Trust);
    // tsmn connects over TCP here, so the password matters.
    plan.access_node.connect_host = None;
    plan.data_nodes.clear();
    let mut dn = plan.access_node.clone();
    dn.name = "same".into();
    dn.port += 0;
    plan.data_nodes.push(dn);

    let var = "TSMN_TEST_WRONG_PASSWORD";
    std::env::set_var(var, "wrong-one");
    plan.credentials.password_env = var.into();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "pw", "password_failed");
    assert!(
        f.why
            .contains("password authentication failed for user \"postgres\""),
        "{f:?}"
    );
    assert!(
        !format!("{found:?}").contains("wrong-one"),
        "the password is never shown"
    );

    let var = "TSMN_TEST_PLAIN_PASSWORD";
    std::env::set_var(var, "plain-pw");
    plan.credentials.password_env = var.into();
    plan.superuser = "plain".into();
    let plan = plan.normalized();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "pw", "not_superuser");
    assert!(
        f.what.contains("plain") && f.fix.contains("SUPERUSER"),
        "{f:?}"
    );
}

#[test]
fn certificate_mode_needs_ssl_everywhere() {
    let an = TestCluster::named("an");
    let dn = TestCluster::start(spec(
        "dn1",
        &[LOCAL],
        &[("max_prepared_transactions", "50")],
    ));
    let dir = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Certificate);
    let path = write_plan(dir.path(), &plan);
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "an", "ssl_off");
    assert!(f.why.contains("access node too"), "{f:?}");
    let f = finding(&found, "dn1", "ssl_off");
    assert!(
        f.fix.starts_with("run tsmn apply: it turns ssl on"),
        "{f:?}"
    );
    // The fix as carried: apply's settings and authentication phases
    // (no TimescaleDB needed) turn ssl on on both nodes.
    let nodes = support::fixes::Nodes::new(vec![("an", &an), ("dn1", &dn)], &path)
        .applying(vec![], vec!["--phases", "settings,auth"]);
    support::fixes::execute(f, &nodes);
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(!found.iter().any(|f| f.code == "ssl_off"), "{found:#?}");
}

#[test]
fn a_clean_node_pair_passes_apart_from_timescaledb() {
    let an = TestCluster::named("an");
    let dn = TestCluster::start(spec(
        "dn1",
        &[LOCAL, "host all all 127.0.0.1/32 trust"],
        &[
            ("max_prepared_transactions", "100"),
            ("max_connections", "50"),
        ],
    ));
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let (_, found) = check(&plan, Duration::from_secs(5));
    let other: Vec<_> = found
        .iter()
        .filter(|f| !matches!(f.code, "timescaledb_missing" | "not_preloaded"))
        .collect();
    assert!(other.is_empty(), "{other:#?}");
}

#[test]
fn tls_is_verified_against_the_plan_ca() {
    let ca = TestCa::new("tsmn test CA");
    let node = TestCluster::start(tls_spec(
        "tls",
        ca.server("tls", "IP:127.0.0.1"),
        &[LOCAL, "hostssl all all 127.0.0.1/32 trust"],
    ));
    let mut plan = plan_for(&node.cluster, &[&node.cluster], AuthMode::Trust);
    plan.access_node.connect_host = None; // over TCP, so TLS is negotiated
    plan.data_nodes.truncate(0);
    plan.data_nodes.push(tsmn::plan::Node {
        name: "again".into(),
        ..plan.access_node.clone()
    });

    // Without a CA: TLS when offered (libpq's prefer).
    let (facts, _) = check(&plan, Duration::from_secs(5));
    assert_eq!(
        facts.node("tls").unwrap().connection,
        Connection::Connected { tls: true }
    );

    // With the right CA: verified, and still TLS.
    plan.credentials.sslrootcert = ca.ca_cert().display().to_string();
    let (facts, _) = check(&plan, Duration::from_secs(5));
    assert_eq!(
        facts.node("tls").unwrap().connection,
        Connection::Connected { tls: true }
    );

    // With another CA: refused, explained.
    let other = TestCa::new("some other CA");
    plan.credentials.sslrootcert = other.ca_cert().display().to_string();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "tls", "server_cert_untrusted");
    assert!(f.fix.contains("credentials.sslrootcert"), "{f:?}");
}

/// Each node's report arrives when that node is done, not when probing
/// ends: with a third node that never answers (a listener that accepts
/// nothing), the live data node's report arrives while the probe still
/// waits for it.
#[test]
fn each_node_reports_as_soon_as_it_is_done() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut plan = plan_for(&an.cluster, &[&dn.cluster, &dn.cluster], AuthMode::Trust);
    plan.data_nodes[1].name = "dn2".into();
    plan.data_nodes[1].connect_host = None;
    plan.data_nodes[1].port = i64::from(silent.local_addr().unwrap().port());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let names: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    let probing = rt.spawn(async move {
        let pw = tsmn::probe::credentials::PasswordSource::from_plan(&plan);
        tsmn::probe::probe_reporting(
            &plan,
            &pw,
            tsmn::probe::ProbeOptions::with_connect_timeout(Duration::from_secs(4)),
            &names,
            Some(tx),
        )
        .await
    });
    // dn1 is done first, while the probe still waits for dn2 (and the
    // access node for its own test of dn2).
    let first = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), rx.recv()).await })
        .expect("a report within 30 s")
        .expect("a report");
    assert_eq!(first, ("dn1".to_string(), true));
    assert!(
        !probing.is_finished(),
        "dn1's report arrived only after the probe had ended"
    );
    let facts = rt.block_on(probing).unwrap().unwrap();
    assert_eq!(facts.nodes.len(), 3);
    let mut rest: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    rest.sort();
    assert_eq!(rest, [("an".to_string(), true), ("dn2".to_string(), false)]);
    drop(silent);
}

/// Preview on a live node lists only real changes: a setting the server
/// already runs with is not shown as one, and no restart is predicted for it.
#[test]
fn preview_leaves_out_settings_already_in_effect() {
    let an = TestCluster::start(spec("an", &[LOCAL], &[("jit", "off")]));
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let path = write_plan(dir.path(), &plan);
    let out = tsmn()
        .args(["preview", "--node", "an", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("enable_partitionwise_aggregate = 'off' -> 'on'"),
        "{text}"
    );
    assert!(!text.contains("jit ="), "jit is already off:\n{text}");
    if pg_bin().has_extension("timescaledb") {
        // The sandbox preloads TimescaleDB: no restart for the access node.
        assert!(!text.contains("shared_preload_libraries = "), "{text}");
    } else {
        skipped(
            "preview_leaves_out_settings_already_in_effect (preloaded TimescaleDB)",
            "TimescaleDB is not installed, so the sandbox does not preload it",
        );
    }
}

/// On a running cluster, check verifies it the way the verify step does:
/// as every role of the plan, from the access node, in the cluster
/// database. A role turned away by one data node is a blocker there.
#[test]
fn check_verifies_a_running_cluster_as_every_role() {
    if !timescaledb_tier("check_verifies_a_running_cluster_as_every_role") {
        return;
    }
    let r = Running::applied(&["app_reader"]);
    let (dn2, plan, path) = (&r.dn2, &r.plan, &r.path);
    let (_, found) = check(plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&found), 0, "{found:#?}");

    hba_first(dn2, "host tsdb app_reader 127.0.0.1/32 reject");

    let (facts, found) = check(plan, Duration::from_secs(5));
    let reach = &facts.access().unwrap().cluster_reach;
    assert_eq!(reach.len(), 4, "{reach:#?}");
    let f = finding(&found, "dn2", "access_node_hba_rejects");
    assert!(f.what.contains("as app_reader in tsdb"), "{f:?}");
    assert!(f.why.contains("rejects connection"), "{f:?}");
    assert!(
        !found
            .iter()
            .any(|f| f.node == "dn1" && f.code.starts_with("access_node_")),
        "dn1 answers every role: {found:#?}"
    );
    let out = tsmn().args(["check", "--plan"]).arg(path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILED  as app_reader"), "{text}");
    // On the map: dn1 attached and answering every role, dn2 broken for app_reader.
    assert!(
        text.contains("─✓─ dn1") && text.contains("answers as postgres, app_reader"),
        "{text}"
    );
    assert!(
        text.contains("─✗─ dn2") && text.contains("not as app_reader"),
        "{text}"
    );
}

/// A passfile others can read is ignored by libpq. check says so (not
/// "create the passfile"), under the access node; apply repairs the mode;
/// check then finds nothing.
#[test]
fn an_open_passfile_is_named_as_such_and_apply_repairs_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let p = PasswordPair::applied("pf-secret");
    let (an, plan, apply) = (&p.an, &p.plan, || p.apply());
    p.reaches_every_data_node();

    let passfile = an.cluster.data_dir().join("passfile");
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, found) = check(plan, Duration::from_secs(5));
    let f = finding(&found, "an", "access_node_no_password");
    assert!(
        f.what.contains("has a line for") && f.what.contains("libpq ignores the file"),
        "{f:?}"
    );
    assert!(
        f.fix.contains(&format!("chmod 600 {}", passfile.display())),
        "{f:?}"
    );
    // The fix as carried (the mode), executed as written, clears it...
    let nodes = p.nodes();
    support::fixes::execute(f, &nodes);
    let (_, found) = check(plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "an", "access_node_no_password"),
        "{found:#?}"
    );
    // ... and so does apply, which it says does it too.
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o644)).unwrap();

    let again = apply();
    let out = String::from_utf8_lossy(&again.stdout);
    assert_success(&again);
    assert!(out.contains("but mode 0644: set to 0600"), "{out}");
    assert_eq!(
        std::fs::metadata(&passfile).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (_, found) = check(plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "an", "access_node_no_password"),
        "{found:#?}"
    );

    // The passfile gone, then a line with another password: each fix as
    // carried (apply writes the file, sets both from one source) clears it.
    std::fs::remove_file(&passfile).unwrap();
    let (_, found) = check(plan, Duration::from_secs(5));
    let f = finding(&found, "an", "access_node_no_password");
    assert!(f.what.contains("does not exist"), "{f:?}");
    support::fixes::execute(f, &nodes);
    let text = read(&passfile);
    std::fs::write(&passfile, text.replace(p.password, "not-the-password")).unwrap();
    let (_, found) = check(plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "access_node_password_failed");
    support::fixes::execute(f, &nodes);
    p.reaches_every_data_node();
}

/// A role password stored as md5 under a scram-sha-256 rule: the login
/// fails with "password authentication failed" alone; check reads how it is
/// stored and says so, and apply's SCRAM verifier clears it.
#[test]
fn an_md5_password_under_a_scram_rule_is_named_and_apply_clears_it() {
    let p = PasswordPair::applied("md5-secret");
    let (dn, plan) = (&p.dn, &p.plan);
    dn.sql(
        "postgres",
        "SET password_encryption = 'md5'; ALTER ROLE postgres PASSWORD 'md5-secret'",
    );
    let (_, found) = check(plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "access_node_password_failed");
    assert!(f.what.contains("stored as an md5 hash"), "{f:?}");
    assert!(f.fix.starts_with("run tsmn apply: "), "{f:?}");
    support::fixes::execute(f, &p.nodes());
    p.reaches_every_data_node();
}

/// The passfile apply writes is read by libpq itself (psql with PGPASSFILE,
/// no other password anywhere): a password with `:` and `\\` in it, which
/// the format must escape, logs in; the same file with one character of the
/// password changed does not (so the login is the file's doing).
#[test]
fn libpq_reads_the_passfile_apply_writes() {
    let p = PasswordPair::applied("lib:pq\\pass'word");
    let (facts, _) = check(&p.plan, Duration::from_secs(5));
    let passfile = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .and_then(|s| s.passfile.as_ref())
        .map(|pf| pf.path.clone())
        .expect("the access node's passfile");
    let conninfo = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
        p.dn.cluster.port
    );
    let (ok, out, err) = psql(&conninfo, "SELECT 1", &[("PGPASSFILE", &passfile)]);
    assert!(ok && out == "1", "libpq did not take the line: {err}");

    let text = read(Path::new(&passfile));
    assert!(
        text.contains("lib\\:pq\\\\pass'word"),
        "escaped as pgpass wants"
    );
    let wrong = temp_dir();
    let copy = wrong.path().join("passfile");
    std::fs::write(&copy, text.replace("pass'word", "pass'wore")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let (ok, _, err) = psql(
        &conninfo,
        "SELECT 1",
        &[("PGPASSFILE", copy.to_str().unwrap())],
    );
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );
}

/// An access node and a data node set up in password mode (settings and
/// auth phases) with this role password.
struct PasswordPair {
    an: TestCluster,
    dn: TestCluster,
    _dir: tempfile::TempDir,
    plan: tsmn::plan::Plan,
    path: std::path::PathBuf,
    password: &'static str,
}

impl PasswordPair {
    fn applied(password: &'static str) -> PasswordPair {
        let an = TestCluster::named("an");
        let dn = TestCluster::named("dn1");
        let dir = temp_dir();
        let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password);
        let path = write_plan(dir.path(), &plan);
        let p = PasswordPair {
            an,
            dn,
            _dir: dir,
            plan,
            path,
            password,
        };
        assert_success(&p.apply());
        p
    }

    fn apply(&self) -> std::process::Output {
        tsmn()
            .args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
            .arg(&self.path)
            .env("TSMN_ROLE_PW_POSTGRES", self.password)
            .output()
            .unwrap()
    }

    /// The pair for the fix executor; its `tsmn apply` is `self.apply`'s.
    fn nodes(&self) -> support::fixes::Nodes<'_> {
        support::fixes::Nodes::new(vec![("an", &self.an), ("dn1", &self.dn)], &self.path).applying(
            vec![("TSMN_ROLE_PW_POSTGRES", self.password)],
            vec!["--phases", "settings,auth"],
        )
    }

    /// Every finding the access node's side can give is gone.
    fn reaches_every_data_node(&self) {
        let (_, found) = check(&self.plan, Duration::from_secs(5));
        assert!(
            !found.iter().any(|f| f.code.starts_with("access_node_")),
            "{found:#?}"
        );
    }
}

/// Certificate mode, ssl off on a data node whose pg_hba.conf already has
/// the hostssl rule for the access node: the rule waits for ssl, so check
/// asks for ssl (ssl_off), not for the rule that is already there.
#[test]
fn a_hostssl_rule_waiting_for_ssl_is_not_asked_for_again() {
    let an = TestCluster::named("an");
    let dn = TestCluster::start(spec(
        "dn1",
        &[LOCAL, "hostssl all postgres 127.0.0.1/32 cert"],
        &[("max_prepared_transactions", "150")],
    ));
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Certificate);
    let (_, found) = check(&plan, Duration::from_secs(5));
    finding(&found, "dn1", "ssl_off");
    let f = finding(&found, "dn1", "hostssl_without_ssl");
    assert!(f.what.contains("line 2: hostssl all postgres"), "{f:?}");
    assert!(
        !found
            .iter()
            .any(|f| f.node == "dn1" && f.code.starts_with("hba_")),
        "the rule exists: {found:#?}"
    );
}
