//! Benchmark: `tsmn apply` and `tsmn check` on sandbox clusters with the
//! real engine, as the node count grows and with nodes a network away
//! (a loopback proxy, tests/support/proxy.rs, holds each chunk for a fixed
//! time each way; nothing leaves the machine).
//!
//! 0. Scaling (no delay), 1, 4 and 16 data nodes, fresh sandboxes, trust
//!    mode, restarts included. Floors measured in the same run: bare
//!    parallel `pg_ctl restart` of the data nodes, and psql creating the
//!    database and the extension on all data nodes at once (the per-node
//!    work, CPU-bound on this machine). Targets: the cluster phase at most
//!    1.25 x the cluster floor; tsmn's time above both floors grows by at
//!    most 50 ms per added data node.
//! 1. Structure of the cluster phase: the proxy in front of the data nodes
//!    as the access node reaches them (tsmn's own connections direct).
//!    Latency cost = apply with 20 ms each way minus apply with 0 ms, on 1
//!    and on 8 data nodes; target: cost(8) <= 2 x cost(1).
//! 2. Remote nodes: tsmn's own connections through the proxy (Unix
//!    sockets in front of each node's socket), 16 data nodes, 20 ms each
//!    way. `check` against the psql loop an operator would write (node by
//!    node, the same queries), before and after apply: target <= 0.10.
//!    `apply` with the delay minus apply without: target <= 1.5 s. The
//!    round trips tsmn makes per node in each phase are printed.
//!
//! Run by `benches/cluster.sh` (which builds the release binary first):
//! `cargo bench --bench cluster -- [--runs N] [--only scaling|structure|remote|remote-apply]
//! [--log-dir DIR]` (`remote-apply`: the remote applies alone; `--log-dir`:
//! each apply's debug log, with timestamps, as DIR/apply-N.log).

#[path = "../tests/support/proxy.rs"]
mod proxy;

use proxy::{Proxy, Target};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DELAY: Duration = Duration::from_millis(20);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let only = value("--only");
    // Each apply's log (debug level, with timestamps) goes here when given.
    let log_dir = value("--log-dir").map(PathBuf::from);
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/tsmn");
    if !bin.exists() {
        eprintln!(
            "{} is missing: run `cargo build --release` first (benches/remote.sh does)",
            bin.display()
        );
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let b = Bench {
        bin,
        rt,
        runs,
        log_dir,
        applied: std::sync::atomic::AtomicUsize::new(0),
    };
    if !b.timescaledb() {
        println!("SKIPPED: TimescaleDB is not installed here (the cluster phase needs it)");
        return;
    }
    let wanted = |what: &str| only.as_deref().is_none_or(|o| o == what);
    if wanted("scaling") {
        b.scaling();
    }
    if wanted("structure") {
        b.structure();
    }
    if wanted("remote") {
        b.remote();
    }
    if only.as_deref() == Some("remote-apply") {
        b.remote_apply();
    }
}

struct Bench {
    bin: PathBuf,
    rt: tokio::runtime::Runtime,
    runs: usize,
    log_dir: Option<PathBuf>,
    /// Applies run so far (names their logs).
    applied: std::sync::atomic::AtomicUsize,
}

/// One sandbox, and the proxies in front of it.
struct Sandbox {
    dir: PathBuf,
    plan: PathBuf,
    /// name -> (real TCP port, its Unix socket directory)
    nodes: Vec<(String, u16, PathBuf)>,
    proxies: BTreeMap<String, Proxy>,
    bin: PathBuf,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["sandbox", "down", "--dir"])
            .arg(&self.dir)
            .output();
        // What the bench wrote beside the nodes (psql's files, the proxies'
        // sockets): the directory is the bench's own.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() - 1) / 2]
}

fn figure(name: &str, value: f64, unit: &str, max: f64) {
    let verdict = if value <= max { "met" } else { "NOT MET" };
    println!("{name}: {value:.3} {unit} (target <= {max} {unit}): {verdict}");
}

impl Bench {
    fn timescaledb(&self) -> bool {
        let share = Command::new("pg_config")
            .arg("--sharedir")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let dirs = share.into_iter().map(PathBuf::from).chain(
            std::fs::read_dir("/usr/share/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        );
        dirs.into_iter()
            .any(|d| d.join("extension/timescaledb.control").exists())
    }

    fn sandbox(&self, data_nodes: usize) -> Sandbox {
        // One directory per sandbox of this run.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = PathBuf::from(format!("/tmp/tsmn-bench-{}-{n}", std::process::id()));
        let out = Command::new(&self.bin)
            .args([
                "sandbox",
                "up",
                "--data-nodes",
                &data_nodes.to_string(),
                "--dir",
            ])
            .arg(&dir)
            .output()
            .expect("tsmn sandbox up");
        assert!(
            out.status.success(),
            "sandbox up: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan = dir.join("plan.toml");
        let doc: toml_edit::DocumentMut = std::fs::read_to_string(&plan).unwrap().parse().unwrap();
        let mut nodes = Vec::new();
        let mut add = |t: &toml_edit::Table| {
            nodes.push((
                t["name"].as_str().unwrap().to_string(),
                u16::try_from(t["port"].as_integer().unwrap()).unwrap(),
                PathBuf::from(t["connect_host"].as_str().unwrap()),
            ));
        };
        add(doc["access_node"].as_table().unwrap());
        for t in doc["data_nodes"].as_array_of_tables().unwrap() {
            add(t);
        }
        Sandbox {
            dir,
            plan,
            nodes,
            proxies: BTreeMap::new(),
            bin: self.bin.clone(),
        }
    }

    /// The access node reaches each data node through a TCP proxy.
    fn proxy_access_node_side(&self, s: &mut Sandbox, delay: Duration) {
        let mut doc: toml_edit::DocumentMut =
            std::fs::read_to_string(&s.plan).unwrap().parse().unwrap();
        let dns = doc["data_nodes"].as_array_of_tables_mut().unwrap();
        for t in dns.iter_mut() {
            let name = t["name"].as_str().unwrap().to_string();
            let port = t["port"].as_integer().unwrap();
            let target = Target::Tcp(format!("127.0.0.1:{port}").parse().unwrap());
            let p = self.rt.block_on(proxy::tcp(target, delay)).unwrap();
            t["connect_port"] = toml_edit::value(port);
            t["port"] = toml_edit::value(i64::from(p.port));
            s.proxies.insert(name, p);
        }
        std::fs::write(&s.plan, doc.to_string()).unwrap();
    }

    /// tsmn reaches every node through a Unix socket proxy.
    fn proxy_tsmn_side(&self, s: &mut Sandbox, delay: Duration) {
        let mut doc: toml_edit::DocumentMut =
            std::fs::read_to_string(&s.plan).unwrap().parse().unwrap();
        let base = s.dir.join("proxied");
        let mut retarget = |t: &mut toml_edit::Table| {
            let name = t["name"].as_str().unwrap().to_string();
            let (_, port, socket_dir) = s.nodes.iter().find(|n| n.0 == name).unwrap().clone();
            let dir = base.join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            let sock = format!(".s.PGSQL.{port}");
            let p = self
                .rt
                .block_on(proxy::unix(
                    &dir.join(&sock),
                    Target::Unix(socket_dir.join(&sock)),
                    delay,
                ))
                .unwrap();
            t["connect_host"] = toml_edit::value(dir.display().to_string());
            s.proxies.insert(name, p);
        };
        retarget(doc["access_node"].as_table_mut().unwrap());
        for t in doc["data_nodes"]
            .as_array_of_tables_mut()
            .unwrap()
            .iter_mut()
        {
            retarget(t);
        }
        std::fs::write(&s.plan, doc.to_string()).unwrap();
    }

    /// `tsmn apply --json`: wall time, and when each phase began.
    fn apply(&self, s: &Sandbox) -> (f64, Vec<(Instant, String)>) {
        let mut cmd = Command::new(&self.bin);
        if let Some(dir) = &self.log_dir {
            let n = self
                .applied
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = std::fs::create_dir_all(dir);
            cmd.env("TSMN_LOG_FILE", dir.join(format!("apply-{n}.log")))
                .env("RUST_LOG", "tsmn=debug");
        }
        let start = Instant::now();
        let mut child = cmd
            .args(["apply", "--yes", "--json", "--plan"])
            .arg(&s.plan)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tsmn apply");
        let mut phases: Vec<(Instant, String)> = vec![(start, "probe".into())];
        let mut last_line = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let now = Instant::now();
            if line.contains("\"step_finished\"") && line.contains("/cluster/restart-gate\"") {
                // The gate's end, as a phase of its own: "cluster" after it.
                phases.push((now, "cluster".into()));
                if let Some(p) = phases.iter_mut().rev().nth(1) {
                    if p.1 == "cluster" {
                        p.1 = "restart".into();
                    }
                }
            }
            if line.contains("\"step_started\"") {
                if let Some(phase) = line
                    .split("\"step\":\"")
                    .nth(1)
                    .and_then(|r| r.split('/').nth(1))
                {
                    if phases.last().is_none_or(|(_, p)| p != phase) {
                        phases.push((now, phase.to_string()));
                    }
                }
            }
            last_line = line;
        }
        let status = child.wait().unwrap();
        let took = start.elapsed().as_secs_f64();
        if !status.success() {
            let mut err = String::new();
            use std::io::Read;
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("apply failed: {last_line}\n{err}");
        }
        phases.push((Instant::now(), "end".into()));
        (took, phases)
    }

    fn check(&self, s: &Sandbox) -> f64 {
        let start = Instant::now();
        let out = Command::new(&self.bin)
            .args(["check", "--plan"])
            .arg(&s.plan)
            .output()
            .expect("tsmn check");
        let took = start.elapsed().as_secs_f64();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "check: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        took
    }

    /// One psql per node, as tsmn connects, with the queries tsmn runs;
    /// on the access node also its tests towards each data node.
    fn psql_loop(&self, s: &Sandbox, after_apply: bool) -> f64 {
        let doc: toml_edit::DocumentMut =
            std::fs::read_to_string(&s.plan).unwrap().parse().unwrap();
        let mut targets = vec![(
            doc["access_node"]["connect_host"]
                .as_str()
                .unwrap()
                .to_string(),
            true,
        )];
        for t in doc["data_nodes"].as_array_of_tables().unwrap() {
            targets.push((t["connect_host"].as_str().unwrap().to_string(), false));
        }
        let dn_ports: Vec<(String, i64)> = doc["data_nodes"]
            .as_array_of_tables()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["name"].as_str().unwrap().to_string(),
                    t["port"].as_integer().unwrap(),
                )
            })
            .collect();
        let node_sql = s.dir.join("node.sql");
        std::fs::write(&node_sql, NODE_SQL).unwrap();
        let an_sql = s.dir.join("an.sql");
        let mut an = String::from(
            "CREATE FUNCTION pg_temp.tsmn_dblink(text, text) RETURNS SETOF record AS '$libdir/dblink', 'dblink_record' LANGUAGE C STRICT;\n",
        );
        for (name, port) in &dn_ports {
            an.push_str(&format!(
                "SELECT addr FROM pg_temp.tsmn_dblink('host=127.0.0.1 port={port} dbname=postgres user=postgres application_name=tsmn-check', 'SELECT host(inet_client_addr())') AS t(addr text); -- {name}\n"
            ));
        }
        std::fs::write(&an_sql, an).unwrap();
        let db_sql = s.dir.join("db.sql");
        let mut db = String::from(DB_SQL);
        for (name, _) in &dn_ports {
            db.push_str(&format!(
                "SET ROLE postgres; SELECT _timescaledb_functions.ping_data_node('{name}'); RESET ROLE;\n"
            ));
        }
        std::fs::write(&db_sql, db).unwrap();
        let dn_db_sql = s.dir.join("dn-db.sql");
        std::fs::write(
            &dn_db_sql,
            DB_SQL.lines().take(2).collect::<Vec<_>>().join("\n"),
        )
        .unwrap();
        let port_of = |host: &str| {
            s.nodes
                .iter()
                .find(|n| host.ends_with(&format!("/{}", n.0)) || Path::new(host) == n.2)
                .map(|n| n.1)
                .unwrap()
        };
        let psql = |host: &str, db: &str, file: &Path| {
            let st = Command::new("psql")
                .args([
                    "-X",
                    "-q",
                    "-h",
                    host,
                    "-p",
                    &port_of(host).to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    db,
                    "-f",
                ])
                .arg(file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "psql on {host} failed");
        };
        let start = Instant::now();
        for (host, is_an) in &targets {
            psql(host, "postgres", &node_sql);
            if *is_an {
                psql(host, "postgres", &an_sql);
            }
            if after_apply {
                psql(host, "tsdb", if *is_an { &db_sql } else { &dn_db_sql });
            }
        }
        start.elapsed().as_secs_f64()
    }

    /// Run a command as the owner of `data_dir` (the sandbox's servers run
    /// as `postgres` when the bench runs as root).
    fn as_owner(data_dir: &Path, program: &str) -> Command {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata(data_dir).map(|m| m.uid()).unwrap_or(0);
        if own_uid() == 0 && uid != 0 {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={uid}"),
                &format!(
                    "--regid={}",
                    std::fs::metadata(data_dir).map(|m| m.gid()).unwrap_or(0)
                ),
                "--clear-groups",
                "--",
                program,
            ]);
            c
        } else {
            Command::new(program)
        }
    }

    /// Restart every data node at once with bare pg_ctl: seconds.
    fn bare_restart(&self, s: &Sandbox) -> f64 {
        let pg_ctl = pg_bin().join("pg_ctl");
        let start = Instant::now();
        let children: Vec<_> = s.nodes[1..]
            .iter()
            .map(|(name, _, data)| {
                Self::as_owner(data, pg_ctl.to_str().unwrap())
                    .arg("-D")
                    .arg(data)
                    .arg("-l")
                    .arg(s.dir.join(name).join("server.log"))
                    .args(["-m", "fast", "-w", "restart"])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "pg_ctl restart failed");
        }
        start.elapsed().as_secs_f64()
    }

    /// psql on one node's socket, running `sql` in `db`.
    fn psql(port: u16, dir: &Path, db: &str, sql: &str) -> Command {
        let mut c = Command::new("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(dir)
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// The cluster floor: on a fresh sandbox whose data nodes preload
    /// TimescaleDB, psql creates the database and then the extension on
    /// every data node at once. Seconds.
    fn cluster_floor(&self, n: usize) -> f64 {
        let s = self.sandbox(n);
        let wait_all = |cs: Vec<std::process::Child>| {
            for mut c in cs {
                assert!(c.wait().unwrap().success(), "psql failed");
            }
        };
        wait_all(
            s.nodes[1..]
                .iter()
                .map(|(_, port, dir)| {
                    let preload = "ALTER SYSTEM SET shared_preload_libraries = 'timescaledb'";
                    Self::psql(*port, dir, "postgres", preload).spawn().unwrap()
                })
                .collect(),
        );
        self.bare_restart(&s);
        let start = Instant::now();
        let children: Vec<_> = (1..=n)
            .map(|i| {
                let (_, port, dir) = s.nodes[i].clone();
                std::thread::spawn(move || {
                    for (db, sql) in [
                        ("postgres", "CREATE DATABASE tsdb"),
                        ("tsdb", "CREATE EXTENSION timescaledb"),
                    ] {
                        let st = Self::psql(port, &dir, db, sql).status().unwrap();
                        assert!(st.success(), "psql {sql} failed");
                    }
                })
            })
            .collect();
        for c in children {
            c.join().unwrap();
        }
        start.elapsed().as_secs_f64()
    }

    fn scaling(&self) {
        println!("== scaling: fresh sandboxes, trust mode, restarts included, no delay");
        const SIZES: [usize; 3] = [1, 4, 16];
        // One run measures every size, so that a slow spell of the machine
        // (they last minutes here) weighs on all sizes alike; the figures
        // per added node compare sizes within a run.
        let mut m: BTreeMap<usize, [Vec<f64>; 4]> = BTreeMap::new();
        for _ in 0..self.runs {
            for n in SIZES {
                let s = self.sandbox(n);
                let (t, phases) = self.apply(&s);
                println!("    {n} data node(s): {}", phase_spans(&phases));
                let restart = self.bare_restart(&s);
                drop(s);
                let floor = self.cluster_floor(n);
                let e = m.entry(n).or_default();
                e[0].push(t);
                e[1].push(cluster_phase(&phases));
                e[2].push(restart);
                e[3].push(floor);
            }
        }
        // Per run: apply minus both floors.
        let over = |n: usize| -> Vec<f64> {
            let e = &m[&n];
            (0..self.runs)
                .map(|r| e[0][r] - e[2][r] - e[3][r])
                .collect()
        };
        for n in SIZES {
            let e = &m[&n];
            let (a, c, r, f) = (
                median(e[0].clone()),
                median(e[1].clone()),
                median(e[2].clone()),
                median(e[3].clone()),
            );
            println!(
                "  {n:>2} data node(s): apply {:.0} ms {:?}; cluster phase {:.0} ms {:?}, cluster floor {:.0} ms {:?}; bare restart {:.0} ms; above both floors {:?} ms",
                a * 1000.0,
                ms(&e[0]),
                c * 1000.0,
                ms(&e[1]),
                f * 1000.0,
                ms(&e[3]),
                r * 1000.0,
                ms(&over(n)),
            );
            let ratios: Vec<f64> = (0..self.runs).map(|r| e[1][r] / e[3][r]).collect();
            figure(
                &format!("cluster phase / floor, {n} data node(s), median of the runs' ratios"),
                median(ratios),
                "x",
                1.25,
            );
        }
        for n in [4usize, 16] {
            let (base, big) = (over(1), over(n));
            let per: Vec<f64> = (0..self.runs)
                .map(|r| (big[r] - base[r]) / (n - 1) as f64 * 1000.0)
                .collect();
            println!(
                "    1 -> {n}, per run: {:?} ms",
                per.iter().map(|v| v.round()).collect::<Vec<_>>()
            );
            figure(
                &format!("time above the floors per added data node, 1 -> {n}, median of the runs"),
                median(per),
                "ms",
                50.0,
            );
        }
    }

    fn structure(&self) {
        println!("== cluster phase structure: the access node reaches the data nodes through the proxy, tsmn direct");
        let mut cost = BTreeMap::new();
        for n in [1usize, 8] {
            let mut by_delay = Vec::new();
            for delay in [Duration::ZERO, DELAY] {
                let mut times = Vec::new();
                let mut spans = String::new();
                for _ in 0..self.runs {
                    let mut s = self.sandbox(n);
                    self.proxy_access_node_side(&mut s, delay);
                    let (t, phases) = self.apply(&s);
                    times.push(t);
                    spans = phase_spans(&phases);
                }
                let m = median(times.clone());
                println!(
                    "  {n} data node(s), {} ms each way: apply median {:.0} ms {:?}",
                    delay.as_millis(),
                    m * 1000.0,
                    times
                        .iter()
                        .map(|t| (t * 1000.0).round())
                        .collect::<Vec<_>>()
                );
                println!("    phases of the last run: {spans}");
                by_delay.push(m);
            }
            let c = by_delay[1] - by_delay[0];
            println!("  latency cost on {n}: {:.0} ms", c * 1000.0);
            cost.insert(n, c);
        }
        figure("latency cost ratio 8/1", cost[&8] / cost[&1], "x", 2.0);
    }

    /// `check`'s times against the psql loop's on the same sandbox.
    fn check_against_loop(&self, s: &Sandbox, checks: Vec<f64>, after_apply: bool) {
        let loops: Vec<f64> = (0..self.runs)
            .map(|_| self.psql_loop(s, after_apply))
            .collect();
        let (c, l) = (median(checks), median(loops));
        let when = if after_apply {
            "after apply"
        } else {
            "before apply"
        };
        println!(
            "  {when}: tsmn check median {:.0} ms, psql loop median {:.0} ms",
            c * 1000.0,
            l * 1000.0
        );
        figure(&format!("check / psql loop, {when}"), c / l, "x", 0.10);
    }

    fn remote(&self) {
        println!(
            "== remote nodes: tsmn's connections through the proxy, 16 data nodes, {} ms each way",
            DELAY.as_millis()
        );
        let runs = self.runs;
        // Before apply.
        let mut s = self.sandbox(16);
        self.proxy_tsmn_side(&mut s, DELAY);
        let checks: Vec<f64> = (0..runs.max(5)).map(|_| self.check(&s)).collect();
        for p in s.proxies.values() {
            p.reset();
        }
        self.check(&s);
        let check_turns = turns_by_node(&s, &[]);
        self.check_against_loop(&s, checks, false);
        drop(s);
        let (s, phases) = self.remote_apply();
        let apply_turns = turns_by_node(&s, &phases);
        for p in s.proxies.values() {
            p.reset();
        }
        // After apply: the cluster runs, so check also pings as each role.
        let checks: Vec<f64> = (0..runs.max(5)).map(|_| self.check(&s)).collect();
        self.check_against_loop(&s, checks, true);
        println!(
            "  round trips per node (turns of each conversation, all of the node's connections):"
        );
        print_turns("check (before apply)", &check_turns);
        print_turns("apply", &apply_turns);
    }

    /// Apply on 16 data nodes with and without the delay, on fresh
    /// sandboxes: the time the delay adds. The last delayed sandbox is
    /// returned, applied, with its phases.
    fn remote_apply(&self) -> (Sandbox, Vec<(Instant, String)>) {
        let runs = self.runs;
        // Apply with and without the delay, on fresh sandboxes.
        let mut with = Vec::new();
        let mut without = Vec::new();
        let mut last = None;
        for run in 0..runs {
            // Which goes first alternates: the second apply of a pair runs
            // on a machine still busy with the first's sandbox.
            let order = if run % 2 == 0 {
                [Duration::ZERO, DELAY]
            } else {
                [DELAY, Duration::ZERO]
            };
            for delay in order {
                let mut s = self.sandbox(16);
                self.proxy_tsmn_side(&mut s, delay);
                let (t, phases) = self.apply(&s);
                if delay.is_zero() {
                    without.push(t);
                    println!("    without the delay: {}", phase_spans(&phases));
                } else {
                    with.push(t);
                    println!("    with the delay:    {}", phase_spans(&phases));
                    last = Some((s, phases));
                }
            }
        }
        let (w, wo) = (median(with.clone()), median(without.clone()));
        println!(
            "  apply median with the delay {:.0} ms {:?}, without {:.0} ms {:?}",
            w * 1000.0,
            ms(&with),
            wo * 1000.0,
            ms(&without)
        );
        figure("apply: time added by the delay", w - wo, "s", 1.5);
        last.unwrap()
    }
}

/// "probe 120 ms, settings 30 ms, ...": how long each phase took.
fn phase_spans(phases: &[(Instant, String)]) -> String {
    phases
        .windows(2)
        .map(|w| format!("{} {} ms", w[0].1, (w[1].0 - w[0].0).as_millis()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cluster phase without its restart gate: from the first step after
/// the gate to the verification.
fn cluster_phase(phases: &[(Instant, String)]) -> f64 {
    let at = |p: &str| phases.iter().find(|(_, n)| n == p).map(|(t, _)| *t);
    match (at("cluster"), at("verify")) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => f64::NAN,
    }
}

/// The PostgreSQL programs' directory (pg_config, else the newest installed).
fn pg_bin() -> PathBuf {
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output() {
        let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if p.join("pg_ctl").exists() {
            return p;
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop().expect("no PostgreSQL installed")
}

/// This process's user id (the owner of /proc/self), without libc.
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
}

fn ms(v: &[f64]) -> Vec<f64> {
    v.iter().map(|t| (t * 1000.0).round()).collect()
}

/// Per node: connections, and turns per phase (phase = what apply was
/// doing when the turn began; `phases` empty: all under "check").
type Turns = BTreeMap<String, (usize, BTreeMap<String, usize>)>;

fn turns_by_node(s: &Sandbox, phases: &[(Instant, String)]) -> Turns {
    let mut out = Turns::new();
    for (name, p) in &s.proxies {
        let mut per = BTreeMap::new();
        for t in p.turns() {
            let phase = phases
                .iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .map_or("check", |(_, ph)| ph.as_str());
            *per.entry(phase.to_string()).or_insert(0) += 1;
        }
        out.insert(name.clone(), (p.connections(), per));
    }
    out
}

fn print_turns(what: &str, t: &Turns) {
    println!("  {what}:");
    let an = t.get("an");
    let dn1 = t.get("dn1");
    for (name, v) in [("an", an), ("dn1", dn1)] {
        if let Some((conns, per)) = v {
            let phases: Vec<String> = per.iter().map(|(p, n)| format!("{p} {n}")).collect();
            println!(
                "    {name}: {conns} connection(s); round trips: {}",
                phases.join(", ")
            );
        }
    }
    let dn_totals: Vec<usize> = t
        .iter()
        .filter(|(n, _)| n.as_str() != "an")
        .map(|(_, (_, per))| per.values().sum())
        .collect();
    if let (Some(min), Some(max)) = (dn_totals.iter().min(), dn_totals.iter().max()) {
        println!("    each data node: {min}-{max} round trips in all");
    }
}

/// The queries tsmn runs on each node (src/probe/queries.rs), for psql.
const NODE_SQL: &str = "\
SELECT current_setting('server_version_num')::int4, current_setting('server_version'), current_user::text,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
       coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false);
SELECT name, setting, source, pending_restart FROM pg_settings
 WHERE name = ANY('{shared_preload_libraries,max_prepared_transactions,max_connections,ssl,ssl_ca_file,ssl_cert_file,ssl_key_file,password_encryption,listen_addresses,wal_level,port,jit,enable_partitionwise_aggregate,data_directory,hba_file,config_file}') OR pending_restart;
SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error FROM pg_hba_file_rules ORDER BY line_number;
SELECT pg_read_file(current_setting('hba_file'));
SELECT f FROM pg_ls_dir((SELECT setting FROM pg_config WHERE name = 'SHAREDIR') || '/extension') AS f
 WHERE f LIKE 'timescaledb--%.sql' OR f IN ('timescaledb.control', 'dblink.control');
SELECT datname, pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname IN ('tsdb', 'template1');
SELECT w.name, p.rolname IS NOT NULL, coalesce(p.rolcanlogin, false) FROM unnest('{postgres}'::text[]) WITH ORDINALITY AS w(name, i) LEFT JOIN pg_roles p ON p.rolname = w.name ORDER BY w.i;
";

/// In the cluster database, once it exists: the extension's catalog.
const DB_SQL: &str = "\
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb';
SELECT key, value FROM _timescaledb_catalog.metadata WHERE key IN ('uuid', 'dist_uuid');
SELECT node_name FROM timescaledb_information.data_nodes;
SELECT hypertable_schema, hypertable_name, data_nodes FROM timescaledb_information.hypertables WHERE is_distributed;
";
