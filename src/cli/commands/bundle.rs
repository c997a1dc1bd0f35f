//! `tsmn report`: the support bundle (tsmn::bundle) of a plan's cluster,
//! written where asked: the servers' files, the status snapshot, tsmn's
//! own journal and log, and README.txt naming each file.

use super::super::args::{is_stdout, ReportArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::{failed, runtime};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use tsmn::bundle::{self, Entry};
use tsmn::status::{collect::Watcher, json, problems, Limits};

pub const JSON_SCHEMA: &str = "tsmn-report/1";

pub fn report(a: &ReportArgs) -> u8 {
    let fail = |message: &str, code| failed("report", a.json, message, code);
    let (plan_path, out) = (a.plan.as_path(), a.out.as_path());
    let timeout = match a.connect.timeout() {
        Ok(t) => t,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let plan = match tsmn::plan::system::load_plan(plan_path) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let to_stdout = is_stdout(out);
    if to_stdout && a.json {
        return fail("--out - and --json both write to standard output\n    fix: write the bundle to a file (--out bundle.tar.gz) and keep --json, or drop --json", EXIT_USAGE);
    }
    if !to_stdout && out.exists() {
        let message = format!(
            "--out {}: the file exists; tsmn report does not overwrite\n    fix: choose another --out, or remove the file first",
            out.display()
        );
        return fail(&message, EXIT_USAGE);
    }
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
        .filter(|n| !n.is_empty() && n != "-")
        .unwrap_or_else(|| "tsmn-report".into());
    let written = if to_stdout {
        bundle::archive::write_to(std::io::stdout().lock(), &top, &all)
    } else {
        bundle::archive::write(out, &top, &all)
    };
    match written {
        Ok(()) => {
            if a.json {
                let files: Vec<_> = all
                    .iter()
                    .map(|e| json!({ "path": format!("{top}/{}", e.path), "about": e.about }))
                    .collect();
                output::print_json(&output::document(
                    JSON_SCHEMA,
                    json!({ "out": out, "mode": "0600", "files": files }),
                ));
            }
            let shown = if to_stdout {
                "the bundle to standard output".to_string()
            } else {
                format!("{} (mode 0600)", out.display())
            };
            output::tell(&format!(
                "wrote {shown}: {} files; {top}/README.txt in it names each",
                all.len()
            ));
            EXIT_OK
        }
        Err(e) if to_stdout && e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            let message = format!(
                "--out {}: {e}\n    fix: check that the directory exists and is writable",
                out.display()
            );
            fail(&message, EXIT_FAILED)
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
