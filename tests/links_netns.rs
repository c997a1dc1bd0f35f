//! The links between data nodes, with an address of their own (TimescaleDB
//! tier, root, iproute2).
//!
//! In the sandbox every server connects from 127.0.0.1, which the access
//! node's own rule already admits, so the pg_hba.conf rules tsmn adds for
//! the links are never needed there. Here each data node runs in a network
//! namespace of its own on a bridge: the access node (and tsmn, the test)
//! comes from the bridge's 10.213.0.1, data node k listens on and connects
//! from 10.213.0.(10+k). A chunk copy's subscription from one data node to
//! another is then refused by the source's pg_hba.conf until tsmn admits
//! the other data nodes: check reports it (data_node_link_fails, naming
//! pg_hba.conf), `tsmn apply --data-node-links` adds the rules and check
//! passes, and a drain then moves every only copy with its rows equal (in
//! password and in certificate mode); and a rebalance after a grow writes
//! the rules its moves need itself, which `tsmn undo` takes back.
//! tsmn itself reaches each server through its Unix socket, which no
//! network namespace hides.
mod support;
use support::moves::{assert_nothing_left, events};

/// Rows and checksums of both tables the moves carry.
fn fingerprint(an: &TestCluster) -> Vec<String> {
    support::moves::fingerprint(an, &["metrics", "events"])
}
use support::*;
use tsmn::plan::AuthMode;

const PW: &str = "netns-pw 9";
const BRIDGE_ADDRESS: &str = "10.213.0.1";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![("TSMN_ROLE_PW_POSTGRES", PW)]
}

/// The bridge and one network namespace per data node, taken down on drop
/// (also when the test fails): names of this test process's own. One
/// at a time in this process: every bridge holds the same subnet.
struct Net {
    bridge: String,
    namespaces: Vec<String>,
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static NETWORK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Net {
    fn ip(args: &[&str]) -> Result<(), String> {
        let out = std::process::Command::new("ip")
            .args(args)
            .output()
            .map_err(|e| format!("ip: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// The bridge with `BRIDGE_ADDRESS`/24, and `n` namespaces, the k-th
    /// (from 1) with 10.213.0.(10+k) on a veth whose other end is on it.
    fn up(n: usize) -> Result<Net, String> {
        let one_at_a_time = NETWORK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = std::process::id();
        // Only what this run made is taken down.
        let mut net = Net {
            bridge: String::new(),
            namespaces: Vec::new(),
            _one_at_a_time: one_at_a_time,
        };
        let bridge = format!("tsmnbr{id}");
        Net::ip(&["link", "add", &bridge, "type", "bridge"])?;
        net.bridge = bridge;
        Net::ip(&[
            "addr",
            "add",
            &format!("{BRIDGE_ADDRESS}/24"),
            "dev",
            &net.bridge,
        ])?;
        Net::ip(&["link", "set", &net.bridge, "up"])?;
        for k in 1..=n {
            let ns = format!("tsmn{id}-{k}");
            Net::ip(&["netns", "add", &ns])?;
            net.namespaces.push(ns.clone());
            let (host, inside) = (format!("tv{id}h{k}"), format!("tv{id}n{k}"));
            Net::ip(&[
                "link", "add", &host, "type", "veth", "peer", "name", &inside,
            ])?;
            Net::ip(&["link", "set", &inside, "netns", &ns])?;
            Net::ip(&["link", "set", &host, "master", &net.bridge, "up"])?;
            let addr = format!("{}/24", Net::address(k));
            Net::ip(&["-n", &ns, "addr", "add", &addr, "dev", &inside])?;
            Net::ip(&["-n", &ns, "link", "set", &inside, "up"])?;
            Net::ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    fn address(k: usize) -> String {
        format!("10.213.0.{}", 10 + k)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // A namespace's end of its veth goes with it, and the other end too.
        for ns in &self.namespaces {
            if let Err(e) = Net::ip(&["netns", "del", ns]) {
                eprintln!("warning: {e}");
            }
        }
        if self.bridge.is_empty() {
            return;
        }
        if let Err(e) = Net::ip(&["link", "del", &self.bridge]) {
            eprintln!("warning: {e}");
        }
    }
}

/// Whether this test runs here: root (network namespaces), `ip`
/// (iproute2) and TimescaleDB; else SKIPPED and why.
fn runs_here(test: &str) -> bool {
    if tsmn::os::euid() != 0 {
        skipped(test, "needs root (network namespaces for the data nodes)");
        return false;
    }
    let ip = std::process::Command::new("ip").arg("-V").output();
    if !ip.is_ok_and(|o| o.status.success()) {
        skipped(test, "needs `ip` (iproute2) for the network namespaces");
        return false;
    }
    timescaledb_tier(test)
}

/// Restart `dn` inside `ns`, listening on `address` only, with what a
/// run would otherwise restart it for already set (a restart by tsmn
/// would start it outside the namespace).
fn start_in(dn: &TestCluster, ns: &str, address: &str) {
    for (name, value) in [
        ("listen_addresses", address),
        ("max_prepared_transactions", "150"),
        ("wal_level", "logical"),
        ("max_replication_slots", "10"),
        ("max_wal_senders", "10"),
        ("max_logical_replication_workers", "4"),
        ("max_worker_processes", "16"),
    ] {
        dn.sql("postgres", &format!("ALTER SYSTEM SET {name} = '{value}'"));
    }
    dn.cluster.stop(true).expect("stop");
    let st = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "runuser", "-u", "postgres", "--"])
        .arg(pg_bin().bindir.join("pg_ctl"))
        .arg("-D")
        .arg(dn.cluster.data_dir())
        .arg("-l")
        .arg(dn.cluster.log_file())
        .args(["-w", "-t", "60", "start"])
        .output()
        .expect("ip netns exec pg_ctl");
    assert!(
        st.status.success(),
        "{} in {ns}: {}{}",
        dn.cluster.name,
        String::from_utf8_lossy(&st.stdout),
        String::from_utf8_lossy(&st.stderr)
    );
}

/// `tsmn check --json`: the findings with `code`, as (node, what).
fn findings(path: &std::path::Path, code: &str) -> Vec<(String, String)> {
    let out = tsmn()
        .args(["check", "--json", "--plan"])
        .arg(path)
        .envs(env())
        .output()
        .expect("tsmn check");
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    let mut found = Vec::new();
    let mut walk = vec![&doc];
    while let Some(v) = walk.pop() {
        match v {
            serde_json::Value::Object(o) => {
                if o.get("code").and_then(|c| c.as_str()) == Some(code) {
                    found.push((
                        o.get("node").and_then(|n| n.as_str()).unwrap_or("?").into(),
                        o.get("what").map(ToString::to_string).unwrap_or_default(),
                    ));
                }
                walk.extend(o.values());
            }
            serde_json::Value::Array(a) => walk.extend(a),
            _ => {}
        }
    }
    found
}

#[test]
fn data_nodes_on_addresses_of_their_own_need_the_links_rules_and_get_them() {
    own_addresses(
        AuthMode::Password,
        "data_nodes_on_addresses_of_their_own_need_the_links_rules_and_get_them",
    );
}

#[test]
fn in_certificate_mode_data_nodes_on_addresses_of_their_own_get_the_links_rules() {
    own_addresses(
        AuthMode::Certificate,
        "in_certificate_mode_data_nodes_on_addresses_of_their_own_get_the_links_rules",
    );
}

/// Check reports the links refused by pg_hba.conf, apply
/// --data-node-links adds the mode's rules, a drain then moves.
fn own_addresses(mode: AuthMode, test: &str) {
    if !runs_here(test) {
        return;
    }
    let started = std::time::Instant::now();
    // First made, last dropped: the servers stop before their namespaces go.
    let net = Net::up(2).unwrap_or_else(|e| panic!("network namespaces: {e}"));
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    for (k, dn) in [(1, &dn1), (2, &dn2)] {
        start_in(dn, &net.namespaces[k - 1], &Net::address(k));
    }
    let work = temp_dir();
    let mut plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], mode);
    for (k, d) in plan.data_nodes.iter_mut().enumerate() {
        d.host = Net::address(k + 1);
    }
    plan.access_node_addresses = vec![BRIDGE_ADDRESS.into()];
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-12");
    events(&an, "2026-02-06");
    let before = fingerprint(&an);

    // Each data node comes to the other from its own address, which the
    // access node's rule does not admit: check names pg_hba.conf.
    let fails = findings(&path, "data_node_link_fails");
    eprintln!("before the links' rules: {fails:?}");
    for (from, to) in [("dn1", "dn2"), ("dn2", "dn1")] {
        let f = fails
            .iter()
            .find(|(n, _)| n == from)
            .unwrap_or_else(|| panic!("{from} -> {to} reported: {fails:?}"));
        assert!(
            f.1.contains("pg_hba.conf")
                && f.1
                    .contains(&Net::address(if from == "dn1" { 1 } else { 2 })),
            "{f:?}"
        );
    }

    // The fix check carries: the rules go into tsmn's block, and pass.
    let (code, text) = apply_file(&path, &["--data-node-links"], &env());
    assert_eq!(code, Some(0), "{text}");
    for (dn, other) in [(&dn1, 2), (&dn2, 1)] {
        let rule = match mode {
            AuthMode::Certificate => {
                format!("hostssl tsdb postgres {}/32 cert", Net::address(other))
            }
            _ => format!(
                "host tsdb postgres {}/32 scram-sha-256",
                Net::address(other)
            ),
        };
        let hba = dn.sql(
            "postgres",
            "SELECT pg_read_file(current_setting('hba_file'))",
        );
        assert!(hba.join("").contains(&rule), "{rule}: {hba:?}");
    }
    let fails = findings(&path, "data_node_link_fails");
    assert!(fails.is_empty(), "{fails:?}");

    // A chunk move now goes over the link: dn2 drained into dn1.
    let mut one = plan.clone();
    one.data_nodes.retain(|d| d.name == "dn1");
    let one_path = write_plan(work.path(), &one);
    let (code, text) = apply_file(&one_path, &["--remove-data-nodes", "--drain"], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(" on dn1 now (rows:checksum "), "{text}");
    assert_eq!(fingerprint(&an), before, "every row, same checksum");
    assert_nothing_left(&[&an, &dn1, &dn2]);
    eprintln!("{test}: in {:?}", started.elapsed());
}

fn chunks_per_node(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT n || '=' || count(*) FROM timescaledb_information.chunks, unnest(data_nodes) n \
         WHERE hypertable_name = 'metrics' GROUP BY n ORDER BY n",
    )
}

/// `tsmn rebalance` after a grow, with no `apply --data-node-links`
/// before: the rules its moves need are written by the rebalance itself
/// (on the sources, for the new data node's address), each link is
/// proven, every move is done with rows kept; `tsmn undo` then takes the
/// rules back (the moves stay).
#[test]
fn a_rebalance_admits_the_new_data_nodes_address_itself() {
    let test = "a_rebalance_admits_the_new_data_nodes_address_itself";
    if !runs_here(test) {
        return;
    }
    let started = std::time::Instant::now();
    let net = Net::up(3).unwrap_or_else(|e| panic!("network namespaces: {e}"));
    let an = TestCluster::named("an");
    let dns: Vec<TestCluster> = (1..=3)
        .map(|k| TestCluster::named(&format!("dn{k}")))
        .collect();
    for (k, dn) in dns.iter().enumerate() {
        start_in(dn, &net.namespaces[k], &Net::address(k + 1));
    }
    let work = temp_dir();
    let on = |n: usize| {
        let clusters: Vec<&tsmn::sandbox::Cluster> = dns[..n].iter().map(|d| &d.cluster).collect();
        let mut plan = plan_for(&an.cluster, &clusters, AuthMode::Password);
        for (k, d) in plan.data_nodes.iter_mut().enumerate() {
            d.host = Net::address(k + 1);
        }
        plan.access_node_addresses = vec![BRIDGE_ADDRESS.into()];
        write_plan(work.path(), &plan)
    };
    let (code, text) = apply_file(&on(2), &[], &env());
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-03-01");
    let path = on(3);
    let (code, text) = apply_file(&path, &[], &env());
    assert_eq!(code, Some(0), "grow: {text}");
    let before = an.sql(
        "tsdb",
        "SELECT count(*) || ':' || sum(hashtextextended(m::text, 0)) FROM metrics m",
    );
    let rule = format!("host tsdb postgres {}/32 scram-sha-256", Net::address(3));
    let hba = |dn: &TestCluster| {
        dn.sql(
            "postgres",
            "SELECT pg_read_file(current_setting('hba_file'))",
        )
        .join("")
    };
    assert!(!hba(&dns[0]).contains(&rule));
    let fails = findings(&path, "data_node_link_fails");
    assert!(
        fails
            .iter()
            .any(|(n, w)| n == "dn3" && w.contains("pg_hba.conf")),
        "{fails:?}"
    );

    let (code, text) = run_yes("rebalance", &path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn1: pg_hba.conf: admit the other data nodes") && text.contains(&rule),
        "--check's and the run's list name the rule: {text}"
    );
    for src in &dns[..2] {
        assert!(
            hba(src).contains(&rule),
            "{}: {}",
            src.cluster.name,
            hba(src)
        );
    }
    assert!(text.contains("dn3/cluster/link-from-dn1: done"), "{text}");
    let moved = text.matches(" now (rows:checksum ").count();
    assert!(moved >= 2, "{text}");
    assert!(chunks_per_node(&an).iter().any(|c| c.starts_with("dn3")));
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT count(*) || ':' || sum(hashtextextended(m::text, 0)) FROM metrics m",
        ),
        before,
        "every row, same checksum"
    );
    let all: Vec<&TestCluster> = std::iter::once(&an).chain(dns.iter()).collect();
    assert_nothing_left(&all);
    // The links the moves used work now; the rebalance set up no other
    // (dn3 is no source: its pg_hba.conf is as it was).
    let fails = findings(&path, "data_node_link_fails");
    assert!(!fails.iter().any(|(n, _)| n == "dn3"), "{fails:?}");
    assert!(
        fails.iter().all(|(_, w)| w.contains("log in to dn3")),
        "{fails:?}"
    );

    // tsmn undo takes the rebalance's rules back; its moves stay.
    let placed = chunks_per_node(&an);
    let (code, text) = run_yes("undo", &path, &[], &env());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("stay where they are"), "{text}");
    assert!(!hba(&dns[0]).contains(&rule), "{}", hba(&dns[0]));
    assert_eq!(chunks_per_node(&an), placed);
    assert!(
        findings(&path, "data_node_link_fails")
            .iter()
            .any(|(n, _)| n == "dn3"),
        "the link fails again"
    );
    eprintln!(
        "{test}: {moved} move(s), in {:?}\n{text}",
        started.elapsed()
    );
}
