//! Never worse than before: a run that is interrupted, or whose terminal
//! goes away, leaves every server tsmn stopped running again, and exits
//! with 128 + the signal. Real servers, the real binary; the signal goes
//! to tsmn's whole process group, as a terminal sends it.

mod support;

use std::io::BufRead;
use std::time::{Duration, Instant};
use support::*;
use tsmn::plan::AuthMode;

/// Whether the server answers a login now (no retry, no restart).
fn up(c: &TestCluster) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut cfg = c.cluster.pg_config("postgres");
        cfg.connect_timeout(Duration::from_secs(2));
        cfg.connect(tokio_postgres::NoTls).await.is_ok()
    })
}

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
