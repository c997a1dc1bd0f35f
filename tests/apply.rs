//! `tsmn apply` on real clusters: each mode end to end (the settings and
//! authentication phases on plain PostgreSQL; everything in the TimescaleDB
//! tier), a second run that changes nothing, a data node that is down, and a
//! pg_hba.conf that is already broken.

mod support;

use std::path::Path;
use std::process::Output;
use support::*;
use tsmn::plan::AuthMode;

const ROLE_PW: &str = "apply:pw\\'x";

fn apply(plan: &std::path::Path, extra: &[&str]) -> Output {
    tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(plan)
        .args(extra)
        .env("TSMN_ROLE_PW_POSTGRES", ROLE_PW)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn end_to_end(mode: AuthMode) {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], mode);
    let path = write_plan(work.path(), &plan);
    let ts = timescaledb_tier(&format!(
        "apply {mode:?}: cluster phase, distributed hypertable"
    ));

    // The first run at -vv, its log file beside the plan.
    let log = work.path().join("apply.log");
    let first = tsmn()
        .args(["-vv", "apply", "--yes", "--plan"])
        .arg(&path)
        .env("TSMN_ROLE_PW_POSTGRES", ROLE_PW)
        .env("TSMN_LOG_FILE", &log)
        .output()
        .unwrap();
    let out = text(&first);
    let logged = read(&log);
    for needle in [
        "started: ",
        "connecting to ",
        "sending: ",
        "[dn1] restarting: ",
        // -vv only: each read's statement, each step built.
        "TRACE query (",
        "TRACE step [dn1] ",
    ] {
        assert!(
            logged.contains(needle),
            "the log lacks {needle:?}:\n{logged}"
        );
    }
    assert_no_secret(&logged, ROLE_PW, "the log file");
    assert_no_secret(&out, ROLE_PW, "apply's output at -vv");
    if ts {
        assert_eq!(first.status.code(), Some(0), "{out}");
    } else {
        // Honest: the cluster phase is blocked, and the exit code says so.
        assert_eq!(first.status.code(), Some(1), "{out}");
        assert!(
            out.contains("an/cluster/database: blocked")
                && out.contains("TimescaleDB is not installed"),
            "{out}"
        );
    }
    assert!(!out.contains("FAILED"), "{out}");
    // tsmn restarts these local nodes itself: nothing is asked of the operator.
    assert!(
        out.contains("[dn1] restarting") && !out.contains("restart needed on"),
        "{out}"
    );
    // The restart happened (tsmn restarted these local nodes).
    assert_eq!(
        dn1.sql("postgres", "SHOW max_prepared_transactions"),
        ["150"]
    );

    // Each data node admits the access node the way TimescaleDB connects.
    let found = assert_admitted(&plan, &dn2);
    assert!(
        !found.iter().any(|f| f.code == "pending_restart"),
        "{found:#?}"
    );
    if ts {
        distributed_hypertable(&an);
    }

    // A second run changes nothing, and says so.
    let before: Vec<_> = [&an, &dn1, &dn2].iter().map(|c| data_files(c)).collect();
    let second = apply(&path, &[]);
    let out = text(&second);
    assert!(
        !out.contains(": done ("),
        "a second run did something:\n{out}"
    );
    assert!(out.contains("already done"), "{out}");
    if ts {
        assert!(out.contains("an/verify/ping-dn1: verified"), "{out}");
        assert!(out.trim_end().ends_with("nothing changed"), "{out}");
        // The summary before the run counts nothing as to run: the restart
        // gate and the verification are checks. (Settings, database,
        // extension, two add_data_node and, with the distributed hypertable
        // this test made, two attach steps: all done.)
        if mode == AuthMode::Trust {
            assert!(
                out.contains("  an: 0 step(s) to run, 7 already done"),
                "{out}"
            );
        }
        assert!(
            out.contains("check: Each role reaches dn1")
                && out.contains("check: Each role reaches dn2"),
            "{out}"
        );
    }
    let after: Vec<_> = [&an, &dn1, &dn2].iter().map(|c| data_files(c)).collect();
    assert!(
        before == after,
        "a second run changed files in a data directory"
    );
}

fn distributed_hypertable(an: &TestCluster) {
    an.sql(
        "tsdb",
        "CREATE TABLE m (t timestamptz NOT NULL, dev int, v float8)",
    );
    an.sql(
        "tsdb",
        "SELECT create_distributed_hypertable('m', 't', 'dev')",
    );
    an.sql("tsdb", "INSERT INTO m SELECT now() - i * interval '1 min', i % 8, i FROM generate_series(1, 1000) i");
    assert_eq!(an.sql("tsdb", "SELECT count(*) FROM m"), ["1000"]);
    let nodes = an.sql("tsdb", "SELECT count(DISTINCT node) FROM (SELECT unnest(data_nodes) AS node FROM timescaledb_information.chunks WHERE hypertable_name = 'm') c");
    assert_eq!(nodes, ["2"], "chunks on both data nodes");
}

#[test]
fn trust_mode_end_to_end() {
    end_to_end(AuthMode::Trust);
}

#[test]
fn password_mode_end_to_end() {
    end_to_end(AuthMode::Password);
}

#[test]
fn certificate_mode_end_to_end() {
    end_to_end(AuthMode::Certificate);
}

#[test]
fn a_role_that_cannot_reach_a_data_node_fails_the_verification() {
    if !timescaledb_tier("a_role_that_cannot_reach_a_data_node_fails_the_verification") {
        return;
    }
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let mut plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], AuthMode::Trust);
    plan.auth.roles.push("app_reader".into());
    let path = write_plan(work.path(), &plan);
    let first = apply(&path, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    // Someone puts a rule above tsmn's block that turns the role away on dn2.
    let hba = dn2.cluster.data_dir().join("pg_hba.conf");
    let old = read(&hba);
    std::fs::write(
        &hba,
        format!("host all app_reader 127.0.0.1/32 reject\n{old}"),
    )
    .unwrap();
    reload(&dn2);

    // Only the verification: the auth phase would put tsmn's block first again.
    let second = apply(&path, &["--phases", "verify"]);
    let out = text(&second);
    assert_eq!(
        second.status.code(),
        Some(1),
        "a failed verification is a failure:\n{out}"
    );
    assert!(out.contains("[an] an/verify/ping-dn2: FAILED"), "{out}");
    // The pair, the access node's own reason, and a fix.
    assert!(out.contains("dn2 as app_reader: "), "{out}");
    assert!(out.contains("pg_hba.conf rejects connection"), "{out}");
    assert!(
        !out.contains("dn1 as app_reader: ERROR"),
        "dn1 answers: {out}"
    );
    assert!(out.contains("    fix: "), "{out}");
    assert!(
        out.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("FAILED on an at an/verify/ping-dn2")),
        "{out}"
    );
}

/// A data node that is down when apply starts: nothing changes anywhere
/// (a cluster changed on some nodes and not on others can be worse than
/// before), the refusal names the node and why; once it is back, apply
/// runs whole.
#[test]
fn a_data_node_that_is_down_stops_apply_before_any_change_and_apply_resumes() {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], AuthMode::Trust);
    let path = write_plan(work.path(), &plan);
    let hba1 = read(&dn1.cluster.data_dir().join("pg_hba.conf"));
    let mpt = || {
        dn1.sql(
            "postgres",
            "SELECT setting FROM pg_file_settings WHERE name = 'max_prepared_transactions'",
        )
    };
    let settings1 = mpt();
    dn2.cluster.stop(true).unwrap();
    let first = apply(&path, &["--phases", "settings,auth", "--json"]);
    assert_eq!(first.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&first.stdout).expect("a JSON error");
    assert_eq!(err["schema"], "tsmn-error/1", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("tsmn cannot reach dn2") && message.contains("changes nothing"),
        "{message}"
    );
    assert_eq!(
        read(&dn1.cluster.data_dir().join("pg_hba.conf")),
        hba1,
        "dn1 untouched"
    );
    assert_eq!(mpt(), settings1, "dn1's settings untouched");

    dn2.cluster.start().unwrap();
    let second = apply(&path, &["--phases", "settings,auth"]);
    let out = text(&second);
    assert_eq!(second.status.code(), Some(0), "{out}");
    assert!(out.contains("[dn1] dn1/settings/settings: done"), "{out}");
    assert!(out.contains("[dn2] dn2/settings/settings: done"), "{out}");
    assert!(out.contains("[dn2] dn2/auth/hba: done"), "{out}");
}

#[test]
fn a_broken_pg_hba_conf_stops_that_node_and_stays_intact() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let broken = "local all all trust\nhost all all 10.0.0.0/8 no-such-method\n";
    std::fs::write(&hba, broken).unwrap();
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let path = write_plan(work.path(), &plan);
    let run = apply(&path, &[]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    // Nothing at all on that node: not even its settings, and the summary
    // before the run says so.
    // (2 blocked steps, 4 where TimescaleDB lets tsmn bootstrap the node.)
    assert!(
        out.lines()
            .any(|l| l.starts_with("  dn1: 0 step(s) to run, ")
                && l.ends_with(" blocked")
                && !l.contains("already")),
        "{out}"
    );
    assert!(
        out.contains("[dn1] dn1/settings/settings: blocked")
            && !out.contains("[dn1] dn1/auth/hba: done")
            && out.contains("has an error (line 2: invalid authentication method")
            && out.contains("nothing is changed on dn1"),
        "{out}"
    );
    assert_eq!(dn.sql("postgres", "SHOW max_prepared_transactions"), ["0"]);
    assert_eq!(
        dn.sql(
            "postgres",
            "SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%auto.conf'"
        ),
        ["0"]
    );
    assert_eq!(std::fs::read_to_string(&hba).unwrap(), broken);
    let backups = files_below(&dn.cluster.data_dir())
        .into_iter()
        .filter(|(r, _)| r.contains(".tsmn-"))
        .count();
    assert_eq!(backups, 0, "nothing was written");
}

/// A hostssl line while ssl is off is reported by pg_hba_file_rules, but
/// the file reloads: it is no reason to leave the node alone.
#[test]
fn a_hostssl_line_without_ssl_does_not_stop_the_node() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    std::fs::write(
        &hba,
        "local all all trust\nhostssl all all 10.0.0.0/8 scram-sha-256\n",
    )
    .unwrap();
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let path = write_plan(work.path(), &plan);
    let run = apply(&path, &["--phases", "settings,auth"]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(out.contains("[dn1] dn1/auth/hba: done"), "{out}");
    assert!(read(&hba).contains("hostssl all all 10.0.0.0/8 scram-sha-256"));
}

#[test]
fn apply_without_a_terminal_needs_yes() {
    let (_an, _dn, _work, path) = trust_pair();
    let out = tsmn()
        .args(["apply", "--plan"])
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add --yes"));
}

#[test]
fn a_rule_that_would_lock_tsmn_out_is_rolled_back() {
    // tsmn reaches dn1 over TCP from 127.0.0.1 with a password; certificate
    // mode's rule for the access node (also 127.0.0.1) would demand a client
    // certificate from tsmn itself.
    let an = TestCluster::named("an");
    let ca = TestCa::new("lockout CA");
    let dn = TestCluster::start(tls_spec(
        "dn1",
        ca.server("dn1", "IP:127.0.0.1"),
        &[
            "local all all trust",
            "host all all 127.0.0.1/32 scram-sha-256",
        ],
    ));
    dn.sql(
        "postgres",
        "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD 'admin-pw'",
    );
    let original = std::fs::read_to_string(dn.cluster.data_dir().join("pg_hba.conf")).unwrap();
    let work = temp_dir();
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Certificate);
    plan.data_nodes[0].connect_host = None;
    plan.credentials.password_env = "TSMN_TEST_LOCKOUT_PW".into();
    let path = write_plan(work.path(), &plan);
    std::env::set_var("TSMN_TEST_LOCKOUT_PW", "admin-pw");
    let run = apply(&path, &["--phases", "auth"]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.contains("[dn1] dn1/auth/hba: FAILED")
            && out.contains("could not connect to dn1 any more")
            && out.contains("restored"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dn.cluster.data_dir().join("pg_hba.conf")).unwrap(),
        original,
        "the original pg_hba.conf is back"
    );
    // And tsmn can still get in.
    let (facts, _) = check(&plan, std::time::Duration::from_secs(5));
    assert!(matches!(
        facts.node("dn1").unwrap().connection,
        tsmn::facts::Connection::Connected { .. }
    ));
}

#[test]
fn restart_never_names_the_nodes_and_how() {
    let (_an, dn, _work, path) = trust_pair();
    let run = apply(&path, &["--restart", "never"]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.contains("an/cluster/restart-gate: FAILED")
            && out.contains("restart needed on dn1 (max_prepared_transactions)"),
        "{out}"
    );
    assert!(
        out.contains("pg_ctlcluster") && out.contains("then run tsmn apply again"),
        "{out}"
    );
    assert_eq!(
        dn.sql("postgres", "SHOW max_prepared_transactions"),
        ["0"],
        "not restarted"
    );
}

/// Each node sees one tsmn session for the probe and all its steps, and one
/// more after tsmn restarted it: not a new one per phase or per question.
#[test]
fn apply_holds_one_session_per_node_and_one_after_the_restart() {
    let logged = |name: &str| {
        TestCluster::start(tsmn::sandbox::ClusterSpec {
            name: name.into(),
            settings: vec![("log_connections".into(), "on".into())],
            ..Default::default()
        })
    };
    let (an, dn) = (logged("an"), logged("dn1"));
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust),
    );
    let out = text(&apply(&path, &[]));
    assert!(out.contains("restarted dn1"), "{out}");
    // Restarted by tsmn as root, the server has its own HOME, not root's.
    if let tsmn::sandbox::ServerUser::Other { uid, .. } = server_user() {
        let pid = dn.cluster.pid().expect("running");
        let home = process_env(pid, "HOME").expect("HOME is set");
        assert_eq!(
            std::path::Path::new(&home),
            tsmn::os::home_for(uid, &dn.cluster.data_dir()),
            "restarted with HOME={home}"
        );
    }
    let sessions = read(&dn.cluster.log_file())
        .lines()
        .filter(|l| {
            // tsmn's own sessions (named after the command), not the
            // access node's dblink links ("tsmn apply (link)") that apply
            // proves rules with.
            l.contains("connection authorized")
                && l.contains("database=postgres")
                && l.trim_end().ends_with("application_name=tsmn apply")
        })
        .count();
    assert_eq!(sessions, 2, "{out}");
}

/// A node tsmn may not restart itself (its data directory is not readable to
/// tsmn: here tsmn runs as `nobody`, over TCP) is named with how to restart
/// it and waited for, with the seconds shown; once someone restarts it, the
/// run goes on and finds the setting applied.
#[test]
fn a_node_tsmn_cannot_restart_is_named_and_waited_for() {
    if tsmn::os::euid() != 0 {
        skipped(
            "a_node_tsmn_cannot_restart_is_named_and_waited_for",
            "needs root, to run tsmn as another user",
        );
        return;
    }
    let run = AsNobody::start(&["--restart-wait", "60"]);
    let (dn, rx, mut child) = (&run.dn, &run.lines, run.child);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen
        .iter()
        .any(|l: &String| l.contains("[dn1] waiting for the restart"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("tsmn never said it waits for dn1:\n{}", seen.join("\n")),
        }
    }
    let all = seen.join("\n");
    assert!(
        all.contains("restart needed on dn1: restart PostgreSQL on each"),
        "{all}"
    );
    assert!(!all.contains("[dn1] restarting"), "{all}");
    // The operator restarts the node.
    dn.cluster.stop(true).unwrap();
    dn.cluster.start().unwrap();
    let status = child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let all = format!("{all}\n{}", rx.try_iter().collect::<Vec<_>>().join("\n"));
    assert!(all.contains("an/cluster/restart-gate: done"), "{all}");
    assert!(!all.contains("FAILED"), "{all}");
    assert_eq!(status.code(), Some(0), "{all}");
    assert_eq!(
        dn.sql("postgres", "SHOW max_prepared_transactions"),
        ["150"]
    );
}

/// `[auth.password] passfile` and `[auth.certificate] ssl_dir` given as
/// paths: TimescaleDB's settings exist only in a database with the
/// extension (elsewhere `unrecognized configuration parameter`), so they
/// are set there, after it is created.
#[test]
fn passfile_and_ssl_dir_paths_are_set_in_the_cluster_database() {
    if !timescaledb_tier("passfile_and_ssl_dir_paths_are_set_in_the_cluster_database") {
        return;
    }
    for mode in [AuthMode::Password, AuthMode::Certificate] {
        let an = TestCluster::named("an");
        let dn1 = TestCluster::named("dn1");
        let work = temp_dir();
        let mut plan = plan_for(&an.cluster, &[&dn1.cluster], mode);
        let (setting, path) = match mode {
            AuthMode::Password => {
                let p = an.cluster.data_dir().join("secrets/tsmn.passfile");
                let mut o = plan.auth.password.clone().unwrap_or_default();
                o.passfile = p.display().to_string();
                plan.auth.password = Some(o);
                ("timescaledb.passfile", p)
            }
            _ => {
                let p = an.cluster.data_dir().join("client-certs");
                let mut o = plan.auth.certificate.clone().unwrap_or_default();
                o.ssl_dir = p.display().to_string();
                plan.auth.certificate = Some(o);
                ("timescaledb.ssl_dir", p)
            }
        };
        let path_text = path.display().to_string();
        let plan_path = write_plan(work.path(), &plan);
        let first = apply(&plan_path, &[]);
        let out = text(&first);
        assert_eq!(first.status.code(), Some(0), "{mode:?}:\n{out}");
        assert!(
            !out.contains("unrecognized configuration parameter"),
            "{out}"
        );
        assert_eq!(
            an.sql("tsdb", &format!("SHOW {setting}")),
            [path_text.as_str()]
        );
        assert!(out.contains("an/verify/ping-dn1: verified"), "{out}");
        let second = apply(&plan_path, &[]);
        let out = text(&second);
        assert_eq!(second.status.code(), Some(0), "{out}");
        assert!(
            out.trim_end().ends_with("nothing changed"),
            "{mode:?} second run:\n{out}"
        );
    }
}

/// An IPv6 address given in brackets is written bare with its mask: a
/// bracketed address in pg_hba.conf is a host name that never matches.
#[test]
fn a_bracketed_ipv6_access_node_address_becomes_a_rule_that_can_match() {
    let (_an, dn, work, _) = trust_pair();
    let mut plan = plan_for(&_an.cluster, &[&dn.cluster], AuthMode::Trust);
    plan.access_node_addresses = vec!["[::1]".into(), "127.0.0.1".into()];
    let path = write_plan(work.path(), &plan);
    let run = apply(&path, &["--phases", "auth"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let rules = dn.sql(
        "postgres",
        "SELECT address || ' ' || netmask FROM pg_hba_file_rules WHERE type = 'host' AND error IS NULL ORDER BY line_number",
    );
    assert!(
        rules.contains(&"::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".to_string()),
        "{rules:?}"
    );
    assert!(!read(&dn.cluster.data_dir().join("pg_hba.conf")).contains("[::1]"));
}

/// What check knows will fail is not run: add_data_node for a data node
/// whose database belongs to another cluster, or has another collation,
/// is blocked with check's reason, and nothing is added.
#[test]
fn add_data_node_is_blocked_where_check_knows_it_fails() {
    if !timescaledb_tier("add_data_node_is_blocked_where_check_knows_it_fails") {
        return;
    }
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    // dn1: the database is a data node of some other access node.
    dn1.sql("postgres", "CREATE DATABASE tsdb");
    dn1.sql("tsdb", "CREATE EXTENSION timescaledb");
    dn1.sql(
        "tsdb",
        "INSERT INTO _timescaledb_catalog.metadata VALUES ('dist_uuid', '9a0c2d1e-0000-4000-8000-000000000001', true)",
    );
    // dn2: the database exists with another collation than the access node's.
    an.sql(
        "postgres",
        "CREATE DATABASE tsdb TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'",
    );
    dn2.sql(
        "postgres",
        "CREATE DATABASE tsdb TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'",
    );
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], AuthMode::Trust);
    let path = write_plan(work.path(), &plan);
    let run = apply(&path, &[]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    // The data node's own bootstrap stops first, with check's reason; the
    // add_data_node calls never run.
    assert!(
        out.contains("[dn1] dn1/cluster/database: blocked")
            && out.contains("member_of_other_cluster")
            && out.contains("[an] an/cluster/add-dn1: blocked"),
        "{out}"
    );
    assert!(out.contains("database_locale_differs"), "{out}");
    assert!(
        !out.contains("cannot add \"dn1\""),
        "add_data_node was sent: {out}"
    );
    // No data node was added: no foreign server on the access node (and,
    // with the cluster phase unable to finish, not even the extension).
    assert_eq!(
        an.sql("tsdb", "SELECT count(*) FROM pg_foreign_server"),
        ["0"]
    );
}

/// Password mode where tsmn logs in to a data node with a password and the
/// plan would set that role's password to another: refused before any
/// change, naming the node and the ways out (no 300 s wait after a restart).
#[test]
fn a_run_that_would_change_tsmns_own_login_is_refused_before_anything_changes() {
    let dn = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "dn1".into(),
        hba: Some(vec![
            "local all all trust".into(),
            "host all all 127.0.0.1/32 scram-sha-256".into(),
        ]),
        ..Default::default()
    });
    dn.sql(
        "postgres",
        "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD 'login-pw'",
    );
    let an = TestCluster::named("an");
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password);
    plan.data_nodes[0].connect_host = None; // over TCP, with the password
    let work = temp_dir();
    let path = write_plan(work.path(), &plan);
    let run = |role_pw: &str| {
        tsmn()
            .args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
            .arg(&path)
            .env("PGPASSWORD", "login-pw")
            .env("TSMN_ROLE_PW_POSTGRES", role_pw)
            .env("HOME", "/nonexistent")
            .output()
            .unwrap()
    };
    let started = std::time::Instant::now();
    let refused = run("another-pw");
    let out = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{out}");
    assert!(
        out.contains("lock itself out") && out.contains("on dn1"),
        "{out}"
    );
    assert!(out.contains("fix: "), "{out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(dn.sql("postgres", "SHOW max_prepared_transactions"), ["0"]);
    // The same password as the login: it goes ahead.
    let ok = run("login-pw");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
}

/// A server that reports the same data directory as another one on this
/// host (identical layouts are normal) must not get the other restarted.
/// The decoy: the sandbox's dn1 runs here; the plan's data node is another
/// server, started in its own mount namespace with its data directory
/// mounted at dn1's path, so it reports dn1's path. tsmn must prove the
/// identity (pid file port and start time, pg_control's system identifier)
/// before it restarts anything, and here it cannot: it waits instead.
#[test]
fn a_server_reporting_another_ones_data_directory_is_not_restarted_for_it() {
    if tsmn::os::euid() != 0 {
        skipped(
            "a_server_reporting_another_ones_data_directory_is_not_restarted_for_it",
            "needs root (a mount namespace for the decoy server)",
        );
        return;
    }
    let an = TestCluster::named("an");
    let bystander = TestCluster::named("dn1");
    let target = TestCluster::named("real");
    target.cluster.stop(true).unwrap();
    let (real, seen) = (target.cluster.data_dir(), bystander.cluster.data_dir());
    let start = format!(
        "mount --bind {real} {seen} && exec runuser -u postgres -- {pg_ctl} -D {seen} -l {log} -w -t 60 start",
        real = real.display(),
        seen = seen.display(),
        pg_ctl = pg_bin().bindir.join("pg_ctl").display(),
        log = target.cluster.log_file().display(),
    );
    let st = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &start])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "decoy: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let reported = target.sql("postgres", "SHOW data_directory");
    assert_eq!(
        reported,
        [seen.display().to_string()],
        "the decoy reports dn1's path"
    );
    let bystander_started = bystander.sql("postgres", "SELECT pg_postmaster_start_time()");

    let mut plan = plan_for(&an.cluster, &[&target.cluster], AuthMode::Trust);
    plan.data_nodes[0].name = "dn1".into();
    let work = temp_dir();
    let path = write_plan(work.path(), &plan);
    let run = apply(
        &path,
        &["--phases", "settings,cluster", "--restart-wait", "2"],
    );
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(out.contains("restart needed on dn1"), "{out}");
    assert!(!out.contains("[dn1] restarting"), "{out}");
    assert_eq!(
        bystander.sql("postgres", "SELECT pg_postmaster_start_time()"),
        bystander_started,
        "the server that merely has the same path was restarted"
    );
}

/// Two runs on one cluster: the second is refused and told who holds the
/// lock. On one machine by the lock file beside the plan, before anything
/// connects; from another machine by the access node's advisory lock,
/// before anything changes.
#[test]
fn a_second_run_is_refused_and_told_who_holds_the_lock() {
    use std::io::Write;
    let (an, dn, _work, path) = trust_pair();
    // Held by "another tsmn" on this machine.
    let dir = tsmn::plan::state_dir(&path);
    std::fs::create_dir_all(&dir).unwrap();
    let mut held = std::fs::File::create(dir.join("apply.lock")).unwrap();
    held.try_lock().expect("flock the lock file");
    writeln!(held, "pid 4242 on test-host since earlier").unwrap();
    dn.cluster.stop(true).unwrap(); // a probe would say so: it must not get that far
    let run = apply(&path, &[]);
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        out.contains("another tsmn run holds this plan's lock (pid 4242 on test-host"),
        "{out}"
    );
    assert!(
        !out.contains("cannot connect") && !out.contains("tsmn apply will"),
        "{out}"
    );
    drop(held);
    dn.cluster.start().unwrap();

    // Held in the access node by a session from elsewhere.
    let socket = an.cluster.socket_dir();
    let mut other = std::process::Command::new(pg_bin().bindir.join("psql"))
        .args(["-X", "-q", "-h"])
        .arg(&socket)
        .args([
            "-p",
            &an.cluster.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
        ])
        .arg("SELECT pg_advisory_lock(hashtext('tsmn apply tsdb')); SELECT pg_sleep(60)")
        .env("PGAPPNAME", "operator-two")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if an.sql(
            "postgres",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
        ) == ["1"]
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A probe would find dn1 down (and, were the other run restarting it,
    // report what it saw mid-change): the lock must come first.
    dn.cluster.stop(true).unwrap();
    let run = apply(&path, &[]);
    dn.cluster.start().unwrap();
    let _ = other.kill();
    let _ = other.wait();
    let out = text(&run);
    assert_eq!(run.status.code(), Some(1), "{out}");
    assert!(
        !out.contains("cannot") && !out.contains("tsmn apply will"),
        "refused before the probe: {out}"
    );
    assert!(
        out.contains("another tsmn run is working on this cluster: an holds its lock for pid")
            && out.contains("operator-two"),
        "{out}"
    );
    assert_eq!(
        dn.sql("postgres", "SHOW max_prepared_transactions"),
        ["0"],
        "nothing changed"
    );
}

/// Ctrl-C while apply waits for a node to come back: the running step
/// stops at once, what finished is in the journal, tsmn exits 130 saying
/// so; the next apply goes on from there.
#[test]
fn an_interrupt_stops_the_run_cleanly_and_the_next_apply_goes_on() {
    if tsmn::os::euid() != 0 {
        skipped(
            "an_interrupt_stops_the_run_cleanly_and_the_next_apply_goes_on",
            "needs root, to run tsmn as a user that cannot restart the node",
        );
        return;
    }
    let run = AsNobody::start(&["--restart-wait", "120"]);
    let (dn, rx, child, path) = (&run.dn, &run.lines, run.child, &run.path);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("apply's output");
        if line.contains("[dn1] waiting for the restart") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never waited");
    }
    let interrupted = std::time::Instant::now();
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        interrupted.elapsed() < std::time::Duration::from_secs(10),
        "it waited on"
    );
    assert!(
        err.contains("interrupted: the running step finishes")
            && err.contains("stopped after the interrupt"),
        "{err}"
    );
    let journal = read(&tsmn::plan::state_dir(path).join("journal.jsonl"));
    assert!(journal.contains("dn1/auth/hba"), "{journal}");
    // tsmn did not stop the node (the restart was the operator's): it is
    // up before this test touches it.
    assert!(up(dn), "the interrupted run left dn1 down");
    // The next apply (as root: it may restart the sandbox node) goes on.
    dn.restart();
    let next = apply(path, &["--phases", "settings,auth,cluster"]);
    let out = text(&next);
    assert!(out.contains("[dn1] dn1/auth/hba: already done"), "{out}");
    assert!(
        out.contains("an/cluster/restart-gate: already done")
            || out.contains("an/cluster/restart-gate: done"),
        "{out}"
    );
}

/// `tsmn apply --yes` run as `nobody` over TCP against an access node and a
/// data node that admit 127.0.0.1 by trust: it cannot read the data
/// directory, so a restart is the operator's and it waits (as on a remote
/// host). Its stdout comes line by line; stderr is kept for the end.
struct AsNobody {
    _an: TestCluster,
    dn: TestCluster,
    _work: tempfile::TempDir,
    path: std::path::PathBuf,
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl AsNobody {
    fn start(extra: &[&str]) -> AsNobody {
        let tcp = |name: &str| {
            TestCluster::start(tsmn::sandbox::ClusterSpec {
                name: name.into(),
                hba: Some(vec![
                    "local all all trust".into(),
                    "host all all 127.0.0.1/32 trust".into(),
                ]),
                ..Default::default()
            })
        };
        let (an, dn) = (tcp("an"), tcp("dn1"));
        let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
        plan.access_node.connect_host = None;
        plan.data_nodes[0].connect_host = None;
        let work = temp_dir();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(work.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = write_plan(work.path(), &plan);
        // A copy of the binary `nobody` can run wherever the checkout lives.
        let bin = binary_copy(work.path());
        let mut child = std::process::Command::new("setpriv")
            .args([
                "--reuid",
                "nobody",
                "--regid",
                "nogroup",
                "--clear-groups",
                "--",
            ])
            .arg(&bin)
            .args(["apply", "--yes"])
            .args(extra)
            .arg("--plan")
            .arg(&path)
            .env("HOME", "/nonexistent")
            .env_remove("PGPASSWORD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("setpriv (util-linux)");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        AsNobody {
            _an: an,
            dn,
            _work: work,
            path,
            child,
            lines,
        }
    }
}

/// A node that already preloads another library keeps it, gains
/// timescaledb, and starts again. (One literal 'a,b' names a single library
/// "a,b": the server would not start.)
#[test]
fn a_preload_list_keeps_its_libraries_and_the_server_starts() {
    if !timescaledb_tier("a_preload_list_keeps_its_libraries_and_the_server_starts") {
        return;
    }
    let (_an, dn, _work, path) = trust_pair();
    dn.sql(
        "postgres",
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
    );
    dn.restart();
    let run = apply(&path, &[]);
    assert_success(&run);
    assert_eq!(
        dn.sql("postgres", "SHOW shared_preload_libraries"),
        ["pg_stat_statements, timescaledb"],
        "{}",
        text(&run)
    );
    let again = apply(&path, &[]);
    assert!(text(&again).contains("nothing changed"), "{}", text(&again));
}

/// A server whose parent is a supervisor (here a stand-in named `patroni`
/// that runs the postmaster in the foreground, as Patroni does) is left to
/// it: the summary says tsmn waits for it and why, tsmn never restarts it
/// with pg_ctl, and the bounded wait ends naming the node.
#[test]
fn a_server_run_by_a_supervisor_is_left_to_it() {
    if tsmn::os::euid() != 0 {
        skipped(
            "a_server_run_by_a_supervisor_is_left_to_it",
            "needs root, to start the server as its OS user under another parent",
        );
        return;
    }
    let (_an, dn, _work, path) = trust_pair();
    let (_dir, mut supervisor) = run_under_patroni(&dn.cluster);
    let pid_file = dn.cluster.data_dir().join("postmaster.pid");
    let before = read(&pid_file);

    let run = apply(&path, &["--restart", "local", "--restart-wait", "2"]);
    let all = text(&run);
    let who = format!("run by Patroni (pid {})", supervisor.id());
    assert!(
        all.contains(&format!(
            "tsmn waits for dn1 to be restarted: {who}: patronictl restart"
        )),
        "the summary says so: {all}"
    );
    assert!(
        all.contains(&format!("restart needed on dn1: {who}")),
        "{all}"
    );
    assert!(!all.contains("[dn1] restarting"), "{all}");
    assert_eq!(run.status.code(), Some(1), "{all}");
    assert!(all.contains("dn1"), "{all}");
    assert_eq!(read(&pid_file), before, "the server was not restarted");
    dn.cluster.stop(true).unwrap();
    let _ = supervisor.wait();
}

/// A restart that never comes back: the node tsmn restarts cannot start
/// again (a library in its preload list that does not exist, set by hand
/// before the run). The wait is bounded, the failure names the node and the
/// server log to read, and nothing claims success.
#[test]
fn a_restart_that_never_comes_back_names_the_node_and_its_log() {
    let (_an, dn, _work, path) = trust_pair();
    dn.sql(
        "postgres",
        "ALTER SYSTEM SET shared_preload_libraries = 'no_such_library'",
    );
    let started = std::time::Instant::now();
    let run = apply(&path, &["--restart", "local", "--restart-wait", "20"]);
    let all = text(&run);
    assert_eq!(run.status.code(), Some(1), "{all}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(100),
        "bounded"
    );
    assert!(all.contains("[dn1] restarting"), "{all}");
    let log = dn.cluster.log_file();
    assert!(
        all.contains("dn1") && all.contains(&log.display().to_string()),
        "names the node and its log: {all}"
    );
    assert!(
        read(&log).contains("no_such_library"),
        "the log it names holds the reason"
    );
    assert!(
        all.contains("restart-gate: FAILED") && all.contains("did not start again"),
        "{all}"
    );
    assert!(!all.contains("nothing changed"), "{all}");
}

/// SIGINT as the pg_hba.conf steps start on four data nodes at once: each
/// node's pg_hba.conf is then the old file or the new one, never a mix,
/// and valid as the server reads it; exit 130; the next apply resumes from
/// the journal and finishes.
#[test]
fn an_interrupt_during_the_pg_hba_steps_leaves_each_file_whole() {
    use std::io::BufRead;
    let an = TestCluster::named("an");
    let dns: Vec<TestCluster> = (1..=4)
        .map(|i| TestCluster::named(&format!("dn{i}")))
        .collect();
    let work = temp_dir();
    let refs: Vec<&tsmn::sandbox::Cluster> = dns.iter().map(|d| &d.cluster).collect();
    let path = write_plan(work.path(), &plan_for(&an.cluster, &refs, AuthMode::Trust));
    let hba = |d: &TestCluster| d.cluster.data_dir().join("pg_hba.conf");
    let before: Vec<String> = dns.iter().map(|d| read(&hba(d))).collect();

    let mut child = tsmn()
        .args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let go = line.contains("/settings/settings: done");
        seen.push(line);
        if go {
            interrupt(&child);
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}\n{}{}",
        seen.join("\n"),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(130), "{all}");
    assert!(
        all.contains("interrupted: the running step finishes"),
        "{all}"
    );
    for (d, old) in dns.iter().zip(&before) {
        let now = read(&hba(d));
        assert!(
            now == *old || (now.contains("# BEGIN tsmn") && now.contains("# END tsmn")),
            "{}: neither the old file nor the new one:\n{now}",
            d.cluster.name
        );
        assert_eq!(
            d.sql(
                "postgres",
                "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
            ),
            ["0"],
            "{} reads its pg_hba.conf without error",
            d.cluster.name
        );
    }
    let next = apply(&path, &["--phases", "settings,auth"]);
    let text = text(&next);
    assert_success(&next);
    for d in &dns {
        let n = &d.cluster.name;
        assert!(
            text.contains(&format!("[{n}] {n}/auth/hba: done"))
                || text.contains(&format!("[{n}] {n}/auth/hba: already done")),
            "{text}"
        );
    }
}

/// A full disk where a data node keeps its pg_hba.conf (a 64 KiB tmpfs
/// this test mounts, the server's hba_file on it): the step fails naming
/// the node, the file and the cause; pg_hba.conf is unchanged and nothing
/// half written is left beside it; once there is room, apply finishes.
#[test]
fn a_full_disk_under_pg_hba_conf_loses_nothing_and_says_so() {
    if tsmn::os::euid() != 0 {
        skipped(
            "a_full_disk_under_pg_hba_conf_loses_nothing_and_says_so",
            "needs root, to mount a tmpfs",
        );
        return;
    }
    let disk = tempfile::tempdir().unwrap();
    // The server's OS user owns the directory of its pg_hba.conf, as in
    // /etc/postgresql/<version>/<cluster>/.
    let owner = match server_user() {
        tsmn::sandbox::ServerUser::Other { uid, gid } => format!(",uid={uid},gid={gid}"),
        tsmn::sandbox::ServerUser::Current => String::new(),
    };
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size=64k,mode=0755{owner}"),
            "tsmn-full",
        ])
        .arg(disk.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        skipped(
            "a_full_disk_under_pg_hba_conf_loses_nothing_and_says_so",
            "cannot mount a tmpfs here",
        );
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(disk.path());
    let hba = disk.path().join("pg_hba.conf");
    std::fs::write(&hba, tsmn::sandbox::cluster::DEFAULT_HBA.join("\n") + "\n").unwrap();
    server_user().chown(&hba).unwrap();
    let an = TestCluster::named("an");
    let dn = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "dn1".into(),
        settings: vec![("hba_file".into(), hba.display().to_string())],
        ..Default::default()
    });
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust),
    );
    let before = read(&hba);
    let filler = disk.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        while f.write_all(&[0u8; 1024]).is_ok() {}
    }

    let run = apply(&path, &["--phases", "settings,auth"]);
    let all = text(&run);
    assert_eq!(run.status.code(), Some(1), "{all}");
    let line = all
        .lines()
        .find(|l| l.starts_with("[dn1] dn1/auth/hba: FAILED"))
        .unwrap_or_else(|| panic!("the node's step fails: {all}"));
    assert!(
        line.contains(&*hba.to_string_lossy()),
        "names the file: {line}"
    );
    assert!(
        line.contains("No space left on device"),
        "names the cause: {line}"
    );
    assert!(line.contains("the file is unchanged"), "{line}");
    assert_eq!(read(&hba), before, "nothing lost");
    let mut left: Vec<String> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["filler", "pg_hba.conf"],
        "nothing half written beside it"
    );

    std::fs::remove_file(&filler).unwrap();
    let again = apply(&path, &["--phases", "settings,auth"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(read(&hba).contains("# BEGIN tsmn"));
}

/// Stop `c` and start it again in the foreground under a parent named
/// `patroni` (a shell script that waits for it), as Patroni runs its
/// server; returns once it accepts connections.
fn run_under_patroni(c: &tsmn::sandbox::Cluster) -> (tempfile::TempDir, std::process::Child) {
    use std::os::unix::fs::PermissionsExt;
    c.stop(true).unwrap();
    let dir = temp_dir();
    let script = dir.path().join("patroni");
    std::fs::write(&script, "#!/bin/sh\n\"$@\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let child = std::process::Command::new(&script)
        .args([
            "setpriv",
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
        ])
        .arg(pg_bin().program("postgres"))
        .arg("-D")
        .arg(c.data_dir())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = c.data_dir().join("postmaster.pid");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(std::fs::read_to_string(&pid_file).is_ok_and(|t| t.lines().count() >= 8)
        && c.is_running())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the supervised server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    (dir, child)
}

/// A sandbox's own server is tsmn's to restart, whatever runs it now: its
/// trusted marker lists it and its pid file proves it.
#[test]
fn a_sandbox_server_is_restarted_even_under_another_parent() {
    if tsmn::os::euid() != 0 {
        skipped(
            "a_sandbox_server_is_restarted_even_under_another_parent",
            "needs root, to start the server as its OS user under another parent",
        );
        return;
    }
    let parent = own_dir();
    let sb = tsmn::sandbox::Sandbox::up(&parent.path().join("sb"), 1, None, &|_: &str| {}).unwrap();
    let dn = sb.clusters.iter().find(|c| c.name == "dn1").unwrap();
    let (_dir, mut supervisor) = run_under_patroni(dn);
    let plan = parent.path().join("sb").join(tsmn::sandbox::PLAN_FILE);
    let run = tsmn()
        .args([
            "apply",
            "--yes",
            "--phases",
            "settings,auth,cluster",
            "--restart",
            "local",
            "--restart-wait",
            "5",
            "--plan",
        ])
        .arg(&plan)
        .output()
        .unwrap();
    let all = text(&run);
    assert!(all.contains("tsmn restarts dn1: "), "{all}");
    assert!(all.contains("[dn1] restarting"), "{all}");
    assert!(!all.contains("Patroni"), "{all}");
    let _ = supervisor.wait();
    sb.down(&|_: &str| {}).unwrap();
}

/// SIGINT to a child this test started.
fn interrupt(child: &std::process::Child) {
    use nix::sys::signal::{kill, Signal};
    kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGINT,
    )
    .expect("SIGINT the child");
}
