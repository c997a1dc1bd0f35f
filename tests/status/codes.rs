//! What goes wrong in a running cluster besides a node down, made for
//! real on an applied cluster, each shown by `tsmn status` with its code
//! in the text and in `--json`: a user's job that fails (with its error),
//! chunks below their replication factor, a certificate near its end; and
//! the free space of each data directory, as `df` gives it.

use super::support::fixes::execute;
use super::support::status::{codes_on, node, status};
use super::support::{check, server_user, timescaledb_tier, tsmn, Running, TestCa, TestCluster};
use serde_json::Value;
use std::time::{Duration, Instant};
use tsmn::findings::Finding;

#[test]
fn a_failing_job_chunks_below_their_replication_factor_and_a_certificate_near_its_end() {
    if !timescaledb_tier("status::codes") {
        return;
    }
    let r = Running::applied(&[]);
    free_space_as_df_gives_it(&r);
    let job = a_job_that_fails(&r);
    let short = chunks_below_their_replication_factor(&r);
    a_certificate_near_its_end(&r);
    // All at once, in the text too, each with its code; warnings only.
    let out = tsmn()
        .args(["status", "--plan"])
        .arg(&r.path)
        .output()
        .expect("tsmn status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "WARNING an [job_failed]: job {job} (tsmn_test_boom)"
        )),
        "{text}"
    );
    assert!(text.contains(JOB_ERROR), "{text}");
    assert!(
        text.contains(&format!(
            "WARNING an [chunks_under_replicated]: public.r2: {short} chunk(s) have fewer than 2 copies"
        )),
        "{text}"
    );
    assert!(
        text.contains("WARNING dn1 [certificate_expiring]: the server certificate"),
        "{text}"
    );
    assert!(text.contains("expires in 1 day(s)"), "{text}");
    check_explains_them_and_its_fixes_clear_them(&r, &job);
}

/// check reports what status marks, with the same codes, and its fixes,
/// carried out as written, clear them: the chunks short of copies (once a
/// data node can take a copy and wal_level is logical), the remote_txn
/// records (healed), the failing job (its cause corrected, then run by
/// the scheduler at once as the fix says).
fn check_explains_them_and_its_fixes_clear_them(r: &Running, job: &str) {
    let timeout = Duration::from_secs(5);
    let (_, found) = check(&r.plan, timeout);
    let failed = support_finding(&found, "an", "job_failed");
    assert!(
        failed
            .what
            .starts_with(&format!("job {job} (tsmn_test_boom)")),
        "{failed:#?}"
    );
    assert!(
        failed
            .fix
            .contains(&format!("SELECT alter_job({job}, next_start => now())")),
        "{failed:#?}"
    );
    let short = on_hypertable(&found, "public.r2");
    assert!(
        short.fix.contains("attach_data_node"),
        "no data node can take a copy: {short:#?}"
    );

    // r3 kept on both data nodes, its factor raised afterwards: the
    // engine leaves its chunks with one copy. With wal_level = logical on
    // both data nodes, check's fix copies them.
    r.an.sql(
        "tsdb",
        "CREATE TABLE r3 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r3', 'time', 'device', replication_factor => 1); \
         INSERT INTO r3 SELECT t, d, 1 FROM generate_series('2024-01-01'::timestamptz, '2024-01-20', \
           '1 hour') t, generate_series(1, 4) d; \
         SELECT set_replication_factor('r3', 2)",
    );
    for dn in [&r.dn1, &r.dn2] {
        dn.sql("postgres", "ALTER SYSTEM SET wal_level = logical");
        dn.restart();
    }
    let (_, found) = check(&r.plan, timeout);
    let short = on_hypertable(&found, "public.r3");
    assert!(short.fix.contains("copy_chunk"), "{short:#?}");
    execute(short, &r.nodes());
    let (_, found) = check(&r.plan, timeout);
    assert!(
        found
            .iter()
            .all(|f| !(f.code == "chunks_under_replicated" && f.what.starts_with("public.r3"))),
        "{found:#?}"
    );
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM timescaledb_information.chunks \
             WHERE hypertable_name = 'r3' AND cardinality(data_nodes) < 2"
        ),
        ["0"]
    );
    assert_eq!(r.an.sql("tsdb", "SELECT count(*) FROM r3"), ["1828"]);

    // The heal check gives clears the records the writes to r2 left.
    assert_ne!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM _timescaledb_catalog.remote_txn"
        ),
        ["0"],
        "two-phase writes leave records"
    );
    let heal = tsmn::findings::health::remote_txn_backlog("an", "tsdb", 1, Some("2.13.1"));
    execute(&heal, &r.nodes());
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM _timescaledb_catalog.remote_txn"
        ),
        ["0"]
    );

    // The job's cause corrected, then the fix's own statement.
    r.an.sql(
        "tsdb",
        "CREATE OR REPLACE PROCEDURE tsmn_test_boom(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN END $$",
    );
    r.an.sql(
        "tsdb",
        &format!("SELECT alter_job({job}, next_start => now())"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, found) = check(&r.plan, timeout);
        let still = found
            .iter()
            .any(|f| f.code == "job_failed" && f.what.starts_with(&format!("job {job} ")));
        if !still {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} still failing: {found:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn on_hypertable<'f>(found: &'f [Finding], hypertable: &str) -> &'f Finding {
    found
        .iter()
        .find(|f| {
            f.code == "chunks_under_replicated" && f.what.starts_with(&format!("{hypertable}:"))
        })
        .unwrap_or_else(|| panic!("no chunks_under_replicated of {hypertable}: {found:#?}"))
}

fn support_finding<'f>(found: &'f [Finding], node: &str, code: &str) -> &'f Finding {
    found
        .iter()
        .find(|f| f.node == node && f.code == code)
        .unwrap_or_else(|| panic!("no {code} on {node}: {found:#?}"))
}

fn finding<'d>(doc: &'d Value, code: &str) -> Vec<&'d Value> {
    doc["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["code"] == code).collect())
        .unwrap_or_default()
}

/// Each node's free space is what `df` says of its data directory (the
/// test's own df, a moment later: other writers on this machine move it
/// a little).
fn free_space_as_df_gives_it(r: &Running) {
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    for (name, c) in [("an", &r.an), ("dn1", &r.dn1), ("dn2", &r.dn2)] {
        let disk = &node(&doc, name)["disk"];
        let dir = c.cluster.data_dir();
        assert_eq!(
            disk["data_directory"].as_str(),
            Some(dir.to_str().expect("utf-8 path")),
            "{doc:#}"
        );
        let df = std::process::Command::new("df")
            .args(["-Pk"])
            .arg(&dir)
            .output()
            .expect("df");
        let line = String::from_utf8_lossy(&df.stdout);
        let f: Vec<i64> = line
            .lines()
            .last()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let (total, free) = (f[0] * 1024, f[2] * 1024);
        assert_eq!(disk["total_bytes"].as_i64(), Some(total), "{doc:#}");
        let shown = disk["free_bytes"].as_i64().expect("free_bytes");
        assert!(
            (shown - free).abs() < total / 100,
            "{name}: status says {shown} free, df {free}"
        );
    }
}

const JOB_ERROR: &str = "tsmn test: the job failed on purpose";

/// A user's job whose procedure raises: run by hand it fails (and the
/// engine records nothing), run by the scheduler it is recorded as failed
/// with its error. Returns its id. (On a fresh 2.13.1 cluster the
/// engine's own job 2 may fail too: only this job's finding is asserted.)
fn a_job_that_fails(r: &Running) -> String {
    r.an.sql(
        "tsdb",
        &format!(
            "CREATE PROCEDURE tsmn_test_boom(job_id int, config jsonb) LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION '{JOB_ERROR}'; END $$"
        ),
    );
    let id = r.an.sql(
        "tsdb",
        "SELECT add_job('tsmn_test_boom', '1 hour', initial_start => now() + interval '1 hour')",
    )[0]
    .clone();
    let by_hand = sql_error(&r.an, &format!("CALL run_job({id})"));
    assert!(by_hand.contains(JOB_ERROR), "{by_hand}");
    r.an.sql(
        "tsdb",
        &format!("SELECT alter_job({id}, next_start => now())"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while r.an.sql(
        "tsdb",
        &format!(
            "SELECT count(*) FROM timescaledb_information.job_stats \
             WHERE job_id = {id} AND last_run_status = 'Failed'"
        ),
    ) != ["1"]
    {
        assert!(
            Instant::now() < deadline,
            "the scheduler never ran job {id}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "a failing job is a warning: {doc:#}");
    let ours: Vec<&Value> = finding(&doc, "job_failed")
        .into_iter()
        .filter(|f| {
            f["what"]
                .as_str()
                .is_some_and(|w| w.starts_with(&format!("job {id} ")))
        })
        .collect();
    assert_eq!(ours.len(), 1, "{doc:#}");
    assert_eq!(ours[0]["node"], "an");
    assert!(
        ours[0]["what"]
            .as_str()
            .is_some_and(|w| w.contains(JOB_ERROR)),
        "{doc:#}"
    );
    let listed = doc["failed_jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["job_id"].as_i64() == id.parse().ok()))
        .unwrap_or_else(|| panic!("job {id} not in failed_jobs: {doc:#}"));
    assert_eq!(listed["last_error"], JOB_ERROR, "{doc:#}");
    assert_eq!(listed["proc_name"], "tsmn_test_boom", "{doc:#}");
    id
}

/// The error `sql` gives on tsdb of `c` (it must fail).
fn sql_error(c: &TestCluster, sql: &str) -> String {
    let (rt, client) = super::support::session(&c.cluster, "tsdb").expect("a session");
    rt.block_on(async {
        match client.batch_execute(sql).await {
            Ok(()) => panic!("{sql} did not fail"),
            Err(e) => e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string()),
        }
    })
}

/// A hypertable kept on both data nodes (replication factor 2), then dn2
/// detached from it by force: its chunks keep one copy. Returns how many
/// chunks the catalog has short of copies.
fn chunks_below_their_replication_factor(r: &Running) -> String {
    r.an.sql(
        "tsdb",
        "CREATE TABLE r2 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r2', 'time', 'device', replication_factor => 2); \
         INSERT INTO r2 SELECT t, d, 1 FROM generate_series('2024-01-01'::timestamptz, '2024-01-20', \
           '1 hour') t, generate_series(1, 4) d",
    );
    let (_, doc) = status(r, &[], &[]);
    assert!(
        finding(&doc, "chunks_under_replicated").is_empty(),
        "{doc:#}"
    );
    r.an.sql(
        "tsdb",
        "SELECT detach_data_node('dn2', 'r2', force => true)",
    );
    let short = r.an.sql(
        "tsdb",
        "SELECT count(*) FROM timescaledb_information.chunks \
         WHERE hypertable_name = 'r2' AND cardinality(data_nodes) < 2",
    )[0]
    .clone();
    assert_ne!(short, "0", "the detach left every chunk with two copies");
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let found = finding(&doc, "chunks_under_replicated");
    assert_eq!(found.len(), 1, "{doc:#}");
    assert_eq!(
        found[0]["what"].as_str().unwrap_or(""),
        format!("public.r2: {short} chunk(s) have fewer than 2 copies (its replication factor)")
    );
    let h = doc["hypertables"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == "public.r2"))
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(h["under_replicated"].to_string(), short);
    short
}

/// dn1 serves TLS with a certificate that ends in under two days (the
/// test's CA, made by openssl): a warning with check's code, its days left
/// as openssl counts them.
fn a_certificate_near_its_end(r: &Running) {
    let ca = TestCa::new("tsmn-test-ca");
    let (crt, key) = ca.server("dn1", "IP:127.0.0.1");
    let dir = r.dn1.cluster.data_dir();
    for (name, bytes, mode) in [("server.crt", &crt, 0o644), ("server.key", &key, 0o600)] {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        server_user().chown(&path).expect("chown");
    }
    for set in [
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "ALTER SYSTEM SET ssl = on",
    ] {
        r.dn1.sql("postgres", set);
    }
    super::support::reload(&r.dn1);
    assert_eq!(r.dn1.sql("postgres", "SHOW ssl"), ["on"]);
    // openssl's own count: valid for more than one day, not for two.
    let crt_path = dir.join("server.crt");
    let lasts = |secs: &str| {
        std::process::Command::new("openssl")
            .args(["x509", "-noout", "-checkend", secs, "-in"])
            .arg(&crt_path)
            .status()
            .expect("openssl")
            .success()
    };
    assert!(lasts("86400") && !lasts("172800"));
    // Whole days left, counted from a clock in seconds: in the second it
    // was issued, a 2-day certificate still has 2 whole days.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, doc) = status(r, &[], &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let certs = node(&doc, "dn1")["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(certs.len(), 1, "{doc:#}");
    assert_eq!(certs[0]["what"], "server certificate");
    assert_eq!(certs[0]["days_left"], 1, "{doc:#}");
    assert_eq!(codes_on(&doc, "dn1"), ["certificate_expiring"], "{doc:#}");
    assert!(
        node(&doc, "dn2")["certificates"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "ssl is off on dn2: {doc:#}"
    );
}
