//! Test harness: real PostgreSQL clusters from the installed server, built
//! with the same code as `tsmn sandbox` (one implementation of cluster
//! management). Each cluster is stopped and removed on drop, also when the
//! test panics.
//!
//! # How the tests are built
//!
//! `cargo test` runs unit tests and integration tests against real PostgreSQL
//! servers that the test harness (`tests/support/`) builds with the sandbox's own
//! code: one template per run, a copy per cluster, free ports, stopped and
//! removed when the test ends, also when it panics. Among them: 41 bad plans each
//! with its specific error; `check` against one real fault at a time (refused
//! port, a listener that never answers, unknown host, wrong password, missing and
//! shadowed pg_hba.conf rules, a non-superuser, ssl off, max_prepared_transactions
//! = 0, TimescaleDB missing, TLS verified against a CA); generated certificates
//! checked by `openssl verify` and by a real `hostssl ... cert` rule; the SCRAM
//! verifier and the passfile on a real server; quoting round trips through
//! PostgreSQL and `sh`; snapshots of `preview`, `export` and every wizard screen
//! (insta); the exported `setup.sh` (shellcheck-clean) and `tsmn apply` run in all
//! three modes on real clusters and checked from inside the access node; and the
//! real binary driven by keys in a pseudo-terminal (tmux) through a whole setup.
//! Faults are made for real and the fix tsmn prints is applied and checked: a
//! passfile others can read, a password stored as md5 under a scram rule, a
//! reject rule above tsmn's block, a role missing on a data node, a broken
//! pg_hba.conf, a decoy server reporting another server's data directory (its own
//! mount namespace), a crafted sandbox marker, a second run while one holds the
//! lock, Ctrl-C during a restart wait and as the pg_hba.conf steps start on four
//! nodes, a server run under a supervisor, a restart that does not come back, a
//! full disk under a plan and under a server's pg_hba.conf, a planted template.
//! `tests/never_worse.rs` and `tests/faults.rs` hold tsmn to "never worse than
//! before" (signals during restarts, failed mode switches, kills after steps and
//! at random moments: see "When a run fails or is interrupted");
//! `tests/evidence.rs` compares check's verdict with the access node's own
//! connection on pg_hba.conf rules tsmn cannot settle by reading them.
//! `tests/fixes.rs` breaks real nodes one way per finding code, executes the fix
//! each finding carries (its data, not its text) and asserts the finding gone.
//! `tests/tls.rs` runs every libpq sslmode, a client-certificate login and the
//! PGSSL* variables against real TLS servers; `tests/conninfo.rs` places nodes by
//! URI, key=value string and pg_service.conf and checks them for real;
//! `tests/cli.rs` reads every `--json` document, loads the bash completion and
//! renders the man page.
//! `tests/status.rs` (with `tests/status/`) breaks an applied cluster for real and
//! reads `tsmn status`: a prepared transaction left, a data node stopped and one hung
//! by SIGSTOP, a user's job failing under the scheduler (with its error), chunks below
//! their replication factor after a forced detach, a server certificate with under two
//! days left, the free space against the test's own `df`, and `--watch` in tmux
//! (redrawn, l tests the links between data nodes, q exits 0).
//! `tests/migrate*.rs` move a cluster off multi-node: kill -9 from outside at
//! six moments of a migration and a re-run with nothing lost or doubled
//! (`migrate_resume.rs`), a damaged target copied again and a damage that
//! comes back reported (`migrate_verify.rs`), roles with their grants logging
//! in to the target (`migrate_roles.rs`), and bad targets and data nodes
//! refused before anything is copied (`migrate_bad_input.rs`: a tmpfs the
//! test mounts as root, a copy of PostgreSQL without TimescaleDB).
//! `tests/discover.rs` sets a cluster up by hand and round-trips its discovered
//! plan through apply; `tests/grow.rs` adds and removes data nodes under a
//! distributed hypertable holding rows; `tests/hygiene.rs` checks the declared
//! rust-version against the locked crates. `tests/flow.rs` drives both faces (the CLI
//! and the wizard's tasks) over one plan and compares what they build and refuse.
//! Tests that need TimescaleDB form a tier that runs where the extension is
//! installed and prints `SKIPPED <test>: TimescaleDB tier: <reason>` elsewhere
//! (TimescaleDB is not in the package registries this project's CI can reach).
//!
//! CI runs `.ci/run`: it installs the Debian packages a fresh machine lacks
//! (PostgreSQL server and contrib, openssl, tmux, shellcheck) and cargo-deny
//! (`cargo install --locked cargo-deny`, once per machine), and then runs
//! `cargo test`. `tests/hygiene.rs` runs `cargo deny check bans licenses
//! sources` against `deny.toml`: no duplicate crate in the binary beyond the
//! four named there with why (base64, const-oid, getrandom, and syn in proc
//! macros), licenses from its list, crates.io only; the advisory database needs
//! the network, which CI does not reach. Without cargo-deny that test prints
//! SKIPPED.
//!
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod fixes;
pub mod migrate;
pub mod moves;
pub mod status;
pub mod tmux;

use std::path::Path;
use std::sync::OnceLock;
use tsmn::sandbox::{free_ports, Cluster, ClusterSpec, PgBin, ServerUser};

pub fn pg_bin() -> &'static PgBin {
    static BIN: OnceLock<PgBin> = OnceLock::new();
    BIN.get_or_init(|| {
        PgBin::find(None)
            .expect("PostgreSQL server binaries (run .ci/run, or apt-get install postgresql)")
    })
}

pub fn server_user() -> ServerUser {
    ServerUser::detect().expect("server OS user")
}

/// A temporary directory of the caller's own (mode 0755: the server user
/// passes through it), to hold a sandbox: tsmn refuses a sandbox whose
/// directory, or one above it, someone else could replace.
pub fn own_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("tsmn-test-")
        .tempdir()
        .expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod temp dir");
    dir
}

/// A temporary directory the server user can use.
pub fn temp_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tsmn-test-")
        .tempdir()
        .expect("temp dir");
    server_user().chown(dir.path()).expect("chown temp dir");
    dir
}

/// A running cluster that is stopped and deleted on drop.
pub struct TestCluster {
    pub cluster: Cluster,
    // Dropped after `cluster` is stopped (fields drop in order, but Drop runs first).
    _dir: tempfile::TempDir,
}

impl TestCluster {
    pub fn start(spec: ClusterSpec) -> TestCluster {
        TestCluster::start_with(spec, pg_bin(), None)
    }

    /// A cluster of the server programs `bin`, in a directory under
    /// `parent` (default: a temporary directory).
    pub fn start_with(spec: ClusterSpec, bin: &PgBin, parent: Option<&Path>) -> TestCluster {
        // A port found free can be taken by a parallel test before the server
        // binds it: try again on another port, at most three times.
        let mut last = None;
        for _ in 0..3 {
            let dir = match parent {
                None => temp_dir(),
                Some(p) => {
                    let d = tempfile::tempdir_in(p).expect("temp dir");
                    server_user().chown(d.path()).expect("chown temp dir");
                    d
                }
            };
            let port = free_ports(1).expect("free port")[0];
            let cluster =
                Cluster::create(&spec, dir.path().join(&spec.name), port, bin, server_user())
                    .expect("create cluster");
            let guard = TestCluster { cluster, _dir: dir };
            match guard.cluster.start() {
                Ok(()) => return guard,
                Err(e) => last = Some(e),
            }
        }
        panic!("start cluster: {}", last.expect("three attempts"));
    }

    pub fn named(name: &str) -> TestCluster {
        TestCluster::start(ClusterSpec {
            name: name.into(),
            ..Default::default()
        })
    }

    /// Restart the server, as an operator would when told to.
    pub fn restart(&self) {
        self.cluster.stop(true).expect("stop");
        self.cluster.start().expect("start");
    }

    /// Run SQL as the superuser over the Unix socket; each row's first column.
    pub fn sql(&self, db: &str, sql: &str) -> Vec<String> {
        sql_on(&self.cluster, db, sql)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        // Immediate: the data is thrown away anyway.
        if let Err(e) = self.cluster.stop(false) {
            eprintln!(
                "warning: could not stop test cluster {}: {e}",
                self.cluster.name
            );
        }
    }
}

pub fn sql_on(cluster: &Cluster, db: &str, sql: &str) -> Vec<String> {
    try_sql_on(cluster, db, sql).unwrap_or_else(|e| panic!("{e}"))
}

/// A session on `db` of `cluster`, with the runtime that drives it: each
/// use of the client goes in `rt.block_on` (the connection runs there).
pub fn session(
    cluster: &Cluster,
    db: &str,
) -> Result<(tokio::runtime::Runtime, tokio_postgres::Client), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (client, conn) = rt
        .block_on(cluster.pg_config(db).connect(tokio_postgres::NoTls))
        .map_err(|e| format!("connect: {e:?}"))?;
    rt.spawn(conn);
    Ok((rt, client))
}

/// `sql_on`, an error returned: for a server that may be restarting.
pub fn try_sql_on(cluster: &Cluster, db: &str, sql: &str) -> Result<Vec<String>, String> {
    let (rt, client) = session(cluster, db)?;
    rt.block_on(async {
        let msgs = client
            .simple_query(sql)
            .await
            .map_err(|e| format!("query: {e:?}"))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some(r.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect())
    })
}

/// Whether a process runs (and is not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next())
                .is_some_and(|st| st != "Z")
        })
        .unwrap_or(false)
}

/// The uid a process runs as.
pub fn process_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A process's environment variable, from /proc/<pid>/environ.
pub fn process_env(pid: i32, name: &str) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|b| *b == 0).find_map(|kv| {
        let kv = String::from_utf8_lossy(kv);
        kv.strip_prefix(&format!("{name}=")).map(str::to_string)
    })
}

/// The TimescaleDB tier runs only where the extension is installed for the
/// server; elsewhere each of its tests reports itself skipped, with the reason.
pub fn timescaledb_tier(test: &str) -> bool {
    if pg_bin().has_extension("timescaledb") {
        true
    } else {
        // Written to the stream itself, past libtest's capture, so the skip
        // and its reason show in every test run.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: TimescaleDB tier: the timescaledb extension is not installed for PostgreSQL {} ({} has no timescaledb.control)",
            pg_bin().version,
            pg_bin().sharedir().join("extension").display()
        );
        false
    }
}

/// Report a test that cannot run here, past libtest's capture (so the line
/// shows in passing runs too), in the form the TimescaleDB tier uses.
pub fn skipped(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// The binary, its log in the build's scratch directory (not the
/// machine's state directory); a test may point TSMN_LOG_FILE elsewhere.
pub fn tsmn() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tsmn"));
    cmd.env(
        "TSMN_LOG_FILE",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("tsmn-tests.log"),
    );
    cmd
}

/// A copy of the binary at `dir/tsmn`, ready to run. While the copy is
/// written, a child that another test thread forks holds the file open
/// until it execs, and running the copy then fails with "Text file busy"
/// (ETXTBSY): the copy is run once, again until that window has passed.
pub fn binary_copy(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("tsmn");
    std::fs::copy(env!("CARGO_BIN_EXE_tsmn"), &bin).unwrap();
    for _ in 0..100 {
        match std::process::Command::new(&bin).arg("--version").output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("running {}: {e}", bin.display()),
            Ok(_) => return bin,
        }
    }
    panic!("{} stayed busy for 2 s", bin.display());
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A plan over test clusters, as the sandbox writes one.
pub fn plan_for(an: &Cluster, dns: &[&Cluster], mode: tsmn::plan::AuthMode) -> tsmn::plan::Plan {
    tsmn::sandbox::plan_over(an, dns, mode)
}

/// `tsmn apply --yes` on the plan file at `path`, with `env` set: exit
/// code, and stdout then stderr as one text.
pub fn apply_file(path: &Path, extra: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    run_yes("apply", path, extra, env)
}

/// `tsmn <command> --yes --plan <path>`, with `env` set: exit code, and
/// stdout then stderr as one text.
pub fn run_yes(
    command: &str,
    path: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let out = tsmn()
        .args([command, "--yes", "--plan"])
        .arg(path)
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run tsmn {command}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// An access node and one data node with a trust-mode plan written for
/// them: (access node, data node, the plan's directory, the plan).
pub fn trust_pair() -> (
    TestCluster,
    TestCluster,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], tsmn::plan::AuthMode::Trust),
    );
    (an, dn, work, path)
}

/// The command exited 0; its stderr is shown when it did not.
pub fn assert_success(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A copy of an example plan from assets/ in `dir`.
pub fn copy_asset(dir: &Path, asset: &str) -> std::path::PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join(asset),
        &plan,
    )
    .expect("copy asset");
    plan
}

/// Every file below `dir`, with its path relative to `dir`.
pub fn files_below(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read dir").flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else if e.path().is_file() {
                // (Regular files only: not the servers' sockets.)
                out.push((
                    e.path()
                        .strip_prefix(dir)
                        .expect("below")
                        .display()
                        .to_string(),
                    e.path(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Write a plan where the binary can read it.
pub fn write_plan(dir: &Path, plan: &tsmn::plan::Plan) -> std::path::PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, tsmn::plan::plan_to_toml(plan)).expect("write plan");
    path
}

/// Probe a plan with the library, as `tsmn check` does, and derive findings.
pub fn check(
    plan: &tsmn::plan::Plan,
    connect_timeout: std::time::Duration,
) -> (tsmn::facts::Facts, Vec<tsmn::findings::Finding>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let passwords = tsmn::probe::credentials::PasswordSource::from_plan(plan);
    let opts = tsmn::probe::ProbeOptions::with_connect_timeout(connect_timeout);
    let facts = rt
        .block_on(tsmn::probe::probe_all(plan, &passwords, opts))
        .expect("probe");
    let findings = tsmn::findings::findings(plan, &facts);
    (facts, findings)
}

/// The one finding with this code on this node.
pub fn finding<'f>(
    findings: &'f [tsmn::findings::Finding],
    node: &str,
    code: &str,
) -> &'f tsmn::findings::Finding {
    findings
        .iter()
        .find(|f| f.node == node && f.code == code)
        .unwrap_or_else(|| panic!("no finding {code} on {node}; findings: {findings:#?}"))
}

pub fn has_finding(findings: &[tsmn::findings::Finding], node: &str, code: &str) -> bool {
    findings.iter().any(|f| f.node == node && f.code == code)
}

/// Test certificates made by the openssl command line (independent of the
/// code under test): a CA and server certificates signed by it.
pub struct TestCa {
    pub dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let dir = tempfile::tempdir().expect("temp dir");
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
            ],
        );
        TestCa { dir }
    }

    pub fn ca_cert(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A copy of an existing CA (its ca.crt and ca.key), to issue from it.
    pub fn copy_of(dir: &Path) -> TestCa {
        let tmp = tempfile::tempdir().expect("temp dir");
        for f in ["ca.crt", "ca.key"] {
            std::fs::copy(dir.join(f), tmp.path().join(f)).expect("copy CA");
        }
        TestCa { dir: tmp }
    }

    /// A server certificate and key (PEM) for `san` (e.g. `IP:127.0.0.1`).
    pub fn server(&self, cn: &str, san: &str) -> (Vec<u8>, Vec<u8>) {
        self.issue(cn, &format!("subjectAltName={san}"), "srv")
    }

    /// A client certificate and key (PEM) with subject CN=`cn`.
    pub fn client(&self, cn: &str) -> (Vec<u8>, Vec<u8>) {
        self.issue(cn, "extendedKeyUsage=clientAuth", "cli")
    }

    /// A key and a certificate for CN=`cn` with one extension line, signed
    /// by this CA (files `<stem>.*` in its directory).
    fn issue(&self, cn: &str, extension: &str, stem: &str) -> (Vec<u8>, Vec<u8>) {
        let d = self.dir.path();
        let (key, csr, ext, crt) = (
            format!("{stem}.key"),
            format!("{stem}.csr"),
            format!("{stem}.cnf"),
            format!("{stem}.crt"),
        );
        let subject = format!("/CN={cn}");
        openssl(
            d,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", &subject, "-keyout", &key, "-out",
                &csr,
            ],
        );
        std::fs::write(d.join(&ext), format!("{extension}\n")).unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
        (
            std::fs::read(d.join(&crt)).unwrap(),
            std::fs::read(d.join(&key)).unwrap(),
        )
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cluster with ssl = on, using this server certificate.
pub fn tls_spec(name: &str, cert: (Vec<u8>, Vec<u8>), hba: &[&str]) -> tsmn::sandbox::ClusterSpec {
    use tsmn::sandbox::DataFile;
    tsmn::sandbox::ClusterSpec {
        name: name.into(),
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), "server.crt".into()),
            ("ssl_key_file".into(), "server.key".into()),
        ],
        hba: Some(hba.iter().map(|s| s.to_string()).collect()),
        files: vec![
            DataFile {
                name: "server.crt".into(),
                contents: cert.0,
                mode: 0o644,
            },
            DataFile {
                name: "server.key".into(),
                contents: cert.1,
                mode: 0o600,
            },
        ],
    }
}

/// Run psql with a connection string; the environment is cleared of PG*
/// variables except the ones given. Returns (success, stdout, stderr).
pub fn psql(conninfo: &str, sql: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(pg_bin().bindir.join("psql"));
    if !cmd.get_program().to_string_lossy().is_empty() && !pg_bin().bindir.join("psql").exists() {
        cmd = std::process::Command::new("psql");
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", "/nonexistent-home-for-tests");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args([
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            conninfo,
            "-c",
            sql,
        ])
        .output()
        .expect("psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Each data node admits the access node the way TimescaleDB connects
/// (tested from inside the access node, as `tsmn check` does), and `dn`'s
/// first rule for it uses the mode's method. Returns the findings.
pub fn assert_admitted(plan: &tsmn::plan::Plan, dn: &TestCluster) -> Vec<tsmn::findings::Finding> {
    use tsmn::plan::AuthMode;
    let (facts, found) = check(plan, std::time::Duration::from_secs(5));
    match &facts.access().expect("access node").access_probes {
        tsmn::facts::AccessProbes::Tested { results } => {
            assert_eq!(results.len(), plan.data_nodes.len());
            for r in results {
                assert_eq!(
                    r.source_address.as_deref(),
                    Some("127.0.0.1"),
                    "{:?}: {r:?}",
                    plan.auth.mode
                );
            }
        }
        other => panic!("the access node's side was not tested: {other:?}"),
    }
    let method = dn.sql("postgres", "SELECT auth_method FROM pg_hba_file_rules WHERE type <> 'local' ORDER BY line_number LIMIT 1");
    let want = match plan.auth.mode {
        AuthMode::Trust => "trust",
        AuthMode::Password => "scram-sha-256",
        AuthMode::Certificate => "cert",
    };
    assert_eq!(method, [want]);
    assert!(
        !found
            .iter()
            .any(|f| f.code.starts_with("hba_") || f.code == "ssl_off"),
        "{found:#?}"
    );
    found
}

/// The configuration files of a cluster (not its relation data), to show
/// that a second run changed nothing.
pub fn data_files(c: &TestCluster) -> Vec<(String, Vec<u8>)> {
    let files = files_below(&c.cluster.data_dir())
        .into_iter()
        .filter(|(rel, _)| {
            // Server state directories (pg_wal/, pg_xact/, ...) and relation
            // data change on their own; the configuration files beside them
            // (pg_hba.conf, pg_ident.conf) are compared.
            let state_dir = rel.contains('/')
                && (rel.starts_with("pg_")
                    || rel.starts_with("base/")
                    || rel.starts_with("global/"));
            !state_dir && !rel.starts_with("postmaster.")
        })
        .map(|(rel, p)| (rel, std::fs::read(p).expect("read")))
        .collect::<Vec<_>>();
    // The files the settings and auth phases edit are among those compared.
    for edited in ["pg_hba.conf", "postgresql.auto.conf"] {
        assert!(
            files.iter().any(|(rel, _)| rel == edited),
            "{edited} is not compared"
        );
    }
    files
}

/// insta settings for this project's snapshots: no module prefix, and the
/// random material (certificates, SCRAM verifiers) filtered out.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"-----BEGIN CERTIFICATE-----\n(?:\s*[A-Za-z0-9+/=]+\n)+\s*-----END CERTIFICATE-----",
        "<certificate>",
    );
    s.add_filter(
        r"SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+",
        "<scram verifier>",
    );
    s.add_filter(
        r"='pbkdf2-sha256:4096:[0-9a-f]{16}:[0-9a-f]{64}'",
        "='pbkdf2-sha256:4096:<salt>:<pbkdf2 fingerprint>'",
    );
    s.set_prepend_module_to_snapshot(false);
    s
}

/// `tsmn validate` on a plan text: (exit code, stdout + stderr).
pub fn validate_text(text: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plan.toml");
    std::fs::write(&path, text).expect("write plan");
    let out = tsmn()
        .args(["validate", "--plan"])
        .arg(&path)
        .output()
        .expect("tsmn");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every spelling a secret could be written in: as is, escaped for SQL
/// literals, pgpass, shell single quotes and conninfo, percent-encoded,
/// hex and base64. A leak check that looks for one spelling only misses
/// the others.
pub fn spellings(secret: &str) -> Vec<String> {
    let b = secret.as_bytes();
    let hex: String = b.iter().map(|c| format!("{c:02x}")).collect();
    let pct: String = b
        .iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect();
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in b.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &c| (acc << 8) | u32::from(c)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            b64.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    let mut all = vec![
        secret.to_string(),
        secret.replace('\'', "''"),
        secret.replace('\\', "\\\\").replace(':', "\\:"),
        secret.replace('\'', "'\\''"),
        secret.replace('\\', "\\\\").replace('\'', "\\'"),
        pct,
        hex,
        // Unpadded: the padding depends on what follows in a longer text.
        b64,
    ];
    all.dedup();
    all
}

/// Fails when `text` holds `secret` in any of its spellings.
pub fn assert_no_secret(text: &str, secret: &str, what: &str) {
    for s in spellings(secret) {
        assert!(!text.contains(&s), "{what} holds the secret, spelled {s:?}");
    }
}

/// An access node and two data nodes set up by `tsmn apply` in trust mode,
/// with these extra roles: a running cluster to break (TimescaleDB tier).
pub struct Running {
    pub an: TestCluster,
    pub dn1: TestCluster,
    pub dn2: TestCluster,
    pub plan: tsmn::plan::Plan,
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Replace `c`'s pg_hba.conf with these lines and reload (the server reads
/// the file again for pg_hba_file_rules either way).
pub fn set_hba<S: AsRef<str>>(c: &TestCluster, lines: &[S]) {
    let text: String = lines.iter().map(|l| format!("{}\n", l.as_ref())).collect();
    std::fs::write(c.cluster.data_dir().join("pg_hba.conf"), text).unwrap();
    reload(c);
}

/// Reload `c`'s configuration and wait until the server runs with it:
/// `pg_reload_conf()` only signals the postmaster, which reads the files
/// a moment later and signals its backends, this one too (polled with a
/// deadline on one session, which the new rules may not admit again, not
/// slept on), then reads pg_hba.conf (awaited by one more login).
pub fn reload(c: &TestCluster) {
    let (rt, client) = session(&c.cluster, "postgres").expect("a session");
    rt.block_on(async {
        let when = "SELECT pg_conf_load_time()::text";
        let before: String = client.query_one(when, &[]).await.expect("load time").get(0);
        client
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .expect("reload");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now: String = client.query_one(when, &[]).await.expect("load time").get(0);
            if now != before {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: the reload was not taken in within 10 s",
                c.cluster.name
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // The postmaster signals its backends before it reads pg_hba.conf
        // again; it accepts a new connection only once that is done. A
        // login attempt (refused or not: the new rules may not admit it)
        // therefore waits for the new rules to be in force.
        let _ = c
            .cluster
            .pg_config("postgres")
            .connect(tokio_postgres::NoTls)
            .await;
    });
}

/// Put `rule` first in `c`'s pg_hba.conf (above tsmn's block) and reload.
pub fn hba_first(c: &TestCluster, rule: &str) {
    let hba = c.cluster.data_dir().join("pg_hba.conf");
    let old = read(&hba);
    std::fs::write(&hba, format!("{rule}\n{old}")).unwrap();
    reload(c);
}

impl Running {
    /// The three nodes and their trust-mode plan (with `roles`), set up by
    /// `tsmn apply`.
    pub fn applied(roles: &[&str]) -> Running {
        let r = Running::planned(|plan| {
            plan.auth.roles.extend(roles.iter().map(|r| r.to_string()));
        });
        let setup = tsmn()
            .args(["apply", "--yes", "--plan"])
            .arg(&r.path)
            .output()
            .expect("run tsmn apply");
        assert_success(&setup);
        r
    }

    /// The three nodes and their trust-mode plan as `edit` leaves it,
    /// written beside them, nothing applied yet.
    pub fn planned(edit: impl FnOnce(&mut tsmn::plan::Plan)) -> Running {
        let an = TestCluster::named("an");
        let dn1 = TestCluster::named("dn1");
        let dn2 = TestCluster::named("dn2");
        let dir = temp_dir();
        let mut plan = plan_for(
            &an.cluster,
            &[&dn1.cluster, &dn2.cluster],
            tsmn::plan::AuthMode::Trust,
        );
        edit(&mut plan);
        let path = write_plan(dir.path(), &plan);
        Running {
            an,
            dn1,
            dn2,
            plan,
            path,
            _dir: dir,
        }
    }

    /// Each node by its plan name, where findings' fixes are executed.
    pub fn nodes(&self) -> fixes::Nodes<'_> {
        fixes::Nodes::new(
            vec![("an", &self.an), ("dn1", &self.dn1), ("dn2", &self.dn2)],
            &self.path,
        )
    }
}

/// Rows of 8 devices, hourly from `from` to `to`, into the distributed
/// hypertable `metrics` of tsdb (made on first use): data a cluster
/// operation must not lose.
pub fn metrics(an: &TestCluster, from: &str, to: &str) {
    an.sql(
        "tsdb",
        "CREATE TABLE IF NOT EXISTS metrics (time timestamptz NOT NULL, device int, value float8)",
    );
    an.sql(
        "tsdb",
        "SELECT create_distributed_hypertable('metrics', 'time', 'device', if_not_exists => true)",
    );
    an.sql(
        "tsdb",
        &format!("INSERT INTO metrics SELECT t, d, 1 FROM generate_series('{from}'::timestamptz, '{to}', '1 hour') t, generate_series(1, 8) d"),
    );
}

/// Compression on for `table` (segmented by device), its first `n` chunks
/// compressed, then vacuumed: autovacuum, which would otherwise grow the
/// chunks' files between two readings of their sizes, has nothing left.
pub fn compress_some(an: &TestCluster, table: &str, n: usize) {
    an.sql(
        "tsdb",
        &format!("ALTER TABLE {table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'device')"),
    );
    an.sql(
        "tsdb",
        &format!("SELECT compress_chunk(c) FROM show_chunks('{table}') c ORDER BY 1 LIMIT {n}"),
    );
    an.sql("tsdb", &format!("VACUUM ANALYZE {table}"));
}

/// The rows of `metrics` (see `metrics`).
pub fn count(an: &TestCluster) -> Vec<String> {
    an.sql("tsdb", "SELECT count(*) FROM metrics")
}

/// The server reads `c`'s pg_hba.conf without an error.
pub fn assert_hba_loads(c: &TestCluster) {
    assert_eq!(
        c.sql(
            "postgres",
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
        ),
        ["0"],
        "{}: pg_hba.conf has errors",
        c.cluster.name
    );
}

/// Whether the access node `an` reaches the data node at 127.0.0.1:`port`
/// as `role`, asked of the engine itself: psql on the access node runs
/// dblink's C function (a temporary function of that session) with the
/// options TimescaleDB passes (`passfile`, and in certificate mode the
/// TLS ones in `extra`). Independent of tsmn: Err carries the access
/// node's own error.
pub fn an_reaches(an: &TestCluster, port: u16, role: &str, extra: &str) -> Result<(), String> {
    let passfile = an.cluster.data_dir().join("passfile");
    let info = format!(
        "host=127.0.0.1 port={port} dbname=postgres user={role} connect_timeout=5 passfile={} {extra}",
        passfile.display()
    );
    an_connects(an, &info)
}

/// One connection from inside the access node `an` with the libpq options
/// `info`, through dblink's C function (a temporary function of a psql
/// session: nothing installed). Err carries the access node's own error.
pub fn an_connects(an: &TestCluster, info: &str) -> Result<(), String> {
    let sql = format!(
        "CREATE FUNCTION pg_temp.l(text, text) RETURNS SETOF record AS '$libdir/dblink', 'dblink_record' LANGUAGE C STRICT; \
         SELECT x FROM pg_temp.l('{}', 'SELECT 1') AS t(x int)",
        info.replace('\'', "''")
    );
    let conninfo = format!(
        "host={} port={} user=postgres dbname=postgres",
        an.cluster.socket_dir().display(),
        an.cluster.port
    );
    let (ok, out, err) = psql(&conninfo, &sql, &[]);
    if ok && out.lines().last() == Some("1") {
        Ok(())
    } else {
        Err(format!("{out}{err}"))
    }
}

/// Whether the server answers a login now (no retry, no restart).
pub fn up(c: &TestCluster) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut cfg = c.cluster.pg_config("postgres");
        cfg.connect_timeout(std::time::Duration::from_secs(2));
        cfg.connect(tokio_postgres::NoTls).await.is_ok()
    })
}
