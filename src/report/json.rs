//! The JSON documents of the commands other than check (report/check.rs
//! has its own): each names its schema first, `tsmn-<command>/<version>`;
//! a version changes only when a field is removed or changes meaning.
//! Nothing here holds a secret: steps carry placeholders for passwords and
//! keys by name, and export lists paths, never contents.

use crate::facts::Facts;
use crate::plan::{Plan, PlanError};
use crate::run::Event;
use crate::sandbox::status::NodeStatus;
use crate::steps::Step;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const VALIDATE_SCHEMA: &str = "tsmn-validate/1";
pub const PREVIEW_SCHEMA: &str = "tsmn-preview/1";
pub const EXPORT_SCHEMA: &str = "tsmn-export/1";
pub const SANDBOX_STATUS_SCHEMA: &str = "tsmn-sandbox-status/1";
pub const APPLY_EVENT_SCHEMA: &str = "tsmn-apply-event/1";

/// A plan that passed, with every default filled in.
pub fn validated(plan: &Plan) -> Value {
    json!({ "schema": VALIDATE_SCHEMA, "ok": true, "problems": [], "plan": plan })
}

/// A plan that did not: each problem with its field path and fix.
pub fn invalid(e: &PlanError) -> Value {
    let problems: Vec<Value> = match e {
        PlanError::Invalid { problems, .. } => problems
            .iter()
            .map(|p| json!({ "field": p.path, "problem": p.problem, "fix": p.fix }))
            .collect(),
        PlanError::Syntax {
            line,
            column,
            message,
            fix,
            ..
        } => vec![json!({
            "field": null, "line": line, "column": column, "problem": message, "fix": fix
        })],
        PlanError::Read { path, source } => vec![json!({
            "field": null, "problem": format!("cannot read {path}: {source}"),
            "fix": "check the path, or write a plan with tsmn init"
        })],
    };
    json!({ "schema": VALIDATE_SCHEMA, "ok": false, "problems": problems, "plan": null })
}

/// Every step as data, with whether the current values were read.
pub fn preview(facts: Option<&Facts>, steps: &[Step], only: Option<&str>) -> Value {
    let answered: Vec<&str> = facts
        .map(|f| {
            f.nodes
                .iter()
                .filter(|n| n.server.is_some())
                .map(|n| n.name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let steps: Vec<&Step> = steps
        .iter()
        .filter(|s| only.is_none_or(|n| s.node == n))
        .collect();
    json!({
        "schema": PREVIEW_SCHEMA,
        "online": facts.is_some(),
        "nodes_answered": answered,
        "steps": steps,
    })
}

/// The files export wrote (paths only).
pub fn exported(dir: &Path, files: &[PathBuf], include_secrets: bool) -> Value {
    json!({
        "schema": EXPORT_SCHEMA,
        "dir": dir,
        "include_secrets": include_secrets,
        "files": files,
        "run": format!("sh {}/setup.sh", dir.display()),
    })
}

pub fn sandbox_status(dir: &Path, rows: &[NodeStatus]) -> Value {
    let nodes: Vec<Value> = rows
        .iter()
        .map(|r| {
            let (up, version, problem) = match &r.state {
                Ok(v) => (true, Some(v.as_str()), None),
                Err(why) => (false, None, Some(why.as_str())),
            };
            json!({
                "name": r.name, "host": "127.0.0.1", "port": r.port,
                "up": up, "server_version": version, "problem": problem,
            })
        })
        .collect();
    json!({ "schema": SANDBOX_STATUS_SCHEMA, "dir": dir, "nodes": nodes })
}

/// One apply event as a JSON line: the schema, the time (RFC 3339, UTC),
/// then the event's own fields.
pub fn event(e: &Event, at: &str) -> String {
    let mut line = json!({ "schema": APPLY_EVENT_SCHEMA, "at": at });
    if let (Some(l), Ok(Value::Object(fields))) = (line.as_object_mut(), serde_json::to_value(e)) {
        l.extend(fields);
    }
    line.to_string()
}
