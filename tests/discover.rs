//! `tsmn discover` on a cluster set up by hand, the documented way
//! (reference §3, the required settings only: pg_hba.conf rules,
//! add_data_node), by this test and not by tsmn: the plan it writes
//! describes the cluster as it runs, check finds nothing in the way, and
//! apply on it changes nothing.

mod support;

use std::time::Duration;
use support::*;
use tsmn::sandbox::ClusterSpec;

const LOCAL: &str = "local all all trust";
const TCP: &str = "host all postgres 127.0.0.1/32 trust";

fn node(name: &str) -> TestCluster {
    TestCluster::start(ClusterSpec {
        name: name.into(),
        hba: Some(vec![LOCAL.into(), TCP.into()]),
        settings: vec![("max_prepared_transactions".into(), "150".into())],
        files: vec![],
    })
}

#[test]
fn a_trust_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op() {
    if !timescaledb_tier("a_trust_cluster_set_up_by_hand_round_trips_through_apply_as_a_no_op") {
        return;
    }
    let an = node("an");
    let dns = [node("dn1"), node("dn2")];
    an.sql("postgres", "CREATE DATABASE tsdb");
    an.sql("tsdb", "CREATE EXTENSION timescaledb");
    for d in &dns {
        an.sql(
            "tsdb",
            &format!(
                "SELECT add_data_node('{}', host => '127.0.0.1', port => {})",
                d.cluster.name, d.cluster.port
            ),
        );
    }
    let work = temp_dir();
    let out = work.path().join("discovered.toml");
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!("127.0.0.1:{}", an.cluster.port))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).to_string();
    assert_success(&run);
    assert!(
        said.contains("database tsdb, trust mode, 2 data node(s)"),
        "{said}"
    );

    let plan = tsmn::plan::load_plan(&out).expect("the discovered plan loads");
    assert!(plan.adopted);
    assert_eq!(plan.database, "tsdb");
    assert_eq!(plan.auth.mode, tsmn::plan::AuthMode::Trust);
    let found: Vec<(String, String, i64)> = plan
        .data_nodes
        .iter()
        .map(|n| (n.name.clone(), n.host.clone(), n.port))
        .collect();
    let want: Vec<(String, String, i64)> = dns
        .iter()
        .map(|d| {
            (
                d.cluster.name.clone(),
                "127.0.0.1".into(),
                i64::from(d.cluster.port),
            )
        })
        .collect();
    assert_eq!(found, want);
    let text = read(&out);
    assert!(
        text.contains("# tsmn plan written by `tsmn discover`"),
        "{text}"
    );
    assert!(
        text.contains("# - tsmn connects to each data node"),
        "{text}"
    );

    let (_, findings) = check(&plan, Duration::from_secs(5));
    assert_eq!(tsmn::findings::blockers(&findings), 0, "{findings:#?}");

    let before: Vec<Vec<(String, Vec<u8>)>> = dns.iter().map(data_files).collect();
    let apply = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&out)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    assert_success(&apply);
    assert!(all.contains("nothing changed"), "{all}");
    assert!(
        all.contains("an existing rule admits the access node"),
        "{all}"
    );
    let after: Vec<Vec<(String, Vec<u8>)>> = dns.iter().map(data_files).collect();
    assert!(before == after, "a data node's files changed:\n{all}");
    assert_eq!(
        an.sql(
            "postgres",
            "SELECT count(*) FROM pg_settings WHERE name = 'jit' AND source = 'default'"
        ),
        ["1"],
        "a recommendation is not applied to an adopted cluster"
    );
}

#[test]
fn discover_says_what_is_wrong_with_its_input() {
    let work = temp_dir();
    let out = work.path().join("p.toml");
    let run = tsmn()
        .args([
            "discover",
            "--access-node",
            "postgresql://ops:hunter2@10.0.0.10/tsdb",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("holds a password") && err.contains("PGPASSWORD"),
        "{err}"
    );
    assert_no_secret(&err, "hunter2", "discover's error");
    assert!(!out.exists());

    // A server that is not an access node: named, with the way out.
    let plain = TestCluster::start(ClusterSpec {
        name: "plain".into(),
        hba: Some(vec![LOCAL.into(), TCP.into()]),
        settings: vec![],
        files: vec![],
    });
    let run = tsmn()
        .args(["discover", "--access-node"])
        .arg(format!("127.0.0.1:{}", plain.cluster.port))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("no database on 127.0.0.1:")
            && err.contains("has data nodes")
            && err.contains("--database"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
}
