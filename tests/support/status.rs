//! `tsmn status --json` as the tests read it.

use super::{tsmn, Running};
use serde_json::Value;

/// `tsmn status --json` on the plan, with `env`: (exit code, document).
pub fn status(r: &Running, env: &[(&str, &str)], extra: &[&str]) -> (Option<i32>, Value) {
    let out = tsmn()
        .args(["status", "--json", "--plan"])
        .arg(&r.path)
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("run tsmn status");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

pub fn node<'d>(doc: &'d Value, name: &str) -> &'d Value {
    doc["nodes"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["name"] == name))
        .unwrap_or_else(|| panic!("no node {name}: {doc:#}"))
}

pub fn codes_on(doc: &Value, name: &str) -> Vec<String> {
    doc["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| f["node"] == name)
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
