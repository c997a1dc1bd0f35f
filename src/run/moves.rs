//! ASYNC: a drain's chunk moves, driven through the engine's chunk copy
//! (tsl/src/chunk_copy.c); what an earlier run left is moves_left.rs.
//!
//! Why not `move_chunk`: it drops the source copy in the same call, so
//! nothing can be compared before the source goes; and the engine takes no
//! write lock between the end of the sync and the attach of the copy, so a
//! row written to the source then is dropped with it. tsmn instead pauses
//! writes to the hypertable (`LOCK TABLE ONLY <hypertable> IN SHARE
//! MODE` on the access node: every INSERT, UPDATE, DELETE and COPY takes
//! ROW EXCLUSIVE on the root before it looks up a chunk, so a writer that
//! waits sees the new placement once it goes on; ONLY leaves the chunks'
//! own locks free for the engine). The lock is held by a prepared
//! transaction, so a killed tsmn leaves writes paused, never unsafe; the
//! next run releases it once the copy is finished or cleaned up. Under the
//! pause: `copy_chunk`, rows and checksums on both data nodes, then
//! `chunk_drop_replica` on the source (its catalog DELETE also invalidates
//! the sessions' chunk caches, which the copy's INSERT does not). Before
//! the copy, still under the pause, the two-phase transactions left
//! prepared on both ends are healed and the move waits until none from
//! before is left on the source (src/run/prepared.rs says why: a row
//! prepared there would not be copied, and would go with the source).
//!
//! Replication repair runs the same move with `keep_source`: the copy on
//! the source stays, everything before it (pause, heal, copy, comparison)
//! is the move's. A copy that differs is dropped again on the destination.

use super::session::{describe, Sessions};
use super::step_io::failed;
use super::{Outcome, RunOptions};
use crate::quote::sql::literal;
use crate::steps::{ChunkMove, Step};
use std::time::Instant;
use tokio_postgres::{Client, SimpleQueryMessage};

/// How long the pause may wait for the writes already running.
const LOCK_TIMEOUT: &str = "60s";
/// The prefix of tsmn's write pauses (prepared transactions' gids).
pub const PAUSE_PREFIX: &str = crate::timescale::WRITE_PAUSE_PREFIX;

/// One move on `lane` of the access node: moves that run at the same time
/// (`Order::Pool`) each hold their write pause on a session of their own.
pub async fn move_chunk(
    s: &Step,
    m: &ChunkMove,
    lane: usize,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Outcome {
    let an = match sessions.get_on(&s.node, &m.database, lane).await {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot connect to {}: {e}", s.node)),
    };
    let started = Instant::now();
    let (id, holders) = match placement(&an, &m.chunk).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Outcome::AlreadyDone {
                detail: format!("{} no longer exists", m.chunk),
            }
        }
        Err(e) => return failed(e),
    };
    if !holders.contains(&m.source) {
        if m.keep_source {
            return failed(format!(
                "{} is no longer on {} (its copies: {}): nothing was copied; run {} again to copy it from where it is",
                m.chunk,
                m.source,
                holders.join(", "),
                o.kind.command()
            ));
        }
        return Outcome::AlreadyDone {
            detail: format!("{} is no longer on {}", m.chunk, m.source),
        };
    }
    if !m.keep_source && !m.one_replica && holders.len() > 1 && !holders.contains(&m.destination) {
        return Outcome::AlreadyDone {
            detail: format!(
                "{} has another copy ({}): the removal drops the one on {}",
                m.chunk,
                holders.join(", "),
                m.source
            ),
        };
    }
    let gid = format!("{PAUSE_PREFIX}{id}");
    if let Err(e) = pause(&an, &m.hypertable, &gid).await {
        return failed(format!(
            "writes to {} did not pause: {e} (nothing changed; run {} again when fewer writes run)",
            m.hypertable,
            o.kind.command()
        ));
    }
    note(
        o,
        s,
        serde_json::json!({ "pause": gid, "hypertable": m.hypertable }),
    );
    let outcome = under_pause(s, m, id, &holders, &an, o, sessions).await;
    // Released on every path; a kill before this leaves the pause to the
    // next run's resume step.
    if let Err(e) = an
        .simple_query(&format!("ROLLBACK PREPARED {}", literal(&gid)))
        .await
    {
        return failed(format!(
            "{} (and writes to {} stay paused: ROLLBACK PREPARED {} failed: {})",
            message(&outcome),
            m.hypertable,
            literal(&gid),
            describe(&e)
        ));
    }
    match outcome {
        Outcome::Done { detail } => Outcome::Done {
            detail: format!(
                "{detail}; writes paused {} ms",
                started.elapsed().as_millis()
            ),
        },
        other => other,
    }
}

fn message(o: &Outcome) -> String {
    match o {
        Outcome::Failed { message } => message.clone(),
        other => format!("{other:?}"),
    }
}

async fn under_pause(
    s: &Step,
    m: &ChunkMove,
    id: i32,
    holders: &[String],
    an: &Client,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Outcome {
    // Before anything is copied or compared: no row of the chunk may be
    // held prepared on the source.
    let mut laps = Laps(Instant::now(), Vec::new());
    let settled = match super::prepared::settle(an, sessions, m).await {
        Ok(s) => s,
        Err(e) => return failed(format!("{} was not moved (nothing changed): {e}", m.chunk)),
    };
    laps.lap("heal");
    let mut op = String::new();
    if !holders.contains(&m.destination) {
        op = match copied_by_engine(s, m, id, an, o, sessions).await {
            Ok(op) => op,
            Err(why) => return failed(why),
        };
    }
    killed_here_in_tests(&s.id);
    laps.lap("copy");
    let (from, to) = match futures_util::future::join(
        fingerprint(sessions, &m.source, &m.database, &m.chunk),
        fingerprint(sessions, &m.destination, &m.database, &m.chunk),
    )
    .await
    {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return failed(format!(
                "comparing {}: {e}; both copies are kept (run {} again)",
                m.chunk,
                o.kind.command()
            ))
        }
    };
    if from != to {
        // Back to where it was: the copy goes, the source stays.
        let undo = an
            .simple_query(&drop_replica(m, &m.destination))
            .await
            .map_err(|e| describe(&e));
        return failed(format!(
            "{} differs after the copy: {} has {from}, {} has {to}; the copy on {} {}",
            m.chunk,
            m.source,
            m.destination,
            m.destination,
            match undo {
                Ok(_) => "was dropped again".to_string(),
                Err(e) => format!("could not be dropped ({e})"),
            }
        ));
    }
    laps.lap("compare");
    if m.keep_source {
        return copied(m, &from, settled, &op, &laps);
    }
    if let Err(e) = an.simple_query(&drop_replica(m, &m.source)).await {
        return failed(format!(
            "{} is on both {} and {} (equal: {from}); dropping the copy on {} failed: {}",
            m.chunk,
            m.source,
            m.destination,
            m.source,
            describe(&e)
        ));
    }
    laps.lap("drop");
    Outcome::Done {
        detail: format!(
            "{} on {} now (rows:checksum {from} on both before the copy on {} went{}{}{}; {})",
            m.chunk,
            m.destination,
            m.source,
            settled.map_or(String::new(), |s| format!("; {s}")),
            operation(&op),
            m.bytes.map_or(String::new(), |b| format!("; {b} bytes")),
            laps.1.join(", ")
        ),
    }
}

/// The engine's copy of `m` (in its turn), retried once after cleaning up
/// a failure: Ok(the operation id that made it), Err(why not).
async fn copied_by_engine(
    s: &Step,
    m: &ChunkMove,
    id: i32,
    an: &Client,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Result<String, String> {
    let _turn = super::copy_turns::take(sessions, &m.source, &m.destination, &m.database)
        .await
        .map_err(|e| format!("{} was not moved (nothing changed): {e}", m.chunk))?;
    let mut last = String::new();
    for attempt in 1..=2 {
        let op = format!("tsmn_{id}_{}_{attempt}", unix_now());
        note(
            o,
            s,
            serde_json::json!({ "operation_id": op, "chunk": m.chunk, "source": m.source, "destination": m.destination }),
        );
        match copy(an, m, &op, s).await {
            Ok(()) => return Ok(op),
            Err(e) => {
                last = e;
                if let Err(c) = cleanup(an, &op).await {
                    return Err(format!("the copy of {} failed ({last}) and its cleanup too ({c}): operation {op}; run {} again (it cleans up first)", m.chunk, o.kind.command()));
                }
            }
        }
    }
    Err(format!(
        "the copy of {} to {} failed twice (cleaned up each time): {last}{}",
        m.chunk,
        m.destination,
        super::copy_errors::name_taken(&last, m, o.kind.command()).unwrap_or_default()
    ))
}

/// A repair's copy, compared equal: the source keeps its copy.
fn copied(m: &ChunkMove, from: &str, settled: Option<String>, op: &str, laps: &Laps) -> Outcome {
    Outcome::Done {
        detail: format!(
            "{} copied to {} (rows:checksum {from} on {} and on {}{}{}; {})",
            m.chunk,
            m.destination,
            m.source,
            m.destination,
            settled.map_or(String::new(), |s| format!("; {s}")),
            operation(op),
            laps.1.join(", ")
        ),
    }
}

/// The engine's operation id for people (none: no copy was made here).
fn operation(op: &str) -> String {
    if op.is_empty() {
        String::new()
    } else {
        format!("; operation {op}")
    }
}

/// Where a move's time goes, for the operator (and benches/drain.sh):
/// each part's milliseconds since the one before.
struct Laps(Instant, Vec<String>);

impl Laps {
    fn lap(&mut self, what: &str) {
        self.1
            .push(format!("{what} {} ms", self.0.elapsed().as_millis()));
        self.0 = Instant::now();
    }
}

/// The chunk's id and the data nodes that hold it (None: no such chunk).
async fn placement(an: &Client, chunk: &str) -> Result<Option<(i32, Vec<String>)>, String> {
    let row = an
        .query_opt(
            "SELECT c.id, coalesce(array_agg(d.node_name::text ORDER BY d.node_name) FILTER (WHERE d.node_name IS NOT NULL), '{}') \
             FROM _timescaledb_catalog.chunk c LEFT JOIN _timescaledb_catalog.chunk_data_node d ON d.chunk_id = c.id \
             WHERE format('%I.%I', c.schema_name, c.table_name) = $1 AND NOT c.dropped GROUP BY c.id",
            &[&chunk],
        )
        .await
        .map_err(|e| describe(&e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

async fn pause(an: &Client, hypertable: &str, gid: &str) -> Result<(), String> {
    let steps = [
        "BEGIN".to_string(),
        format!("SET LOCAL lock_timeout = {}", literal(LOCK_TIMEOUT)),
        // SHARE: it waits for and blocks every writer (ROW EXCLUSIVE) as
        // EXCLUSIVE would, but not another move's pause of the same
        // hypertable (moves at once, `tsmn rebalance --parallel`); its
        // conflicts are a subset of EXCLUSIVE's, so whatever the engine's
        // copy and chunk_drop_replica take beside it is still granted.
        format!("LOCK TABLE ONLY {hypertable} IN SHARE MODE"),
        format!("PREPARE TRANSACTION {}", literal(gid)),
    ];
    for st in &steps {
        if let Err(e) = an.simple_query(st).await {
            let _ = an.simple_query("ROLLBACK").await;
            return Err(describe(&e));
        }
    }
    Ok(())
}

async fn copy(an: &Client, m: &ChunkMove, op: &str, s: &Step) -> Result<(), String> {
    let call = format!(
        "CALL timescaledb_experimental.copy_chunk(chunk => {}, source_node => {}, destination_node => {}, operation_id => {})",
        literal(&m.chunk),
        literal(&m.source),
        literal(&m.destination),
        literal(op)
    );
    let r = an.simple_query(&call).await.map_err(|e| describe(&e));
    killed_here_in_tests(&format!("{}@copy", s.id));
    r.map(|_| ())
}

/// The engine's cleanup of an operation that did not complete (none
/// recorded, or complete: nothing to do).
pub(super) async fn cleanup(an: &Client, op: &str) -> Result<(), String> {
    let open = an
        .query_opt(
            "SELECT 1 FROM _timescaledb_catalog.chunk_copy_operation WHERE operation_id = $1 AND completed_stage <> 'complete'",
            &[&op],
        )
        .await
        .map_err(|e| describe(&e))?;
    if open.is_none() {
        return Ok(());
    }
    an.simple_query(&format!(
        "CALL timescaledb_experimental.cleanup_copy_chunk_operation(operation_id => {})",
        literal(op)
    ))
    .await
    .map(|_| ())
    .map_err(|e| describe(&e))
}

fn drop_replica(m: &ChunkMove, node: &str) -> String {
    format!(
        "SELECT {}.chunk_drop_replica({}, {})",
        m.functions_schema,
        literal(&m.chunk),
        literal(node)
    )
}

/// `rows:checksum` of the chunk on one data node, read there.
///
/// The checksum sums `hash_record_extended` of each row: every column's
/// own extended hash of its value, without rendering it as text (a third
/// of the time on a 65,000-row chunk: 23 ms against 68 ms). That holds
/// only where every column's type hashes its value alone
/// (`pg::hash_by_value`: an enum hashes its OID, which differs between
/// data nodes); a chunk with any other column is compared by each row's
/// text under fixed output settings (`<rows>:t<sum>`). The choice depends
/// only on the chunk's column types, the same built-in OIDs on every data
/// node, so every node holding the chunk takes the same one.
pub(super) async fn fingerprint(
    sessions: &Sessions<'_>,
    node: &str,
    db: &str,
    chunk: &str,
) -> Result<String, String> {
    let c = sessions
        .get_on(node, db, 1)
        .await
        .map_err(|e| format!("{node}: {e}"))?;
    let by_value: bool = c
        .query_one(
            &format!(
                "SELECT coalesce(bool_and(atttypid = ANY({})), true) FROM pg_attribute \
                 WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
                crate::pg::hash_by_value::sql_array()
            ),
            &[&chunk],
        )
        .await
        .map_err(|e| format!("{node}: {}", describe(&e)))?
        .get(0);
    let sql = if by_value {
        format!(
            "SELECT count(*)::text || ':' || coalesce(sum(hash_record_extended(c, 0)), 0)::text FROM {chunk} c"
        )
    } else {
        format!(
            "BEGIN; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'; SET LOCAL IntervalStyle = 'postgres'; \
             SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; \
             SELECT count(*)::text || ':t' || coalesce(sum(hashtextextended(c::text, 0)), 0)::text FROM {chunk} c; COMMIT"
        )
    };
    let msgs = c
        .simple_query(&sql)
        .await
        .map_err(|e| format!("{node}: {}", describe(&e)))?;
    msgs.iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .ok_or_else(|| format!("{node}: no answer"))
}

pub(super) fn note(o: &RunOptions<'_>, s: &Step, what: serde_json::Value) {
    if let Some(j) = &o.journal {
        super::journal::append(
            j,
            serde_json::json!({ "time": unix_now(), "step": s.id, "move": what }),
        );
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Tests only (a debug build): `TSMN_TEST_KILL_DURING=<end of a step id>`
/// kills tsmn with SIGKILL inside the first move whose id ends so, after
/// the engine's copy returned and before the comparison and the drop
/// (`...@copy`, e.g. just `@copy`: right after the CALL came back,
/// whatever its result). `TSMN_TEST_HOLD_DURING` likewise holds the move
/// there for 3 s, its write pause held, for a test to look at the servers.
/// Release builds have no such hook.
fn killed_here_in_tests(at: &str) {
    let here = |var: &str| {
        cfg!(debug_assertions)
            && std::env::var(var).is_ok_and(|k| !k.is_empty() && at.ends_with(&k))
    };
    if here("TSMN_TEST_KILL_DURING") {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    // A test looks at the servers while the move holds its pause.
    if here("TSMN_TEST_HOLD_DURING") {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
}
