//! Findings that need states a test machine cannot make (two TimescaleDB
//! versions, 2.14+, an apache license, PostgreSQL 16, a foreign cluster),
//! derived from hand-made facts.

use std::collections::BTreeMap;
use tsmn::facts::*;
use tsmn::findings::{findings, Finding, Severity};
use tsmn::plan::{parse_plan, Plan};

fn plan() -> Plan {
    parse_plan(
        "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n",
        "p",
    )
    .unwrap()
}

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, Setting> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Setting {
                    value: v.to_string(),
                    source: "configuration file".into(),
                    pending_restart: false,
                },
            )
        })
        .collect()
}

/// A healthy 2.13.1 server on PostgreSQL 15.
fn server() -> ServerFacts {
    ServerFacts {
        version_num: 150005,
        version: "15.5".into(),
        current_user: "postgres".into(),
        superuser: true,
        settings: settings(&[
            ("shared_preload_libraries", "timescaledb"),
            ("max_prepared_transactions", "150"),
            ("max_connections", "100"),
            ("listen_addresses", "*"),
            ("timescaledb.license", "timescale"),
            ("ssl", "off"),
        ]),
        hba_file: "/etc/postgresql/15/main/pg_hba.conf".into(),
        unwritable: vec![],
        hba_rules: vec![HbaRule {
            line_number: 1,
            kind: Some("host".into()),
            databases: vec!["all".into()],
            users: vec!["all".into()],
            address: Some("10.0.0.10".into()),
            netmask: Some("255.255.255.255".into()),
            method: Some("trust".into()),
            ..Default::default()
        }],
        hba_lines: vec!["host all all 10.0.0.10/32 trust".into()],
        timescaledb_available: vec!["2.13.1".into()],
        timescaledb_default: Some("2.13.1".into()),
        dblink_available: true,
        peer_links: vec![],
        database: None,
        disk: None,
        new_database: None,
        roles: vec![RoleFacts {
            name: "postgres".into(),
            exists: true,
            can_login: true,
            verifier: None,
        }],
        passfile: None,
        certificates: vec![],
        tls_files_not_loaded: vec![],
        hba_not_loaded: false,
    }
}

fn facts(an: ServerFacts, dn: ServerFacts) -> Facts {
    let node = |name: &str, role, s| NodeFacts {
        name: name.into(),
        role,
        address: "x".into(),
        connection: Connection::Connected { tls: false },
        server: Some(s),
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    };
    Facts {
        nodes: vec![
            node("an", NodeRole::Access, an),
            node("dn1", NodeRole::Data, dn),
        ],
    }
}

fn codes(found: &[Finding], node: &str) -> Vec<&'static str> {
    found
        .iter()
        .filter(|f| f.node == node)
        .map(|f| f.code)
        .collect()
}

#[test]
fn a_healthy_pair_has_no_findings() {
    let found = findings(&plan(), &facts(server(), server()));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn timescaledb_versions_differ() {
    let mut dn = server();
    dn.timescaledb_available = vec!["2.12.2".into()];
    let found = findings(&plan(), &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "timescaledb_version_differs")
        .expect("finding");
    assert_eq!(f.node, "dn1");
    assert!(
        f.what.contains("2.12.2")
            && f.what.contains("2.13.1")
            && f.fix.contains("install TimescaleDB 2.13.1"),
        "{f:?}"
    );
}

#[test]
fn timescaledb_2_14_has_no_multinode() {
    let mut dn = server();
    dn.timescaledb_available = vec!["2.14.2".into()];
    let found = findings(&plan(), &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "multinode_removed")
        .expect("finding");
    assert!(
        f.what.contains("removed in 2.14.0")
            && f.fix.contains("2.13.x")
            && f.fix.contains("single-node"),
        "{f:?}"
    );
    assert_eq!(f.severity, Severity::Blocker);
}

#[test]
fn apache_license() {
    let mut an = server();
    an.settings.insert(
        "timescaledb.license".into(),
        Setting {
            value: "apache".into(),
            source: "configuration file".into(),
            pending_restart: false,
        },
    );
    let found = findings(&plan(), &facts(an, server()));
    assert_eq!(codes(&found, "an"), ["apache_license"]);
}

#[test]
fn postgresql_16_is_refused() {
    let mut dn = server();
    dn.version_num = 160001;
    dn.version = "16.1".into();
    let found = findings(&plan(), &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "pg_version")
        .expect("finding");
    assert!(f.what.contains("outside 13-15"), "{f:?}");
}

/// The access node not read in time (a data node hung its distributed
/// query, say): a data node's id cannot be compared, so no finding tells
/// to drop its database.
#[test]
fn no_verdict_on_membership_without_the_access_node() {
    let mut dn = server();
    dn.database = Some(DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        uuid: Some("bbb".into()),
        dist_uuid: Some("aaa".into()),
        ..Default::default()
    });
    let mut f = facts(server(), dn);
    f.nodes[0].server = None;
    f.nodes[0].connection = Connection::TimedOut { seconds: 20 };
    let found = findings(&plan(), &f);
    assert!(
        !found.iter().any(|x| x.fix.contains("DROP DATABASE")),
        "{found:#?}"
    );
}

#[test]
fn data_node_of_another_cluster() {
    let mut an = server();
    an.database = Some(DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        uuid: Some("aaa".into()),
        dist_uuid: Some("aaa".into()),
        ..Default::default()
    });
    let mut dn = server();
    dn.database = Some(DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        uuid: Some("bbb".into()),
        dist_uuid: Some("zzz".into()),
        ..Default::default()
    });
    let found = findings(&plan(), &facts(an.clone(), dn.clone()));
    let f = found
        .iter()
        .find(|f| f.code == "member_of_other_cluster")
        .expect("finding");
    assert!(f.fix.starts_with("on dn1: DROP DATABASE \"tsdb\""), "{f:?}");
    // Our cluster's id, but the access node no longer lists it: left
    // from a removal, and add_data_node would refuse it.
    dn.database.as_mut().unwrap().dist_uuid = Some("aaa".into());
    let found = findings(&plan(), &facts(an.clone(), dn.clone()));
    assert!(
        found
            .iter()
            .any(|f| f.code == "removed_member_database" && f.severity == Severity::Blocker),
        "{found:#?}"
    );
    // Listed by the access node, already ours: a note only.
    an.database.as_mut().unwrap().data_nodes = vec!["dn1".into()];
    let found = findings(&plan(), &facts(an, dn));
    assert!(
        found
            .iter()
            .any(|f| f.code == "already_member" && f.severity == Severity::Note),
        "{found:#?}"
    );
}

#[test]
fn database_with_other_collation() {
    let db = |coll: &str| {
        Some(DatabaseFacts {
            name: "tsdb".into(),
            encoding: "UTF8".into(),
            collate: coll.into(),
            ctype: "C.UTF-8".into(),
            ..Default::default()
        })
    };
    let mut an = server();
    an.database = db("C.UTF-8");
    let mut dn = server();
    dn.database = db("C");
    let found = findings(&plan(), &facts(an, dn));
    let f = found
        .iter()
        .find(|f| f.code == "database_locale_differs")
        .expect("finding");
    assert!(
        f.what.contains("collation C;") && f.why.contains("wrong collation"),
        "{f:?}"
    );
}

#[test]
fn hba_line_that_does_not_parse() {
    let mut dn = server();
    dn.hba_rules.push(HbaRule {
        line_number: 2,
        ..Default::default()
    });
    dn.hba_lines
        .push("hostssl all all 10.0.0.10/32 cert clientcert=1".into());
    let found = findings(&plan(), &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "hba_error")
        .expect("finding");
    assert!(
        f.what
            .contains("line 2: hostssl all all 10.0.0.10/32 cert clientcert=1"),
        "{f:?}"
    );
}

#[test]
fn access_node_ssl_forces_ssl_on_data_nodes() {
    let mut an = server();
    an.settings.insert(
        "ssl".into(),
        Setting {
            value: "on".into(),
            source: "configuration file".into(),
            pending_restart: false,
        },
    );
    let found = findings(&plan(), &facts(an, server()));
    assert_eq!(codes(&found, "dn1"), ["ssl_off"]);
}

#[test]
fn pending_restart_and_loopback_only() {
    let mut dn = server();
    dn.settings.insert(
        "max_prepared_transactions".into(),
        Setting {
            value: "150".into(),
            source: "configuration file".into(),
            pending_restart: true,
        },
    );
    dn.settings.insert(
        "listen_addresses".into(),
        Setting {
            value: "localhost".into(),
            source: "default".into(),
            pending_restart: false,
        },
    );
    let found = findings(&plan(), &facts(server(), dn));
    let mut c = codes(&found, "dn1");
    c.sort();
    assert_eq!(c, ["not_listening", "pending_restart"]);
    let f = found.iter().find(|f| f.code == "not_listening").unwrap();
    assert!(
        f.fix.contains("listen_addresses = 'localhost,10.0.0.11'"),
        "{f:?}"
    );
}

/// max_prepared_transactions = 0: add_data_node creates a database without
/// the check, but refuses one that already exists (`prepared transactions
/// need to be enabled`).
#[test]
fn no_prepared_transactions_says_what_add_data_node_will_do() {
    let zero = |with_db: bool| {
        let mut dn = server();
        dn.settings = settings(&[
            ("shared_preload_libraries", "timescaledb"),
            ("max_prepared_transactions", "0"),
            ("listen_addresses", "*"),
            ("timescaledb.license", "timescale"),
        ]);
        if with_db {
            dn.database = Some(DatabaseFacts {
                name: "tsdb".into(),
                ..Default::default()
            });
        }
        let found = findings(&plan(), &facts(server(), dn));
        found
            .into_iter()
            .find(|f| f.code == "max_prepared_transactions_zero")
            .expect("the finding")
    };
    assert!(zero(false).why.contains("add_data_node still succeeds"));
    let f = zero(true);
    assert!(
        f.why.contains("prepared transactions need to be enabled"),
        "{f:?}"
    );
    assert!(!f.why.contains("still succeeds"), "{f:?}");
}

/// Validity as the node's clock reads it: expired and not yet valid block,
/// under 30 days warns, with the days counted.
#[test]
fn certificates_outside_or_near_the_end_of_their_validity() {
    const DAY: i64 = 86_400;
    let now = 1_800_000_000;
    let cert = |what: &str, not_before: i64, not_after: i64| tsmn::facts::CertFacts {
        what: what.into(),
        path: format!("/d/{what}.crt"),
        not_before,
        not_after,
        checked_at: now,
    };
    let mut dn = server();
    dn.certificates = vec![
        cert("server certificate", now - 400 * DAY, now - 3 * DAY),
        cert("CA", now + 2 * DAY, now + 900 * DAY),
    ];
    let mut an = server();
    an.certificates = vec![
        cert("server certificate", now - DAY, now + 12 * DAY + 5),
        cert("CA", now - DAY, now + 400 * DAY),
    ];
    let found = findings(&plan(), &facts(an, dn));
    let f = found
        .iter()
        .find(|f| f.code == "certificate_expired")
        .expect("expired");
    assert_eq!(f.node, "dn1");
    assert!(f.what.contains("expired 3 days ago"), "{f:?}");
    let f = found
        .iter()
        .find(|f| f.code == "certificate_not_yet_valid")
        .expect("not yet valid");
    assert!(f.what.contains("not valid until 2 days from now"), "{f:?}");
    let f = found
        .iter()
        .find(|f| f.code == "certificate_expiring")
        .expect("expiring");
    assert_eq!(f.node, "an");
    assert!(f.what.contains("expires in 12 days"), "{f:?}");
    assert_eq!(
        found
            .iter()
            .filter(|f| f.code.starts_with("certificate_"))
            .count(),
        3,
        "{found:#?}"
    );

    // Certificate mode: a leaf is renewed from the same CA; tsmn's own CA
    // near its end is rolled over; one the operator brought is theirs to replace.
    let mut plan = plan();
    plan.auth.mode = tsmn::plan::AuthMode::Certificate;
    let mut an = server();
    an.certificates = vec![
        cert("server certificate", now - DAY, now + 12 * DAY),
        cert("CA", now - DAY, now + 20 * DAY),
    ];
    let fix_of = |plan: &Plan, what: &str| {
        findings(plan, &facts(an.clone(), server()))
            .into_iter()
            .find(|f| f.code == "certificate_expiring" && f.what.contains(what))
            .expect(what)
            .fix
    };
    assert!(fix_of(&plan, "server certificate").starts_with("run tsmn apply --renew-certificates"));
    assert!(
        fix_of(&plan, "the CA").starts_with("run tsmn apply --roll-ca"),
        "{}",
        fix_of(&plan, "the CA")
    );
    plan.auth.certificate = Some(tsmn::plan::CertificateOptions {
        ca_cert: "/etc/pki/our-ca.crt".into(),
        ca_key: "/etc/pki/our-ca.key".into(),
        ..Default::default()
    });
    assert!(fix_of(&plan, "the CA").contains("set [auth.certificate] ca_cert and ca_key"));
}

/// After a package upgrade 2.14.2 sits beside 2.13.1 and is the control
/// file's default: tsmn still finds a version with multi-node to create
/// (and says so), and says which when none is left.
#[test]
fn timescaledb_2_14_beside_2_13_still_creates_2_13() {
    let mut dn = server();
    dn.timescaledb_available = vec!["2.13.1".into(), "2.14.2".into()];
    dn.timescaledb_default = Some("2.14.2".into());
    assert_eq!(dn.timescaledb_to_create().as_deref(), Some("2.13.1"));
    let found = findings(&plan(), &facts(server(), dn.clone()));
    assert!(
        !found
            .iter()
            .any(|f| f.code == "multinode_removed" || f.code == "timescaledb_version_differs"),
        "{found:#?}"
    );
    dn.timescaledb_available = vec!["2.14.2".into()];
    let found = findings(&plan(), &facts(server(), dn));
    assert!(
        found.iter().any(|f| f.code == "multinode_removed"),
        "{found:#?}"
    );
}

/// The data node names the address the access node came from (dual stack:
/// `localhost` went over ::1). tsmn's block then admits that address when
/// the plan leaves the addresses to tsmn; when the plan names others, the
/// fix says to add it (before: "run tsmn apply", which changed nothing).
#[test]
fn the_address_a_refusal_names_is_the_one_to_admit() {
    let refused = "FATAL:  no pg_hba.conf entry for host \"::1\", user \"postgres\", database \"postgres\", no encryption";
    let mut f = facts(server(), server());
    f.nodes[0].access_probes = AccessProbes::Tested {
        results: vec![tsmn::facts::AccessProbe {
            data_node: "dn1".into(),
            source_address: None,
            error: Some(refused.into()),
            not_tested: None,
            admits_without: None,
        }],
    };
    let mut p = plan();
    p.access_node_addresses = vec!["127.0.0.1".into()];
    let found = findings(&p, &f);
    let hit = found
        .iter()
        .find(|x| x.code == "access_node_no_hba_entry" || x.code == "hba_no_rule")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert!(
        hit.fix.contains("add \"::1\" to access_node_addresses"),
        "{hit:?}"
    );
    // The plan leaves the addresses to tsmn: its block admits ::1.
    p.access_node_addresses.clear();
    let steps = tsmn::steps::build(
        &p,
        tsmn::steps::Inputs {
            facts: Some(&f),
            ..Default::default()
        },
    )
    .unwrap();
    let hba = steps
        .iter()
        .find(|s| s.id == "dn1/auth/hba")
        .expect("hba step");
    let tsmn::steps::Action::HbaBlock { lines } = &hba.action else {
        panic!("{hba:?}")
    };
    assert!(lines.iter().any(|l| l.contains("::1/128")), "{lines:?}");
}

/// A failed connection's text is labelled by who produced it: the server
/// only for an error it sent (with a SQLSTATE); the client library's own
/// failures (TLS, a missing password, a refusal, a timeout) are tsmn's.
#[test]
fn a_connection_failure_is_labelled_by_its_source() {
    let cases = [
        (
            Connection::Failed {
                sqlstate: Some("28P01".into()),
                message: "FATAL: password authentication failed for user \"postgres\"".into(),
            },
            "the server said: FATAL: password authentication failed",
        ),
        (
            Connection::Failed {
                sqlstate: None,
                message: "error performing TLS handshake: invalid peer certificate: UnknownIssuer"
                    .into(),
            },
            "tsmn's connection failed: error performing TLS handshake",
        ),
        (
            Connection::Failed {
                sqlstate: None,
                message: "invalid configuration: password missing".into(),
            },
            "tsmn's connection failed: invalid configuration: password missing",
        ),
        (
            Connection::Failed {
                sqlstate: None,
                message: "error connecting to server: Connection refused (os error 111)".into(),
            },
            "tsmn's connection failed: error connecting to server",
        ),
        (
            Connection::TimedOut { seconds: 5 },
            "tsmn's connection failed: no answer within 5 s",
        ),
    ];
    for (conn, want) in cases {
        let mut f = facts(server(), server());
        f.nodes[1].connection = conn;
        f.nodes[1].server = None;
        let found = findings(&plan(), &f);
        let hit = found
            .iter()
            .find(|x| x.node == "dn1" && x.what.contains("cannot connect"))
            .unwrap_or_else(|| panic!("no connection finding: {found:#?}"));
        assert!(
            hit.why.starts_with(want),
            "{:?}: {}",
            f.nodes[1].connection,
            hit.why
        );
    }
}

/// Password mode, and the role already has a password on the data node:
/// the step says before the run that another password is replaced and its
/// clients refused (before: replaced without a word).
#[test]
fn a_role_password_already_there_is_said_to_be_replaced() {
    let mut p = plan();
    p.auth.mode = tsmn::plan::AuthMode::Password;
    let mut dn = server();
    dn.roles = vec![RoleFacts {
        name: "postgres".into(),
        exists: true,
        can_login: true,
        verifier: Some("scram-sha-256".into()),
    }];
    let f = facts(server(), dn);
    let steps = tsmn::steps::build(
        &p,
        tsmn::steps::Inputs {
            facts: Some(&f),
            ..Default::default()
        },
    )
    .unwrap();
    let s = steps
        .iter()
        .find(|s| s.id == "dn1/auth/password")
        .expect("the password step");
    assert!(
        s.reason.contains("postgres already has a password on dn1") && s.reason.contains("refused"),
        "{s:?}"
    );
}

/// An expired server certificate stops the access node only where its
/// connections check it (certificate mode, or ssl on on the access node):
/// a blocker there, a warning in trust mode with ssl off (the engine's
/// connections go on working there).
#[test]
fn an_expired_certificate_blocks_only_where_it_is_checked() {
    let mut dn = server();
    dn.certificates = vec![CertFacts {
        what: "server certificate".into(),
        path: "/data/server.crt".into(),
        not_before: 0,
        not_after: 100,
        checked_at: 100 + 86_400 * 3,
    }];
    let found = findings(&plan(), &facts(server(), dn.clone()));
    let f = found
        .iter()
        .find(|f| f.code == "certificate_expired")
        .expect("finding");
    assert_eq!(f.severity, Severity::Warning, "{f:?}");
    let mut p = plan();
    p.auth.mode = tsmn::plan::AuthMode::Certificate;
    let found = findings(&p, &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "certificate_expired")
        .expect("finding");
    assert_eq!(f.severity, Severity::Blocker, "{f:?}");
}

/// A pg_hba.conf line with an error in a file the server refused to load:
/// the rules in force are the old ones, so the fix corrects the line
/// instead of removing it (which would drop the rule it replaced).
#[test]
fn a_broken_line_in_a_file_not_loaded_is_corrected_not_removed() {
    let mut dn = server();
    dn.hba_rules.push(HbaRule {
        line_number: 2,
        kind: Some("host".into()),
        error: Some("authentication option \"cert\" is only valid for hostssl connections".into()),
        ..Default::default()
    });
    dn.hba_lines
        .push("host all postgres 127.0.0.1/32 cert".into());
    dn.hba_not_loaded = true;
    let found = findings(&plan(), &facts(server(), dn.clone()));
    let f = found
        .iter()
        .find(|f| f.code == "hba_error")
        .expect("finding");
    assert!(f.fix.starts_with("correct line 2"), "{f:?}");
    dn.hba_not_loaded = false;
    let found = findings(&plan(), &facts(server(), dn));
    let f = found
        .iter()
        .find(|f| f.code == "hba_error")
        .expect("finding");
    assert!(f.fix.contains("remove line 2"), "{f:?}");
}
