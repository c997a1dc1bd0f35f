//! ASYNC: what an earlier drain, repair or rebalance left, before its
//! moves run again: engine copies still running waited for, those whose
//! session is gone cleaned up, tsmn's write pauses released once each
//! paused chunk's copies are compared again (run/recheck.rs), then every
//! data node healed of two-phase transactions left prepared.

use super::moves::{cleanup, note, PAUSE_PREFIX};
use super::session::{describe, Sessions};
use super::step_io::failed;
use super::{Event, Events, Outcome, RunOptions};
use crate::quote::sql::literal;
use crate::steps::Step;
use std::time::{Duration, Instant};

/// What an earlier drain left: copies still running are waited for,
/// copies whose session is gone cleaned up, tsmn's pauses released; then
/// every data node healed of two-phase transactions left prepared.
pub async fn resume(
    s: &Step,
    database: &str,
    functions_schema: &str,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
    events: &Events,
) -> Outcome {
    let an = match sessions.get(&s.node, database).await {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot connect to {}: {e}", s.node)),
    };
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let rows = match an
            .query(
                "SELECT o.operation_id::text, EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = o.backend_pid AND a.query ILIKE '%chunk%') \
                 FROM _timescaledb_catalog.chunk_copy_operation o WHERE o.completed_stage <> 'complete' ORDER BY 1",
                &[],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return failed(describe(&e)),
        };
        let running: Vec<String> = rows.iter().filter(|r| r.get(1)).map(|r| r.get(0)).collect();
        if running.is_empty() {
            for r in &rows {
                let op: String = r.get(0);
                if let Err(e) = cleanup(&an, &op).await {
                    return failed(format!("cleaning up chunk copy {op}: {e}"));
                }
                note(o, s, serde_json::json!({ "cleaned_up": op }));
                done.push(format!("cleaned up copy {op}"));
            }
            break;
        }
        if Instant::now() > deadline {
            return failed(format!(
                "chunk copies still running after an hour: {}; run {} again later",
                running.join(", "),
                o.kind.command()
            ));
        }
        let _ = events.send(Event::Note {
            node: s.node.clone(),
            message: format!(
                "waiting for chunk copies an earlier run started: {}",
                running.join(", ")
            ),
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let gids = match an
        .query(
            "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, $1) ORDER BY 1",
            &[&PAUSE_PREFIX],
        )
        .await
    {
        Ok(r) => r.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(),
        Err(e) => return failed(describe(&e)),
    };
    for gid in gids {
        // Its chunk may hold a copy the killed run never compared: compared
        // while the pause still holds every writer back (a write that got
        // in between would make the copies differ for no fault of theirs),
        // and released only when they are equal.
        match super::recheck::compare_left(&an, sessions, database, functions_schema, &gid).await {
            Ok(found) => done.extend(found),
            Err(e) => return failed(e),
        }
        if let Err(e) = an
            .simple_query(&format!("ROLLBACK PREPARED {}", literal(&gid)))
            .await
        {
            return failed(format!("releasing the write pause {gid}: {}", describe(&e)));
        }
        done.push(format!("released write pause {gid}"));
    }
    // The restarts just done (the drain's settings) may have left
    // acknowledged writes prepared on a data node: healed now, on every
    // data node (the moves heal their two ends again).
    match super::prepared::heal_all(&an, functions_schema).await {
        Ok(healed) => done.extend(healed),
        Err(e) => {
            return failed(format!(
                "healing the data nodes' two-phase transactions: {e}"
            ))
        }
    }
    if done.is_empty() {
        Outcome::AlreadyDone {
            detail: "no chunk copy or write pause left".into(),
        }
    } else {
        Outcome::Done {
            detail: done.join("; "),
        }
    }
}
