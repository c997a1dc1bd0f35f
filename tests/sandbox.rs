//! `tsmn sandbox` and the harness against real PostgreSQL servers.

mod support;

use support::*;
use tsmn::sandbox::{ClusterSpec, Sandbox, MARKER, PLAN_FILE};

fn quiet(_: &str) {}

#[test]
fn up_status_down_on_real_servers() {
    let parent = own_dir();
    let dir = parent.path().join("sb");
    let sb = Sandbox::up(&dir, 2, None, &quiet).expect("sandbox up");
    assert_eq!(sb.clusters.len(), 3);

    // Every node answers SELECT version().
    for c in &sb.clusters {
        let v = sql_on(c, "postgres", "SELECT version()");
        assert!(v[0].starts_with("PostgreSQL "), "{}: {v:?}", c.name);
    }
    let rows = tsmn::sandbox::status::collect(&sb);
    assert!(rows.iter().all(|r| r.state.is_ok()), "{rows:?}");
    let shown = tsmn::sandbox::status::render(&rows);
    assert!(shown.contains("dn2") && shown.contains("up"), "{shown}");

    // The written plan describes exactly these nodes and validates.
    let plan = tsmn::plan::load_plan(&dir.join(PLAN_FILE)).expect("plan valid");
    let ports: Vec<i64> = plan.nodes().map(|n| n.port).collect();
    assert_eq!(
        ports,
        sb.clusters
            .iter()
            .map(|c| i64::from(c.port))
            .collect::<Vec<_>>()
    );

    // Nothing is admitted over TCP until tsmn adds a rule.
    let hba = sql_on(
        &sb.clusters[1],
        "postgres",
        "SELECT count(*) FROM pg_hba_file_rules WHERE type <> 'local'",
    );
    assert_eq!(hba, ["0"]);

    // `up` again is harmless, also after a node was killed by hand.
    let pid = sb.clusters[1].pid().expect("dn1 runs");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("SIGKILL the server this test started");
    for _ in 0..50 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let again = Sandbox::up(&dir, 2, None, &quiet).expect("second up");
    assert_eq!(sql_on(&again.clusters[1], "postgres", "SELECT 1"), ["1"]);
    assert!(matches!(
        Sandbox::up(&dir, 3, None, &quiet),
        Err(tsmn::sandbox::SandboxError::Mismatch { .. })
    ));

    let pids: Vec<i32> = again.clusters.iter().filter_map(|c| c.pid()).collect();
    assert_eq!(pids.len(), 3);
    again.down(&quiet).expect("down");
    assert!(!dir.exists(), "down removes the sandbox directory");
    assert!(pids.iter().all(|p| !alive(*p)), "every server stopped");
}

#[test]
fn down_refuses_a_directory_it_did_not_make() {
    let dir = temp_dir();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let err = Sandbox::open(dir.path()).expect_err("no marker");
    assert!(err.to_string().contains(MARKER), "{err}");
    assert!(dir.path().join("precious.txt").exists());
    // And `up` will not take over a non-empty directory either.
    let err = Sandbox::up(dir.path(), 1, None, &quiet).expect_err("not empty");
    assert!(
        err.to_string().contains("not empty") || err.to_string().contains("is not empty"),
        "{err}"
    );
}

#[test]
fn a_panicking_test_leaves_no_server_running() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let c = TestCluster::named("doomed");
        tx.send(c.cluster.pid().expect("running")).unwrap();
        panic!("this test fails on purpose");
    })
    .join();
    assert!(result.is_err(), "the thread panicked");
    let pid = rx.recv().expect("pid sent before the panic");
    assert!(
        !alive(pid),
        "postmaster {pid} still runs after the panicking test"
    );
}

#[test]
fn harness_applies_settings_hba_and_files() {
    let c = TestCluster::start(ClusterSpec {
        name: "custom".into(),
        settings: vec![("max_prepared_transactions".into(), "7".into())],
        hba: Some(vec![
            "local all all trust".into(),
            "host all all 127.0.0.1/32 scram-sha-256".into(),
        ]),
        files: vec![tsmn::sandbox::DataFile {
            name: "note.txt".into(),
            contents: b"hi".to_vec(),
            mode: 0o600,
        }],
    });
    assert_eq!(c.sql("postgres", "SHOW max_prepared_transactions"), ["7"]);
    assert_eq!(
        c.sql(
            "postgres",
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'"
        ),
        ["scram-sha-256"]
    );
    let meta = std::fs::metadata(c.cluster.data_dir().join("note.txt")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[test]
fn servers_run_as_the_postgres_user_when_we_are_root() {
    let c = TestCluster::named("owner");
    let pid = c.cluster.pid().expect("running");
    let uid = process_uid(pid).expect("uid");
    let me = tsmn::os::euid();
    match server_user() {
        tsmn::sandbox::ServerUser::Other { uid: pg_uid, .. } => {
            assert_eq!(me, 0);
            assert_eq!(uid, pg_uid, "root starts servers as postgres");
        }
        tsmn::sandbox::ServerUser::Current => assert_eq!(uid, me),
    }
}

/// A server started as `postgres` by root has postgres's HOME (or its own
/// directory), not root's: libpq inside it (dblink, TimescaleDB) looks for
/// ~/.postgresql/postgresql.crt there.
#[test]
fn servers_have_their_own_home_not_the_caller_s() {
    let c = TestCluster::named("home");
    let pid = c.cluster.pid().expect("running");
    let home = process_env(pid, "HOME").expect("HOME is set");
    match server_user() {
        tsmn::sandbox::ServerUser::Other { uid, .. } => {
            assert_ne!(home, "/root");
            let own = tsmn::os::home_for(uid, &c.cluster.dir);
            assert_eq!(std::path::Path::new(&home), own);
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&home).unwrap().uid(), uid, "{home}");
        }
        tsmn::sandbox::ServerUser::Current => {
            assert_eq!(Some(home), std::env::var("HOME").ok());
        }
    }
}

/// What that HOME was for: the access node's dblink with sslmode=prefer to
/// a data node that admits it only over TLS gets in. Under root's HOME
/// every TLS attempt failed with `could not open certificate file
/// "/root/.postgresql/postgresql.crt": Permission denied`, and prefer's
/// retry without TLS met no hostssl rule.
#[test]
fn a_server_s_own_tls_connections_do_not_look_in_root_s_home() {
    let an = TestCluster::named("an");
    let ca = TestCa::new("home-ca");
    let dn = TestCluster::start(tls_spec(
        "dn1",
        ca.server("dn1", "IP:127.0.0.1"),
        &["local all all trust", "hostssl all all 127.0.0.1/32 trust"],
    ));
    an_reaches(&an, dn.cluster.port, "postgres", "sslmode=prefer")
        .unwrap_or_else(|e| panic!("the access node cannot reach dn1 with sslmode=prefer: {e}"));
}

/// A marker is acted on as root, so a crafted one is refused before
/// anything runs or goes: a node name that leaves the sandbox, a program
/// directory others can write, a marker someone else owns.
#[test]
fn a_crafted_marker_is_refused_and_nothing_runs_or_goes() {
    use std::os::unix::fs::PermissionsExt;
    let root = own_dir();
    let dir = root.path().join("sb");
    let sb = Sandbox::up(&dir, 1, None, &quiet).unwrap();
    let marker_path = dir.join(tsmn::sandbox::MARKER);
    let original = std::fs::read_to_string(&marker_path).unwrap();
    let victim = root.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), "x").unwrap();
    let run = |args: &[&str]| {
        tsmn()
            .args(["sandbox"])
            .args(args)
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap()
    };

    // A node named to point outside: down must not remove it.
    let crafted = original.clone() + "\n[[nodes]]\nname = \"../victim\"\nport = 5999\n";
    std::fs::write(&marker_path, crafted).unwrap();
    let out = run(&["down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a plain name"),
        "{out:?}"
    );
    assert!(victim.join("keep").is_file(), "the victim was removed");
    assert!(sb.access_node().is_running(), "the sandbox was stopped");

    // A program directory others can write: status must not run its pg_ctl.
    let evil = root.path().join("bin");
    std::fs::create_dir_all(&evil).unwrap();
    let pwned = root.path().join("pwned");
    for prog in ["pg_ctl", "postgres", "initdb", "pg_config", "psql"] {
        let p = evil.join(prog);
        std::fs::write(&p, format!("#!/bin/sh\ntouch {}\n", pwned.display())).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o777)).unwrap();
    let crafted = original
        .lines()
        .map(|l| {
            if l.starts_with("pg_bindir") {
                format!("pg_bindir = \"{}\"", evil.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&marker_path, crafted).unwrap();
    let out = run(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("can be written by others"),
        "{out:?}"
    );
    assert!(!pwned.exists(), "a program named by the marker ran");

    // A marker that belongs to someone else (as root: to nobody).
    std::fs::write(&marker_path, &original).unwrap();
    if tsmn::os::euid() == 0 {
        std::os::unix::fs::chown(&marker_path, Some(65534), None).unwrap();
        let out = run(&["status"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not to root or to you"),
            "{out:?}"
        );
        std::os::unix::fs::chown(&marker_path, Some(0), None).unwrap();
    }
    sb.down(&quiet).unwrap();
}

/// A planted template (as root: a directory of another user, at the name
/// tsmn would use) is refused, not copied into nodes; so is an empty
/// sandbox directory someone else made for root to fill.
#[test]
fn a_planted_template_or_sandbox_directory_is_refused() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    if tsmn::os::euid() != 0 {
        support::skipped(
            "a_planted_template_or_sandbox_directory_is_refused",
            "needs root, to plant directories as another user",
        );
        return;
    }
    let nobody = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("nobody:x:")
                .and_then(|r| r.split(':').next()?.parse::<u32>().ok())
        })
        .expect("a nobody user");
    let base = own_dir();
    let bin = pg_bin();
    let planted = base
        .path()
        .join(format!("tsmn-template-0-pg{}", bin.version));
    std::fs::create_dir_all(&planted).unwrap();
    std::fs::write(planted.join("PG_VERSION"), "15\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(nobody), Some(nobody)).unwrap();
    let err = tsmn::sandbox::template::ensure_template_in(base.path(), bin, server_user())
        .expect_err("planted");
    let text = err.to_string();
    assert!(text.contains("someone could have planted it"), "{text}");
    assert!(
        text.contains(&*planted.to_string_lossy()),
        "names it: {text}"
    );
    assert_eq!(
        std::fs::metadata(&planted).unwrap().uid(),
        nobody,
        "left as found"
    );

    // An empty directory of nobody's, where root is asked to put a sandbox.
    let trap = base.path().join("sb");
    std::fs::create_dir_all(&trap).unwrap();
    std::os::unix::fs::chown(&trap, Some(nobody), Some(nobody)).unwrap();
    std::fs::set_permissions(&trap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = tsmn()
        .args(["sandbox", "up", "--data-nodes", "1", "--dir"])
        .arg(&trap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("belongs to uid") && err.contains("--dir"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&trap).unwrap().count(),
        0,
        "nothing made inside"
    );
}

/// The default places are never in the shared temporary directory.
#[test]
fn the_defaults_are_out_of_the_shared_temporary_directory() {
    let dir = tsmn::sandbox::default_dir();
    let tmp = std::env::temp_dir();
    assert!(!dir.starts_with(&tmp), "{}", dir.display());
    if tsmn::os::euid() == 0 {
        assert_eq!(dir, std::path::Path::new("/var/lib/tsmn/sandbox"));
        assert_eq!(
            tsmn::sandbox::places::template_base(),
            std::path::Path::new("/var/lib/tsmn/templates")
        );
    }
    // As another user: the XDG state directory under its home.
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "env",
            "HOME=/nonexistent-home",
            "XDG_STATE_HOME=/var/empty-state",
        ])
        .arg(support::tsmn().get_program())
        .args(["sandbox", "status"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/var/empty-state/tsmn/sandbox"), "{err}");
}
