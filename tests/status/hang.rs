//! A data node that hangs in a watch (SIGSTOP: its postmaster and backends
//! accept and answer nothing): the refreshes keep their pace, the other
//! rows and links stay fresh, and the node comes back when it answers.

use super::support::{timescaledb_tier, Running};
use std::time::{Duration, Instant};
use tsmn::status::{NodeState, Snapshot};

/// The node's processes stopped while it lives, resumed when it goes
/// (also when an assertion fails first).
struct Stopped(Vec<nix::unistd::Pid>);

impl Stopped {
    fn all_of(r: &Running) -> Stopped {
        let pid_file = std::fs::read_to_string(r.dn1.cluster.data_dir().join("postmaster.pid"))
            .expect("postmaster.pid");
        let postmaster: i32 = pid_file
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("postmaster pid");
        // Its backends too: tsmn's kept session would otherwise answer.
        let out = std::process::Command::new("pgrep")
            .args(["-P", &postmaster.to_string()])
            .output()
            .expect("pgrep");
        let mut pids: Vec<nix::unistd::Pid> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .map(nix::unistd::Pid::from_raw)
            .collect();
        pids.push(nix::unistd::Pid::from_raw(postmaster));
        for p in &pids {
            let _ = nix::sys::signal::kill(*p, nix::sys::signal::Signal::SIGSTOP);
        }
        Stopped(pids)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = nix::sys::signal::kill(*p, nix::sys::signal::Signal::SIGCONT);
        }
    }
}

fn state(s: &Snapshot, name: &str) -> NodeState {
    s.nodes.iter().find(|n| n.name == name).expect(name).state
}

fn link<'s>(s: &'s Snapshot, to: &str) -> &'s tsmn::status::LinkStatus {
    s.links
        .iter()
        .find(|l| l.from == "an" && l.to == to)
        .expect(to)
}

#[test]
fn a_watched_data_node_that_hangs_holds_up_only_its_own_row() {
    if !timescaledb_tier("status::hang_in_a_watch") {
        return;
    }
    let r = Running::applied(&[]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut w = tsmn::status::collect::Watcher::new(r.plan.clone(), Duration::from_secs(2))
        .expect("watcher")
        .watching(Duration::from_secs(1));
    let first = rt.block_on(w.snapshot());
    assert!(tsmn::status::all_up(&first), "{first:#?}");

    let stopped = Stopped::all_of(&r);
    // At once: dn1 is waited for until the refresh's deadline, shown
    // with its last answer; the others are fresh.
    let s = rt.block_on(w.snapshot());
    assert!(
        s.took_ms < 1800.0,
        "the refresh kept its pace: {} ms",
        s.took_ms
    );
    assert_eq!(state(&s, "dn1"), NodeState::Waiting, "{s:#?}");
    assert_eq!(state(&s, "dn2"), NodeState::Up, "{s:#?}");
    assert_eq!(state(&s, "an"), NodeState::Up, "{s:#?}");
    // The links answer within the refresh too: dn2's measured, dn1's
    // reported down after 70% of the refresh's wait.
    assert_eq!(link(&s, "dn2").up, Some(true), "{s:#?}");
    assert_eq!(link(&s, "dn1").up, Some(false), "{s:#?}");
    // Its budget (2 x 2 s) ends: down, with the code check gives a timeout.
    std::thread::sleep(Duration::from_secs(4));
    let s = rt.block_on(w.snapshot());
    assert_eq!(state(&s, "dn1"), NodeState::Down, "{s:#?}");
    let p = tsmn::status::problems(&s, &tsmn::status::Limits::default());
    assert!(
        p.iter().any(|p| p.node == "dn1" && p.code == "timeout"),
        "{p:#?}"
    );
    // From then on its links are left untested (a connect to it would
    // hold the links' statement), and dn2's round trip is its own.
    let mut rtts = Vec::new();
    for _ in 0..3 {
        let s = rt.block_on(w.snapshot());
        assert!(s.took_ms < 1800.0, "{} ms: {s:#?}", s.took_ms);
        assert_eq!(state(&s, "dn2"), NodeState::Up, "{s:#?}");
        let to_dn2 = link(&s, "dn2");
        assert_eq!(to_dn2.up, Some(true), "{s:#?}");
        rtts.push(to_dn2.rtt_ms.unwrap_or(f64::MAX));
        assert_eq!(link(&s, "dn1").up, None, "{s:#?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        rtts.iter().all(|ms| *ms < 100.0),
        "the link to dn2 is timed on its own: {rtts:?} ms"
    );

    drop(stopped);
    let back = Instant::now();
    let mut s = rt.block_on(w.snapshot());
    // Its row first, its links at the refresh after.
    let well = |s: &Snapshot| tsmn::status::all_up(s) && link(s, "dn1").up == Some(true);
    while !well(&s) && back.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(500));
        s = rt.block_on(w.snapshot());
    }
    assert!(tsmn::status::all_up(&s), "back once it answers: {s:#?}");
    assert_eq!(link(&s, "dn1").up, Some(true), "{s:#?}");
}
