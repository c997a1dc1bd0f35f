//! `tsmn undo`: the way back from the last run of tsmn apply, shown before
//! it asks. The flow's one run sequence builds the steps from the run's
//! journal and runs them as apply runs its own.

use super::super::args::{EXIT_FAILED, EXIT_OK};
use super::apply::{asked, refused_or_declined, run_shown};
use super::{fail_as, probe_flow, runtime};
use std::path::Path;
use std::time::Duration;
use tsmn::flow::{Flow, RunKind, Settings, Watch};
use tsmn::report;

pub fn undo(path: &Path, yes: bool, connect_timeout: u64) -> u8 {
    let fail = |e| fail_as("undo", false, e);
    let mut flow = match Flow::open(path) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let run = match flow.begin(RunKind::Undo) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let rt = runtime();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let settings = Settings {
        connect_timeout: Duration::from_secs(connect_timeout),
        restart: tsmn::run::RestartPolicy::Never,
        ..Settings::default()
    };
    let watch = Watch {
        progress: None,
        keep: Some(tsmn::run::session::notices_to(tx.clone())),
    };
    let probed = rt
        .block_on(flow.lock_cluster(&settings))
        .and_then(|()| probe_flow(&rt, &mut flow, &settings, false, watch));
    if let Err(e) = probed {
        return fail(e);
    }
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
        eprintln!("stays: {s}");
    }
    if ready.steps.is_empty() {
        eprintln!(
            "the last run of tsmn apply added no data node and changed no file: nothing to undo"
        );
        return EXIT_OK;
    }
    let summary =
        report::apply::summary(RunKind::Undo, &ready.steps, &settings.phases, &Vec::new());
    eprint!("{summary}");
    if !yes && !asked("Undo the last run now? [y/N] ") {
        return refused_or_declined(
            "undo",
            false,
            std::io::IsTerminal::is_terminal(&std::io::stdin()),
        );
    }
    let (ok, tally, cancelled) =
        run_shown(&rt, &mut flow, &run, &ready, &settings, (tx, rx), false);
    if cancelled {
        eprintln!("stopped after the interrupt: run tsmn undo again to go on (what is back already is left as it is)");
        return super::super::signals::exit_code();
    }
    if ok && tally.ok() {
        if tally.skipped > 0 {
            eprintln!("undone, but for {} step(s) that left something as it is (said above); check with tsmn check", tally.skipped);
        } else {
            eprintln!("undone: the last run's data nodes and files are back as they were; check with tsmn check");
        }
        EXIT_OK
    } else {
        eprintln!("{}", tally.closing(RunKind::Undo, ok));
        EXIT_FAILED
    }
}
