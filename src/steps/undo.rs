//! PURE: `tsmn undo`, the way back from the last run of tsmn apply: the
//! data nodes it added are deleted again (their database too when that
//! run made it), then every server file it changed goes back to its
//! backup (one it made goes away). Only while the cluster holds no
//! distributed hypertable: deleting a data node would lose its chunks.
//! Settings are not put back (ALTER SYSTEM keeps no backup): they are
//! named with the value they had.

use super::{step, Action, Order, Phase, Statement, Step, StepsError};
use crate::facts::Facts;
use crate::plan::Plan;
use crate::quote::sql::literal;

/// The steps, and notes for the operator (what stays).
pub fn build(
    plan: &Plan,
    last: &LastRun,
    facts: &Facts,
) -> Result<(Vec<Step>, Vec<String>), StepsError> {
    let an = plan.access_node.name.as_str();
    let db = facts
        .node(an)
        .and_then(|n| n.server.as_ref())
        .and_then(|s| s.database.as_ref());
    let members: Vec<&str> = db
        .map(|d| d.data_nodes.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(refused) = db.and_then(|d| refusal(last, d)) {
        return Err(refused);
    }
    let mut steps = Vec::new();
    for (dn, made_db) in last.added.iter().rev() {
        if !members.contains(&dn.as_str()) {
            continue;
        }
        let l = literal(dn);
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("undo-add-{dn}"),
            format!("Delete data node {dn} (the last run added it)"),
            if *made_db {
                format!("the last run added {dn} and made its database there: both go (delete_data_node drops a data node's user mappings only when told, so they go first)")
            } else {
                format!("the last run added {dn}; its database was there before and stays")
            },
            Action::Sql {
                database: plan.database.clone(),
                statements: vec![
                    Statement::generator(format!("SELECT format('DROP USER MAPPING FOR %s SERVER %I', CASE WHEN umuser = 0 THEN 'PUBLIC' ELSE quote_ident(usename::text) END, srvname) FROM pg_user_mappings WHERE srvname = {l}")),
                    Statement::plain(format!("SELECT delete_data_node({l}, drop_database => {made_db})")),
                ],
            },
        );
        s.order = Order::First;
        steps.push(s);
    }
    // A certificate, key or CA put back is read by its server on reload
    // only: one reload per such node, after its files.
    let mut reloads: Vec<(String, Vec<String>)> = Vec::new();
    let mut gone_files: Vec<String> = Vec::new();
    for f in last.files.iter().rev() {
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        // A data node the run removed is no longer tsmn's to reach.
        if last.removed.contains(&f.node) {
            gone_files.push(format!(
                "{}: {} stays as the last run left it ({} left the cluster in that run{})",
                f.node,
                f.path,
                f.node,
                f.backup
                    .as_ref()
                    .map(|b| format!("; the file before it: {b}"))
                    .unwrap_or_default()
            ));
            continue;
        }
        let s = step(
            &f.node,
            Phase::Cluster,
            &format!("undo-{name}"),
            match &f.backup {
                Some(_) => format!("Put {name} back as it was"),
                None => format!("Remove {name} (the last run made it)"),
            },
            "the file as it was before the last run of tsmn apply",
            Action::RestoreFile {
                path: f.path.clone(),
                backup: f.backup.clone(),
            },
        );
        if f.path.ends_with(".crt") || f.path.ends_with(".key") {
            match reloads.iter_mut().find(|(n, _)| *n == f.node) {
                Some((_, after)) => after.push(s.id.clone()),
                None => reloads.push((f.node.clone(), vec![s.id.clone()])),
            }
        }
        steps.push(s);
    }
    for (node, after) in reloads {
        steps.push(step(
            &node,
            Phase::Cluster,
            "undo-tls-reload",
            "Reload: the certificates put back",
            "PostgreSQL reads its certificate, key and CA at start and on reload only",
            Action::ReloadTls { after },
        ));
    }
    let notes = stays(plan, last, gone_files);
    Ok((steps, notes))
}

/// What stays as the last run left it: its settings (with their old
/// values), its moves, the files of a node it removed, its jobs.
fn stays(plan: &Plan, last: &LastRun, gone_files: Vec<String>) -> Vec<String> {
    let mut notes: Vec<String> = last
        .settings
        .iter()
        .map(|(node, name, was)| match was {
            Some(v) => format!("{node}: {name} stays as the last run set it; it was {v} (ALTER SYSTEM SET {name} = {} to put it back)", literal(v)),
            None => format!("{node}: {name} stays as the last run set it (ALTER SYSTEM RESET {name} to put back the default)"),
        })
        .collect();
    if last.rebalance {
        notes.push("the chunks the last run of tsmn rebalance moved stay where they are (only the links it set up for its moves are taken back; a rebalance sets them up again)".into());
    } else if last.moved {
        notes.push(format!(
            "the chunks the last run moved or copied stay where they are{} (only its files are taken back)",
            if last.removed.is_empty() {
                String::new()
            } else {
                format!(", and the data node(s) it removed ({}) stay removed", last.removed.join(", "))
            }
        ));
    }
    notes.extend(gone_files);
    if last.maintenance {
        notes.push(format!(
            "{}: tsmn's maintenance jobs stay as the last run set them (in {}: SELECT delete_job(job_id) FROM timescaledb_information.jobs WHERE proc_name LIKE 'tsmn%' to remove them, then DROP PROCEDURE each)",
            plan.access_node.name,
            plan.database
        ));
    }
    notes
}

/// Why `last` cannot be taken back while the cluster holds distributed
/// hypertables (`d`, the access node's database), naming the run and what
/// of it would lose or cut off their chunks; None: it can.
fn refusal(last: &LastRun, d: &crate::facts::DatabaseFacts) -> Option<StepsError> {
    // A rebalance, or a drain that added no data node, changed only the
    // links between data nodes (and the leaving node's rule): taking them
    // back cuts off no chunk; its moves stay.
    let moves_only = last.rebalance || (last.moved && last.added.is_empty());
    if d.distributed_hypertables.is_empty() || moves_only {
        return None;
    }
    {
        let names: Vec<String> = d
            .distributed_hypertables
            .iter()
            .map(|h| format!("{}.{}", h.schema, h.table))
            .collect();
        let why = if last.added.is_empty() {
            let files: Vec<String> = last
                .files
                .iter()
                .map(|f| format!("{} {}", f.node, f.path))
                .collect();
            format!("it changed {}: putting back the files and rules from before it could cut the access node off from the data nodes that hold their chunks", files.join(", "))
        } else {
            let added: Vec<&str> = last.added.iter().map(|(n, _)| n.as_str()).collect();
            format!(
                "it added data node(s) {}: deleting them would lose the chunks they hold",
                added.join(", ")
            )
        };
        Some(StepsError::Unusable(format!(
            "nothing was changed: the last run ({}) cannot be taken back while the cluster holds distributed hypertables ({}): {why}\n    fix: keep the cluster and correct it with tsmn apply, or drop those hypertables first if their data is not needed",
            last.described(),
            names.join(", ")
        )))
    }
}

/// A server file the last run changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub node: String,
    pub path: String,
    /// Its content before the run; None when the run made it.
    pub backup: Option<String>,
}

/// What `tsmn undo` can take back of the last run that was not an undo:
/// the files it changed (the first backup of each), the data nodes it
/// added (and whether it made their database), the settings it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastRun {
    pub files: Vec<ChangedFile>,
    /// (data node, its database was made by that run)
    pub added: Vec<(String, bool)>,
    /// (node, setting, value before)
    pub settings: Vec<(String, String, Option<String>)>,
    /// It put tsmn's maintenance jobs in place (or back on schedule).
    pub maintenance: bool,
    /// It was a run of `tsmn rebalance` (its files: the links between the
    /// data nodes of its moves; its moves stay).
    pub rebalance: bool,
    /// It moved or copied chunks (a drain, a repair): they stay.
    pub moved: bool,
    /// The data nodes it removed from the cluster.
    pub removed: Vec<String>,
    /// When it started (unix seconds, from the journal).
    pub started: Option<i64>,
}

impl LastRun {
    /// The run for people: its command and when it started.
    pub fn described(&self) -> String {
        let what = if self.rebalance {
            "tsmn rebalance"
        } else if self.moved {
            "tsmn apply, with chunk moves"
        } else {
            "tsmn apply"
        };
        match self
            .started
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        {
            Some(t) => format!(
                "{what}, started {:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            None => what.to_string(),
        }
    }
}

/// PURE: the last run in the journal's text that was not an undo.
/// Err: there is none, or it was undone already.
pub fn last_run(text: &str, access_node: &str) -> Result<LastRun, String> {
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let marker = |i: usize| lines[i]["run"].as_str().unwrap_or("");
    // Runs: (index of "started", the marker before it: undo, rebalance).
    let runs: Vec<(usize, &str)> = (0..lines.len())
        .filter(|&i| marker(i) == "started")
        .map(|i| (i, if i > 0 { marker(i - 1) } else { "" }))
        .collect();
    let end_of = |start: usize| {
        runs.iter()
            .find(|(i, _)| *i > start)
            .map_or(lines.len(), |(i, _)| i.saturating_sub(1))
    };
    // A run of undo is not undone; a rebalance only when it changed files
    // (the links it set up for its moves) or settings (the engine's copy's:
    // named by the undo), else undo looks past it.
    let undoable = |&&(i, kind): &&(usize, &str)| match kind {
        "undo" => false,
        "rebalance" => lines[i..end_of(i)]
            .iter()
            .any(|v| v.get("changed_file").is_some() || v.get("settings").is_some()),
        _ => true,
    };
    let Some(&(last, kind)) = runs.iter().rev().find(undoable) else {
        return Err("the journal holds no run of tsmn apply to undo".into());
    };
    if (last..lines.len()).any(|i| marker(i) == "undone") {
        return Err("the last run of tsmn apply was undone already".into());
    }
    let end = end_of(last);
    let mut out = LastRun {
        rebalance: kind == "rebalance",
        started: lines[last]["time"].as_i64(),
        ..LastRun::default()
    };
    let done = |v: &serde_json::Value| v["outcome"]["state"] == "done";
    let made_db = |dn: &str| {
        lines[last..end].iter().any(|v| {
            done(v) && v["step"] == super::step_id(dn, Phase::Cluster, "database").as_str()
        })
    };
    for v in &lines[last..end] {
        if let Some(f) = v.get("changed_file") {
            let path = f["path"].as_str().unwrap_or_default().to_string();
            let node = f["node"].as_str().unwrap_or_default().to_string();
            // The first backup of a file is its content before the run.
            if !out.files.iter().any(|c| c.node == node && c.path == path) {
                out.files.push(ChangedFile {
                    node,
                    path,
                    backup: f["backup"].as_str().map(str::to_string),
                });
            }
        }
        let step = v["step"].as_str().unwrap_or_default();
        if let Some(dn) = step
            .strip_prefix(&super::step_id(access_node, Phase::Cluster, "add-"))
            .filter(|_| done(v))
        {
            out.added.push((dn.to_string(), made_db(dn)));
        }
        if done(v) && step.starts_with(&super::step_id(access_node, Phase::Cluster, "maintenance-"))
        {
            out.maintenance = true;
        }
        let cluster_step = |what: &str| super::step_id(access_node, Phase::Cluster, what);
        if done(v)
            && (step.starts_with(&cluster_step("move-"))
                || step.starts_with(&cluster_step("copy-")))
        {
            out.moved = true;
        }
        if let Some(dn) = step
            .strip_prefix(&cluster_step("remove-"))
            .filter(|_| done(v))
        {
            out.removed.push(dn.to_string());
        }
        if let Some(list) = v["settings"].as_array() {
            for c in list {
                out.settings.push((
                    v["node"].as_str().unwrap_or_default().to_string(),
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c["was"].as_str().map(str::to_string),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_run_is_read_and_an_undo_is_not_undone() {
        let run = r#"{"run":"started"}
{"step":"dn1/cluster/database","node":"dn1","outcome":{"state":"done","detail":""}}
{"changed_file":{"node":"dn1","path":"/d/pg_hba.conf","backup":"/d/pg_hba.conf.tsmn-1.bak"}}
{"changed_file":{"node":"an","path":"/a/passfile","backup":null}}
{"changed_file":{"node":"an","path":"/a/passfile","backup":"/a/passfile.tsmn-1.bak"}}
{"step":"an/cluster/add-dn1","node":"an","outcome":{"state":"done","detail":""}}
{"step":"an/cluster/add-dn2","node":"an","outcome":{"state":"already_done","detail":""}}
{"step":"dn1/settings/settings","node":"dn1","outcome":{"state":"done","detail":""},"settings":[{"name":"max_prepared_transactions","was":"0"}]}
{"step":"an/cluster/maintenance-heal","node":"an","outcome":{"state":"done","detail":""}}
"#;
        let older = "{\"run\":\"started\"}\n{\"changed_file\":{\"node\":\"x\",\"path\":\"/old\",\"backup\":null}}\n";
        let text = format!("{older}{run}");
        let last = last_run(&text, "an").unwrap();
        assert_eq!(
            last.files,
            [
                ChangedFile {
                    node: "dn1".into(),
                    path: "/d/pg_hba.conf".into(),
                    backup: Some("/d/pg_hba.conf.tsmn-1.bak".into())
                },
                ChangedFile {
                    node: "an".into(),
                    path: "/a/passfile".into(),
                    backup: None
                },
            ]
        );
        assert_eq!(last.added, [("dn1".to_string(), true)]);
        assert_eq!(
            last.settings,
            [(
                "dn1".to_string(),
                "max_prepared_transactions".to_string(),
                Some("0".to_string())
            )]
        );

        assert!(last.maintenance);
        assert!(!last_run(older, "an").unwrap().maintenance);
        // An undo that failed halfway: the same run is the one to undo.
        let failed = format!("{text}{{\"run\":\"undo\"}}\n{{\"run\":\"started\"}}\n");
        assert_eq!(last_run(&failed, "an").unwrap(), last);
        // One that finished: nothing left.
        let finished = format!("{failed}{{\"run\":\"undone\"}}\n");
        assert!(last_run(&finished, "an")
            .unwrap_err()
            .contains("undone already"));
        assert!(last_run("", "an").is_err());
    }

    #[test]
    fn a_rebalance_that_set_up_links_is_the_run_to_undo_one_that_wrote_nothing_is_not() {
        let apply = "{\"run\":\"started\"}\n{\"changed_file\":{\"node\":\"dn1\",\"path\":\"/d/pg_hba.conf\",\"backup\":null}}\n{\"run\":\"finished\",\"ok\":true}\n";
        let moves_only = "{\"run\":\"rebalance\"}\n{\"run\":\"started\"}\n{\"step\":\"an/cluster/move-c\",\"node\":\"an\",\"outcome\":{\"state\":\"done\",\"detail\":\"\"}}\n{\"run\":\"finished\",\"ok\":true}\n";
        let looked_past = last_run(&format!("{apply}{moves_only}"), "an").unwrap();
        assert!(!looked_past.rebalance);
        assert_eq!(looked_past.files[0].path, "/d/pg_hba.conf");
        let links = "{\"run\":\"rebalance\"}\n{\"run\":\"started\"}\n{\"changed_file\":{\"node\":\"dn3\",\"path\":\"/a/passfile\",\"backup\":null}}\n{\"run\":\"finished\",\"ok\":true}\n";
        let last = last_run(&format!("{apply}{links}{moves_only}"), "an").unwrap();
        assert!(last.rebalance);
        assert_eq!(last.files.len(), 1);
        assert_eq!(last.files[0].node, "dn3");
        // Its files go back though the cluster holds distributed hypertables.
        let mut facts = Facts::default();
        facts.nodes.push(crate::facts::NodeFacts {
            name: "an".into(),
            role: crate::facts::NodeRole::Access,
            address: "x".into(),
            connection: crate::facts::Connection::Connected { tls: false },
            server: Some(crate::facts::ServerFacts {
                database: Some(crate::facts::DatabaseFacts {
                    distributed_hypertables: vec![crate::facts::DistributedHypertable {
                        schema: "public".into(),
                        table: "metrics".into(),
                        data_nodes: vec!["dn1".into()],
                        replication_factor: 1,
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            access_probes: crate::facts::AccessProbes::NotApplicable,
            cluster_reach: Vec::new(),
        });
        let mut plan = crate::plan::new_plan();
        plan.access_node.name = "an".into();
        let (steps, notes) = build(&plan, &last, &facts).unwrap();
        assert!(steps.iter().any(|s| matches!(&s.action, Action::RestoreFile { path, backup: None } if path == "/a/passfile")));
        assert!(notes.iter().any(|n| n.contains("stay where they are")));
        let older = LastRun {
            rebalance: false,
            ..last.clone()
        };
        let refused = build(&plan, &older, &facts).unwrap_err().to_string();
        assert!(
            refused.contains("the last run (tsmn apply)")
                && refused.contains("it changed dn3 /a/passfile"),
            "{refused}"
        );
        // A rebalance that changed settings only is the run undo takes
        // back (nothing but what stays), not the apply before it.
        let settings = "{\"run\":\"rebalance\"}\n{\"time\":0,\"run\":\"started\"}\n{\"step\":\"dn1/settings/settings\",\"node\":\"dn1\",\"outcome\":{\"state\":\"done\",\"detail\":\"\"},\"settings\":[{\"name\":\"wal_level\",\"was\":\"replica\"}]}\n{\"step\":\"an/cluster/move-c\",\"node\":\"an\",\"outcome\":{\"state\":\"done\",\"detail\":\"\"}}\n{\"run\":\"finished\",\"ok\":true}\n";
        let last = last_run(&format!("{apply}{settings}"), "an").unwrap();
        assert!(last.rebalance && last.files.is_empty(), "{last:?}");
        assert_eq!(
            last.described(),
            "tsmn rebalance, started 1970-01-01 00:00:00 UTC"
        );
        let (steps, notes) = build(&plan, &last, &facts).unwrap();
        assert!(steps.is_empty());
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("dn1: wal_level stays") && n.contains("it was replica")),
            "{notes:?}"
        );
        // A drain (an apply that moved chunks and removed dn3): its files
        // go back but the removed node's, its moves stay.
        let drain = "{\"run\":\"started\"}\n{\"changed_file\":{\"node\":\"dn1\",\"path\":\"/d/passfile\",\"backup\":null}}\n{\"changed_file\":{\"node\":\"dn3\",\"path\":\"/e/pg_hba.conf\",\"backup\":\"/e/b\"}}\n{\"step\":\"an/cluster/move-c\",\"node\":\"an\",\"outcome\":{\"state\":\"done\",\"detail\":\"\"}}\n{\"step\":\"an/cluster/remove-dn3\",\"node\":\"an\",\"outcome\":{\"state\":\"done\",\"detail\":\"\"}}\n{\"run\":\"finished\",\"ok\":true}\n";
        let last = last_run(drain, "an").unwrap();
        assert!(last.moved && last.removed == ["dn3"], "{last:?}");
        let (steps, notes) = build(&plan, &last, &facts).unwrap();
        assert_eq!(steps.len(), 1, "{steps:?}");
        assert!(
            notes.iter().any(|n| n.contains("(dn3) stay removed")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("dn3: /e/pg_hba.conf stays")),
            "{notes:?}"
        );
    }
}
