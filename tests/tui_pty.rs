//! The real binary in a real pseudo-terminal (tmux), driven by keys only:
//! a whole trust-mode setup on a sandbox, checked on the servers afterwards,
//! and the troubleshooting path naming a missing pg_hba.conf rule and its fix.

mod support;

use std::time::{Duration, Instant};
use support::tmux::Tmux;
use support::*;
use tsmn::sandbox::Sandbox;

/// A sandbox removed on drop.
struct TestSandbox {
    sandbox: Option<Sandbox>,
    _dir: tempfile::TempDir,
}

impl TestSandbox {
    fn up(data_nodes: usize) -> TestSandbox {
        let dir = own_dir();
        let sandbox =
            Sandbox::up(&dir.path().join("sb"), data_nodes, None, &|_: &str| {}).expect("sandbox");
        TestSandbox {
            sandbox: Some(sandbox),
            _dir: dir,
        }
    }
    fn get(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            let _ = s.down(&|_: &str| {});
        }
    }
}

fn wizard_cmd(sb: &Sandbox) -> String {
    format!(
        "{} wizard --plan {}; sleep 60",
        env!("CARGO_BIN_EXE_tsmn"),
        sb.dir.join("plan.toml").display()
    )
}

#[test]
fn a_whole_trust_setup_by_keys() {
    let sb = TestSandbox::up(2);
    let t = Tmux::start(&wizard_cmd(sb.get()), 110, 40);
    t.wait_for("What do you want to do?");
    t.keys(&["Enter"]);
    t.wait_for("TSMN CONNECTS TO");
    t.keys(&["Enter"]);
    t.wait_for("Password:");
    t.keys(&["Enter"]);
    t.wait_for("Connectivity:");
    t.keys(&["Enter"]);
    t.wait_for("How does the access node prove");
    t.keys(&["Enter"]);
    t.wait_for("trust mode: options");
    t.keys(&["Enter"]);
    t.wait_for("tsmn preview: trust mode");
    t.keys(&["Enter"]);
    t.wait_for("Run the steps?");
    t.keys(&["y"]);
    let ts = timescaledb_tier("wizard in a pty: the cluster phase");
    let screen = t.wait_for(if ts {
        "Execute: finished"
    } else {
        "blocked steps are waiting"
    });
    // The grid: dn1's settings and auth phases done (its pg_hba.conf rule).
    let dn1 = screen
        .lines()
        .find(|l| l.starts_with("│dn1 "))
        .unwrap_or_else(|| panic!("no row for dn1:\n{screen}"));
    let cells: Vec<&str> = dn1.trim_matches('│').split_whitespace().collect();
    assert_eq!(&cells[..3], ["dn1", "✓", "✓"], "{screen}");
    t.keys(&["Enter"]);
    let summary = t.wait_for("Backups made:");
    assert!(summary.contains("pg_hba.conf.tsmn-"), "{summary}");
    t.keys(&["q"]);

    // On the servers: the rule is there and the restart happened.
    for dn in sb.get().data_nodes() {
        let rules = sql_on(dn, "postgres", "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' AND '127.0.0.1' = address");
        assert_eq!(rules, ["trust"], "{}", dn.name);
        assert_eq!(
            sql_on(dn, "postgres", "SHOW max_prepared_transactions"),
            ["150"]
        );
    }
    if ts {
        let an = sb.get().access_node();
        assert_eq!(
            sql_on(
                an,
                "tsdb",
                "SELECT count(*) FROM timescaledb_information.data_nodes"
            ),
            ["2"]
        );
    }
}

#[test]
fn troubleshooting_names_the_missing_rule_and_its_fix() {
    let sb = TestSandbox::up(1);
    let t = Tmux::start(&wizard_cmd(sb.get()), 120, 60);
    t.wait_for("What do you want to do?");
    t.keys(&["Down", "Enter"]);
    let screen = t.wait_for("Connectivity:");
    let flat = screen
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flat.contains("no pg_hba.conf rule admits the access node"),
        "{screen}"
    );
    assert!(
        flat.contains("fix: add `host all postgres 127.0.0.1/32 trust`"),
        "{screen}"
    );
    t.keys(&["q"]);
}

/// A data node that wants the superuser's password over TCP (where tsmn
/// reaches it), with no password anywhere but at the prompt.
fn node_wanting_a_password(
    mode: tsmn::plan::AuthMode,
) -> (
    TestCluster,
    TestCluster,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let node = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "pw".into(),
        hba: Some(vec![
            "local all all trust".into(),
            "host all all 127.0.0.1/32 scram-sha-256".into(),
        ]),
        ..Default::default()
    });
    node.sql("postgres", "SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD 'typed-at-the-prompt'");
    let an = TestCluster::named("an");
    let mut plan = plan_for(&an.cluster, &[&node.cluster], mode);
    // tsmn reaches the data node over TCP, where it needs the password.
    plan.data_nodes[0].connect_host = None;
    let work = temp_dir();
    let path = write_plan(work.path(), &plan);
    (an, node, work, path)
}

/// No password anywhere: not in the environment, no ~/.pgpass.
fn without_a_password(args: &str, path: &std::path::Path) -> String {
    format!(
        "env -u PGPASSWORD HOME=/nonexistent {} {args} --plan {}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_tsmn"),
        path.display()
    )
}

#[test]
fn check_asks_for_the_password_without_echo_when_a_server_wants_one() {
    let (_an, _node, _work, path) = node_wanting_a_password(tsmn::plan::AuthMode::Trust);
    let cmd = without_a_password("check", &path);
    let t = Tmux::start(&cmd, 200, 120);
    t.wait_for("Password for postgres");
    t.keys(&["typed-at-the-prompt", "Enter"]);
    let screen = t.wait_for("EXIT=");
    assert!(
        screen.contains("Password for postgres (used for pw)"),
        "{screen}"
    );
    assert!(
        !screen.contains("typed-at-the-prompt"),
        "the password was echoed:\n{screen}"
    );
    let pw_line = screen
        .lines()
        .find(|l| l.starts_with("pw "))
        .unwrap_or_default();
    assert!(
        pw_line.contains("ok") && pw_line.contains("superuser"),
        "the data node was probed with the typed password:\n{screen}"
    );
}

/// The password typed at the probe's prompt is the one the steps use, also
/// after tsmn restarted the node (the steps run on the probe's session).
#[test]
fn apply_runs_its_steps_with_the_password_typed_at_the_prompt() {
    // Password mode: the rule tsmn writes for 127.0.0.1 asks for a password
    // too (trust mode's would let tsmn back in without one after the
    // restart, and this test could not fail). The role password is the
    // login password, so the run does not change tsmn's own login.
    let (_an, node, _work, path) = node_wanting_a_password(tsmn::plan::AuthMode::Password);
    let cmd = without_a_password("apply --yes --phases settings,auth,cluster", &path).replace(
        "env -u PGPASSWORD",
        "env -u PGPASSWORD TSMN_ROLE_PW_POSTGRES=typed-at-the-prompt",
    );
    let t = Tmux::start(&cmd, 200, 120);
    t.wait_for("Password for postgres");
    t.keys(&["typed-at-the-prompt", "Enter"]);
    let screen = t.wait_for("EXIT=");
    assert!(!screen.contains("typed-at-the-prompt"), "echoed:\n{screen}");
    assert!(!screen.contains("FAILED"), "{screen}");
    assert!(screen.contains("pw/auth/hba: done"), "{screen}");
    // After the restart only the typed password lets tsmn back in: the
    // restart gate saw the node come back with its settings.
    assert!(screen.contains("restart-gate: done"), "{screen}");
    let hba = read(&node.cluster.data_dir().join("pg_hba.conf"));
    assert!(hba.contains("127.0.0.1/32 scram-sha-256"), "{hba}");
    // The settings were set, and the node restarted with them.
    assert_eq!(
        node.sql("postgres", "SHOW max_prepared_transactions"),
        ["150"]
    );
}

/// `tsmn wizard --plan FILE` on a file that does not exist: the nodes are
/// typed in, the plan is saved there on quit, and it validates.
#[test]
fn the_wizard_starts_a_plan_that_does_not_exist_and_saves_it() {
    let dir = temp_dir();
    let path = dir.path().join("new-plan.toml");
    let t = Tmux::start(
        &format!(
            "{} wizard --plan {}",
            env!("CARGO_BIN_EXE_tsmn"),
            path.display()
        ),
        110,
        40,
    );
    t.wait_for("a new plan: give the access node");
    t.keys(&["10.0.0.10", "Enter"]);
    t.wait_for("10.0.0.10:5432");
    // A typo mended where it is: Home, Delete, the right character.
    t.keys(&["a", "Tab", "X0.0.0.11", "Home", "DC", "1", "Enter"]);
    t.wait_for("10.0.0.11:5432");
    t.keys(&["q"]);
    t.wait_for("s: save and quit");
    t.keys(&["s"]);
    let start = Instant::now();
    while !path.is_file() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never saved:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let plan = tsmn::plan::load_plan(&path).expect("the saved plan loads");
    assert_eq!(plan.access_node.host, "10.0.0.10");
    assert_eq!(plan.data_nodes.len(), 1);
    assert_eq!(plan.data_nodes[0].host, "10.0.0.11");
    assert!(
        tsmn::plan::validate(&plan).is_empty(),
        "{:?}",
        tsmn::plan::validate(&plan)
    );
}

/// The start screen's "troubleshoot a running cluster from its access
/// node": the address typed, the cluster discovered and probed (TimescaleDB
/// tier: a cluster set up by hand); without the engine, the reason discover
/// gives is on the screen.
#[test]
fn troubleshooting_from_an_access_node_alone() {
    let tcp = |name: &str| {
        TestCluster::start(tsmn::sandbox::ClusterSpec {
            name: name.into(),
            hba: Some(vec![
                "local all all trust".into(),
                "host all postgres 127.0.0.1/32 trust".into(),
            ]),
            settings: vec![("max_prepared_transactions".into(), "150".into())],
            files: vec![],
        })
    };
    let an = tcp("an");
    let dn = tcp("dn1");
    let ts = pg_bin().has_extension("timescaledb");
    if ts {
        an.sql("postgres", "CREATE DATABASE tsdb");
        an.sql("tsdb", "CREATE EXTENSION timescaledb");
        an.sql(
            "tsdb",
            &format!(
                "SELECT add_data_node('dn1', host => '127.0.0.1', port => {})",
                dn.cluster.port
            ),
        );
    }
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-trust.toml");
    let t = Tmux::start(
        &format!(
            "{} wizard --plan {}; sleep 60",
            env!("CARGO_BIN_EXE_tsmn"),
            plan.display()
        ),
        120,
        40,
    );
    t.wait_for("Troubleshoot a running cluster from its access node");
    t.keys(&["Down", "Down", "Enter"]);
    t.wait_for("The access node (HOST[:PORT]");
    t.keys(&[&format!("127.0.0.1:{}", an.cluster.port), "Enter"]);
    if ts {
        let screen = t.wait_for(&format!("127.0.0.1:{}", dn.cluster.port));
        assert!(
            screen.contains("dn1"),
            "the discovered data node is probed: {screen}"
        );
    } else {
        let screen = t.wait_for("discover failed");
        assert!(screen.contains("has data nodes"), "{screen}");
    }
}

/// `tsmn check` on a terminal: a live line per node while probing (the
/// node that answers is done while a hung one is still probed), cleared
/// before the report.
#[test]
fn check_shows_a_live_line_per_node_on_a_terminal() {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    // Accepts and never says a word: its line stays "probing" for a while.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_port = hung.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = hung.accept() {
            held.push(s);
        }
    });
    let mut plan = plan_for(&an.cluster, &[&dn1.cluster], tsmn::plan::AuthMode::Trust);
    plan.data_nodes.push(tsmn::plan::Node {
        name: "hung".into(),
        host: "127.0.0.1".into(),
        port: i64::from(hung_port),
        connect_host: None,
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    });
    let dir = temp_dir();
    let path = write_plan(dir.path(), &plan);
    let t = Tmux::start(
        &format!(
            "sh -c '{} check --connect-timeout 4 --plan {}; echo EXIT=$?; sleep 60'",
            env!("CARGO_BIN_EXE_tsmn"),
            path.display()
        ),
        100,
        30,
    );
    // The access node waits for what its data nodes answer; dn1 is done at once.
    let live = t.wait_for("dn1      probed");
    assert!(live.contains("hung     probing"), "{live}");
    let done = t.wait_for("EXIT=1");
    assert!(
        !done.contains("probing ("),
        "the live lines are cleared:\n{done}"
    );
    assert!(done.contains("hung"), "{done}");
}

/// The wizard's terminal closed while its run restarts the data nodes
/// (the pane killed between pg_ctl's stop and its start): tsmn takes the
/// hangup as an interrupt, the restart finishes, every node is up, tsmn
/// exits 129; a re-run goes on from there. Before: tsmn died by SIGABRT or
/// "the terminal failed", and the data nodes were left down.
#[test]
fn the_terminal_closed_during_the_restart_leaves_every_node_up() {
    let sb = TestSandbox::up(2);
    let exit = sb.get().dir.join("wizard.exit");
    let cmd = format!(
        "sh -c \"trap '' HUP; {} wizard --plan {}; echo \\$? > {}\"",
        env!("CARGO_BIN_EXE_tsmn"),
        sb.get().dir.join("plan.toml").display(),
        exit.display()
    );
    let t = Tmux::start(&cmd, 110, 40);
    t.wait_for("What do you want to do?");
    for (key, then) in [
        ("Enter", "TSMN CONNECTS TO"),
        ("Enter", "Password:"),
        ("Enter", "Connectivity:"),
        ("Enter", "How does the access node prove"),
        ("Enter", "trust mode: options"),
        ("Enter", "tsmn preview: trust mode"),
        ("Enter", "Run the steps?"),
    ] {
        t.keys(&[key]);
        t.wait_for(then);
    }
    let pid = |c: &tsmn::sandbox::Cluster| {
        std::fs::read_to_string(c.data_dir().join("postmaster.pid"))
            .ok()
            .and_then(|t| t.lines().next().map(str::to_string))
    };
    let dns = sb.get().data_nodes();
    let before: Vec<Option<String>> = dns.iter().map(pid).collect();
    t.keys(&["y"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while dns.iter().zip(&before).all(|(d, b)| pid(d) == *b) {
        assert!(
            Instant::now() < deadline,
            "no restart began:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    t.tmux(&["kill-pane", "-t", "w"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !exit.exists() {
        assert!(
            Instant::now() < deadline,
            "tsmn did not stop after the hangup"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(100));
    let code = read(&exit);
    for dn in dns {
        let up = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                dn.pg_config("postgres")
                    .connect(tokio_postgres::NoTls)
                    .await
                    .is_ok()
            });
        assert!(up, "{} was left down (tsmn exited {code})", dn.name);
    }
    assert_eq!(code.trim(), "129", "128 + SIGHUP");
    let (code, out) = apply_file(&sb.get().dir.join("plan.toml"), &[], &[]);
    let ts = timescaledb_tier("the wizard's lost terminal: the cluster phase after");
    assert_eq!(code, Some(if ts { 0 } else { 1 }), "{out}");
    assert!(
        out.contains("the last run"),
        "the re-run says how the last one ended: {out}"
    );
}
