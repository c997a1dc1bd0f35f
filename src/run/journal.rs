//! What was applied, one JSON line per finished step, beside the plan: a
//! record for the operator, and where a failed run stopped.

use super::Outcome;
use crate::steps::Step;
use std::io::Write;
use std::path::Path;

pub fn record(path: &Path, step: &Step, outcome: &Outcome) {
    append(
        path,
        serde_json::json!({ "time": time::OffsetDateTime::now_utc().unix_timestamp(), "step": step.id, "outcome": outcome }),
    );
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
    append(
        path,
        serde_json::json!({ "time": time::OffsetDateTime::now_utc().unix_timestamp(), "run": "started" }),
    );
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
