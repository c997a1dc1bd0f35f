//! `tsmn apply --remove-data-nodes --drain` of a data node that holds
//! copies of a replicated hypertable (TimescaleDB tier, trust mode): the
//! copies the removal takes away are made again first on the remaining
//! data nodes, so each chunk keeps its replication factor ("never worse
//! than before"), rows and checksums equal on both copies.
mod support;
use support::moves::{assert_nothing_left, fingerprint, places, rows_on};
use support::*;

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

#[test]
fn a_drain_makes_again_the_copies_its_removal_takes_from_a_replicated_hypertable() {
    if !timescaledb_tier(
        "a_drain_makes_again_the_copies_its_removal_takes_from_a_replicated_hypertable",
    ) {
        return;
    }
    let r = Running::applied(&[]);
    let dn3 = TestCluster::named("dn3");
    let three = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster, &r.dn2.cluster, &dn3.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let dir = r.path.parent().expect("plan dir");
    let grown = write_plan(dir, &three);
    let (code, text) = apply_file(&grown, &[], &[]);
    assert_eq!(code, Some(0), "{text}");
    // Made with three data nodes: two copies of each chunk, spread on all.
    r.an.sql(
        "tsdb",
        "CREATE TABLE r2 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r2', 'time', 'device', replication_factor => 2); \
         INSERT INTO r2 SELECT t, d, random() FROM generate_series('2026-01-01'::timestamptz, '2026-01-20', \
           '1 hour') t, generate_series(1, 6) d",
    );
    r.an.sql("tsdb", "ANALYZE r2");
    let before = fingerprint(&r.an, &["r2"]);
    let chunks = places(&r.an, "r2");
    let on_dn3 = chunks.iter().filter(|c| c.contains("dn3")).count();
    assert!(on_dn3 > 0, "dn3 holds copies: {chunks:?}");
    assert!(
        chunks.iter().all(|c| c.matches("dn").count() == 2),
        "{chunks:?}"
    );

    let two = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster, &r.dn2.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(dir, &two);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.matches(" copied to dn").count(),
        on_dn3,
        "one copy per chunk dn3 held: {text}"
    );
    // (The engine's detach warns "is under-replicated" whenever the node
    // holds a copy, whatever the other copies: data_node.c counts none.)
    assert!(text.contains("an/cluster/remove-dn3: done"), "{text}");
    let after = places(&r.an, "r2");
    assert_eq!(after.len(), chunks.len());
    for p in &after {
        let (chunk, nodes) = p.split_once(':').expect("chunk:nodes");
        assert_eq!(
            nodes, "dn1,dn2",
            "two copies each, on the remaining nodes: {p}"
        );
        assert_eq!(rows_on(&r.dn1, chunk), rows_on(&r.dn2, chunk), "{chunk}");
    }
    assert_eq!(fingerprint(&r.an, &["r2"]), before, "every row, once");
    assert_nothing_left(&[&r.an, &r.dn1, &r.dn2, &dn3]);
    let (_, found) = check(&two, TIMEOUT);
    assert!(
        !has_finding(&found, "an", "chunks_under_replicated"),
        "{found:#?}"
    );
}

#[test]
fn a_drain_that_would_leave_chunks_under_their_factor_stops_and_names_them() {
    if !timescaledb_tier("a_drain_that_would_leave_chunks_under_their_factor_stops_and_names_them")
    {
        return;
    }
    let r = Running::applied(&[]);
    r.an.sql(
        "tsdb",
        "CREATE TABLE r2 (time timestamptz NOT NULL, device int, v float8); \
         SELECT create_distributed_hypertable('r2', 'time', 'device', replication_factor => 2); \
         INSERT INTO r2 SELECT t, d, random() FROM generate_series('2026-01-01'::timestamptz, '2026-01-05', \
           '1 hour') t, generate_series(1, 4) d",
    );
    let chunks = places(&r.an, "r2");
    let one = plan_for(
        &r.an.cluster,
        &[&r.dn1.cluster],
        tsmn::plan::AuthMode::Trust,
    );
    let path = write_plan(r.path.parent().expect("plan dir"), &one);
    let (code, text) = apply_file(&path, &["--remove-data-nodes", "--drain"], &[]);
    assert_eq!(code, Some(1), "{text}");
    let closing = text.lines().last().unwrap_or_default();
    assert!(
        closing.starts_with("not done: ")
            && closing.contains("an/cluster/copy-_timescaledb_internal."),
        "the closing line names a chunk left short: {text}"
    );
    assert!(
        text.contains("would keep 1 of its 2 copies") && text.contains("or keep dn2 in the plan"),
        "{text}"
    );
    // Nothing of the cluster phase ran: dn2 is a member, every copy there.
    assert_eq!(places(&r.an, "r2"), chunks);
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SELECT string_agg(node_name, ',' ORDER BY node_name) FROM timescaledb_information.data_nodes"
        ),
        ["dn1,dn2"]
    );
}
