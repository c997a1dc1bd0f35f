//! What was applied, one JSON line per finished step, beside the plan: a
//! record for the operator, and where a failed run stopped.

use super::Outcome;
use crate::steps::Step;
use std::io::Write;
use std::path::Path;

pub fn record(path: &Path, step: &Step, outcome: &Outcome) {
    let mut line = serde_json::json!({ "time": now(), "step": step.id, "node": step.node, "outcome": outcome });
    // What a setting was before: `tsmn undo` names it (it puts no setting back).
    if let (Outcome::Done { .. }, crate::steps::Action::Settings { changes, .. }) =
        (outcome, &step.action)
    {
        line["settings"] = changes
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "was": c.current }))
            .collect();
    }
    append(path, line);
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A server file the run wrote, and its backup (None: the file was new),
/// for `tsmn undo` to put back.
pub fn file_changed(path: &Path, node: &str, file: &str, backup: Option<&str>) {
    append(
        path,
        serde_json::json!({ "time": now(), "changed_file": { "node": node, "path": file, "backup": backup } }),
    );
}

/// Marks a run of `tsmn undo` (before its own "started"), and its end.
pub fn start_undo(path: &Path) {
    append(path, serde_json::json!({ "time": now(), "run": "undo" }));
}
pub fn undone(path: &Path) {
    append(path, serde_json::json!({ "time": now(), "run": "undone" }));
}

fn append(path: &Path, line: serde_json::Value) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Marks where a run begins.
pub fn start(path: &Path) {
    append(path, serde_json::json!({ "time": now(), "run": "started" }));
}

/// The first step the last run failed at, and why, if it failed.
pub fn last_failure(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let from = lines
        .iter()
        .rposition(|v| v["run"] == "started")
        .map_or(0, |i| i + 1);
    lines[from..]
        .iter()
        .find(|v| v["outcome"]["state"] == "failed")
        .map(|v| {
            (
                v["step"].as_str().unwrap_or("?").to_string(),
                v["outcome"]["message"].as_str().unwrap_or("").to_string(),
            )
        })
}
