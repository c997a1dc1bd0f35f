//! Replication repair and a lost data node replaced (TimescaleDB tier,
//! trust mode), on real servers: `tsmn apply --repair-replication` brings
//! every chunk of a hypertable whose factor was raised to that factor; a
//! data node stopped for real under a hypertable kept in two copies is
//! told by check as the catalog says, marked unavailable as check says
//! (reads return every row), and replaced by the plan's new data node
//! (the copies made again there, the lost node deleted); and a lost node
//! holding the only copy of chunks is removed only when each of them is
//! named, and then exactly those are gone. A repair killed right after
//! the engine's copy resumes: the write pause released, the other chunks
//! copied, nothing of the engine's copy left, every copy equal.

mod support;
use support::moves::{assert_killed_with_the_pause_held, fingerprint, places, rows_on};

use std::time::Duration;
use support::fixes::execute;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(3);

fn data_nodes(an: &TestCluster) -> Vec<String> {
    an.sql(
        "tsdb",
        "SELECT node_name FROM timescaledb_information.data_nodes ORDER BY 1",
    )
}

#[test]
fn repair_replication_brings_every_chunk_to_a_raised_factor() {
    if !timescaledb_tier("repair_replication_brings_every_chunk_to_a_raised_factor") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    let before = fingerprint(&r.an, &["metrics"]);
    let chunks = places(&r.an, "metrics");
    assert!(chunks.iter().all(|c| !c.contains(',')), "{chunks:?}");
    r.an.sql("tsdb", "SELECT set_replication_factor('metrics', 2)");
    // The engine copies no existing chunk: check says so.
    let (_, found) = check(&r.plan, TIMEOUT);
    let short = finding(&found, "an", "chunks_under_replicated");
    assert!(
        short.what.contains(&format!(
            "public.metrics: {} chunk(s) have fewer than 2 copies",
            chunks.len()
        )),
        "{short:#?}"
    );
    let (code, text) = apply_file(&r.path, &["--repair-replication"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.matches(" copied to dn").count(),
        chunks.len(),
        "one copy per chunk: {text}"
    );
    // Every chunk on both data nodes, equal on both (read there).
    let after = places(&r.an, "metrics");
    assert_eq!(after.len(), chunks.len());
    for p in &after {
        let (chunk, nodes) = p.split_once(':').expect("chunk:nodes");
        assert_eq!(nodes, "dn1,dn2", "{p}");
        assert_eq!(rows_on(&r.dn1, chunk), rows_on(&r.dn2, chunk), "{chunk}");
    }
    assert_eq!(fingerprint(&r.an, &["metrics"]), before, "every row, once");
    let (_, found) = check(&r.plan, TIMEOUT);
    assert!(
        !has_finding(&found, "an", "chunks_under_replicated"),
        "{found:#?}"
    );
    let (code, again) = apply_file(&r.path, &["--repair-replication"], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(!again.contains(" copied to dn"), "{again}");
}

#[test]
fn a_lost_data_node_is_replaced_and_every_chunk_has_its_copies_again() {
    if !timescaledb_tier("a_lost_data_node_is_replaced_and_every_chunk_has_its_copies_again") {
        return;
    }
    let r = Running::applied(&[]);
    r.an.sql(
        "tsdb",
        "CREATE TABLE r2 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r2', 'time', 'device', replication_factor => 2); \
         INSERT INTO r2 SELECT t, d, random() FROM generate_series('2026-01-01'::timestamptz, '2026-01-20', \
           '1 hour') t, generate_series(1, 4) d",
    );
    r.an.sql("tsdb", "ANALYZE r2");
    let before = fingerprint(&r.an, &["r2"]);
    let chunks = places(&r.an, "r2");
    assert!(chunks.iter().all(|c| c.ends_with(":dn1,dn2")), "{chunks:?}");

    r.dn2.cluster.stop(true).expect("stop dn2");
    // check tells what the catalog says: every chunk of r2 has another
    // copy, none exists only on dn2.
    let (_, found) = check(&r.plan, TIMEOUT);
    let still = finding(&found, "dn2", "lost_node_still_used");
    assert!(
        still.what.contains(&format!(
            "{n} chunk(s) that have another copy: public.r2: {n} chunk(s)",
            n = chunks.len()
        )),
        "{still:#?}"
    );
    assert!(!has_finding(&found, "dn2", "lost_node_only_copies"));
    execute(still, &r.nodes());
    assert_eq!(
        fingerprint(&r.an, &["r2"]),
        before,
        "reads use the other copies"
    );

    // The plan: dn2 out, dn3 in.
    let dn3 = TestCluster::named("dn3");
    let plan = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster, &dn3.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(r.path.parent().expect("plan dir"), &plan);
    let started = std::time::Instant::now();
    let (code, text) = apply_file(&path, &["--remove-data-nodes"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("an/cluster/unavailable-dn2"), "{text}");
    assert_eq!(
        text.matches(" copied to dn3").count(),
        chunks.len(),
        "{text}"
    );
    assert!(text.contains("an/cluster/remove-dn2: done"), "{text}");
    for l in text.lines().filter(|l| l.starts_with("[an] an/cluster/")) {
        eprintln!("{l}");
    }
    eprintln!(
        "replaced dn2 by dn3 ({} chunks copied) in {:?}",
        chunks.len(),
        started.elapsed()
    );
    assert_eq!(data_nodes(&r.an), ["dn1", "dn3"]);
    for p in places(&r.an, "r2") {
        let (chunk, nodes) = p.split_once(':').expect("chunk:nodes");
        assert_eq!(nodes, "dn1,dn3", "{p}");
        assert_eq!(rows_on(&r.dn1, chunk), rows_on(&dn3, chunk), "{chunk}");
    }
    assert_eq!(fingerprint(&r.an, &["r2"]), before, "every row, once");
    // No node is unavailable now: DDL on the hypertable works again, and
    // new rows go to both copies.
    r.an.sql("tsdb", "ALTER TABLE r2 ADD COLUMN note text");
    r.an.sql(
        "tsdb",
        "INSERT INTO r2 VALUES ('2026-03-01', 1, 1, 'after')",
    );
    let (_, found) = check(&plan, TIMEOUT);
    assert!(
        !found.iter().any(|f| f.code == "chunks_under_replicated"
            || f.code.starts_with("lost_node")
            || f.code == "node_marked_unavailable"),
        "{found:#?}"
    );
    let (code, again) = apply_file(&path, &["--remove-data-nodes"], &[]);
    assert_eq!(code, Some(0), "{again}");
    assert!(
        !again.contains(" copied to "),
        "nothing left to copy: {again}"
    );
}

#[test]
fn a_lost_node_with_only_copies_is_removed_only_when_each_is_given_up_by_name() {
    if !timescaledb_tier(
        "a_lost_node_with_only_copies_is_removed_only_when_each_is_given_up_by_name",
    ) {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    r.an.sql("tsdb", "ANALYZE metrics");
    let total: i64 = count(&r.an)[0].parse().expect("count");
    let only: Vec<String> = r.an.sql(
        "tsdb",
        "SELECT chunk_name FROM timescaledb_information.chunks WHERE data_nodes = '{dn2}' ORDER BY 1",
    );
    assert!(only.len() >= 2, "{only:?}");
    let on_dn2: i64 = r.dn2.sql("tsdb", "SELECT count(*) FROM metrics")[0]
        .parse()
        .expect("count");
    let kept = places(&r.an, "metrics")
        .into_iter()
        .filter(|p| p.ends_with(":dn1"))
        .collect::<Vec<_>>();
    r.dn2.cluster.stop(true).expect("stop dn2");

    let plan = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(r.path.parent().expect("plan dir"), &plan);
    // Without the option: refused, naming every chunk lost with dn2.
    let (code, text) = apply_file(&path, &["--remove-data-nodes"], &[]);
    assert_eq!(code, Some(1), "{text}");
    eprintln!("refused without --give-up-chunks:\n{text}");
    for c in &only {
        assert!(text.contains(c.as_str()), "{c} named: {text}");
    }
    assert!(
        text.contains(&format!("--give-up-chunks {}", only.join(","))),
        "{text}"
    );
    // One left unnamed: still refused, that one named as not given up,
    // and the fix names them all (to replace the option as given).
    let (last, first) = only.split_last().expect("chunks");
    let (code, text) = apply_file(
        &path,
        &["--remove-data-nodes", "--give-up-chunks", &first.join(",")],
        &[],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("1 of them not named in --give-up-chunks: ")
            && text.contains(&format!("{last} of "))
            && text.contains(&format!("--give-up-chunks {}", only.join(","))),
        "{text}"
    );
    // A name that is no such chunk: refused.
    let (code, text) = apply_file(
        &path,
        &[
            "--remove-data-nodes",
            "--give-up-chunks",
            &format!("{},nonesuch", only.join(",")),
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("names nonesuch that is no chunk"), "{text}");
    assert_eq!(data_nodes(&r.an), ["dn1", "dn2"], "nothing changed");
    assert_eq!(places(&r.an, "metrics").len(), kept.len() + only.len());

    // Every one named (one of them in a file): removed, exactly those lost.
    let list = r.path.parent().expect("plan dir").join("give-up.txt");
    std::fs::write(&list, format!("# lost with dn2\n{last}\n")).expect("list");
    let (code, text) = apply_file(
        &path,
        &[
            "--remove-data-nodes",
            "--give-up-chunks",
            &format!("{},@{}", first.join(","), list.display()),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{text}");
    // Said before it runs (apply's summary), then done: each chunk with
    // its hypertable, range and rows.
    for c in &only {
        assert!(
            text.contains(&format!(
                "- Give up _timescaledb_internal.{c} of public.metrics [2026-"
            )),
            "{text}"
        );
    }
    eprintln!("removed with --give-up-chunks:\n{text}");
    assert_eq!(data_nodes(&r.an), ["dn1"]);
    assert_eq!(
        places(&r.an, "metrics"),
        kept,
        "exactly the named chunks are gone"
    );
    assert_eq!(count(&r.an), [(total - on_dn2).to_string()]);
    let (_, found) = check(&plan, TIMEOUT);
    assert!(
        !found
            .iter()
            .any(|f| f.code.starts_with("lost_node") || f.code == "chunks_under_replicated"),
        "{found:#?}"
    );
    // New rows go to the data node that is left.
    metrics(&r.an, "2026-03-01", "2026-03-02");
}

#[test]
fn a_repair_killed_during_a_copy_resumes_and_every_copy_is_equal() {
    if !timescaledb_tier("a_repair_killed_during_a_copy_resumes_and_every_copy_is_equal") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2026-01-01", "2026-01-20");
    let before = fingerprint(&r.an, &["metrics"]);
    let n = places(&r.an, "metrics").len();
    r.an.sql("tsdb", "SELECT set_replication_factor('metrics', 2)");
    let (code, text) = apply_file(
        &r.path,
        &["--repair-replication"],
        &[("TSMN_TEST_KILL_DURING", "@copy")],
    );
    // Killed with the first copy attached and writes paused.
    assert_killed_with_the_pause_held(code, &text, &r.an);
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'metrics' AND cardinality(data_nodes) = 2"
        ),
        ["1"]
    );
    let (code, text) = apply_file(&r.path, &["--repair-replication"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("released write pause tsmn_drain_"), "{text}");
    // The copy the killed run never compared is compared now.
    assert!(
        text.contains("compared after the killed run: equal (dn1 "),
        "{text}"
    );
    assert_eq!(text.matches(" copied to dn").count(), n - 1, "{text}");
    for p in places(&r.an, "metrics") {
        let (chunk, nodes) = p.split_once(':').expect("chunk:nodes");
        assert_eq!(nodes, "dn1,dn2", "{p}");
        assert_eq!(rows_on(&r.dn1, chunk), rows_on(&r.dn2, chunk), "{chunk}");
    }
    assert_eq!(fingerprint(&r.an, &["metrics"]), before);
    for n in [&r.an, &r.dn1, &r.dn2] {
        assert_eq!(
            n.sql(
                "tsdb",
                "SELECT (SELECT count(*) FROM pg_subscription) + (SELECT count(*) FROM pg_publication) \
                 + (SELECT count(*) FROM pg_replication_slots) + (SELECT count(*) FROM pg_prepared_xacts)"
            ),
            ["0"],
            "{}: nothing of the copy left",
            n.cluster.name
        );
    }
}
