//! PURE: the health of a running cluster, judged alike by `tsmn check`
//! (with its fixes) and by `tsmn status` (its codes and words): chunks
//! short of copies, the access node's remote_txn backlog, background jobs
//! that fail, and little free space under a data directory. One place for
//! each limit, code and sentence, so that a code status shows is the one
//! check explains.

use super::{Finding, Fix, Severity::*, Then};
use crate::facts::{ChunkPlace, DatabaseFacts, Disk, Facts, FailedJob};
use crate::plan::Plan;
use crate::quote::sql::literal;

/// Less than this share free under the data directory: the server stops
/// writing WAL when it is full, and every node of the cluster with it.
pub const DISK_FREE_PERCENT: i64 = 10;

/// TimescaleDB keeps a remote_txn row for every distributed two-phase
/// commit until `remote_txn_heal_data_node` clears it, so a backlog is
/// normal; one this large means nothing heals it.
pub const REMOTE_TXN_BACKLOG: i64 = 10_000;

/// TimescaleDB commits its own two-phase transactions within
/// milliseconds: one prepared a minute ago was left behind (the access
/// node went away between the two phases), not one in flight.
pub const PREPARED_AGE_SECONDS: i64 = 60;

/// Prepared transactions older than the limit that are not TimescaleDB's
/// own of the cluster database: (gid, database, age in seconds).
pub fn others_prepared(
    node: &str,
    left: &[(&str, &str, i64)],
    limit_seconds: i64,
) -> Option<Finding> {
    let old: Vec<&(&str, &str, i64)> = left.iter().filter(|p| p.2 >= limit_seconds).collect();
    let oldest = old.iter().max_by_key(|p| p.2)?;
    Some(Finding::new(
        Warning,
        node,
        "prepared_transactions_other",
        format!(
            "{} prepared transaction(s) older than {} that TimescaleDB did not make here: the oldest {} old ({} in {})",
            old.len(),
            crate::timescale::age(limit_seconds),
            crate::timescale::age(oldest.2),
            oldest.0,
            oldest.1
        ),
        "a prepared transaction holds its locks and keeps VACUUM from freezing past it until it is committed or rolled back; only whoever prepared it knows which",
        Fix::manual(
            old.iter()
                .map(|p| {
                    format!(
                        "in {}: COMMIT PREPARED {} or ROLLBACK PREPARED {} (as its application decides)",
                        p.1,
                        literal(p.0),
                        literal(p.0)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ))
}

/// tsmn's own write pauses (`timescale::write_pause`) on the access node:
/// (gid, database, age in seconds). A run that moves chunks holds one
/// while it copies; one that outlives its run (a kill, a lost terminal)
/// keeps every write to that hypertable waiting until the next run of the
/// same command compares the chunk's copies and releases it.
pub fn write_pauses(node: &str, left: &[(&str, &str, i64)]) -> Option<Finding> {
    let oldest = left.iter().max_by_key(|p| p.2)?;
    Some(Finding::new(
        Blocker,
        node,
        "write_pause_left",
        format!(
            "{} write pause(s) of a tsmn chunk move held (the oldest {} old: {} in {}): writes to the hypertable it moves wait for it",
            left.len(),
            crate::timescale::age(oldest.2),
            oldest.0,
            oldest.1
        ),
        "tsmn holds each chunk move's write pause in a prepared transaction, so that a run stopped during a move (kill -9, a lost terminal) leaves writes paused, never unsafe; only a run that compares the chunk's copies first may release it",
        Fix::manual(
            "unless a tsmn run is moving chunks right now, run the same tsmn command again (tsmn apply ... --drain, --repair-replication, or tsmn rebalance): its first step finishes or cleans up the engine's copy, compares the chunk's copies and releases the pause; do not roll it back by hand",
        ),
    ))
}

/// TimescaleDB's own two-phase transactions left prepared on a data node
/// (`timescale::own_prepared`): `count` of them, the oldest `(gid, age in
/// seconds)`, in `database`. check reports them at any age (its fix heals
/// them); status only past its limit, since some are always in flight.
pub fn own_prepared_left(
    node: &str,
    database: &str,
    count: usize,
    oldest: (&str, i64),
    fix: Fix,
) -> Finding {
    Finding::new(
        Warning,
        node,
        "prepared_transactions_left",
        format!(
            "{count} two-phase transaction(s) of the access node left prepared in {database} (the oldest {} old: {})",
            crate::timescale::age(oldest.1),
            oldest.0
        ),
        "the access node went away between PREPARE and COMMIT PREPARED: until resolved they hold their locks, block DDL on what they touched and keep VACUUM from freezing past them",
        fix,
    )
}

/// check: every node's free space; on a running access node its chunks'
/// copies, remote_txn backlog and failing jobs (tsmn's own jobs are the
/// maintenance findings').
pub fn findings(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    for n in &facts.nodes {
        if let Some(d) = n.server.as_ref().and_then(|s| s.disk.as_ref()) {
            out.extend(disk_low(&n.name, d));
        }
        let data_node = n.role == crate::facts::NodeRole::Data;
        let (pauses, left): (Vec<_>, Vec<_>) = n
            .server
            .as_ref()
            .and_then(|s| s.database.as_ref())
            .map(|d| d.prepared.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|p| {
                !(data_node && crate::timescale::own_prepared(&p.gid, &p.database, &plan.database))
            })
            .map(|p| (p.gid.as_str(), p.database.as_str(), p.age_seconds))
            .partition(|p| crate::timescale::write_pause(p.0));
        out.extend(write_pauses(&n.name, &pauses));
        out.extend(others_prepared(&n.name, &left, PREPARED_AGE_SECONDS));
    }
    let (Some(an), Some(db)) = (facts.access(), facts.running_cluster()) else {
        return;
    };
    let node = an.name.as_str();
    for h in &db.distributed_hypertables {
        let name = format!("{}.{}", h.schema, h.table);
        let short: Vec<&crate::facts::ChunkPlace> = db
            .chunk_places
            .iter()
            .filter(|c| c.hypertable_name == (h.schema.clone(), h.table.clone()))
            .filter(|c| (c.data_nodes.len() as i64) < h.replication_factor)
            .collect();
        if !short.is_empty() {
            let fix = copies(plan, facts, db, h, &short).or(
                "tsmn apply --repair-replication makes the same copies, one chunk at a time, with the settings and restarts they need, writes to the hypertable paused during each and rows and checksums compared",
            );
            out.push(under_replicated(
                node,
                &name,
                h.replication_factor,
                short.len() as i64,
                fix,
            ));
        }
    }
    if let Some(n) = db.remote_txn_backlog.filter(|n| *n >= REMOTE_TXN_BACKLOG) {
        out.push(remote_txn_backlog(
            node,
            &plan.database,
            n,
            db.timescaledb.as_deref(),
        ));
    }
    for j in db.failed_jobs.iter().filter(|j| {
        !crate::maintenance::Job::ALL
            .iter()
            .any(|m| m.procedure() == j.proc_name)
    }) {
        out.push(job_failed(node, &plan.database, j));
    }
}

/// Chunks of `hypertable` with fewer copies than its replication factor.
pub fn under_replicated(an: &str, hypertable: &str, factor: i64, chunks: i64, fix: Fix) -> Finding {
    Finding::new(
        Warning,
        an,
        "chunks_under_replicated",
        format!("{hypertable}: {chunks} chunk(s) have fewer than {factor} copies (its replication factor)"),
        "a chunk short of copies is lost with the data node that holds it, and reads of it fail while that node is down; TimescaleDB places copies of new chunks only (set_replication_factor and a detach do not copy existing ones)",
        fix,
    )
}

/// The fix for chunks short of copies: the engine's chunk copy from a node
/// that holds each to an attached one that does not (it needs
/// wal_level = logical on both), or words when none can take a copy.
fn copies(
    plan: &Plan,
    facts: &Facts,
    db: &DatabaseFacts,
    h: &crate::facts::DistributedHypertable,
    short: &[&crate::facts::ChunkPlace],
) -> Fix {
    let mut calls = Vec::new();
    let mut involved: Vec<String> = Vec::new();
    let ours = (h.schema.clone(), h.table.clone());
    let of: Vec<&crate::facts::ChunkPlace> = db
        .chunk_places
        .iter()
        .filter(|c| c.hypertable_name == ours)
        .collect();
    for c in copies_to_factor(&of, short, h.replication_factor, &h.data_nodes, |_| true) {
        let Some(to) = c.destination else {
            continue;
        };
        for n in [&c.source, &to] {
            if !involved.contains(n) {
                involved.push(n.clone());
            }
        }
        calls.push(format!(
            "  CALL timescaledb_experimental.copy_chunk(chunk => {}, source_node => {}, destination_node => {});",
            literal(&c.place.chunk),
            literal(&c.source),
            literal(&to)
        ));
    }
    let name = format!("{}.{}", h.schema, h.table);
    if calls.is_empty() {
        return Fix::manual(format!(
            "{name} has no attached data node without a copy: attach one (SELECT attach_data_node('<data node>', {})) and copy the chunks to it with timescaledb_experimental.copy_chunk, or lower its replication factor to the copies there are (SELECT set_replication_factor({}, <copies>); the chunks keep their copies)",
            literal(&name),
            literal(&name)
        ));
    }
    // One statement: each copy commits as it goes (copy_chunk refuses a
    // transaction block, which several statements sent at once would be;
    // a DO block at the top level lets the procedure commit).
    let block = format!("DO $tsmn$ BEGIN\n{}\nEND $tsmn$;", calls.join("\n"));
    let first = before_copying(facts, &involved);
    if first.is_empty() {
        return Fix::Sql {
            node: plan.access_node.name.clone(),
            database: db.name.clone(),
            sql: block,
            then: Then::Nothing,
        };
    }
    Fix::manual(format!(
        "first {}; then on {} in {}:\n{}",
        first.join("; "),
        plan.access_node.name,
        db.name,
        block
    ))
}

/// One copy that brings a chunk closer to its hypertable's replication
/// factor: from `source` (a holder that counts) to `destination` (None:
/// no candidate lacks the chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTo<'p> {
    pub place: &'p ChunkPlace,
    pub source: String,
    pub destination: Option<String>,
}

/// PURE: where the copies of the `short` chunks of one hypertable go, so
/// that each has `factor` copies on holders that `counts`: each missing
/// copy from the chunk's first holder that counts, to the candidate that
/// holds the fewest chunks of the hypertable so far (`all`, its chunks,
/// with the copies placed before; ties by name), never one that holds
/// it. A chunk with no holder that counts gets no copy. The one placement
/// of check's fix and apply's `--repair-replication`.
pub fn copies_to_factor<'p>(
    all: &[&ChunkPlace],
    short: &[&'p ChunkPlace],
    factor: i64,
    candidates: &[String],
    counts: impl Fn(&str) -> bool,
) -> Vec<CopyTo<'p>> {
    let mut held: Vec<(String, usize)> = candidates
        .iter()
        .map(|d| {
            let n = all.iter().filter(|c| c.data_nodes.contains(d)).count();
            (d.clone(), n)
        })
        .collect();
    let mut out = Vec::new();
    for c in short {
        let counted: Vec<&String> = c.data_nodes.iter().filter(|n| counts(n)).collect();
        let Some(source) = counted.first() else {
            continue;
        };
        let missing = usize::try_from(factor)
            .unwrap_or(0)
            .saturating_sub(counted.len());
        // Where this chunk has a copy, or is given one here.
        let mut holders: Vec<String> = c.data_nodes.clone();
        for _ in 0..missing {
            let to = held
                .iter_mut()
                .filter(|(d, _)| !holders.contains(d))
                .min_by_key(|(d, n)| (*n, d.clone()))
                .map(|t| {
                    t.1 += 1;
                    t.0.clone()
                });
            out.push(CopyTo {
                place: c,
                source: (*source).clone(),
                destination: to.clone(),
            });
            match to {
                Some(t) => holders.push(t),
                None => break,
            }
        }
    }
    out
}

/// What must hold on the data nodes a copy involves before the engine's
/// copy can run, in words (empty: nothing).
fn before_copying(facts: &Facts, involved: &[String]) -> Vec<String> {
    let names = |l: Vec<&String>| l.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let server = |n: &String| facts.node(n).and_then(|f| f.server.as_ref());
    let not_logical: Vec<&String> = involved
        .iter()
        .filter(|n| server(n).and_then(|s| s.setting("wal_level")) != Some("logical"))
        .collect();
    // The copy's replication slot waits for every transaction open on
    // its source, a prepared one too, without a limit.
    let prepared: Vec<&String> = involved
        .iter()
        .filter(|n| {
            server(n)
                .and_then(|s| s.database.as_ref())
                .is_some_and(|d| !d.prepared.is_empty())
        })
        .collect();
    let mut first = Vec::new();
    if !not_logical.is_empty() {
        first.push(format!(
            "set wal_level = logical on {} (ALTER SYSTEM SET wal_level = logical; then a restart: the engine copies a chunk by logical replication)",
            names(not_logical)
        ));
    }
    if !prepared.is_empty() {
        first.push(format!(
            "resolve the prepared transactions on {} (their prepared_transactions_* findings: the copy waits for them without a limit)",
            names(prepared)
        ));
    }
    first
}

/// The access node's remote_txn records pile up: nothing heals.
pub fn remote_txn_backlog(an: &str, database: &str, n: i64, version: Option<&str>) -> Finding {
    let schema = crate::timescale::functions_schema(version);
    Finding::new(
        Warning,
        an,
        "remote_txn_backlog",
        format!("{n} two-phase transaction record(s) in _timescaledb_catalog.remote_txn wait for healing"),
        "nothing runs remote_txn_heal_data_node on this cluster: the records grow with every distributed write, and a transaction left prepared on a data node holds its locks until healed",
        Fix::Sql {
            node: an.to_string(),
            database: database.to_string(),
            sql: format!(
                "SELECT {schema}.remote_txn_heal_data_node(fs.oid) FROM pg_foreign_server fs \
                 JOIN pg_foreign_data_wrapper w ON w.oid = fs.srvfdw WHERE w.fdwname = 'timescaledb_fdw';"
            ),
            then: Then::Nothing,
        }
        .or("let a job heal it every 5 minutes: [maintenance] jobs = true in the plan, then tsmn apply"),
    )
}

/// A background job whose last run failed: the code says whose it is
/// (tsmn's maintenance jobs, or a run the engine recorded as failed after
/// it completed: crate::maintenance::MISRECORDED).
pub fn job_failed(an: &str, database: &str, j: &FailedJob) -> Finding {
    let misrecorded = j.last_error.as_deref() == Some(crate::maintenance::MISRECORDED);
    let tsmns = crate::maintenance::Job::ALL
        .iter()
        .any(|m| m.procedure() == j.proc_name);
    let (code, severity, failed) = if misrecorded {
        (
            "job_outcome_misrecorded",
            Note,
            "completed its last run, recorded as failed",
        )
    } else if tsmns {
        ("maintenance_job_failed", Warning, "failed on its last run")
    } else {
        ("job_failed", Warning, "failed on its last run")
    };
    let what = format!(
        "job {} ({}{}) {failed}{} ({} failure(s) in all; next run {})",
        j.job_id,
        j.proc_name,
        j.hypertable
            .as_ref()
            .map(|h| format!(" on {h}"))
            .unwrap_or_default(),
        j.last_error
            .as_ref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default(),
        j.total_failures,
        j.next_start.as_deref().unwrap_or("not scheduled")
    );
    let fix = if misrecorded {
        Fix::nothing("nothing to do for this run: its work is committed")
    } else {
        Fix::manual(format!(
            "correct the cause of its error (its earlier errors: SELECT * FROM timescaledb_information.job_errors WHERE job_id = {id} ORDER BY finish_time DESC), then have the scheduler run it now, on {an} in {database}: SELECT alter_job({id}, next_start => now()); the finding clears when that run succeeds",
            id = j.job_id
        ))
    };
    Finding::new(
        severity,
        an,
        code,
        what,
        "a failing job leaves its work undone (a policy's compression, retention or refresh; a user's procedure) and TimescaleDB retries it with back-off",
        fix,
    )
}

/// Less than DISK_FREE_PERCENT free under the data directory.
pub fn disk_low(node: &str, d: &Disk) -> Option<Finding> {
    if d.total_bytes <= 0 || d.free_bytes.saturating_mul(100) >= d.total_bytes * DISK_FREE_PERCENT {
        return None;
    }
    Some(Finding::new(
        Warning,
        node,
        "disk_space_low",
        format!(
            "{} free of {} under {} (less than {DISK_FREE_PERCENT}%)",
            crate::timescale::size(d.free_bytes),
            crate::timescale::size(d.total_bytes),
            d.data_directory
        ),
        "a server whose filesystem is full stops writing WAL and fails every write, and the distributed writes of the whole cluster with it",
        Fix::manual(format!(
            "free space under {} on {node} (old WAL kept by a replication slot, logs, other files), or grow that filesystem",
            d.data_directory
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(c: &str, nodes: &[&str]) -> ChunkPlace {
        ChunkPlace {
            hypertable: "public.m".into(),
            chunk: c.into(),
            data_nodes: nodes.iter().map(|n| n.to_string()).collect(),
            ..ChunkPlace::default()
        }
    }

    #[test]
    fn copies_go_to_the_candidate_with_the_fewest_chunks_and_lost_copies_do_not_count() {
        let places = [
            place("c1", &["dn1", "gone"]),
            place("c2", &["gone", "dn1"]),
            place("c3", &["dn1", "dn3"]),
            place("c4", &["gone"]),
        ];
        let all: Vec<&ChunkPlace> = places.iter().collect();
        let candidates = vec!["dn1".to_string(), "dn3".to_string(), "dn4".to_string()];
        let counts = |n: &str| n != "gone";
        let short: Vec<&ChunkPlace> = vec![&places[0], &places[1], &places[3]];
        let got: Vec<(&str, String, Option<String>)> =
            copies_to_factor(&all, &short, 2, &candidates, counts)
                .into_iter()
                .map(|c| (c.place.chunk.as_str(), c.source, c.destination))
                .collect();
        // dn4 holds nothing, dn3 one: c1 to dn4, then c2 to dn3 (1 each,
        // by name); c4 has no copy that counts: nothing to copy from.
        assert_eq!(
            got,
            vec![
                ("c1", "dn1".to_string(), Some("dn4".to_string())),
                ("c2", "dn1".to_string(), Some("dn3".to_string())),
            ]
        );
        // Factor 3 with no candidate left for c3: placed None.
        let few = vec!["dn1".to_string(), "dn3".to_string()];
        let got = copies_to_factor(&all, &[&places[2]], 3, &few, counts);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].destination, None);
    }
}
