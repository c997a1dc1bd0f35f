//! A role added to the plan of a running cluster (TimescaleDB tier), in
//! each auth mode: created on every node, admitted by the data nodes'
//! block, given USAGE on the foreign servers, its passfile lines or its
//! md5-named client certificate on the access node, and proved to reach
//! every data node as that role. A distributed hypertable keeps its rows,
//! and a second apply changes nothing.

mod support;

use support::*;
use tsmn::plan::AuthMode;

const SU_PW: &str = "su:pw\\x";
const READER_PW: &str = "reader's pw";

fn a_role_joins(mode: AuthMode) {
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let env = [
        ("TSMN_ROLE_PW_POSTGRES", SU_PW),
        ("TSMN_ROLE_PW_READER", READER_PW),
    ];
    let mut plan = plan_for(&an.cluster, &[&dns[0].cluster, &dns[1].cluster], mode);
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env);
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-10");
    let rows = count(&an);

    plan.auth.roles.push("reader".into());
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("an/cluster/role-reader: done"),
        "the role is made:\n{text}"
    );
    assert!(
        text.contains("done: the cluster was verified from the access node"),
        "{text}"
    );
    assert_no_secret(&text, READER_PW, "apply's output");

    // On every node, with LOGIN; USAGE on both foreign servers.
    for d in &dns {
        assert_eq!(
            d.sql(
                "postgres",
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'reader'"
            ),
            ["t"],
            "{}",
            d.cluster.name
        );
    }
    assert_eq!(
        an.sql("tsdb", "SELECT bool_and(has_server_privilege('reader', srvname, 'USAGE')) FROM pg_foreign_server WHERE srvname IN ('dn1', 'dn2')"),
        ["t"]
    );
    // TimescaleDB reaches each data node as reader (not only tsmn says so).
    assert_eq!(
        an.sql(
            "tsdb",
            "SET ROLE reader; SELECT bool_and(_timescaledb_functions.ping_data_node(node_name)) FROM timescaledb_information.data_nodes",
        ),
        ["t"]
    );
    match mode {
        AuthMode::Password => {
            // The internal password reaches the data nodes as a SCRAM verifier only.
            for d in &dns {
                assert_eq!(
                    d.sql(
                        "postgres",
                        "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'reader'"
                    ),
                    ["t"]
                );
            }
            let passfile = read(&an.cluster.data_dir().join("passfile"));
            assert_eq!(
                passfile.lines().filter(|l| l.contains(":reader:")).count(),
                2,
                "one line per data node:\n(passfile not shown: it holds passwords)"
            );
        }
        AuthMode::Certificate => {
            let stem = tsmn::timescale::cert_file_stem("reader");
            let certs = an.cluster.data_dir().join("timescaledb/certs");
            assert!(certs.join(format!("{stem}.crt")).exists());
            let key = certs.join(format!("{stem}.key"));
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&key).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
        AuthMode::Trust => {}
    }
    assert_eq!(count(&an), rows, "nothing lost");
    let (code, again) = apply_file(&path, &[], &env);
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("nothing changed"), "{again}");
}

#[test]
fn a_role_added_to_a_running_trust_cluster_reaches_every_data_node() {
    if timescaledb_tier("a_role_added_to_a_running_trust_cluster_reaches_every_data_node") {
        a_role_joins(AuthMode::Trust);
    }
}

#[test]
fn a_role_added_to_a_running_password_cluster_reaches_every_data_node() {
    if timescaledb_tier("a_role_added_to_a_running_password_cluster_reaches_every_data_node") {
        a_role_joins(AuthMode::Password);
    }
}

#[test]
fn a_role_added_to_a_running_certificate_cluster_reaches_every_data_node() {
    if timescaledb_tier("a_role_added_to_a_running_certificate_cluster_reaches_every_data_node") {
        a_role_joins(AuthMode::Certificate);
    }
}
