//! `tsmn report`: the support bundle (tsmn::bundle) of a plan's cluster,
//! written where asked: the servers' files, the status snapshot, tsmn's
//! own journal and log, and README.txt naming each file.

use super::super::args::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::runtime;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tsmn::bundle::{self, Entry};
use tsmn::status::{collect::Watcher, json, problems, Limits};

pub fn report(plan_path: &Path, out: &Path, connect_timeout: u64) -> u8 {
    let plan = match tsmn::probe::conninfo::load_plan(plan_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    if out.exists() {
        eprintln!(
            "error: --out {}: the file exists; tsmn report does not overwrite\n    fix: choose another --out, or remove the file first",
            out.display()
        );
        return EXIT_USAGE;
    }
    let timeout = Duration::from_secs(connect_timeout);
    output::tell(&format!(
        "reading {} node(s) for the bundle ...",
        plan.nodes().count()
    ));
    let rt = runtime();
    let mut entries = rt.block_on(async {
        let (servers, snapshot) = futures_util::future::join(
            bundle::collect::from_servers(&plan, timeout),
            snapshot_json(&plan, timeout),
        )
        .await;
        let mut e = servers;
        e.push(snapshot);
        e
    });
    entries.extend(bundle::collect::own_files(plan_path, &tsmn_logs()));
    let readme = Entry {
        path: "README.txt".into(),
        about: "this file".into(),
        text: String::new(),
    };
    let mut all = vec![readme];
    all.append(&mut entries);
    all[0].text = bundle::readme(&all, &output::now());
    let top = out
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".tgz")
                .to_string()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "tsmn-report".into());
    match bundle::archive::write(out, &top, &all) {
        Ok(()) => {
            output::tell(&format!(
                "wrote {} ({} files, mode 0600); {top}/README.txt in it names each",
                out.display(),
                all.len()
            ));
            EXIT_OK
        }
        Err(e) => {
            eprintln!(
                "error: --out {}: {e}\n    fix: check that the directory exists and is writable",
                out.display()
            );
            EXIT_FAILED
        }
    }
}

async fn snapshot_json(plan: &tsmn::plan::Plan, timeout: Duration) -> Entry {
    let text = match Watcher::new(plan.clone(), timeout) {
        Ok(mut w) => {
            let s = w.snapshot().await;
            format!(
                "{:#}\n",
                json::document(&s, &problems(&s, &Limits::default()), None)
            )
        }
        Err(e) => format!("-- not available: {e}\n"),
    };
    Entry::masked(
        "status.json",
        "tsmn status --json at the time of the bundle (schema tsmn-status/1)",
        &text,
    )
}

/// tsmn's log: TSMN_LOG_FILE when set, else the newest daily file.
fn tsmn_logs() -> Vec<PathBuf> {
    if let Some(f) = std::env::var_os("TSMN_LOG_FILE").filter(|f| !f.is_empty()) {
        return vec![PathBuf::from(f)];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(super::super::log::dir())
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.pop().into_iter().collect()
}
