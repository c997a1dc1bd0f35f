//! `tsmn apply --rotate-password ROLE` on a running password-mode cluster
//! (TimescaleDB tier): the data nodes take the new password one at a time,
//! each followed by its passfile line; TimescaleDB reaches every data node
//! as the role afterwards; no old password is left in the passfile or its
//! backups; a re-run changes nothing, and a rotation cut short resumes.

mod support;

use support::*;
use tsmn::plan::AuthMode;

const SU: &str = "su-pw";
const OLD: &str = "ops-old-pw";
const NEW: &str = "ops-new:pw";
const NEWER: &str = "ops-newer-pw";

fn env(ops: &str) -> [(&'static str, &str); 2] {
    [("TSMN_ROLE_PW_POSTGRES", SU), ("TSMN_ROLE_PW_OPS", ops)]
}

/// The data node admits `ops` with this password (psql, straight to it).
fn logs_in(dn: &TestCluster, password: &str) -> bool {
    psql(
        &format!(
            "host=127.0.0.1 port={} user=ops dbname=postgres",
            dn.cluster.port
        ),
        "SELECT 1",
        &[("PGPASSWORD", password)],
    )
    .0
}

fn reaches_as_ops(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SET ROLE ops; SELECT bool_and(_timescaledb_functions.ping_data_node(node_name)) FROM timescaledb_information.data_nodes",
    )
}

#[test]
fn a_rotated_password_reaches_every_data_node_and_leaves_no_old_one_behind() {
    if !timescaledb_tier("a_rotated_password_reaches_every_data_node_and_leaves_no_old_one_behind")
    {
        return;
    }
    let an = TestCluster::named("an");
    let dns = [TestCluster::named("dn1"), TestCluster::named("dn2")];
    let work = temp_dir();
    let mut plan = plan_for(
        &an.cluster,
        &[&dns[0].cluster, &dns[1].cluster],
        AuthMode::Password,
    );
    plan.auth.roles.push("ops".into());
    let path = write_plan(work.path(), &plan);
    let (code, text) = apply_file(&path, &[], &env(OLD));
    assert_eq!(code, Some(0), "{text}");
    metrics(&an, "2026-01-01", "2026-01-05");
    let rows = count(&an);
    assert!(dns.iter().all(|d| logs_in(d, OLD)));

    let rotate = ["--rotate-password", "ops"];
    let (code, text) = apply_file(&path, &rotate, &env(NEW));
    assert_eq!(code, Some(0), "{text}");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{text}"))
    };
    // One data node after the other, before the role's other steps.
    assert!(at("an/auth/rotate-ops-dn1: done") < at("an/auth/rotate-ops-dn2: done"));
    assert!(at("an/auth/rotate-ops-dn2: done") < at("dn1/auth/role-ops: already done"));
    assert!(text.contains("without ops's old password"), "{text}");
    assert!(
        text.contains("done: the cluster was verified from the access node"),
        "{text}"
    );
    for secret in [OLD, NEW] {
        assert_no_secret(&text, secret, "apply's output");
    }
    for d in &dns {
        assert!(logs_in(d, NEW), "{} takes the new password", d.cluster.name);
        assert!(!logs_in(d, OLD), "{} refuses the old one", d.cluster.name);
    }
    assert_eq!(reaches_as_ops(&an), ["t"]);
    // No old password in the passfile, its backups, or any other file of
    // the access node's data directory.
    let files = data_files(&an);
    assert!(
        files
            .iter()
            .any(|(rel, _)| rel.starts_with("passfile.tsmn-")),
        "the passfile was backed up: {:?}",
        files.iter().map(|(r, _)| r).collect::<Vec<_>>()
    );
    for (rel, bytes) in &files {
        assert_no_secret(&String::from_utf8_lossy(bytes), OLD, rel);
    }

    // The same rotation again: nothing to do.
    let (code, again) = apply_file(&path, &rotate, &env(NEW));
    assert_eq!(code, Some(0), "{again}");
    assert!(again.contains("nothing changed"), "{again}");

    // A rotation cut short: dn1 has the newer password, its line does not.
    dns[0].sql("postgres", &format!("ALTER ROLE ops PASSWORD '{NEWER}'"));
    let (code, resumed) = apply_file(&path, &rotate, &env(NEWER));
    assert_eq!(code, Some(0), "{resumed}");
    assert!(
        resumed.contains("an/auth/rotate-ops-dn1: done")
            && !resumed.contains("dn1 has ops's new password"),
        "dn1 only gets its passfile line:\n{resumed}"
    );
    assert!(resumed.contains("dn2 has ops's new password"), "{resumed}");
    assert_eq!(reaches_as_ops(&an), ["t"]);
    assert_eq!(count(&an), rows, "nothing lost");

    refusals(&path);
}

/// What --rotate-password refuses, before any change: the superuser
/// without a new password given (tsmn's own login password is no default
/// for it), and a role the plan does not have.
fn refusals(path: &std::path::Path) {
    // Rotating the superuser needs a new password given: tsmn's own login
    // password is no default for it.
    let (code, said) = apply_file(
        path,
        &["--rotate-password", "postgres"],
        &[("TSMN_ROLE_PW_OPS", NEWER), ("PGPASSWORD", SU)],
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("no new password for role postgres (--rotate-password)")
            && said.contains("TSMN_ROLE_PW_POSTGRES"),
        "{said}"
    );

    // A role the plan does not have.
    let (code, said) = apply_file(path, &["--rotate-password", "nobody"], &env(NEWER));
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("nobody is not among auth.roles (postgres, ops)"),
        "{said}"
    );
}
