//! Fault injection: tsmn killed with SIGKILL right after step k of a
//! change of authentication mode (a test hook of debug builds,
//! TSMN_TEST_KILL_AFTER), or at a random moment. Each time, on real
//! servers: every link from the access node that worked before the run
//! still works right after the kill (asked of the access node itself,
//! through dblink, with the options TimescaleDB uses); a re-run finishes,
//! and the data nodes then enforce the new mode (a login without the
//! password or certificate is refused where the mode says so).
//!
//! `cargo test` tries a few steps of each transition; the whole sweep
//! (every step of every transition, and kills at random moments) is
//! `cargo test --test faults -- --ignored --nocapture sweep`, which prints
//! its counts.

mod support;

use std::time::Duration;
use support::*;
use tsmn::plan::AuthMode;

/// An access node and two data nodes, set up in `from` (settings and
/// authentication: plain PostgreSQL is enough for the links).
struct Lab {
    an: TestCluster,
    dns: Vec<TestCluster>,
    _work: tempfile::TempDir,
    dir: std::path::PathBuf,
}

const PW: &str = "faults-pw-1";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("TSMN_ROLE_PW_POSTGRES", PW)]
}

impl Lab {
    fn new() -> Lab {
        let work = temp_dir();
        let dir = work.path().to_path_buf();
        Lab {
            an: TestCluster::named("an"),
            dns: vec![TestCluster::named("dn1"), TestCluster::named("dn2")],
            _work: work,
            dir,
        }
    }

    fn plan(&self, mode: AuthMode) -> tsmn::plan::Plan {
        let refs: Vec<&tsmn::sandbox::Cluster> = self.dns.iter().map(|d| &d.cluster).collect();
        plan_for(&self.an.cluster, &refs, mode)
    }

    /// The plan for `mode` written where every run reads it (one plan
    /// file, one material directory, as an operator switching modes has).
    fn write(&self, mode: AuthMode) -> std::path::PathBuf {
        write_plan(&self.dir, &self.plan(mode))
    }

    /// A whole run in `mode`: it must finish.
    fn apply(&self, mode: AuthMode) -> String {
        let path = self.write(mode);
        let env = env();
        let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &env);
        assert_eq!(code, Some(0), "apply in {mode:?}:\n{out}");
        out
    }

    /// Each data node's link from the access node, as postgres.
    fn links(&self) -> Vec<(String, Result<(), String>)> {
        self.dns
            .iter()
            .map(|d| {
                let extra = tls_options(&self.an, "postgres");
                (
                    d.cluster.name.clone(),
                    an_reaches(&self.an, d.cluster.port, "postgres", &extra),
                )
            })
            .collect()
    }

    /// The steps of the run from the current state to `mode`, in the order
    /// preview lists them (the run's order), those still to do.
    fn steps_to(&self, mode: AuthMode) -> Vec<String> {
        let path = self.write(mode);
        let out = tsmn()
            .args(["preview", "--json", "--plan"])
            .arg(&path)
            .env("TSMN_ROLE_PW_POSTGRES", PW)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "preview --json: {e}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        v["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter(|s| s["phase"] == "settings" || s["phase"] == "auth")
            .filter(|s| s["state"]["state"] == "todo")
            .filter_map(|s| s["id"].as_str().map(str::to_string))
            .collect()
    }

    /// Whether each data node enforces `mode` on a TCP login from the
    /// access node's address that brings no password and no certificate.
    fn enforces(&self, mode: AuthMode) -> Result<(), String> {
        for d in &self.dns {
            let (ok, _, err) = psql(
                &format!(
                    "host=127.0.0.1 port={} dbname=postgres user=postgres sslmode=prefer",
                    d.cluster.port
                ),
                "SELECT 1",
                &[("PGPASSFILE", "/nonexistent")],
            );
            let want = mode == AuthMode::Trust;
            if ok != want {
                return Err(format!(
                    "{} in {mode:?}: a login with neither password nor certificate {}: {err}",
                    d.cluster.name,
                    if ok { "got in" } else { "was refused" }
                ));
            }
        }
        Ok(())
    }
}

/// The TLS options TimescaleDB adds when the access node has ssl on: the
/// access node's CA file and the role's md5-named client certificate in
/// timescaledb.ssl_dir (default <PGDATA>/timescaledb/certs), read from
/// the access node's running settings.
fn tls_options(an: &TestCluster, role: &str) -> String {
    let ssl = an.sql("postgres", "SHOW ssl");
    if ssl != ["on"] {
        return String::new();
    }
    let data = an.cluster.data_dir();
    let ca = an.sql("postgres", "SHOW ssl_ca_file");
    let ca = data.join(&ca[0]);
    let dir = an.sql(
        "postgres",
        "SELECT coalesce((SELECT setting FROM pg_file_settings WHERE name = 'timescaledb.ssl_dir' ORDER BY seqno DESC LIMIT 1), '')",
    );
    let dir = if dir[0].is_empty() {
        data.join("timescaledb/certs")
    } else {
        std::path::PathBuf::from(&dir[0])
    };
    let stem = tsmn::timescale::cert_file_stem(role);
    format!(
        "sslmode=require sslrootcert={} sslcert={} sslkey={}",
        ca.display(),
        dir.join(format!("{stem}.crt")).display(),
        dir.join(format!("{stem}.key")).display()
    )
}

/// What one kill found: the links it broke (must be none) and whether the
/// re-run ended with the new mode enforced.
#[derive(Debug, Default)]
struct Tally {
    tried: usize,
    /// Runs that did not end as the fault should end them (a kill after a
    /// step that never ran; a failure without the closing lines; an
    /// interrupt's wrong exit code).
    ended_wrong: Vec<String>,
    broken: Vec<String>,
    not_enforced: Vec<String>,
}

/// From `from` to `to`, killed after `step` (or after `after` of delay):
/// links checked right after the kill, then a re-run, the new mode
/// enforced, and back to `from` for the next try.
fn one_kill(lab: &Lab, from: AuthMode, to: AuthMode, kill: Kill, t: &mut Tally) {
    let before = lab.links();
    let path = lab.write(to);
    let mut cmd = tsmn();
    cmd.args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
        .arg(&path)
        .env("TSMN_ROLE_PW_POSTGRES", PW)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let what = match &kill {
        Kill::After(step) => {
            cmd.env("TSMN_TEST_KILL_AFTER", step);
            format!("{from:?}->{to:?} killed after {step}")
        }
        Kill::FailAfter(step) => {
            cmd.env("TSMN_TEST_FAIL_AFTER", step);
            format!("{from:?}->{to:?} failing after {step}")
        }
        Kill::At(d) => format!("{from:?}->{to:?} killed at {} ms", d.as_millis()),
        Kill::Signal(sig, d) => format!("{from:?}->{to:?} {sig:?} at {} ms", d.as_millis()),
    };
    if matches!(kill, Kill::FailAfter(_)) {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    }
    let child = cmd.spawn().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    match kill {
        Kill::At(d) => {
            std::thread::sleep(d);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
        Kill::Signal(sig, d) => {
            std::thread::sleep(d);
            let _ = nix::sys::signal::kill(pid, sig);
        }
        _ => {}
    }
    let out = child.wait_with_output().unwrap();
    let status = out.status;
    t.tried += 1;
    match &kill {
        Kill::After(_) if !killed(&status) => {
            t.ended_wrong
                .push(format!("{what}: the run ended by itself ({status})"));
        }
        Kill::FailAfter(_) => {
            let err = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let told = err.contains("the cluster now:")
                && err.contains("none that worked before the run was lost");
            if status.code() != Some(1) || !told {
                t.ended_wrong
                    .push(format!("{what}: exit {status}, closing lines:\n{err}"));
            }
        }
        Kill::Signal(sig, _) => {
            let code = 128 + *sig as i32;
            if status.code().is_some_and(|c| c != code && c != 0) {
                t.ended_wrong.push(format!(
                    "{what}: exit {status}, wanted {code} (or 0, the run over first)"
                ));
            }
        }
        _ => {}
    }
    let after = lab.links();
    for ((dn, b), (_, a)) in before.iter().zip(&after) {
        if let (Ok(()), Err(e)) = (b, a) {
            t.broken.push(format!("{what}: {dn}: {e}"));
        }
    }
    let out = lab.apply(to);
    if let Err(e) = lab.enforces(to) {
        t.not_enforced.push(format!("{what}: {e}\n{out}"));
    }
    lab.apply(from);
}

fn killed(status: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

enum Kill {
    /// SIGKILL right after the step's effect.
    After(String),
    /// The step reported failed after its effect (the run's failure path).
    FailAfter(String),
    /// SIGKILL after a delay.
    At(Duration),
    /// Another signal after a delay (an interrupt: the run stops cleanly).
    Signal(nix::sys::signal::Signal, Duration),
}

const TRANSITIONS: [(AuthMode, AuthMode); 3] = [
    (AuthMode::Trust, AuthMode::Password),
    (AuthMode::Password, AuthMode::Trust),
    (AuthMode::Trust, AuthMode::Certificate),
];

fn sweep(pick: impl Fn(&[String]) -> Vec<String>, random: usize) -> Tally {
    let mut t = Tally::default();
    for (from, to) in TRANSITIONS {
        let lab = Lab::new();
        lab.apply(from);
        let steps = lab.steps_to(to);
        lab.write(from);
        assert!(!steps.is_empty(), "{from:?}->{to:?} has steps");
        for step in pick(&steps) {
            one_kill(&lab, from, to, Kill::After(step.clone()), &mut t);
            one_kill(&lab, from, to, Kill::FailAfter(step), &mut t);
        }
        // Random moments over a run's usual length: SIGKILL, and the
        // three interrupts in turn.
        let mut seed: u64 = 0x5eed ^ (from as u64) << 8 ^ to as u64;
        let signals = [
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
            nix::sys::signal::Signal::SIGHUP,
        ];
        for i in 0..random {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = Duration::from_millis(30 + (seed >> 33) % 900);
            one_kill(&lab, from, to, Kill::At(at), &mut t);
            one_kill(&lab, from, to, Kill::Signal(signals[i % 3], at), &mut t);
        }
    }
    t
}

fn assert_clean(t: &Tally) {
    assert!(
        t.ended_wrong.is_empty(),
        "runs that did not end as they should:\n{}",
        t.ended_wrong.join("\n")
    );
    assert!(
        t.broken.is_empty(),
        "links broken:\n{}",
        t.broken.join("\n")
    );
    assert!(
        t.not_enforced.is_empty(),
        "re-runs that left the old mode:\n{}",
        t.not_enforced.join("\n")
    );
}

/// A few kills per transition: the hba step of one data node and the last
/// step (where the data nodes change their rules, one after another).
#[test]
fn a_kill_after_a_step_of_a_mode_change_breaks_no_link() {
    let t = sweep(
        |steps| {
            let hba = steps.iter().find(|s| s.ends_with("/auth/hba")).cloned();
            hba.into_iter().chain(steps.last().cloned()).collect()
        },
        1,
    );
    assert_clean(&t);
    assert!(t.tried >= 18, "{t:?}");
}

/// Every step of every transition (killed after it, and failed after it),
/// and 20 kills and 20 interrupts at random moments each.
#[test]
#[ignore = "the whole sweep, minutes long: cargo test --test faults -- --ignored --nocapture"]
fn sweep_every_step_and_random_kills() {
    let started = std::time::Instant::now();
    let t = sweep(|steps| steps.to_vec(), 20);
    println!(
        "fault sweep: {} transitions, {} faults (every step killed after and failed after, and 20 SIGKILLs and 20 interrupts at random moments per transition), {} links broken, {} re-runs that did not enforce the new mode, {:.0} s",
        TRANSITIONS.len(),
        t.tried,
        t.broken.len(),
        t.not_enforced.len(),
        started.elapsed().as_secs_f64()
    );
    assert_clean(&t);
}
