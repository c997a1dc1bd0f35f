//! PURE: a snapshot as text for people: nodes, links, hypertables (with
//! rows and bytes per second when watching), then the problems with
//! their codes.

use super::{NodeState, Problem, Rate, Snapshot};

pub use crate::timescale::size;

/// Columns padded to the widest cell, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, cell)| format!("{cell:<w$}", w = widths[i]))
            .collect();
        out.push_str("  ");
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The whole snapshot; `rates` after the first refresh of a watch.
pub fn text(s: &Snapshot, problems: &[Problem], rates: Option<&[Rate]>) -> String {
    let count = |st: NodeState| s.nodes.iter().filter(|n| n.state == st).count();
    let mut others = String::new();
    for (st, said) in [
        (NodeState::Refused, "refuse(s) tsmn's session"),
        (NodeState::Waiting, "not answered yet"),
    ] {
        if count(st) > 0 {
            others.push_str(&format!(", {} {said}", count(st)));
        }
    }
    let mut out = format!(
        "Cluster {}: {} of {} node(s) up{others} (snapshot in {:.0} ms)\n\n",
        s.database,
        count(NodeState::Up),
        s.nodes.len(),
        s.took_ms
    );
    let mut rows = vec![[
        "NODE",
        "ROLE",
        "STATE",
        "POSTGRES",
        "TIMESCALEDB",
        "UPTIME",
        "CONNECTIONS",
        "DB SIZE",
        "FREE",
    ]
    .map(String::from)
    .to_vec()];
    for n in &s.nodes {
        let mut r = vec![n.name.clone(), n.role.as_str().to_string()];
        // Why a node is not up is in the problems below, not here: a
        // message in a cell would widen its whole column.
        match &n.server {
            Some(sv) => r.extend([
                n.state.label().to_string(),
                sv.postgres_version.clone(),
                sv.timescaledb_version.clone().unwrap_or_else(|| "-".into()),
                crate::timescale::age(sv.uptime_seconds),
                format!("{}/{}", sv.connections, sv.max_connections),
                sv.database_bytes.map_or_else(|| "-".into(), size),
                sv.disk.as_ref().map_or_else(
                    || "unknown".into(),
                    |d| format!("{} of {}", size(d.free_bytes), size(d.total_bytes)),
                ),
            ]),
            None => r.extend([n.state.label().to_string(), "-".into()]),
        }
        rows.push(r);
    }
    out.push_str(&table(&rows));
    out.push_str(&certificates(s));
    out.push_str(&links(s));
    out.push_str(&hypertables(s, rates));
    if let Some(n) = s.remote_txn_backlog {
        out.push_str(&format!("\n  remote_txn records on the access node: {n}\n"));
    }
    out.push('\n');
    if problems.is_empty() {
        out.push_str("No problems found.\n");
    } else {
        for p in problems {
            out.push_str(&format!(
                "{} {} [{}]: {}\n",
                p.severity.label(),
                p.node,
                p.code,
                p.what
            ));
        }
        out.push_str("(the codes are stable for scripts; tsmn check --plan FILE reports each with its fix,\n prepared transactions for TimescaleDB's own: gid ts-...)\n");
    }
    out
}

/// Each node's certificates with their days left (none when ssl is off).
fn certificates(s: &Snapshot) -> String {
    let mut rows = vec![["NODE", "CERTIFICATE", "DAYS LEFT"]
        .map(String::from)
        .to_vec()];
    for n in &s.nodes {
        for c in n.server.iter().flat_map(|sv| &sv.certificates) {
            rows.push(vec![
                n.name.clone(),
                format!("{} {}", c.what, c.path),
                if c.not_yet_valid {
                    "not valid yet".into()
                } else {
                    c.days_left.to_string()
                },
            ]);
        }
    }
    if rows.len() > 1 {
        return format!("\n{}", table(&rows));
    }
    String::new()
}

fn links(s: &Snapshot) -> String {
    if !s.links.is_empty() {
        let mut rows = vec![["LINK", "STATE", "RTT"].map(String::from).to_vec()];
        for l in &s.links {
            let (state, rtt) = match (l.up, l.rtt_ms) {
                (Some(true), Some(ms)) => ("up".to_string(), format!("{ms:.1} ms")),
                (Some(false), _) => ("DOWN".into(), l.error.clone().unwrap_or_default()),
                _ => ("not tested".into(), l.error.clone().unwrap_or_default()),
            };
            let rtt = match l.tested_seconds_ago {
                Some(ago) => format!("{rtt} (tested {ago:.0} s ago)"),
                None => rtt,
            };
            rows.push(vec![format!("{} -> {}", l.from, l.to), state, rtt]);
        }
        return format!("\n{}", table(&rows));
    }
    String::new()
}

fn hypertables(s: &Snapshot, rates: Option<&[Rate]>) -> String {
    if !s.hypertables.is_empty() {
        let mut head = vec!["HYPERTABLE", "DATA NODE", "CHUNKS", "SIZE"];
        if rates.is_some() {
            head.extend(["ROWS/S", "BYTES/S"]);
        }
        let mut rows = vec![head.into_iter().map(String::from).collect::<Vec<_>>()];
        for h in &s.hypertables {
            let rate = rates.and_then(|r| r.iter().find(|r| r.hypertable == h.name));
            for (i, p) in h.placement.iter().enumerate() {
                let server = s
                    .nodes
                    .iter()
                    .find(|n| n.name == p.data_node)
                    .and_then(|n| n.server.as_ref());
                // A data node that answered and holds none of its chunks
                // has no counters for it: nothing, not unknown.
                let bytes = match server
                    .and_then(|sv| sv.counters.iter().find(|c| c.hypertable == h.name))
                {
                    Some(c) => size(c.bytes),
                    None if server.is_some() && p.chunks == 0 => size(0),
                    None => "?".to_string(),
                };
                let name = if i == 0 {
                    format!("{} (replication {})", h.name, h.replication_factor)
                } else {
                    String::new()
                };
                let mut r = vec![name, p.data_node.clone(), p.chunks.to_string(), bytes];
                // Each data node's own rate (one that did not answer
                // both times has none).
                if let Some(on) =
                    rate.and_then(|r| r.data_nodes.iter().find(|n| n.data_node == p.data_node))
                {
                    r.push(format!("{:.0}", on.rows_per_second));
                    r.push(size(on.bytes_per_second.round() as i64));
                } else if rate.is_some() {
                    r.extend(["-".to_string(), "-".to_string()]);
                }
                rows.push(r);
            }
        }
        return format!("\n{}", table(&rows));
    }
    String::new()
}
