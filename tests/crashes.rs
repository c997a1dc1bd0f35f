//! A server that crashes during a run is named at its end: the run's
//! question to each node (`tsmn::run::crashes`) on a real server whose
//! backend is killed with SIGSEGV, beside a plain restart, which is not a
//! crash.

mod support;

use std::time::Duration;
use support::TestCluster;

fn reinitialized(c: &TestCluster) -> Option<String> {
    let (rt, client) = support::session(&c.cluster, "postgres").expect("a session");
    rt.block_on(async {
        tsmn::run::crashes::reinitialized(&client, Duration::from_secs(600))
            .await
            .expect("asked")
    })
}

fn conninfo(c: &TestCluster) -> String {
    format!(
        "host={} port={} user=postgres dbname=postgres",
        c.cluster.socket_dir().display(),
        c.cluster.port
    )
}

fn wait_for_answers(c: &TestCluster) {
    for _ in 0..100 {
        let (ok, _, _) = support::psql(&conninfo(c), "SELECT 1", &[]);
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} does not answer again", c.cluster.name);
}

#[test]
fn a_backend_killed_by_a_signal_is_a_crash_and_a_restart_is_not() {
    let c = TestCluster::named("crash");
    // Started just now: the checkpointer started with the postmaster.
    assert_eq!(reinitialized(&c), None, "a fresh server");
    // Past the 3 s a slow start may take.
    std::thread::sleep(Duration::from_millis(3500));
    c.restart();
    assert_eq!(reinitialized(&c), None, "a restart is no crash");
    std::thread::sleep(Duration::from_millis(3500));
    // A backend that dies of a signal: the postmaster ends every session
    // and reinitializes.
    let pid: i32 = c.sql(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    )[0]
    .parse()
    .expect("pid");
    let victim = std::process::Command::new("psql")
        .args(["-X", "-d", &conninfo(&c), "-c", "SELECT pg_sleep(30)"])
        .spawn()
        .expect("psql");
    let mut backend = None;
    for _ in 0..50 {
        backend = c
            .sql(
                "postgres",
                "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'",
            )
            .first()
            .and_then(|p| p.parse::<i32>().ok());
        if backend.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let backend = backend.expect("the sleeping backend");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(backend),
        nix::sys::signal::Signal::SIGSEGV,
    )
    .expect("kill");
    let mut victim = victim;
    let _ = victim.wait();
    wait_for_answers(&c);
    let at = reinitialized(&c);
    assert!(at.is_some(), "the crash is seen");
    let now: i32 = c.sql(
        "postgres",
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    )[0]
    .parse()
    .expect("pid");
    assert_ne!(now, pid, "the checkpointer started again");
    let text = tsmn::run::crashes::warning("an", at.as_deref().unwrap_or_default());
    assert!(
        text.starts_with("WARNING: an's server crashed during this run"),
        "{text}"
    );
}
