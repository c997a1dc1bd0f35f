//! ASYNC: engine copies that must take turns.
//!
//! Why: the table sync of a chunk copy runs on the destination and makes a
//! replication slot on the source named `pg_<subscription oid>_sync_<relid
//! on the destination>_<the destination's system identifier>`
//! (ReplicationSlotNameForTablesync, PostgreSQL 15's
//! src/backend/replication/logical/tablesync.c). Two destinations made from
//! one image (a cloned template, a restored base backup) share the system
//! identifier and hand out the same OIDs in the same order, so two copies
//! from one source at once can make the same slot name there: one drops
//! the other's slot, and that copy's sync retries until the engine's hour
//! (seen on the sandbox with 4 moves at once). Copies from one source to
//! destinations of one system identifier therefore run one after another;
//! every other pair still runs at once.

use super::session::{describe, Sessions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::OwnedMutexGuard;

type Turns = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

fn turns() -> &'static Turns {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(Default::default)
}

/// Waits for the turn of a copy from `source` to `destination` (its
/// system identifier read there, one round trip); held until dropped.
pub async fn take(
    sessions: &Sessions<'_>,
    source: &str,
    destination: &str,
    database: &str,
) -> Result<OwnedMutexGuard<()>, String> {
    let c = sessions
        .get_on(destination, database, 1)
        .await
        .map_err(|e| format!("{destination}: {e}"))?;
    let id: String = c
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .await
        .map_err(|e| format!("{destination}: {}", describe(&e)))?
        .get(0);
    Ok(turn(&key(source, &id)).lock_owned().await)
}

fn key(source: &str, system_identifier: &str) -> String {
    format!("{source}\u{0}{system_identifier}")
}

fn turn(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    // A poisoned map only means another copy panicked while inserting:
    // the map itself is still whole.
    let mut map = turns().lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copies_to_clones_from_one_source_take_turns_and_others_do_not() {
        let first = turn(&key("dn4", "7300")).lock_owned().await;
        // Another destination of the same image, from the same source: waits.
        assert!(turn(&key("dn4", "7300")).try_lock_owned().is_err());
        // The same image from another source, or another image: at once.
        assert!(turn(&key("dn3", "7300")).try_lock_owned().is_ok());
        assert!(turn(&key("dn4", "7301")).try_lock_owned().is_ok());
        drop(first);
        assert!(turn(&key("dn4", "7300")).try_lock_owned().is_ok());
    }
}
