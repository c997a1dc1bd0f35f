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
/// Marks a run of `tsmn rebalance` (before its own "started").
pub fn start_rebalance(path: &Path) {
    append(
        path,
        serde_json::json!({ "time": now(), "run": "rebalance" }),
    );
}
pub fn undone(path: &Path) {
    append(path, serde_json::json!({ "time": now(), "run": "undone" }));
}

/// One record, as one write of one whole line. A line that a killed run
/// left torn (no newline at its end) is closed first, so the torn part
/// stays a line of its own that readers skip, and this record stays whole.
pub(crate) fn append(path: &Path, line: serde_json::Value) {
    use std::io::{Read, Seek, SeekFrom};
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
    else {
        return;
    };
    let mut text = format!("{line}\n");
    let mut last = [0u8; 1];
    let torn =
        f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n';
    if torn {
        text.insert(0, '\n');
    }
    let _ = f.write_all(text.as_bytes());
}

/// Marks where a run begins.
pub fn start(path: &Path) {
    append(path, serde_json::json!({ "time": now(), "run": "started" }));
}

/// Marks where a run ends, however it ends but by being killed: a run
/// whose start has no end was cut short.
pub fn finish(path: &Path, ok: bool, cancelled: bool) {
    append(
        path,
        serde_json::json!({ "time": now(), "run": "finished", "ok": ok, "cancelled": cancelled }),
    );
}

/// How the last run ended, as its journal tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastEnd {
    /// It ended (or there was none).
    Ended,
    /// It stopped at a failed step: the step and why.
    Failed { step: String, why: String },
    /// It ended early, stopped by an interrupt, after this step.
    Interrupted { after: Option<String> },
    /// No end was recorded: the run was killed, or its machine stopped.
    /// The last step it recorded, if any; whether a line was left torn.
    CutShort { after: Option<String>, torn: bool },
}

/// PURE: how the last run in the journal's text ended.
pub fn last_end(text: &str) -> LastEnd {
    let torn = text
        .lines()
        .any(|l| !l.trim().is_empty() && serde_json::from_str::<serde_json::Value>(l).is_err());
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let Some(from) = lines.iter().rposition(|v| v["run"] == "started") else {
        return LastEnd::Ended;
    };
    let run = &lines[from + 1..];
    if let Some(v) = run.iter().find(|v| v["outcome"]["state"] == "failed") {
        return LastEnd::Failed {
            step: v["step"].as_str().unwrap_or("?").to_string(),
            why: v["outcome"]["message"].as_str().unwrap_or("").to_string(),
        };
    }
    let after = run
        .iter()
        .rev()
        .find_map(|v| v["step"].as_str().map(str::to_string));
    match run
        .iter()
        .find(|v| v["run"] == "finished" || v["run"] == "undone")
    {
        Some(end) if end["cancelled"] == true => LastEnd::Interrupted { after },
        Some(_) => LastEnd::Ended,
        None => LastEnd::CutShort { after, torn },
    }
}

/// The data nodes a run added (`<access node>/cluster/add-<dn>` done) and
/// that no attach to the distributed hypertables followed (`.../attach-<dn>`
/// done or already done) before a run ended well: a kill between the two
/// leaves a member that is still joining.
pub fn joining(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    joining_in(&text)
}

/// PURE: `joining` on the journal's text.
pub fn joining_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        // A run that ended well joined every node it added (with nothing
        // to attach, it had no attach step).
        if v["run"] == "finished" && v["ok"] == true {
            out.clear();
        }
        let (Some(step), Some(state)) = (v["step"].as_str(), v["outcome"]["state"].as_str()) else {
            continue;
        };
        let Some((_, what)) = step.rsplit_once("/cluster/") else {
            continue;
        };
        if let Some(dn) = what.strip_prefix("add-").filter(|_| state == "done") {
            if !out.iter().any(|d| d == dn) {
                out.push(dn.to_string());
            }
        }
        if let Some(dn) = what.strip_prefix("attach-") {
            if state == "done" || state == "already_done" {
                out.retain(|d| d != dn);
            }
        }
    }
    out
}

/// What a new run says first of the last one, when it did not end well.
pub fn last_end_note(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    match last_end(&text) {
        LastEnd::Ended => None,
        LastEnd::Failed { step, why } => Some(format!(
            "the last run failed at {step} ({}); resuming: finished steps are checked and skipped",
            why.lines().next().unwrap_or("")
        )),
        LastEnd::Interrupted { after } => Some(format!(
            "the last run was stopped by an interrupt {}; resuming: finished steps are checked and skipped",
            after.map_or("before its first step".to_string(), |s| format!("after {s}"))
        )),
        LastEnd::CutShort { after, torn } => Some(format!(
            "the last run was cut short {} (it recorded no end: killed, or its machine stopped){}; resuming: every step is checked on the servers before anything changes",
            after.map_or("before its first step".to_string(), |s| format!("after {s}")),
            if torn { ", its last record torn" } else { "" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_stays_apart_and_the_run_counts_as_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("journal.jsonl");
        start(&j);
        append(
            &j,
            serde_json::json!({ "step": "dn1/auth/hba", "outcome": { "state": "done" } }),
        );
        // A kill in the middle of a write.
        {
            let mut f = std::fs::OpenOptions::new().append(true).open(&j).unwrap();
            f.write_all(b"{\"time\": 17, \"step\": \"dn2/au").unwrap();
        }
        let text = std::fs::read_to_string(&j).unwrap();
        assert_eq!(
            last_end(&text),
            LastEnd::CutShort {
                after: Some("dn1/auth/hba".into()),
                torn: true
            }
        );
        // The next run's records are whole lines of their own.
        start(&j);
        finish(&j, true, true);
        let text = std::fs::read_to_string(&j).unwrap();
        assert_eq!(last_end(&text), LastEnd::Interrupted { after: None });
        start(&j);
        finish(&j, true, false);
        let text = std::fs::read_to_string(&j).unwrap();
        let whole = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .count();
        assert_eq!(whole, 6, "{text}");
        assert_eq!(last_end(&text), LastEnd::Ended);
        assert!(last_end_note(&j).is_none());
    }

    #[test]
    fn a_node_added_and_not_yet_attached_is_still_joining() {
        let added = r#"{"step":"an/cluster/add-dn3","outcome":{"state":"done"}}"#;
        let attached = r#"{"step":"an/cluster/attach-dn3","outcome":{"state":"already_done"}}"#;
        assert_eq!(joining_in(added), vec!["dn3".to_string()]);
        assert!(joining_in(&format!("{added}\n{attached}\n")).is_empty());
        let ended = r#"{"run":"finished","ok":true,"cancelled":false}"#;
        assert!(joining_in(&format!("{added}\n{ended}\n")).is_empty());
    }

    #[test]
    fn a_failed_step_and_a_run_that_never_began_a_step() {
        let failed = "{\"run\":\"started\"}\n{\"step\":\"an/auth/passfile\",\"outcome\":{\"state\":\"failed\",\"message\":\"no room\\nmore\"}}\n{\"run\":\"finished\"}\n";
        assert_eq!(
            last_end(failed),
            LastEnd::Failed {
                step: "an/auth/passfile".into(),
                why: "no room\nmore".into()
            }
        );
        assert_eq!(
            last_end("{\"run\":\"started\"}\n"),
            LastEnd::CutShort {
                after: None,
                torn: false
            }
        );
        assert_eq!(last_end(""), LastEnd::Ended);
    }
}
