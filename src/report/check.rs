//! `tsmn check` output: a line per node, then findings grouped by node, and a
//! JSON form with a stable schema (documented in the README).

use crate::facts::{AccessProbes, Connection, Facts, NodeFacts};
use crate::findings::{Finding, Severity};
use serde_json::{json, Value};

pub const JSON_SCHEMA: &str = "tsmn-check/1";

fn count(findings: &[Finding], s: Severity) -> usize {
    findings.iter().filter(|f| f.severity == s).count()
}

fn status_line(n: &NodeFacts) -> String {
    match (&n.connection, &n.server) {
        (Connection::Connected { tls }, Some(s)) => {
            let ts = match s.database.as_ref().and_then(|d| d.timescaledb.as_deref()) {
                Some(v) => format!("TimescaleDB {v}"),
                None => match s
                    .timescaledb_to_create()
                    .or_else(|| s.timescaledb_available.last().cloned())
                {
                    Some(v) => format!("TimescaleDB {v} available"),
                    None => "no TimescaleDB".into(),
                },
            };
            format!(
                "ok      PostgreSQL {}, {}, {}, {ts}",
                s.version.split_whitespace().next().unwrap_or(&s.version),
                if s.superuser {
                    "superuser"
                } else {
                    "NOT superuser"
                },
                if *tls { "TLS" } else { "no TLS" }
            )
        }
        (Connection::TimedOut { seconds }, _) => format!("FAILED  no answer within {seconds} s"),
        (Connection::Failed { message, .. }, _) => format!(
            "FAILED  {}",
            crate::findings::connect::explain(None, message).what
        ),
        (Connection::Connected { .. }, None) => "ok".into(),
    }
}

/// What the access node saw: its dblink test of each data node, and on a
/// running cluster the verification as every role.
fn access_node_view(out: &mut String, an: &crate::facts::NodeFacts, w: usize) {
    match &an.access_probes {
        AccessProbes::Tested { results } => {
            out.push_str(&format!("\nFrom the access node ({}):\n", an.name));
            for r in results {
                match (&r.source_address, &r.error) {
                    (Some(a), _) => out.push_str(&format!(
                        "  -> {:<w$}  ok      the data node sees the access node as {a}\n",
                        r.data_node
                    )),
                    (None, Some(e)) => out.push_str(&format!(
                        "  -> {:<w$}  FAILED  {}\n",
                        r.data_node,
                        first_line(e)
                    )),
                    (None, None) => out.push_str(&match &r.not_tested {
                        Some(why) => format!("  -> {:<w$}  -       not tested: {why}\n", r.data_node),
                        None => format!(
                            "  -> {:<w$}  ok      admitted (the cluster database is not there yet: tsmn apply makes it)\n",
                            r.data_node
                        ),
                    }),
                }
            }
        }
        AccessProbes::NotTested { reason } => {
            out.push_str(&format!("\nFrom the access node: not tested: {reason}\n"))
        }
        AccessProbes::NotApplicable => {}
    }
    if !an.cluster_reach.is_empty() {
        out.push_str(&format!(
            "\nThe running cluster, as TimescaleDB connects ({} -> data node, as each role):\n",
            an.name
        ));
        for r in &an.cluster_reach {
            match &r.error {
                None => out.push_str(&format!(
                    "  -> {:<w$}  ok      as {}\n",
                    r.data_node, r.role
                )),
                Some(e) => out.push_str(&format!(
                    "  -> {:<w$}  FAILED  as {}: {}\n",
                    r.data_node,
                    r.role,
                    first_line(e)
                )),
            }
        }
    }
}

pub fn human(facts: &Facts, findings: &[Finding], notes: &[String]) -> String {
    let mut out = String::new();
    let w = facts
        .nodes
        .iter()
        .map(|n| n.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let aw = facts
        .nodes
        .iter()
        .map(|n| n.address.len())
        .max()
        .unwrap_or(7)
        .max(7);
    out.push_str(&format!(
        "{:<w$}  {:<6}  {:<aw$}  STATUS\n",
        "NODE", "ROLE", "ADDRESS"
    ));
    for n in &facts.nodes {
        out.push_str(&format!(
            "{:<w$}  {:<6}  {:<aw$}  {}\n",
            n.name,
            n.role.as_str(),
            n.address,
            status_line(n)
        ));
    }
    if let Some(an) = facts.access() {
        access_node_view(&mut out, an, w);
    }
    for note in notes {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    if findings.is_empty() {
        out.push_str("\nNo findings: nothing stands in the way.\n");
        return out;
    }
    out.push_str("\nFindings\n");
    let mut current = "";
    for f in findings {
        if f.node != current {
            current = &f.node;
            out.push_str(&format!("\n{current}\n"));
        }
        out.push_str(&format!("  {:<8} {}\n", f.severity.label(), f.what));
        out.push_str(&format!("           why: {}\n", f.why));
        out.push_str(&format!("           fix: {}\n", f.fix));
    }
    out.push_str(&format!(
        "\n{} blocker(s), {} warning(s), {} note(s)\n",
        count(findings, Severity::Blocker),
        count(findings, Severity::Warning),
        count(findings, Severity::Note)
    ));
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

pub fn json(facts: &Facts, findings: &[Finding], notes: &[String]) -> Value {
    let nodes: Vec<Value> = facts
        .nodes
        .iter()
        .map(|n| {
            let s = n.server.as_ref();
            json!({
                "name": n.name,
                "role": n.role,
                "address": n.address,
                "connection": n.connection,
                "server_version": s.map(|s| s.version.clone()),
                "superuser": s.map(|s| s.superuser),
                "timescaledb": s.map(|s| json!({
                    "available": s.timescaledb_available,
                    "installed": s.database.as_ref().and_then(|d| d.timescaledb.clone()),
                    "license": s.setting("timescaledb.license"),
                })),
                "settings": s.map(|s| s.settings.iter().map(|(k, v)| (k.clone(), json!(v.value))).collect::<serde_json::Map<_, _>>()),
                "pending_restart": s.map(|s| s.pending_restart()),
                "hba_rules": s.map(|s| &s.hba_rules),
                "database": s.and_then(|s| s.database.as_ref()),
                "roles": s.map(|s| &s.roles),
                "access_probes": n.access_probes,
                "cluster_reach": n.cluster_reach,
            })
        })
        .collect();
    json!({
        "schema": JSON_SCHEMA,
        "ok": count(findings, Severity::Blocker) == 0,
        "summary": {
            "blockers": count(findings, Severity::Blocker),
            "warnings": count(findings, Severity::Warning),
            "notes": count(findings, Severity::Note),
        },
        "nodes": nodes,
        "findings": findings,
        "credential_notes": notes,
    })
}
