//! Every fix tsmn prints clears its finding when applied as written. For
//! each finding code whose state one machine can make: break a real node
//! that way, assert the finding, execute the fix it carries (its data, the
//! text's one source), check again and assert the finding is gone. Codes
//! whose fix is words only (install a package, open a firewall) or nothing
//! at all are unit-tested on facts (tests/findings_on_facts.rs).

mod support;

use std::path::Path;
use std::time::Duration;
use support::fixes::{execute, Nodes};
use support::*;
use tsmn::findings::Finding;
use tsmn::plan::{AuthMode, Plan};

const LOCAL: &str = "local all all trust";

/// Break, find, fix, find nothing: one case on one node. "Fixed" is
/// asked of the servers too (`fixed_on_the_servers`): a fix that only
/// silenced check, or cut a node off, fails.
fn clears(plan: &Plan, nodes: &Nodes, node: &str, code: &str, break_it: impl FnOnce()) -> Finding {
    break_it();
    let (_, found) = check(plan, Duration::from_secs(5));
    let f = finding(&found, node, code).clone();
    execute(&f, nodes);
    let (facts, found) = check(plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, node, code),
        "the fix of {code}, executed as carried ({}), left it: {found:#?}",
        f.fix
    );
    fixed_on_the_servers(plan, nodes, node, code, &facts);
    f
}

/// The state a fix is for, read from the servers themselves (a login,
/// `SHOW`, `pg_hba_file_rules`, the access node's own connection through
/// dblink), and every node still answering.
fn fixed_on_the_servers(
    plan: &Plan,
    nodes: &Nodes,
    node: &str,
    code: &str,
    facts: &tsmn::facts::Facts,
) {
    for (name, c) in &nodes.nodes {
        assert!(up(c), "after the fix of {code}, {name} does not answer");
    }
    let on = |n: &str| {
        nodes
            .nodes
            .iter()
            .find(|(x, _)| *x == n)
            .map(|(_, c)| *c)
            .expect("node in test")
    };
    let one = |n: &str, sql: &str| on(n).sql("postgres", sql).join(",");
    match code {
        // Its fix puts the file on disk in force, whatever it says: its
        // test asserts that a login the new file refuses is refused.
        "hba_not_loaded" => {}
        c if c.starts_with("hba_") || c.starts_with("access_node_") => {
            let an = on("an");
            // In certificate mode the access node offers the superuser's
            // client certificate, as TimescaleDB does.
            let extra = match plan.auth.mode {
                AuthMode::Certificate => {
                    let (crt, key) = facts
                        .access()
                        .and_then(|a| a.server.as_ref())
                        .expect("access node facts")
                        .client_certificate(&plan.superuser);
                    format!("sslmode=require sslcert={crt} sslkey={key}")
                }
                _ => String::new(),
            };
            for (name, dn) in nodes.nodes.iter().filter(|(n, _)| *n != "an") {
                if node != "an" && *name != node {
                    continue;
                }
                an_reaches(an, dn.cluster.port, &plan.superuser, &extra).unwrap_or_else(|e| {
                    panic!("after the fix of {code}, the access node cannot reach {name}: {e}")
                });
                assert_eq!(
                    one(name, "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"),
                    "0",
                    "{name}'s pg_hba.conf loads without an error"
                );
            }
        }
        "role_missing_on_data_node" => {
            for role in &plan.auth.roles {
                let lit = role.replace('\'', "''");
                assert_eq!(
                    one(node, &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{lit}' AND rolcanlogin")),
                    "1",
                    "{role} can log in on {node}"
                );
            }
        }
        "max_prepared_transactions_zero" | "max_prepared_transactions_low" => assert_eq!(
            one(node, "SELECT current_setting('max_prepared_transactions')::int >= current_setting('max_connections')::int"),
            "t"
        ),
        "not_listening" => {
            let tcp = format!("host=127.0.0.1 port={} dbname=postgres user=postgres", on(node).cluster.port);
            assert!(psql(&tcp, "SELECT 1", &[]).0, "{node} answers over TCP");
        }
        "pending_restart" => {
            assert_eq!(one(node, "SELECT count(*) FROM pg_settings WHERE pending_restart"), "0")
        }
        "not_preloaded" => assert!(
            one(node, "SHOW shared_preload_libraries").contains("timescaledb"),
            "timescaledb is preloaded on {node}"
        ),
        "tls_files_not_loaded" => assert_eq!(one(node, "SHOW ssl"), "on"),
        _ => {}
    }
}

/// The settings and pg_hba.conf findings of a data node, on plain
/// PostgreSQL (no TimescaleDB needed), one after another on one pair.
#[test]
fn settings_and_hba_fixes_clear_their_findings() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    // A name that must be quoted in SQL: the fix is run exactly as written.
    plan.auth.roles.push("Ops \"Team\"".into());
    let path = write_plan(dir.path(), &plan);
    let nodes = Nodes::new(vec![("an", &an), ("dn1", &dn)], &path);

    let f = clears(&plan, &nodes, "dn1", "role_missing_on_data_node", || {});
    assert!(
        f.fix.contains("CREATE ROLE \"Ops \"\"Team\"\"\" LOGIN"),
        "{f:?}"
    );

    clears(&plan, &nodes, "dn1", "hba_no_rule", || {
        set_hba(&dn, &[LOCAL])
    });
    let f = clears(&plan, &nodes, "dn1", "hba_shadowed", || {
        set_hba(
            &dn,
            &[
                LOCAL,
                "host all all 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 trust",
            ],
        )
    });
    assert!(f.fix.starts_with("move line 3 above line 2"), "{f:?}");
    clears(&plan, &nodes, "dn1", "hba_wrong_method", || {
        set_hba(&dn, &[LOCAL, "host all all 127.0.0.1/32 reject"])
    });
    let f = clears(&plan, &nodes, "dn1", "hba_error", || {
        // The file is read as it is on disk; the reload keeps the old rules.
        set_hba(
            &dn,
            &[
                LOCAL,
                "host all postgres 127.0.0.1/32 trust",
                "host all all 10.0.0.0/8 cert clientcert=1",
            ],
        )
    });
    assert!(f.fix.starts_with("remove line 3 of "), "{f:?}");

    let alter = |sql: &str| {
        dn.sql("postgres", sql);
        dn.restart();
    };
    clears(
        &plan,
        &nodes,
        "dn1",
        "max_prepared_transactions_zero",
        || alter("ALTER SYSTEM SET max_prepared_transactions = 0"),
    );
    clears(
        &plan,
        &nodes,
        "dn1",
        "max_prepared_transactions_low",
        || alter("ALTER SYSTEM SET max_prepared_transactions = 10"),
    );
    clears(&plan, &nodes, "dn1", "not_listening", || {
        alter("ALTER SYSTEM SET listen_addresses = ''")
    });
    clears(&plan, &nodes, "dn1", "pending_restart", || {
        dn.sql(
            "postgres",
            "ALTER SYSTEM SET max_locks_per_transaction = 80",
        );
        reload(&dn);
    });

    // Before setup (the access node's database does not exist yet): a data
    // node database with another collation than the access node's
    // template1, which its database will be created from.
    let collate = an.sql(
        "template1",
        "SELECT datcollate FROM pg_database WHERE datname = 'template1'",
    );
    let other = if collate[0] == "C" { "C.utf8" } else { "C" };
    let f = clears(&plan, &nodes, "dn1", "database_locale_differs", || {
        dn.sql(
            "postgres",
            &format!(
                "CREATE DATABASE tsdb TEMPLATE template0 LC_COLLATE '{other}' LC_CTYPE '{other}'"
            ),
        );
    });
    assert!(
        f.fix.starts_with("on dn1: DROP DATABASE \"tsdb\", or "),
        "{f:?}"
    );
    assert!(f.what.contains("will have (from its template1)"), "{f:?}");
}

/// The plan's superuser is an ordinary role on a node: the fix makes it one.
#[test]
fn the_superuser_fix_clears_not_superuser() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    for c in [&an, &dn] {
        c.sql("postgres", "CREATE ROLE \"plain user\" LOGIN");
    }
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    plan.superuser = "plain user".into();
    let path = write_plan(dir.path(), &plan);
    let nodes = Nodes::new(vec![("an", &an), ("dn1", &dn)], &path);
    for node in ["an", "dn1"] {
        let f = clears(&plan, &nodes, node, "not_superuser", || {});
        assert!(
            f.fix.contains("ALTER ROLE \"plain user\" SUPERUSER"),
            "{f:?}"
        );
    }
}

/// A running cluster (TimescaleDB tier): the access node's own view of each
/// data node as every role, and a data node that lost its preload.
#[test]
fn fixes_on_a_running_cluster_clear_their_findings() {
    if !timescaledb_tier("fixes_on_a_running_cluster_clear_their_findings") {
        return;
    }
    let r = Running::applied(&["app_reader"]);
    let (an, dn1, dn2, plan) = (&r.an, &r.dn1, &r.dn2, &r.plan);
    let nodes = Nodes::new(vec![("an", an), ("dn1", dn1), ("dn2", dn2)], &r.path);

    // A reject rule above tsmn's block: apply puts its block first again.
    let f = clears(plan, &nodes, "dn2", "access_node_hba_rejects", || {
        hba_first(dn2, "host tsdb app_reader 127.0.0.1/32 reject");
    });
    assert!(f.fix.starts_with("run tsmn apply: "), "{f:?}");

    // The role dropped on one data node: the access node cannot log in as it.
    let f = clears(plan, &nodes, "dn1", "access_node_role_missing", || {
        dn1.sql("postgres", "DROP ROLE app_reader");
    });
    assert!(f.fix.contains("CREATE ROLE \"app_reader\" LOGIN"), "{f:?}");

    clears(plan, &nodes, "dn1", "not_preloaded", || {
        // Not '': ALTER SYSTEM writes that as a list of one empty name,
        // which the server then fails to load.
        dn1.sql(
            "postgres",
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
        );
        dn1.restart();
    });
}

/// A data node database that already belongs to another distributed
/// database (TimescaleDB tier): the fix drops it.
#[test]
fn the_member_of_another_cluster_fix_clears_it() {
    if !timescaledb_tier("the_member_of_another_cluster_fix_clears_it") {
        return;
    }
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let path = write_plan(dir.path(), &plan);
    let nodes = Nodes::new(vec![("an", &an), ("dn1", &dn)], &path);
    let f = clears(&plan, &nodes, "dn1", "member_of_other_cluster", || {
        dn.sql("postgres", "CREATE DATABASE tsdb");
        dn.sql("tsdb", "CREATE EXTENSION timescaledb");
        dn.sql(
            "tsdb",
            "INSERT INTO _timescaledb_catalog.metadata VALUES ('dist_uuid', gen_random_uuid()::text, true)",
        );
    });
    assert!(f.fix.starts_with("on dn1: DROP DATABASE \"tsdb\""), "{f:?}");
}

/// Certificate mode on real TLS (no TimescaleDB needed): the access node's
/// client certificate for the superuser replaced by one for another role
/// (same CA), then by one from a CA the data node does not trust. libpq's
/// messages differ, so do the findings; both are the access node's files,
/// filed under it, and apply's certificate step puts the right one back.
#[test]
fn a_client_certificate_for_another_role_or_from_an_unknown_ca_is_told_apart_and_fixed() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Certificate);
    let path = write_plan(dir.path(), &plan);
    let nodes = Nodes::new(vec![("an", &an), ("dn1", &dn)], &path)
        .applying(vec![], vec!["--phases", "settings,auth"]);
    let setup = tsmn()
        .args(["apply", "--yes", "--phases", "settings,auth", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&setup);
    let (facts, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !found.iter().any(|f| f.code.starts_with("access_node_")),
        "{found:#?}"
    );
    let (crt, key) = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .expect("access node facts")
        .client_certificate("postgres");
    let offer = |pair: (Vec<u8>, Vec<u8>)| {
        use std::os::unix::fs::PermissionsExt;
        for (file, bytes) in [(&crt, pair.0), (&key, pair.1)] {
            std::fs::write(file, bytes).unwrap();
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
            server_user().chown(Path::new(file)).unwrap();
        }
    };

    let plan_ca = TestCa::copy_of(&tsmn::plan::state_dir(&path));
    let f = clears(
        &plan,
        &nodes,
        "an",
        "access_node_client_cert_rejected",
        || {
            offer(plan_ca.client("intruder"));
        },
    );
    assert!(f.why.contains("certificate authentication failed"), "{f:?}");
    assert!(f.what.contains(&crt), "names the file offered: {f:?}");

    let stranger = TestCa::new("stranger");
    let f = clears(
        &plan,
        &nodes,
        "an",
        "access_node_client_cert_unknown_ca",
        || {
            offer(stranger.client("postgres"));
        },
    );
    assert!(f.why.contains("unknown ca"), "{f:?}");

    // A server certificate put in place without a reload: the server still
    // presents the old one. The reload the fix names puts it in use.
    std::thread::sleep(Duration::from_millis(1100));
    let f = clears(&plan, &nodes, "dn1", "tls_files_not_loaded", || {
        let crt = dn.cluster.data_dir().join("server.crt");
        let same = std::fs::read(&crt).unwrap();
        std::fs::write(&crt, same).unwrap();
    });
    assert!(f.what.contains("server.crt"), "{f:?}");
}

/// pg_hba.conf changed after the server last read it: check says so
/// (hba_not_loaded), and its fix, executed as carried, puts the file in
/// force: a TCP login the new rule refuses is refused (the engine's word,
/// not check's).
#[test]
fn hba_not_loaded_is_cleared_by_its_fix() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let dir = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let path = write_plan(dir.path(), &plan);
    let nodes = Nodes::new(vec![("an", &an), ("dn1", &dn)], &path);
    set_hba(&dn, &[LOCAL, "host all all 127.0.0.1/32 trust"]);
    let login = || {
        psql(
            &format!(
                "host=127.0.0.1 port={} dbname=postgres user=postgres",
                dn.cluster.port
            ),
            "SELECT 1",
            &[],
        )
        .0
    };
    assert!(login());
    clears(&plan, &nodes, "dn1", "hba_not_loaded", || {
        std::thread::sleep(Duration::from_millis(1100));
        let hba = dn.cluster.data_dir().join("pg_hba.conf");
        std::fs::write(&hba, format!("{LOCAL}\nhost all all 127.0.0.1/32 reject\n")).unwrap();
    });
    assert!(!login(), "the reject rule is in force after the fix");
}
