//! `tsmn report` on a real applied cluster (TimescaleDB tier): a secret
//! planted in every place tsmn reads (a role's password in a logged
//! statement, a password in a setting's connection string, the plan's
//! password variable, the access node's passfile) is nowhere in the
//! unpacked bundle; README.txt names every file; the bundle is 0600.

mod support;

use std::os::unix::fs::PermissionsExt;
use support::{assert_no_secret, files_below, metrics, timescaledb_tier, tsmn, Running};

const SECRET: &str = "Tsmn-Leak-S3cret!x";

#[test]
fn the_bundle_holds_what_it_names_and_no_secret() {
    if !timescaledb_tier("report::bundle") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-05");
    plant_secrets(&r);

    let work = tempfile::tempdir().expect("temp dir");
    let out = work.path().join("bundle.tar.gz");
    let run = tsmn()
        .args(["report", "--plan"])
        .arg(&r.path)
        .arg("--out")
        .arg(&out)
        .env("TSMN_REPORT_LEAK_PW", SECRET)
        .output()
        .expect("tsmn report");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(0), "{said}");
    assert_no_secret(&said, SECRET, "tsmn report's output");
    let mode = std::fs::metadata(&out)
        .expect("bundle")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    check_bundle(&r, &out, work.path());

    // An existing file is refused, as bad input.
    let again = tsmn()
        .args(["report", "--plan"])
        .arg(&r.path)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("tsmn report");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--out"));
}

/// The secret, planted in every place tsmn reads.
fn plant_secrets(r: &Running) {
    // The access node logs every statement to a file of its own.
    r.an.sql("postgres", "ALTER SYSTEM SET logging_collector = on");
    r.an.sql("postgres", "ALTER SYSTEM SET log_statement = 'all'");
    r.an.restart();
    r.an.sql(
        "postgres",
        &format!("CREATE ROLE leaky LOGIN PASSWORD '{SECRET}'"),
    );
    r.an.sql(
        "postgres",
        &format!("ALTER SYSTEM SET primary_conninfo = 'host=10.9.9.9 user=rep password={SECRET}'"),
    );
    r.an.sql("postgres", "SELECT pg_reload_conf()");
    // A user's job whose config holds a password (in jobs.tsv and in the
    // logged statement).
    r.an.sql(
        "tsdb",
        "CREATE PROCEDURE leaky_job(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$",
    );
    r.an.sql(
        "tsdb",
        &format!("SELECT add_job('leaky_job', '1 hour', config => '{{\"password\": \"{SECRET}\", \"keep\": \"days\"}}')"),
    );
    let passfile = r.an.cluster.data_dir().join("passfile");
    std::fs::write(&passfile, format!("*:*:*:postgres:{SECRET}\n")).expect("passfile");
    // The plan names a password variable, set to the secret.
    let plan = support::read(&r.path).replace(
        "password_env = \"\"",
        "password_env = \"TSMN_REPORT_LEAK_PW\"",
    );
    assert!(plan.contains("TSMN_REPORT_LEAK_PW"), "{plan}");
    std::fs::write(&r.path, plan).expect("plan");
}

/// Unpacked: every file named in README.txt, none holding the secret, the
/// catalogs the cluster's.
fn check_bundle(r: &Running, out: &std::path::Path, work: &std::path::Path) {
    // Unpacked by tar itself.
    let unpacked = work.join("x");
    std::fs::create_dir(&unpacked).expect("mkdir");
    let tar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(out)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar");
    assert!(tar.success());
    let files = files_below(&unpacked.join("bundle"));
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "README.txt",
        "status.json",
        "an/settings.tsv",
        "an/pg_hba.conf",
        "an/server.log",
        "an/data_nodes.tsv",
        "an/chunks.tsv",
        "an/chunk_placement.tsv",
        "an/jobs.tsv",
        "an/remote_txn.tsv",
        "dn1/pg_prepared_xacts.tsv",
        "dn2/versions.tsv",
        "tsmn/plan.toml",
        "tsmn/journal.jsonl",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    let readme = support::read(&unpacked.join("bundle/README.txt"));
    let mut all = String::new();
    for (name, path) in &files {
        assert!(
            readme
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{name} "))),
            "README.txt does not name {name}:\n{readme}"
        );
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).to_string();
        assert_no_secret(&text, SECRET, name);
        assert!(!text.contains("SCRAM-SHA-256$"), "{name} holds a verifier");
        all.push_str(&text);
    }
    // What the secret stood in is there, masked: the masking was exercised.
    let log = support::read(&unpacked.join("bundle/an/server.log"));
    assert!(
        log.contains("CREATE ROLE leaky LOGIN PASSWORD '***'"),
        "{log}"
    );
    let jobs = support::read(&unpacked.join("bundle/an/jobs.tsv"));
    assert!(jobs.contains(r#""password": "***""#), "{jobs}");
    assert!(jobs.contains(r#""keep": "days""#), "{jobs}");
    let settings = support::read(&unpacked.join("bundle/an/settings.tsv"));
    assert!(settings.contains("primary_conninfo"), "{settings}");
    // The catalogs are the cluster's: both data nodes, the hypertable's chunks.
    let nodes = support::read(&unpacked.join("bundle/an/data_nodes.tsv"));
    assert!(nodes.contains("dn1") && nodes.contains("dn2"), "{nodes}");
    let chunks = support::read(&unpacked.join("bundle/an/chunk_placement.tsv"));
    let in_catalog = r.an.sql(
        "tsdb",
        "SELECT count(*) FROM _timescaledb_catalog.chunk_data_node",
    );
    assert_eq!(
        (chunks.lines().count() - 1).to_string(),
        in_catalog[0],
        "{chunks}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&support::read(&unpacked.join("bundle/status.json"))).expect("json");
    assert_eq!(status["schema"], "tsmn-status/1");
}
