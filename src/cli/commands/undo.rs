//! `tsmn undo`: the way back from the last run of tsmn apply, shown before
//! it asks. The flow's one run sequence builds the steps from the run's
//! journal and runs them as apply runs its own. `--json`: one document
//! (schema tsmn-undo/1) at the end.

use super::super::args::{UndoArgs, EXIT_FAILED, EXIT_OK};
use super::super::output;
use super::fail_as;
use super::running::{asked, refused_or_declined, run_shown, start, Ran, Show, Started};
use serde_json::{json, Value};
use tsmn::flow::{FlowError, RunKind, Settings};
use tsmn::report;

pub const JSON_SCHEMA: &str = "tsmn-undo/1";

pub fn undo(a: &UndoArgs) -> u8 {
    let fail = |e| fail_as("undo", a.json, e);
    let connect_timeout = match a.connect.timeout() {
        Ok(t) => t,
        Err(e) => return fail(FlowError::Usage(e)),
    };
    let settings = Settings {
        connect_timeout,
        restart: tsmn::run::RestartPolicy::Never,
        ..Settings::default()
    };
    let Started {
        mut flow,
        run,
        rt,
        events: (tx, rx),
    } = match start(&a.plan, RunKind::Undo, &settings, a.json) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let ready = rt.block_on(flow.ready(
        &run,
        &Default::default(),
        &settings,
        &super::super::prompt::Terminal::new(),
    ));
    let ready = match ready {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    for s in &ready.stays {
        output::tell(&format!("stays: {s}"));
    }
    if ready.steps.is_empty() {
        let said = if ready.stays.is_empty() {
            "the last run added no data node and changed no file: nothing to undo"
        } else {
            "the last run added no data node and changed no file tsmn can put back: nothing to undo but what stays (said above)"
        };
        output::tell(said);
        if a.json {
            print_document(&ready.stays, true, &[], said);
        }
        return EXIT_OK;
    }
    let summary =
        report::apply::summary(RunKind::Undo, &ready.steps, &settings.phases, &Vec::new());
    // Shown whatever -q says when it asks: nobody answers blind.
    if a.yes {
        output::tell(summary.trim_end());
    } else {
        eprint!("{summary}");
    }
    if !a.yes && !asked("Undo the last run now? [y/N] ") {
        return refused_or_declined(
            "undo",
            a.json,
            std::io::IsTerminal::is_terminal(&std::io::stdin()),
        );
    }
    let show = if a.json { Show::Document } else { Show::Text };
    let Ran {
        ok,
        tally,
        cancelled,
        events,
    } = run_shown(&rt, &mut flow, &run, &ready, &settings, (tx, rx), show);
    let (code, closing) = if cancelled {
        (
            super::super::signals::exit_code(),
            "stopped after the interrupt: run tsmn undo again to go on (what is back already is left as it is)".to_string(),
        )
    } else if ok && tally.ok() && tally.skipped > 0 {
        (EXIT_OK, format!("undone, but for {} step(s) that left something as it is (said above); check with tsmn check", tally.skipped))
    } else if ok && tally.ok() {
        (
            EXIT_OK,
            "undone: the last run's data nodes and files are back as they were; check with tsmn check".to_string(),
        )
    } else {
        (EXIT_FAILED, tally.closing(RunKind::Undo, ok))
    };
    if a.json {
        print_document(&ready.stays, code == EXIT_OK, &events, &closing);
    }
    if code == EXIT_OK {
        output::tell(&closing);
    } else {
        eprintln!("{closing}");
    }
    code
}

/// The one document of `undo --json`: whether all went back, what stays
/// as it is, each event of the run (apply's event fields), the closing line.
fn print_document(stays: &[String], ok: bool, events: &[Value], closing: &str) {
    let events: Vec<Value> = events
        .iter()
        .cloned()
        .map(|mut e| {
            if let Some(o) = e.as_object_mut() {
                o.remove("schema");
            }
            e
        })
        .collect();
    output::print_json(&output::document(
        JSON_SCHEMA,
        json!({ "ok": ok, "stays": stays, "events": events, "closing": closing }),
    ));
}
