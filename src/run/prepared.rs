//! ASYNC: two-phase transactions the access node left prepared on its data
//! nodes, around a drain.
//!
//! Why: every write through the access node commits in two phases
//! (tsl/src/remote/dist_txn.c): PREPARE TRANSACTION on the data nodes, the
//! access node's own commit, then COMMIT PREPARED on each data node, whose
//! failure is only a WARNING; the client is told the row is written. When
//! tsmn restarts a data node for the drain's settings while rows are
//! written, a COMMIT PREPARED can meet the closing connection: the row
//! stays prepared on that data node, invisible, holding its locks, until
//! the engine's `remote_txn_heal_data_node` commits it (the access node
//! has its `remote_txn` record). Seen in tests/drain.rs: an acknowledged
//! row missing afterwards, prepared on a data node since the restart.
//! Worse on a drain's source: the engine's copy (a fresh logical
//! replication slot and its snapshot) does not see the prepared row, and
//! the source copy is dropped after the comparison. So: every data node is
//! healed once the restarts are done, and each move, under its write
//! pause, heals both ends and waits until nothing prepared before it is
//! left on the source; otherwise the move does not start.

use super::session::{describe, Sessions};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// How long a move waits for the source's prepared transactions to go.
const SETTLE: Duration = Duration::from_secs(30);

/// The engine's healing of `node`'s two-phase transactions, run on the
/// access node (`an`, in the cluster database, outside a transaction
/// block): how many it resolved.
pub async fn heal(an: &Client, functions_schema: &str, node: &str) -> Result<i64, String> {
    let sql = crate::timescale::heal_sql(functions_schema, node);
    let rows = an.query(&sql, &[]).await.map_err(|e| describe(&e))?;
    Ok(rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).sum())
}

/// Every data node of the access node's cluster database healed (after
/// the restarts, before the moves): what was resolved, for people. A data
/// node that cannot be healed now is named, not a failure: each move heals
/// its own two ends again and does not start while its source holds one.
pub async fn heal_all(an: &Client, functions_schema: &str) -> Result<Vec<String>, String> {
    let nodes: Vec<String> = an
        .query(
            "SELECT node_name::text FROM timescaledb_information.data_nodes ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut done = Vec::new();
    for n in nodes {
        match heal(an, functions_schema, &n).await {
            Ok(0) => {}
            Ok(k) => done.push(format!(
                "resolved {k} two-phase transaction(s) left prepared on {n}"
            )),
            Err(e) => done.push(format!("could not heal {n} now ({e})")),
        }
    }
    Ok(done)
}

/// The prepared transactions of the source's server, all databases
/// (`gid (database)`): a new logical replication slot waits for every one
/// of them, and one of the cluster database may hold rows of the chunk.
async fn prepared_on(source: &Client) -> Result<Vec<String>, String> {
    Ok(source
        .query(
            "SELECT gid || ' (' || database || ')' FROM pg_prepared_xacts ORDER BY prepared, gid",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Under a move's write pause, before the copy: both ends healed, then
/// every transaction found prepared on the source gone (healed again each
/// second). New ones may come and go meanwhile (writes to other
/// hypertables); none can touch the paused hypertable. Err: what is left
/// after the wait, and why the move does not start.
pub async fn settle(
    an: &Client,
    sessions: &Sessions<'_>,
    m: &crate::steps::ChunkMove,
) -> Result<Option<String>, String> {
    // The heal is a statement on the access node that reaches the data
    // node (about 10 ms a node, each move): asked only of an end that
    // holds something prepared, which both are read for first, at once,
    // over tsmn's own sessions (a round trip each).
    let (source, destination) = futures_util::future::join(
        sessions.get_on(&m.source, &m.database, 1),
        sessions.get_on(&m.destination, &m.database, 1),
    )
    .await;
    let source = source.map_err(|e| format!("{}: {e}", m.source))?;
    let destination = destination.map_err(|e| format!("{}: {e}", m.destination))?;
    let (on_source, on_destination) =
        futures_util::future::join(prepared_on(&source), prepared_on(&destination)).await;
    let mut left = on_source?;
    let mut resolved = 0;
    for (node, held) in [
        (&m.source, !left.is_empty()),
        (&m.destination, !on_destination?.is_empty()),
    ] {
        if held {
            resolved += heal(an, &m.functions_schema, node)
                .await
                .map_err(|e| format!("healing {node}'s two-phase transactions: {e}"))?;
        }
    }
    if resolved > 0 {
        left = prepared_on(&source).await?;
    }
    let deadline = Instant::now() + SETTLE;
    let mut last_heal = Instant::now();
    while !left.is_empty() {
        if Instant::now() > deadline {
            return Err(format!(
                "{} still holds transactions prepared before the move after {} s: {}. A row one of them holds would not be copied, and the engine's copy waits for them; \
                 resolve them (run {} on the access node, or COMMIT PREPARED / ROLLBACK PREPARED on {} after checking the access node), then run {} again",
                m.source,
                SETTLE.as_secs(),
                left.join(", "),
                crate::timescale::heal_sql(&m.functions_schema, &m.source),
                m.source,
                sessions.kind.command()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if last_heal.elapsed() >= Duration::from_secs(1) {
            resolved += heal(an, &m.functions_schema, &m.source).await?;
            last_heal = Instant::now();
        }
        let now = prepared_on(&source).await?;
        left.retain(|g| now.contains(g));
    }
    Ok((resolved > 0).then(|| {
        format!(
            "resolved {resolved} two-phase transaction(s) left prepared on {} and {} first",
            m.source, m.destination
        )
    }))
}
