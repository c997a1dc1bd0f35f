//! `tsmn undo` after a run that added a data node (TimescaleDB tier,
//! password mode): the data node and the database the run made on it go,
//! every file the run changed is back byte for byte, the settings that
//! stay are named; a second undo is refused, the cluster can be grown
//! again, and an undo that would lose distributed data is refused.

mod support;

use support::*;
use tsmn::plan::AuthMode;

const ENV: [(&str, &str); 1] = [("TSMN_ROLE_PW_POSTGRES", "undo-pw")];

fn undo(path: &std::path::Path) -> (Option<i32>, String) {
    run_yes("undo", path, &[], &ENV)
}

#[test]
fn undo_takes_the_last_run_back_and_only_while_no_data_would_be_lost() {
    if !timescaledb_tier("undo_takes_the_last_run_back_and_only_while_no_data_would_be_lost") {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let one = plan_for(&an.cluster, &[&dns[0].cluster], AuthMode::Password);
    let both = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Password,
    );
    let (code, text) = apply_file(&write_plan(work.path(), &one), &[], &ENV);
    assert_eq!(code, Some(0), "{text}");
    let passfile = an.cluster.data_dir().join("passfile");
    let dn2_hba = dns[1].cluster.data_dir().join("pg_hba.conf");
    let (passfile_before, hba_before) = (read(&passfile), read(&dn2_hba));

    let path = write_plan(work.path(), &both);
    let (code, text) = apply_file(&path, &[], &ENV);
    assert_eq!(code, Some(0), "{text}");
    assert_ne!(read(&passfile), passfile_before);
    assert_ne!(read(&dn2_hba), hba_before);
    let members = || {
        an.sql(
            "tsdb",
            "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1",
        )
    };
    assert_eq!(members(), ["dn1", "dn2"]);

    let (code, text) = undo(&path);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("tsmn undo will:"), "shown first: {text}");
    assert!(text.contains("an/cluster/undo-add-dn2: done"), "{text}");
    assert!(
        text.contains("stays: dn2: max_prepared_transactions"),
        "{text}"
    );
    assert_eq!(members(), ["dn1"]);
    assert_eq!(
        dns[1].sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'tsdb'"
        ),
        ["0"],
        "the database the run made on dn2 is gone"
    );
    assert!(read(&passfile) == passfile_before, "the passfile is back");
    assert_eq!(read(&dn2_hba), hba_before, "dn2's pg_hba.conf is back");
    assert_hba_loads(&dns[1]);
    // The files as they were before the undo are kept beside them.
    assert!(
        files_below(&dns[1].cluster.data_dir())
            .iter()
            .filter(|(rel, _)| rel.starts_with("pg_hba.conf.tsmn-"))
            .count()
            >= 2
    );

    let (code, text) = undo(&path);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("undone already"), "{text}");

    // The way back is clean: the node can be added again.
    let (code, text) = apply_file(&path, &[], &ENV);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(members(), ["dn1", "dn2"]);

    // With distributed data, undo refuses and changes nothing.
    metrics(&an, "2026-01-01", "2026-01-01");
    let (code, text) = undo(&path);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("holds distributed hypertables (public.metrics)")
            && text.contains("it added data node(s) dn2: deleting them would lose"),
        "{text}"
    );
    assert_eq!(members(), ["dn1", "dn2"]);
    assert_eq!(count(&an), ["8"], "nothing lost");
}

/// On plain PostgreSQL too (no TimescaleDB needed): the settings and auth
/// phases of a trust-mode run, taken back. The data node's pg_hba.conf is
/// back byte for byte; a setting is named, not changed.
#[test]
fn undo_puts_back_the_files_of_a_settings_and_auth_run() {
    let (_an, dn, _work, path) = trust_pair();
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let before = read(&hba);
    let (code, text) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_ne!(read(&hba), before);
    let (code, text) = undo(&path);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("dn1/cluster/undo-pg_hba.conf: done"),
        "{text}"
    );
    assert!(
        text.contains("stays: dn1: max_prepared_transactions"),
        "{text}"
    );
    assert_eq!(read(&hba), before);
    assert_hba_loads(&dn);
}

/// Certificate mode's settings and auth phases, taken back (plain
/// PostgreSQL): pg_hba.conf is back, but the certificate and key the
/// server's TLS now reads stay (ssl stays on: settings are not undone), so
/// the server still starts.
#[test]
fn undo_keeps_the_certificate_a_server_runs_with() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], AuthMode::Certificate),
    );
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let before = read(&hba);
    let (code, text) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = undo(&path);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("server.crt stays: the server runs with ssl = on")
            && text.contains("undone, but for 6 step(s) that left something as it is"),
        "{text}"
    );
    assert_eq!(read(&hba), before);
    assert!(dn.cluster.data_dir().join("server.crt").is_file());
    dn.restart();
    assert_eq!(dn.sql("postgres", "SHOW ssl"), ["on"], "the server starts");
}
