//! Benchmark: the cost of `tsmn status --watch` (issue 28). For each size
//! (16 and 64 data nodes by default): a sandbox, `tsmn apply` (trust mode),
//! a distributed hypertable with 100 chunks per data node; then the
//! library's watcher, as `--watch` runs it: the first snapshot (it opens
//! the sessions and reads the slow facts: free space, certificates), then
//! N refreshes over the kept sessions, back to back.
//!
//! Measured per refresh: wall time (target < 300 ms at 64 data nodes), and
//! the server CPU it costs: user + system time of every backend serving
//! tsmn (its own sessions, and the access node's dblink links, seen on the
//! data nodes) from /proc/<pid>/stat before and after the N refreshes,
//! per node per refresh (target < 5 ms; the busiest node is the figure).
//! /proc's clock ticks are 10 ms, so N is large enough to make that small.
//!
//! Run by `benches/status_watch.sh` (which builds the release binary and
//! turns the FIGURE lines into verdicts): `cargo bench --bench
//! status_watch -- [--data-nodes 16,64] [--refreshes N] [--chunks C]`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tsmn::sandbox::{Cluster, Sandbox};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<usize> = value("--data-nodes")
        .unwrap_or_else(|| "16,64".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let refreshes: usize = value("--refreshes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let chunks: usize = value("--chunks")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let bin = std::env::var_os("TSMN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/tsmn"),
        PathBuf::from,
    );
    if !bin.exists() {
        eprintln!(
            "{} is missing: run `cargo build --release` first (benches/status_watch.sh does), or set TSMN_BIN",
            bin.display()
        );
        std::process::exit(2);
    }
    let pg = tsmn::sandbox::PgBin::find(None).expect("PostgreSQL server binaries");
    if !pg.has_extension("timescaledb") {
        println!("SKIPPED status_watch: TimescaleDB is not installed for PostgreSQL");
        return;
    }
    for n in sizes {
        one_size(&bin, n, chunks, refreshes);
    }
}

fn one_size(bin: &Path, n: usize, chunks: usize, refreshes: usize) {
    let dir = tempfile::Builder::new()
        .prefix("tsmn-bench-status-")
        .tempdir()
        .expect("temp dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let t = Instant::now();
    let sb = Sandbox::up(&dir.path().join("sb"), n, None, &|_: &str| {}).expect("sandbox up");
    println!(
        "{n} data nodes: sandbox up in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let guard = Down(Some(sb));
    let sb = guard.0.as_ref().expect("sandbox");
    let plan_path = dir.path().join("sb/plan.toml");
    let t = Instant::now();
    let out = Command::new(bin)
        .args(["apply", "--yes", "--quiet", "--plan"])
        .arg(&plan_path)
        .output()
        .expect("tsmn apply");
    assert!(
        out.status.success(),
        "tsmn apply: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "{n} data nodes: applied in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let per_node = hypertable(sb.access_node(), n, chunks);
    println!(
        "{n} data nodes: {} chunks made in {:.1} s (per data node: {} to {})",
        per_node.iter().sum::<i64>(),
        t.elapsed().as_secs_f64(),
        per_node.iter().min().unwrap_or(&0),
        per_node.iter().max().unwrap_or(&0)
    );
    measure(sb, &plan_path, n, refreshes);
}

/// `m`, distributed over every data node (one space partition each), one
/// chunk per data node for each of `chunks` hours. Returns the chunks per
/// data node, from the access node's catalog.
fn hypertable(an: &Cluster, n: usize, chunks: usize) -> Vec<i64> {
    sql(
        an,
        &format!(
            "CREATE TABLE m (time timestamptz NOT NULL, device int, v float8); \
             SELECT create_distributed_hypertable('m', 'time', 'device', number_partitions => {n}, \
               chunk_time_interval => interval '1 hour')"
        ),
    );
    // Eight devices per partition: every partition gets rows.
    for from in (0..chunks).step_by(10) {
        let to = (from + 10).min(chunks) - 1;
        sql(
            an,
            &format!(
                "INSERT INTO m SELECT '2024-01-01'::timestamptz + h * interval '1 hour', d, 1 \
                 FROM generate_series({from}, {to}) h, generate_series(1, {}) d",
                8 * n
            ),
        );
    }
    sql(
        an,
        "SELECT count(*) FROM timescaledb_information.chunks, unnest(data_nodes) dn \
         WHERE hypertable_name = 'm' GROUP BY dn",
    )
    .iter()
    .filter_map(|v| v.parse().ok())
    .collect()
}

fn measure(sb: &Sandbox, plan_path: &Path, n: usize, refreshes: usize) {
    let plan = tsmn::plan::system::load_plan(plan_path).expect("plan");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // As `tsmn status --watch` runs it: a refresh waits a second for its
    // nodes (one still asked would fail all_up below).
    let mut w = tsmn::status::collect::Watcher::new(plan, Duration::from_secs(10))
        .expect("watcher")
        .watching(Duration::from_secs(1));
    let t = Instant::now();
    let first = rt.block_on(w.snapshot());
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        tsmn::status::all_up(&first),
        "not every node and link is up: {first:#?}"
    );
    let nodes: Vec<&Cluster> = std::iter::once(sb.access_node())
        .chain(sb.data_nodes())
        .collect();
    let pids: Vec<Vec<i32>> = nodes.iter().map(|c| backends(c)).collect();
    let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(p)).collect();
    let mut walls = Vec::new();
    for _ in 0..refreshes {
        let t = Instant::now();
        let s = rt.block_on(w.snapshot());
        walls.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(tsmn::status::all_up(&s), "a refresh lost a node: {s:#?}");
    }
    let after: Vec<u64> = pids.iter().map(|p| cpu_ticks(p)).collect();
    let kept: Vec<Vec<i32>> = nodes.iter().map(|c| backends(c)).collect();
    assert_eq!(pids, kept, "the refreshes opened new sessions");
    // Clock ticks (USER_HZ, 100 on Linux) to milliseconds.
    let ms_per_tick = 1000.0 / 100.0;
    #[allow(clippy::cast_precision_loss)]
    let per_refresh: Vec<f64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| (a - b) as f64 * ms_per_tick / refreshes as f64)
        .collect();
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let worst = walls[walls.len() - 1];
    let an_cpu = per_refresh[0];
    #[allow(clippy::cast_precision_loss)]
    let dn_mean = per_refresh[1..].iter().sum::<f64>() / n as f64;
    let dn_max = per_refresh[1..].iter().copied().fold(0.0, f64::max);
    let sessions: Vec<usize> = pids.iter().map(Vec::len).collect();
    println!(
        "{n} data nodes: first snapshot {first_ms:.0} ms; {refreshes} refreshes: median {median:.1} ms, slowest {worst:.1} ms; \
         backends serving tsmn: {} on the access node, {} on each data node",
        sessions[0],
        sessions[1..].iter().max().unwrap_or(&0)
    );
    println!(
        "{n} data nodes: server CPU per refresh: access node {an_cpu:.2} ms, data nodes {dn_mean:.2} ms on average, {dn_max:.2} ms the most"
    );
    println!("FIGURE\t{n} data nodes: refresh wall time (median)\t{median:.1}\tms\t300");
    println!("FIGURE\t{n} data nodes: server CPU per refresh, the busiest node (access node)\t{an_cpu:.2}\tms\t5");
    println!(
        "FIGURE\t{n} data nodes: server CPU per refresh, a data node at most\t{dn_max:.2}\tms\t5"
    );
}

/// The pids of the backends that serve tsmn on `c`: its own sessions
/// (`tsmn`) and the links tsmn keeps open from the access node (`tsmn-check`).
fn backends(c: &Cluster) -> Vec<i32> {
    let mut pids: Vec<i32> = sql(
        c,
        "SELECT pid FROM pg_stat_activity WHERE application_name IN ('tsmn', 'tsmn-check') \
         AND pid <> pg_backend_pid() ORDER BY pid",
    )
    .iter()
    .filter_map(|v| v.parse().ok())
    .collect();
    pids.sort_unstable();
    pids
}

/// utime + stime of these processes, in clock ticks (/proc/<pid>/stat
/// fields 14 and 15).
fn cpu_ticks(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the name: state is field 3, so utime (14) is f[11].
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// Run SQL on `c`'s tsdb (postgres for the pids) over its socket; each
/// row's first column.
fn sql(c: &Cluster, sql: &str) -> Vec<String> {
    let db = if sql.contains("pg_stat_activity") {
        "postgres"
    } else {
        "tsdb"
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, conn) = c
            .pg_config(db)
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let msgs = client
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        msgs.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some(r.get(0).unwrap_or("").to_string())
                }
                _ => None,
            })
            .collect()
    })
}

/// The sandbox goes when the benchmark ends, also when it panics.
struct Down(Option<Sandbox>);

impl Drop for Down {
    fn drop(&mut self) {
        if let Some(sb) = self.0.take() {
            let _ = sb.down(&|_: &str| {});
        }
    }
}
