//! PURE: a snapshot as the JSON document `tsmn-status/1`: `nodes` (each
//! `{name, role, up, state, ...}`), `links`, `hypertables`, `findings` (each
//! `{code, node, severity, what}`), and `rates` while watching.

use super::{Problem, Rate, Snapshot};
use serde_json::{json, Value};

pub const SCHEMA: &str = "tsmn-status/1";

pub fn document(s: &Snapshot, problems: &[Problem], rates: Option<&[Rate]>) -> Value {
    let nodes: Vec<Value> = s
        .nodes
        .iter()
        .map(|n| {
            let mut v = json!({
                "name": n.name,
                "role": n.role.as_str(),
                "address": n.address,
                "up": n.up,
                "state": n.state,
                "error": n.error,
            });
            if let (Some(sv), Some(o)) = (&n.server, v.as_object_mut()) {
                o.insert("postgres_version".into(), json!(sv.postgres_version));
                o.insert("timescaledb_version".into(), json!(sv.timescaledb_version));
                o.insert("uptime_seconds".into(), json!(sv.uptime_seconds));
                o.insert("connections".into(), json!(sv.connections));
                o.insert("max_connections".into(), json!(sv.max_connections));
                o.insert("database_bytes".into(), json!(sv.database_bytes));
                o.insert("prepared_transactions".into(), json!(sv.prepared));
                o.insert("hypertables".into(), json!(sv.counters));
                // null: unknown (tsmn is not a superuser there).
                o.insert("disk".into(), json!(sv.disk));
                o.insert("certificates".into(), json!(sv.certificates));
            }
            v
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "database": s.database,
        "all_up": super::all_up(s),
        "took_ms": (s.took_ms * 10.0).round() / 10.0,
        "nodes": nodes,
        "links": s.links,
        "hypertables": s.hypertables,
        "remote_txn_backlog": s.remote_txn_backlog,
        "failed_jobs": s.failed_jobs,
        "findings": problems,
        "rates": rates,
    })
}
