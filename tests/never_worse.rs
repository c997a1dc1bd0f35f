//! Never worse than before: a run that is interrupted, or whose terminal
//! goes away, leaves every server tsmn stopped running again, and exits
//! with 128 + the signal. Real servers, the real binary; the signal goes
//! to tsmn's whole process group, as a terminal sends it.

mod support;

use std::io::BufRead;
use std::time::{Duration, Instant};
use support::*;
use tsmn::plan::AuthMode;

/// postmaster.pid's first line (the server's pid), when the file is there.
fn postmaster(c: &TestCluster) -> Option<String> {
    std::fs::read_to_string(c.cluster.data_dir().join("postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().map(str::to_string))
}

/// `tsmn apply` on an access node and three data nodes in trust mode,
/// whose settings need a restart that tsmn does itself (the sandbox's
/// servers run on this host). `signal` goes to tsmn's process group (as
/// the terminal's Ctrl-C or hangup does) once a data node's server has
/// stopped for the restart, between pg_ctl's stop and its start.
fn signal_during_the_restart(signal: nix::sys::signal::Signal, code: i32) {
    use std::os::unix::process::CommandExt;
    let an = TestCluster::named("an");
    let dns: Vec<TestCluster> = (1..=3)
        .map(|i| TestCluster::named(&format!("dn{i}")))
        .collect();
    let work = temp_dir();
    let refs: Vec<&tsmn::sandbox::Cluster> = dns.iter().map(|d| &d.cluster).collect();
    let path = write_plan(work.path(), &plan_for(&an.cluster, &refs, AuthMode::Trust));
    let before: Vec<Option<String>> = dns.iter().map(postmaster).collect();
    let mut child = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The restart begins ...
    while !seen.iter().any(|l: &String| l.contains("restarting ...")) {
        assert!(
            Instant::now() < deadline,
            "no restart:\n{}",
            seen.join("\n")
        );
        if let Ok(l) = rx.recv_timeout(Duration::from_secs(1)) {
            seen.push(l);
        }
    }
    // ... and a data node's server is down: its pid file gone or changed.
    while dns.iter().zip(&before).all(|(d, b)| postmaster(d) == *b) {
        assert!(Instant::now() < deadline, "no server stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    nix::sys::signal::kill(group, signal).expect("signal the group");
    let out = child.wait_with_output().unwrap();
    seen.extend(rx.try_iter());
    let all = format!(
        "{}\n{}",
        seen.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    // Every server tsmn stopped runs again when tsmn is gone, without
    // anyone starting it.
    for d in &dns {
        assert!(
            up(d),
            "{} was left down by the interrupted run:\n{all}",
            d.cluster.name
        );
    }
    assert_eq!(out.status.code(), Some(code), "{all}");
    if signal != nix::sys::signal::Signal::SIGHUP {
        assert!(all.contains("stopped after the interrupt"), "{all}");
    }
    // The restart step finished before tsmn stopped, and says so.
    assert!(all.contains("an/cluster/restart-gate: done"), "{all}");
    // A re-run finds nothing waiting for a restart.
    let (rerun, text) = apply_file(&path, &["--phases", "settings,auth,cluster"], &[]);
    assert!(
        text.contains("an/cluster/restart-gate: already done"),
        "{rerun:?}\n{text}"
    );
}

#[test]
fn ctrl_c_during_the_restart_leaves_every_node_up() {
    signal_during_the_restart(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn a_closed_terminal_during_the_restart_leaves_every_node_up() {
    signal_during_the_restart(nix::sys::signal::Signal::SIGHUP, 129);
}

#[test]
fn sigterm_during_the_restart_leaves_every_node_up() {
    signal_during_the_restart(nix::sys::signal::Signal::SIGTERM, 143);
}

/// A TCP login to `c` as postgres with no password and no passfile: the
/// engine's own answer to "does this server still let a login in without
/// the password?".
fn login_without_password(c: &TestCluster) -> (bool, String) {
    let (ok, _, err) = psql(
        &format!(
            "host=127.0.0.1 port={} dbname=postgres user=postgres sslmode=disable",
            c.cluster.port
        ),
        "SELECT 1",
        &[("PGPASSFILE", "/nonexistent")],
    );
    (ok, err)
}

/// A run killed between writing a data node's pg_hba.conf and reloading it
/// leaves the file with the new rule and the server enforcing the old one.
/// check says so (hba_not_loaded), and the re-run reloads instead of
/// calling the step "already done": before, the data node went on
/// admitting logins without a password while tsmn reported it verified.
#[test]
fn a_pg_hba_conf_written_but_not_reloaded_is_reloaded_by_the_rerun() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password);
    let path = write_plan(work.path(), &plan);
    let env = [("TSMN_ROLE_PW_POSTGRES", "never-worse-pw")];
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    // Before: the data node admits TCP logins without a password (trust),
    // as a trust cluster switched to password mode does.
    let old = format!("host all all 127.0.0.1/32 trust\n{}", read(&hba));
    std::fs::write(&hba, &old).unwrap();
    reload(&dn);
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &env);
    assert_eq!(code, Some(0), "{out}");
    let (ok, err) = login_without_password(&dn);
    assert!(!ok, "password mode refuses a login without one: {err}");
    // What the kill leaves: the old rules loaded, the new file on disk.
    let new = read(&hba);
    std::fs::write(&hba, &old).unwrap();
    reload(&dn);
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(&hba, &new).unwrap();
    let (ok, err) = login_without_password(&dn);
    assert!(ok, "the server still enforces the old rules: {err}");

    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(has_finding(&found, "dn1", "hba_not_loaded"), "{found:#?}");
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("[dn1] dn1/auth/hba: done") && out.contains("checked and reloaded"),
        "{out}"
    );
    let (ok, err) = login_without_password(&dn);
    assert!(!ok, "after the re-run the server enforces the file: {err}");
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(!has_finding(&found, "dn1", "hba_not_loaded"), "{found:#?}");
}

/// A running trust cluster (settings and authentication), switched to
/// password mode with `edit` made to the plan: the switch must fail, and
/// the data node's rules stay (or are back) as they were, the access node
/// still reaching it by the engine's own answer. The switch's output.
fn failed_switch_to_password(edit: impl FnOnce(&mut tsmn::plan::Plan)) -> String {
    let (an, dn, _work, path) = trust_pair();
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let hba_trust = read(&dn.cluster.data_dir().join("pg_hba.conf"));
    let mut plan = tsmn::plan::load_plan(&path).unwrap();
    plan.auth.mode = AuthMode::Password;
    edit(&mut plan);
    let path = write_plan(path.parent().unwrap(), &plan);
    let env = [("TSMN_ROLE_PW_POSTGRES", "switch-pw")];
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &env);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        read(&dn.cluster.data_dir().join("pg_hba.conf")),
        hba_trust,
        "the data node's rules are as they were: {out}"
    );
    an_reaches(&an, dn.cluster.port, "postgres", "")
        .unwrap_or_else(|e| panic!("the access node still reaches dn1: {e}\n{out}"));
    out
}

/// The passfile cannot be written (/root is 0700 to the server's OS user):
/// found before the run (the passfile step blocked, naming the directory
/// that blocks, not the one that is missing), and no data node's rule
/// changes. Before, every data node already asked for a password the
/// access node did not have, and the cluster was down.
#[test]
fn a_failed_switch_to_password_mode_leaves_trust_working() {
    let out = failed_switch_to_password(|plan| {
        plan.auth.password = Some(tsmn::plan::PasswordOptions {
            passfile: "/root/tsmn-cannot/passfile".into(),
            ..Default::default()
        });
    });
    assert!(
        out.contains("an/auth/passfile: blocked")
            && out.contains("cannot write /root/tsmn-cannot/passfile (/root not writable for it)"),
        "{out}"
    );
    assert!(!out.contains("dn1/auth/hba: done"), "{out}");
    assert!(!out.contains("umask"), "{out}");
}

/// The new rule would not admit the access node (the plan names another
/// address than the one it connects from): the data node's new
/// pg_hba.conf is proved from the access node at once, found to cut the
/// link that worked, and taken back.
#[test]
fn a_new_rule_that_cuts_the_access_node_off_is_taken_back() {
    let out = failed_switch_to_password(|plan| {
        plan.access_node_addresses = vec!["127.0.0.2".into()];
    });
    assert!(
        out.contains("dn1/auth/hba: FAILED") && out.contains("taken back"),
        "{out}"
    );
}

/// "verified" means the data nodes enforce the plan's mode: a password
/// cluster whose data node still admits the access node by an older trust
/// rule (put above tsmn's block) fails the verification, naming the node;
/// a reachability check alone passed there before.
#[test]
fn a_data_node_still_on_trust_fails_the_verification_of_password_mode() {
    if !timescaledb_tier("a_data_node_still_on_trust_fails_the_verification_of_password_mode") {
        return;
    }
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password),
    );
    let env = [("TSMN_ROLE_PW_POSTGRES", "enforced-pw")];
    let (code, out) = apply_file(&path, &[], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("an/verify/enforced-dn1: verified"), "{out}");
    hba_first(&dn, "host all all 127.0.0.1/32 trust");
    let (code, out) = apply_file(&path, &["--phases", "verify"], &env);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("an/verify/enforced-dn1: FAILED")
            && out.contains("dn1 let the access node in as postgres without the password"),
        "{out}"
    );
    // The whole run puts tsmn's block first again, and verifies.
    let (code, out) = apply_file(&path, &[], &env);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("an/verify/enforced-dn1: verified"), "{out}");
}

/// A change that would cut every data node off shows on the first one and
/// stops there: the other data nodes' rules are never touched (they change
/// together only after the first is proved).
#[test]
fn a_rule_that_cuts_every_node_off_stops_at_the_first() {
    let an = TestCluster::named("an");
    let dns: Vec<TestCluster> = (1..=3)
        .map(|i| TestCluster::named(&format!("dn{i}")))
        .collect();
    let work = temp_dir();
    let refs: Vec<&tsmn::sandbox::Cluster> = dns.iter().map(|d| &d.cluster).collect();
    let mut plan = plan_for(&an.cluster, &refs, AuthMode::Trust);
    let path = write_plan(work.path(), &plan);
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let before: Vec<String> = dns
        .iter()
        .map(|d| read(&d.cluster.data_dir().join("pg_hba.conf")))
        .collect();
    plan.auth.mode = AuthMode::Password;
    plan.access_node_addresses = vec!["127.0.0.2".into()];
    let path = write_plan(work.path(), &plan);
    let env = [("TSMN_ROLE_PW_POSTGRES", "rollout-pw")];
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &env);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.matches("auth/hba: FAILED").count(), 1, "{out}");
    assert_eq!(out.matches("auth/hba: skipped").count(), 2, "{out}");
    for (d, b) in dns.iter().zip(&before) {
        assert_eq!(
            &read(&d.cluster.data_dir().join("pg_hba.conf")),
            b,
            "{}",
            d.cluster.name
        );
        an_reaches(&an, d.cluster.port, "postgres", "")
            .unwrap_or_else(|e| panic!("{}: {e}", d.cluster.name));
    }
}
