//! The links between data nodes that the engine's chunk copy uses, in
//! password and certificate mode, on real servers (TimescaleDB tier, root).
//!
//! In the sandbox every server shares one host and one OS user, so a data
//! node could use the access node's passfile or client certificate by
//! accident. Here the data nodes run in mount namespaces of their own
//! where the access node's data directory is an empty directory, as on a
//! host of their own: the link from one data node to another (as the
//! engine's subscription makes it) fails until tsmn puts the files at the
//! access node's paths, and then a drain moves every only copy (of two
//! hypertables) with every row and checksum kept and nothing of the copy
//! left; a replication repair copies over the same links.
mod support;
use support::moves::{assert_nothing_left, events};

/// Rows and checksums of both tables the moves carry.
fn fingerprint(an: &TestCluster) -> Vec<String> {
    support::moves::fingerprint(an, &["metrics", "events"])
}
use support::*;
use tsmn::plan::AuthMode;

const PW: &str = "links-pw 7";

struct Links {
    an: TestCluster,
    dn1: TestCluster,
    dn2: TestCluster,
    _work: tempfile::TempDir,
    /// Each data node's empty stand-in for the access node's data directory.
    _hidden: Vec<tempfile::TempDir>,
    path: std::path::PathBuf,
    plan: tsmn::plan::Plan,
}

/// Whether this test runs here: the data nodes apart from the access
/// node's files need mount namespaces (root) and TimescaleDB; else it
/// says SKIPPED and why.
fn runs_here(test: &str) -> bool {
    if tsmn::os::euid() != 0 {
        skipped(test, "needs root (mount namespaces for the data nodes)");
        return false;
    }
    timescaledb_tier(test)
}

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("TSMN_ROLE_PW_POSTGRES", PW)]
}

/// A cluster in `mode` with rows, dn2 holding only copies; then the data
/// nodes run with the drain's settings in namespaces that hide the access
/// node's data directory.
fn set_up(mode: AuthMode) -> Links {
    set_up_with(mode, true)
}

fn set_up_with(mode: AuthMode, rows: bool) -> Links {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], mode);
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    if rows {
        metrics(&an, "2026-01-01", "2026-01-12");
        events(&an, "2026-02-06");
    }
    let mut hidden = Vec::new();
    for dn in [&dn1, &dn2] {
        // The drain's settings now, so that tsmn has nothing to restart
        // (its restart would start the server outside the namespace).
        for (name, value) in [
            ("wal_level", "logical"),
            ("max_replication_slots", "10"),
            ("max_wal_senders", "10"),
            ("max_logical_replication_workers", "4"),
            ("max_worker_processes", "16"),
        ] {
            dn.sql("postgres", &format!("ALTER SYSTEM SET {name} = {value}"));
        }
        hidden.push(start_apart(dn, &an));
    }
    Links {
        an,
        dn1,
        dn2,
        _work: work,
        _hidden: hidden,
        path,
        plan,
    }
}

/// Restart `dn` in a mount namespace of its own where `an`'s data
/// directory is an empty directory of the server's OS user.
fn start_apart(dn: &TestCluster, an: &TestCluster) -> tempfile::TempDir {
    dn.cluster.stop(true).expect("stop");
    let empty = temp_dir();
    let start = format!(
        "mount --bind {empty} {seen} && exec runuser -u postgres -- {pg_ctl} -D {data} -l {log} -w -t 60 start",
        empty = empty.path().display(),
        seen = an.cluster.data_dir().display(),
        pg_ctl = pg_bin().bindir.join("pg_ctl").display(),
        data = dn.cluster.data_dir().display(),
        log = dn.cluster.log_file().display(),
    );
    let st = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &start])
        .output()
        .expect("unshare");
    assert!(
        st.status.success(),
        "{}: {}",
        dn.cluster.name,
        String::from_utf8_lossy(&st.stderr)
    );
    empty
}

/// The connection string the engine gives the destination for `to`
/// (remote_connection_get_connstr: host, port, dbname, user, passfile,
/// and with the access node's ssl on, sslmode, sslrootcert, sslcert, sslkey).
fn engine_connstr(l: &Links, to: &TestCluster) -> String {
    let an_data = l.an.cluster.data_dir().display().to_string();
    let mut s = format!(
        "host=127.0.0.1 port={} dbname=tsdb user=postgres passfile={an_data}/passfile",
        to.cluster.port
    );
    if l.plan.auth.mode == AuthMode::Certificate {
        let stem = tsmn::timescale::cert_file_stem("postgres");
        s.push_str(&format!(
            " sslmode=require sslrootcert=root.crt sslcert={an_data}/timescaledb/certs/{stem}.crt sslkey={an_data}/timescaledb/certs/{stem}.key"
        ));
    }
    s
}

/// From `from`'s server (its namespace, OS user and data directory, as the
/// subscription's worker): a replication connection to `to` as the engine
/// makes it. Its output and exit code.
fn link(l: &Links, from: &TestCluster, to: &TestCluster) -> String {
    let psql = pg_bin().bindir.join("psql").display().to_string();
    let cmd = format!(
        "{psql} \"{} replication=database\" -c IDENTIFY_SYSTEM 2>&1; echo rc=$?",
        engine_connstr(l, to)
    );
    from.sql(
        "postgres",
        &format!(
            "CREATE TEMP TABLE o (l text); COPY o FROM PROGRAM '{}'; SELECT string_agg(l, ' ') FROM o",
            cmd.replace('\'', "''")
        ),
    )
    .join("")
}

fn only_on_dn2(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT chunk_name FROM timescaledb_information.chunks WHERE data_nodes = '{dn2}' ORDER BY 1",
    )
}

fn drain(mode: AuthMode, test: &str) {
    if !runs_here(test) {
        return;
    }
    let started = std::time::Instant::now();
    let l = set_up(mode);
    let moving = only_on_dn2(&l.an);
    assert!(moving.len() >= 2, "dn2 holds only copies: {moving:?}");
    assert_eq!(
        l.an.sql(
            "tsdb",
            "SELECT count(DISTINCT hypertable_name) FROM timescaledb_information.chunks WHERE data_nodes = '{dn2}'"
        ),
        ["2"],
        "only copies of both hypertables"
    );
    let before = fingerprint(&l.an);

    // Without tsmn's set-up the engine's link fails: dn1 does not see the
    // access node's files.
    let without = link(&l, &l.dn1, &l.dn2);
    assert!(without.contains("rc=2"), "{without}");
    // The access node's own link works, and its files are where it says.
    let an_pass = l.an.cluster.data_dir().join("passfile");
    let an_file_before = std::fs::read(&an_pass).ok();

    // The plan without dn2, and links turned off: the moves are refused.
    let mut one = l.plan.clone();
    one.data_nodes.retain(|d| d.name == "dn1");
    one.auth.data_node_links = Some(false);
    let dir = l.path.parent().expect("plan dir");
    let path = write_plan(dir, &one);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &env());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("data_node_links = false"), "{text}");
    assert_eq!(only_on_dn2(&l.an), moving, "nothing moved");

    // The links alone (both data nodes stay): each data node now reaches
    // the other as the engine's subscription would.
    let mut both = l.plan.clone();
    both.auth.data_node_links = Some(true);
    let both_path = write_plan(dir, &both);
    let (code, text) = apply_file(&both_path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn1/auth/link-") && text.contains(": done"),
        "{text}"
    );
    for (from, to) in [(&l.dn1, &l.dn2), (&l.dn2, &l.dn1)] {
        let with = link(&l, from, to);
        assert!(
            with.contains("rc=0"),
            "{} -> {}: {with}",
            from.cluster.name,
            to.cluster.name
        );
    }

    // The drain, links by default.
    one.auth.data_node_links = None;
    let path = write_plan(dir, &one);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &env());
    assert_eq!(code, Some(0), "{text}");
    for c in &moving {
        assert!(
            text.contains(&format!("{c} on dn1 now")),
            "{c} moved: {text}"
        );
    }
    assert_eq!(fingerprint(&l.an), before, "every row, same checksum");
    assert_eq!(
        l.an.sql(
            "tsdb",
            "SELECT string_agg(node_name, ',') FROM timescaledb_information.data_nodes"
        ),
        ["dn1"]
    );
    assert_nothing_left(&[&l.an, &l.dn1, &l.dn2]);
    // The access node's own passfile is its own (tsmn wrote dn1's copy
    // inside dn1's namespace, not over it).
    if mode == AuthMode::Password {
        let after = std::fs::read_to_string(&an_pass).expect("the access node's passfile");
        assert!(
            !after.contains("this data node's passwords"),
            "the access node's passfile was replaced: {after}"
        );
        assert!(an_file_before.is_some());
        // dn1's copy: only postgres's line for dn2, mode 0600.
        let seen = l.dn1.sql(
            "postgres",
            &format!("SELECT pg_read_file('{}')", an_pass.display()),
        );
        let seen = seen.join("");
        assert!(
            seen.contains(&format!("127.0.0.1:{}:*:postgres:", l.dn2.cluster.port)),
            "{seen}"
        );
        assert!(
            !seen.contains(&format!(":{}:", l.dn1.cluster.port)),
            "{seen}"
        );
    }
    eprintln!(
        "{test}: {} chunk(s) drained, in {:?}",
        moving.len(),
        started.elapsed()
    );
}

#[test]
fn a_drain_in_password_mode_sets_up_the_passfile_between_data_nodes() {
    drain(
        AuthMode::Password,
        "a_drain_in_password_mode_sets_up_the_passfile_between_data_nodes",
    );
}

#[test]
fn a_drain_in_certificate_mode_sets_up_the_client_certificate_between_data_nodes() {
    drain(
        AuthMode::Certificate,
        "a_drain_in_certificate_mode_sets_up_the_client_certificate_between_data_nodes",
    );
}

/// Probe as `tsmn check` does, with the links between data nodes.
fn check_links(plan: &tsmn::plan::Plan) -> Vec<tsmn::findings::Finding> {
    let (mut facts, _) = check(plan, std::time::Duration::from_secs(5));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let passwords = tsmn::probe::credentials::PasswordSource::from_plan(plan);
    let opts = tsmn::probe::ProbeOptions::with_connect_timeout(std::time::Duration::from_secs(5));
    rt.block_on(tsmn::probe::peers::probe(
        plan, &passwords, opts, &mut facts,
    ));
    tsmn::findings::findings(plan, &facts)
}

/// check reports each data node's failing link to the other (tested from
/// inside it, with the access node's options), in its JSON too; the fix it
/// carries, executed as written, clears it.
#[test]
fn check_reports_a_link_between_data_nodes_that_fails_and_its_fix_clears_it() {
    let test = "check_reports_a_link_between_data_nodes_that_fails_and_its_fix_clears_it";
    if !runs_here(test) {
        return;
    }
    let l = set_up(AuthMode::Password);
    let found = check_links(&l.plan);
    let f = finding(&found, "dn1", "data_node_link_fails");
    assert!(
        f.what.contains("dn2") && f.what.contains("no password supplied"),
        "{f:#?}"
    );
    assert!(f.fix.contains("tsmn apply --data-node-links"), "{}", f.fix);
    assert!(
        has_finding(&found, "dn2", "data_node_link_fails"),
        "{found:#?}"
    );
    // The command's JSON carries it.
    let out = tsmn()
        .args(["check", "--json", "--plan"])
        .arg(&l.path)
        .output()
        .expect("tsmn check");
    let json = String::from_utf8_lossy(&out.stdout);
    assert!(json.contains("\"data_node_link_fails\""), "{json}");

    // status tests the same links the same way (the access node's options
    // as each data node sees them), and agrees.
    assert_eq!(status_link(&l, "dn1", "dn2"), Some(false));

    let nodes = fixes::Nodes::new(
        vec![("an", &l.an), ("dn1", &l.dn1), ("dn2", &l.dn2)],
        &l.path,
    )
    .applying(env(), vec![]);
    fixes::execute(f, &nodes);
    let after = check_links(&l.plan);
    assert!(
        !after.iter().any(|f| f.code == "data_node_link_fails"),
        "{after:#?}"
    );
    assert_eq!(status_link(&l, "dn1", "dn2"), Some(true));
    assert_eq!(status_link(&l, "dn2", "dn1"), Some(true));
}

/// `tsmn status --links all --json`: whether the link `from` -> `to` is up.
fn status_link(l: &Links, from: &str, to: &str) -> Option<bool> {
    let out = tsmn()
        .args(["status", "--links", "all", "--json", "--plan"])
        .arg(&l.path)
        .envs(env())
        .output()
        .expect("tsmn status");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|k| k["from"] == from && k["to"] == to)
        .and_then(|k| k["up"].as_bool())
}

/// All on one host (the sandbox): each data node sees the access node's
/// own files at its paths, so the link files are not written over them;
/// the drain still moves everything.
#[test]
fn on_one_host_the_access_nodes_own_passfile_is_left_as_it_is() {
    let test = "on_one_host_the_access_nodes_own_passfile_is_left_as_it_is";
    if !timescaledb_tier(test) {
        return;
    }
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dn1.cluster, &dn2.cluster],
        AuthMode::Password,
    );
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-06");
    events(&an, "2026-02-06");
    let before = fingerprint(&an);
    let an_pass = an.cluster.data_dir().join("passfile");
    let own = read(&an_pass);
    let mut one = plan.clone();
    one.data_nodes.retain(|d| d.name == "dn1");
    one.auth.data_node_links = Some(true);
    let path = write_plan(work.path(), &one);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn1/auth/link-passfile: already done")
            && text.contains("shares the access node's host and files"),
        "{text}"
    );
    assert_eq!(fingerprint(&an), before);
    let after = read(&an_pass);
    assert!(!after.contains("this data node's passwords"), "{after}");
    // The removal took dn2's lines out, and nothing else changed.
    let kept: Vec<&str> = own
        .lines()
        .filter(|l| !l.contains(&format!(":{}:", dn2.cluster.port)))
        .collect();
    assert_eq!(after.lines().collect::<Vec<_>>(), kept);
}

/// The exported setup.sh with the links (data_node_links = true), run on
/// one host: each data node's step sees the access node's own passfile
/// there and leaves it as it is; shellcheck-clean.
#[test]
fn export_with_links_leaves_the_access_nodes_own_passfile_on_one_host() {
    let test = "export_with_links_leaves_the_access_nodes_own_passfile_on_one_host";
    if !timescaledb_tier(test) {
        return;
    }
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let mut plan = plan_for(
        &an.cluster,
        &[&dn1.cluster, &dn2.cluster],
        AuthMode::Password,
    );
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    let an_pass = an.cluster.data_dir().join("passfile");
    let own = read(&an_pass);
    plan.auth.data_node_links = Some(true);
    let path = write_plan(work.path(), &plan);
    let out = work.path().join("export");
    let exp = tsmn()
        .args(["export", "--plan"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .env("TSMN_ROLE_PW_POSTGRES", PW)
        .output()
        .expect("tsmn export");
    assert_success(&exp);
    let script = read(&out.join("setup.sh"));
    assert!(script.contains("if sees_server dn1 "), "{script}");
    let sc = std::process::Command::new("shellcheck")
        .arg(out.join("setup.sh"))
        .output()
        .expect("shellcheck");
    assert!(
        sc.status.success(),
        "{}",
        String::from_utf8_lossy(&sc.stdout)
    );
    let run = std::process::Command::new("sh")
        .arg(out.join("setup.sh"))
        .env("TSMN_PHASES", "auth")
        .env("TSMN_ROLE_PW_POSTGRES", PW)
        .env_remove("PGPASSWORD")
        .output()
        .expect("setup.sh");
    let said =
        String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{said}");
    assert!(
        said.contains("dn1 shares the access node's host and files"),
        "{said}"
    );
    assert_eq!(read(&an_pass), own, "the access node's passfile is its own");
}

/// The links are a run's files like any other: tsmn undo takes them back
/// (the link fails again), nothing else of the cluster changes.
#[test]
fn undo_takes_the_links_between_data_nodes_back() {
    let test = "undo_takes_the_links_between_data_nodes_back";
    if !runs_here(test) {
        return;
    }
    // No distributed hypertable: undo may run.
    let l = set_up_with(AuthMode::Password, false);
    assert!(link(&l, &l.dn1, &l.dn2).contains("rc=2"));
    let mut both = l.plan.clone();
    both.auth.data_node_links = Some(true);
    let path = write_plan(l.path.parent().expect("plan dir"), &both);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(link(&l, &l.dn1, &l.dn2).contains("rc=0"));
    let (code, text) = run_yes("undo", &path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("removed "), "{text}");
    let again = link(&l, &l.dn1, &l.dn2);
    assert!(again.contains("rc=2"), "{again}");
    assert!(
        l.an.sql(
            "tsdb",
            "SELECT count(*) FROM timescaledb_information.data_nodes"
        ) == ["2"],
        "the cluster stays"
    );
}

/// Replication repair copies over the same links: in password and in
/// certificate mode, with the data nodes apart from the access node's
/// files, a raised factor is met by `--repair-replication` (the links set
/// up by default for it), every chunk's two copies equal, rows unchanged,
/// nothing left.
#[test]
fn a_replication_repair_in_password_mode_copies_over_the_links() {
    repair(
        AuthMode::Password,
        "a_replication_repair_in_password_mode_copies_over_the_links",
    );
}

#[test]
fn a_replication_repair_in_certificate_mode_copies_over_the_links() {
    repair(
        AuthMode::Certificate,
        "a_replication_repair_in_certificate_mode_copies_over_the_links",
    );
}

fn repair(mode: AuthMode, test: &str) {
    if !runs_here(test) {
        return;
    }
    let l = set_up(mode);
    assert!(link(&l, &l.dn1, &l.dn2).contains("rc=2"), "no link yet");
    l.an.sql("tsdb", "SELECT set_replication_factor('metrics', 2)");
    let short = "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND cardinality(data_nodes) < 2";
    assert_ne!(l.an.sql("tsdb", short), ["0"]);
    let before = fingerprint(&l.an);
    let (code, text) = apply_file(&l.path, &["--repair-replication"], &env());
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(l.an.sql("tsdb", short), ["0"], "{text}");
    assert_eq!(fingerprint(&l.an), before);
    for chunk in l.an.sql(
        "tsdb",
        "SELECT format('%I.%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' ORDER BY 1",
    ) {
        let sum = format!("SELECT count(*) || ':' || coalesce(sum(hashtextextended(c::text, 0)), 0) FROM {chunk} c");
        assert_eq!(l.dn1.sql("tsdb", &sum), l.dn2.sql("tsdb", &sum), "{chunk}");
    }
    assert!(link(&l, &l.dn1, &l.dn2).contains("rc=0"));
    assert_nothing_left(&[&l.an, &l.dn1, &l.dn2]);
}

/// A grown cluster apart: an, dn1 and dn2 applied in `mode` with two
/// months of `metrics` (chunks on dn1 and dn2), dn3 added by apply; then
/// every data node runs apart from the access node's files with the
/// moves' settings. The links and the new data node.
fn grown_apart(mode: AuthMode) -> (Links, TestCluster) {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let dn3 = TestCluster::named("dn3");
    let work = temp_dir();
    let two = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], mode);
    let (code, text) = apply_file(&write_plan(work.path(), &two), &[], &env());
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-03-01");
    let plan = plan_for(
        &an.cluster,
        &[&dn1.cluster, &dn2.cluster, &dn3.cluster],
        mode,
    );
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "grow: {text}");
    let mut hidden = Vec::new();
    for dn in [&dn1, &dn2, &dn3] {
        for (name, value) in [
            ("wal_level", "logical"),
            ("max_replication_slots", "10"),
            ("max_wal_senders", "10"),
            ("max_logical_replication_workers", "4"),
            ("max_worker_processes", "16"),
        ] {
            dn.sql("postgres", &format!("ALTER SYSTEM SET {name} = {value}"));
        }
        hidden.push(start_apart(dn, &an));
    }
    let l = Links {
        an,
        dn1,
        dn2,
        _work: work,
        _hidden: hidden,
        path,
        plan,
    };
    (l, dn3)
}

fn chunks_per_node(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT n || '=' || count(*) FROM timescaledb_information.chunks, unnest(data_nodes) n \
         WHERE hypertable_name = 'metrics' GROUP BY n ORDER BY n",
    )
}

/// `tsmn rebalance` sets up the links its moves use itself (no apply
/// --data-node-links before): refused before anything changes when the
/// plan turns them off; else the files and rules go first, each link is
/// proven, and every move is done with rows and checksums kept and
/// nothing of the engine's copy left.
fn rebalance_sets_up_links(mode: AuthMode, test: &str) {
    if !runs_here(test) {
        return;
    }
    let started = std::time::Instant::now();
    let (l, dn3) = grown_apart(mode);
    let placed = chunks_per_node(&l.an);
    assert!(!placed.iter().any(|c| c.starts_with("dn3")), "{placed:?}");
    let before = support::moves::fingerprint(&l.an, &["metrics"]);
    for from in [&l.dn1, &l.dn2] {
        assert!(link(&l, &dn3, from).contains("rc=2"), "no link yet");
    }
    let dir = l.path.parent().expect("plan dir");

    // Turned off: refused before anything changes (not even a setting).
    let mut off = l.plan.clone();
    off.auth.data_node_links = Some(false);
    let off_path = write_plan(dir, &off);
    let (code, text) = run_yes("rebalance", &off_path, &[], &env());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("data_node_links = false"), "{text}");
    assert_eq!(chunks_per_node(&l.an), placed);
    assert_eq!(
        dn3.sql("postgres", "SHOW wal_retrieve_retry_interval"),
        ["5s"],
        "no setting changed"
    );
    assert!(link(&l, &dn3, &l.dn1).contains("rc=2"), "no file written");

    // --check says what the run writes for the links.
    let path = write_plan(dir, &l.plan);
    let out = tsmn()
        .args(["rebalance", "--check", "--plan"])
        .arg(&path)
        .envs(env())
        .output()
        .expect("tsmn rebalance --check");
    assert_success(&out);
    let shown = String::from_utf8_lossy(&out.stdout);
    let an_data = l.an.cluster.data_dir().display().to_string();
    // The files to write; the rules are in place (one address for all here:
    // tests/links_netns.rs writes them).
    assert!(
        shown.contains(&format!("dn3: writes {an_data}/"))
            && shown.contains("(2 more already in place)"),
        "{shown}"
    );
    assert!(shown.contains("dn3 logs in to dn1"), "{shown}");

    let (code, text) = run_yes("rebalance", &path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn3/cluster/link-from-dn1: done"),
        "the link proven before the moves: {text}"
    );
    let moved = text.matches(" now (rows:checksum ").count();
    assert!(moved >= 2, "{text}");
    assert!(chunks_per_node(&l.an).iter().any(|c| c.starts_with("dn3")));
    assert_eq!(
        support::moves::fingerprint(&l.an, &["metrics"]),
        before,
        "every row, same checksum"
    );
    assert_nothing_left(&[&l.an, &l.dn1, &l.dn2, &dn3]);
    assert!(link(&l, &dn3, &l.dn1).contains("rc=0"));
    eprintln!(
        "{test}: {moved} move(s) with the links set up by the rebalance, in {:?}\n{shown}\n{text}",
        started.elapsed()
    );
}

#[test]
fn a_rebalance_in_certificate_mode_sets_up_its_links_itself() {
    rebalance_sets_up_links(
        AuthMode::Certificate,
        "a_rebalance_in_certificate_mode_sets_up_its_links_itself",
    );
}

#[test]
fn a_rebalance_in_password_mode_sets_up_its_links_itself() {
    rebalance_sets_up_links(
        AuthMode::Password,
        "a_rebalance_in_password_mode_sets_up_its_links_itself",
    );
}

/// A link passfile holds the superuser's password: `--rotate-password
/// postgres` writes it again on each data node whose link works, so the
/// links go on working with the new password and a drain then moves every
/// only copy over them.
#[test]
fn a_rotation_of_the_superusers_password_writes_the_link_passfiles_again() {
    let test = "a_rotation_of_the_superusers_password_writes_the_link_passfiles_again";
    if !runs_here(test) {
        return;
    }
    const NEW: &str = "links-pw rotated 8";
    let l = set_up(AuthMode::Password);
    let dir = l.path.parent().expect("plan dir");
    let mut both = l.plan.clone();
    both.auth.data_node_links = Some(true);
    let (code, text) = apply_file(&write_plan(dir, &both), &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(link(&l, &l.dn1, &l.dn2).contains("rc=0"));

    // The plan as it was (links not asked for): the rotation alone.
    let path = write_plan(dir, &l.plan);
    let new_env = [("TSMN_ROLE_PW_POSTGRES", NEW)];
    let (code, text) = apply_file(&path, &["--rotate-password", "postgres"], &new_env);
    assert_eq!(code, Some(0), "{text}");
    for dn in ["dn1", "dn2"] {
        assert!(
            text.contains(&format!("{dn}/auth/link-passfile: done")),
            "{dn}: {text}"
        );
    }
    for (from, to) in [(&l.dn1, &l.dn2), (&l.dn2, &l.dn1)] {
        let with = link(&l, from, to);
        assert!(with.contains("rc=0"), "{}: {with}", from.cluster.name);
    }
    let seen = l.dn1.sql(
        "postgres",
        &format!(
            "SELECT pg_read_file('{}')",
            l.an.cluster.data_dir().join("passfile").display()
        ),
    );
    assert!(seen.join("").contains(NEW) && !seen.join("").contains(PW));

    // A move over the links, with the new password.
    let moving = only_on_dn2(&l.an);
    let before = fingerprint(&l.an);
    let mut one = l.plan.clone();
    one.data_nodes.retain(|d| d.name == "dn1");
    let (code, text) = apply_file(
        &write_plan(dir, &one),
        &["--remove-data-nodes", "--drain"],
        &new_env,
    );
    assert_eq!(code, Some(0), "{text}");
    for c in &moving {
        assert!(text.contains(&format!("{c} on dn1 now")), "{c}: {text}");
    }
    assert_eq!(fingerprint(&l.an), before, "every row, same checksum");
    assert_nothing_left(&[&l.an, &l.dn1, &l.dn2]);
}
