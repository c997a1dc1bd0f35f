//! `tsmn preview`: every step, grouped by node, exactly as it will run, with
//! secrets as placeholders.

use super::diff::unified;
use crate::facts::Facts;
use crate::plan::Plan;
use crate::steps::hba_block;
use crate::steps::{Action, Content, SettingValue, Step, StepState};

pub struct Style {
    pub color: bool,
}

impl Style {
    fn bold(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn diff_line(&self, l: &str) -> String {
        match (self.color, l.chars().next()) {
            (true, Some('+')) if !l.starts_with("+++") => format!("\x1b[32m{l}\x1b[0m"),
            (true, Some('-')) if !l.starts_with("---") => format!("\x1b[31m{l}\x1b[0m"),
            _ => l.to_string(),
        }
    }
}

pub fn render(
    plan: &Plan,
    facts: Option<&Facts>,
    steps: &[Step],
    only: Option<&str>,
    style: &Style,
) -> String {
    let mut out = String::new();
    // Online only where a node answered: "online" above values that are all
    // unknown would claim what was not read.
    let reached = facts.map_or(0, |f| f.nodes.iter().filter(|n| n.server.is_some()).count());
    let mode = match (facts.is_some(), reached) {
        (false, _) => "offline: current values unknown".to_string(),
        (true, 0) => "no node answered: current values unknown".to_string(),
        (true, r) if r < plan.nodes().count() => {
            format!(
                "online: current values from {r} of {} nodes, `?` where unknown",
                plan.nodes().count()
            )
        }
        (true, _) => "online: current values from the nodes".to_string(),
    };
    out.push_str(&format!(
        "tsmn preview: {} mode, {} data node(s) ({mode})\n",
        plan.auth.mode.as_str(),
        plan.data_nodes.len()
    ));
    for node in plan.nodes().filter(|n| only.is_none_or(|o| o == n.name)) {
        let server = facts
            .and_then(|f| f.node(&node.name))
            .and_then(|n| n.server.as_ref());
        let pgdata = server.and_then(|s| s.setting("data_directory"));
        let role = if node.name == plan.access_node.name {
            "access node"
        } else {
            "data node"
        };
        out.push_str(&format!(
            "\n{}\n",
            style.bold(&format!(
                "== {} ({role}, {}:{}) ==",
                node.name, node.host, node.port
            ))
        ));
        for (i, s) in steps.iter().filter(|s| s.node == node.name).enumerate() {
            let state = match &s.state {
                StepState::Todo => "[ ]".to_string(),
                StepState::Done { why } => format!("[done: {why}]"),
                StepState::Blocked { why } => format!("[blocked: {why}]"),
            };
            out.push_str(&format!(
                "\n{}. {} {}  {}\n",
                i + 1,
                s.phase.as_str(),
                style.bold(&s.title),
                style.dim(&state)
            ));
            out.push_str(&format!("   why: {}\n", s.reason));
            out.push_str(&action(
                &s.action,
                server.map(|s| s.hba_lines.as_slice()),
                server.map(|s| s.hba_file.as_str()),
                pgdata,
                style,
            ));
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("     {l}\n")).collect()
}

fn action(
    a: &Action,
    hba_lines: Option<&[String]>,
    hba_file: Option<&str>,
    pgdata: Option<&str>,
    style: &Style,
) -> String {
    match a {
        Action::Settings { database, changes } => {
            let mut out = if database == "postgres" {
                String::from("   settings (ALTER SYSTEM, then SELECT pg_reload_conf()):\n")
            } else {
                format!("   settings, in database {database} where the extension defines them (ALTER SYSTEM, then SELECT pg_reload_conf()):\n")
            };
            for c in changes {
                let new = match &c.new {
                    SettingValue::Set(v) => format!("'{v}'"),
                    SettingValue::Append(v) => format!("current list + '{v}'"),
                    SettingValue::AtLeast(n, other) => format!("at least {n} and at least {other}"),
                };
                let current = c.current.as_deref().map_or("?".to_string(), |v| format!("'{v}'"));
                out.push_str(&format!("     {} = {current} -> {new}{}\n", c.name, if c.restart { "  (restart)" } else { "" }));
            }
            out.push_str("   SQL, each statement sent alone:\n");
            for c in changes {
                out.push_str(&statement_text(&crate::steps::setting_statement(c)));
            }
            out.push_str("     SELECT pg_reload_conf();\n");
            out
        }
        Action::HbaBlock { lines } => match (hba_lines, hba_file) {
            (Some(old), Some(path)) if !old.is_empty() => {
                let old = old.join("\n") + "\n";
                let new = hba_block::merge(&old, lines);
                let d = unified(&old, &new, path, 2);
                if d.is_empty() {
                    "     (no change)\n".to_string()
                } else {
                    d.lines().map(|l| format!("     {}\n", style.diff_line(l))).collect()
                }
            }
            _ => {
                let mut out = String::from("   pg_hba.conf: this block goes before the first rule (replacing an older tsmn block):\n");
                out.push_str(&indent(&hba_block::block(lines)));
                out
            }
        },
        Action::File { path, mode, content } => {
            let shown = match content {
                Content::Text { text } => indent(&text.masked()),
                Content::PrivateKey { name } => format!("     <private key {name}: kept beside the plan, never shown>\n"),
            };
            format!("   file {} (owner: the server's OS user, mode {mode:04o}):\n{shown}", path.resolve(pgdata))
        }
        Action::Sql { database, statements } => {
            let mut out = format!("   SQL in database {database}, each statement sent alone:\n");
            for st in statements {
                out.push_str(&statement_text(st));
            }
            out
        }
        Action::Verify { database, reaches, sql } => {
            let mut roles: Vec<&str> = reaches.iter().map(|r| r.role.as_str()).collect();
            roles.dedup();
            let mut nodes: Vec<&str> = reaches.iter().map(|r| r.data_node.as_str()).collect();
            nodes.sort_unstable();
            nodes.dedup();
            format!(
                "   check, in database {database}: as {} the access node reaches {}; SQL:\n{}",
                roles.join(", "),
                nodes.join(", "),
                indent(&format!("{sql};"))
            )
        }
        Action::RestoreFile { path, backup } => match backup {
            Some(b) => format!(
                "   file {path}: put back from {b} (the file as it is now is backed up first; the server's pg_hba.conf is checked and reloaded, restored on error)\n"
            ),
            None => format!("   file {path}: removed (the last run made it; a backup of it is kept)\n"),
        },
        Action::ReloadTls { .. } => "   SELECT pg_reload_conf(), when a step above wrote a TLS file in this run or one is newer than the server's last reload\n".to_string(),
        Action::HbaBlockRemoved { host, port } => format!(
            "   pg_hba.conf at {host}:{port}: tsmn's block goes (checked through pg_hba_file_rules, reloaded, the original back on any error)\n"
        ),
        Action::RestartGate { nodes } => format!(
            "   restart where a setting waits for one, on {}: tsmn apply restarts each node on this host whose data directory it can read (`--restart local`, the default; `ask` asks first) and waits for the others to be restarted by someone else (`--restart-wait`); `--restart never` stops here and names them with how to restart them\n",
            nodes.join(", ")
        ),
        Action::MoveChunk(m) => move_chunk(m),
        Action::DrainResume { database, functions_schema } => format!(
            "   in database {database}: wait for chunk copies still running (_timescaledb_catalog.chunk_copy_operation, their session alive); CALL timescaledb_experimental.cleanup_copy_chunk_operation(operation_id => ...) for those whose session is gone; ROLLBACK PREPARED tsmn's write pauses left (gid tsmn_drain_...)\n   then for each data node: SELECT {functions_schema}.remote_txn_heal_data_node(oid) FROM pg_foreign_server WHERE srvname = '<data node>';  (writes a restart left prepared)\n"
        ),
        Action::RotatePassword { role, data_node, host, port, passfile, last, .. } => format!(
            "   on {data_node}: ALTER ROLE {} PASSWORD '<SCRAM-SHA-256 verifier of {role}'s new password>' (unless it has it)\n   then at once, in {} on the access node: the line {host}:{port} for {role} gets the new password{}; the backup keeps no old password\n",
            crate::quote::sql::ident(role),
            passfile.resolve(pgdata),
            if *last { ", and the role's lines with an old one go" } else { "" }
        ),
    }
}

/// A drain's move: the write pause, the engine's copy, the comparison, the
/// drop (a repair's copy keeps the source).
fn move_chunk(m: &crate::steps::ChunkMove) -> String {
    let drop = if m.keep_source {
        format!("   (the copy on {} stays: a copy, not a move)\n", m.source)
    } else {
        format!(
            "   SELECT {}.chunk_drop_replica({}, {});\n",
            m.functions_schema,
            crate::quote::sql::literal(&m.chunk),
            crate::quote::sql::literal(&m.source)
        )
    };
    format!(
            "   in database {db} on the access node: pause writes to {h} (BEGIN; LOCK TABLE ONLY {h} IN SHARE MODE; PREPARE TRANSACTION 'tsmn_drain_<chunk id>'; reads go on)\n   SELECT gid FROM pg_prepared_xacts on {s} and on {d}; where any: SELECT {fs}.remote_txn_heal_data_node(oid) FROM pg_foreign_server WHERE srvname = <that node>;  then wait (at most 30 s) until every transaction prepared on {s} before it is gone, or stop here\n   CALL timescaledb_experimental.copy_chunk(chunk => {c}, source_node => {src}, destination_node => {dst}, operation_id => 'tsmn_<chunk id>_<time>_<attempt>');  (cleaned up and retried once on failure)\n   count(*) and sum(hash_record_extended(row, 0)) (a column of a type whose hash is not its value's alone, such as an enum: sum(hashtextextended(row::text, 0))) of {chunk} on {s} and on {d}: equal, or the copy is dropped again\n{drop}   ROLLBACK PREPARED 'tsmn_drain_<chunk id>';  (writes go on)\n",
            db = m.database,
            h = m.hypertable,
            c = crate::quote::sql::literal(&m.chunk),
            chunk = m.chunk,
            src = crate::quote::sql::literal(&m.source),
            dst = crate::quote::sql::literal(&m.destination),
            s = m.source,
            d = m.destination,
            fs = m.functions_schema,
        )
}

fn statement_text(st: &crate::steps::Statement) -> String {
    let text = st.sql.masked();
    indent(&if st.generate {
        format!("{text} \\gexec")
    } else {
        format!("{text};")
    })
}
