//! `tsmn undo`: the way back from the last run of tsmn apply, shown before
//! it asks (the flow builds the steps from the run's journal).

use super::args::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::commands::{fail_as, failed, print_events, probed, runtime, Probing};
use super::prompt::confirm;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;
use tsmn::flow::{Settings, Watch};
use tsmn::report;

pub fn undo(path: &Path, yes: bool, connect_timeout: u64) -> u8 {
    let _lock = match tsmn::flow::lock::take(path) {
        Ok(l) => l,
        Err(e) => return fail_as("undo", false, e),
    };
    let rt = runtime();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let settings = Settings {
        connect_timeout: Duration::from_secs(connect_timeout),
        restart: tsmn::run::RestartPolicy::Never,
        ..Settings::default()
    };
    let how = Probing {
        offline: false,
        json: false,
        watch: Watch {
            progress: None,
            keep: Some(tsmn::run::session::notices_to(tx.clone())),
        },
    };
    let mut flow = match probed(&rt, path, &settings, how) {
        Ok(f) => f,
        Err(e) => return fail_as("undo", false, e),
    };
    let (steps, stays) = match flow.undo_steps() {
        Ok(r) => r,
        Err(e) => return fail_as("undo", false, e),
    };
    for s in &stays {
        eprintln!("stays: {s}");
    }
    if steps.is_empty() {
        eprintln!(
            "the last run of tsmn apply added no data node and changed no file: nothing to undo"
        );
        return EXIT_OK;
    }
    eprint!(
        "{}",
        report::apply::summary(&steps, &settings.phases, &Vec::new()).replacen(
            "tsmn apply will:",
            "tsmn undo will:",
            1
        )
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            return failed("undo", false, "tsmn undo changes servers and asks first, but there is no terminal to ask at\n    fix: add --yes to run without asking", EXIT_USAGE);
        }
        if !confirm("Undo the last run now? [y/N] ") {
            eprintln!("nothing was changed");
            return EXIT_FAILED;
        }
    }
    let journal = flow.journal();
    tsmn::run::journal::start_undo(&journal);
    let names: Vec<String> = flow.plan.nodes().map(|n| n.name.clone()).collect();
    let printer = rt.spawn(print_events(rx, false, names));
    let cancel = tokio_util::sync::CancellationToken::new();
    rt.spawn(super::signals::interrupts(cancel.clone(), "undo"));
    let ok = rt.block_on(flow.apply(
        &steps,
        &Default::default(),
        &settings,
        tx,
        Some(cancel.clone()),
    ));
    let tally = rt.block_on(printer).unwrap_or_default();
    if cancel.is_cancelled() {
        eprintln!("stopped after the interrupt: run tsmn undo again to go on (what is back already is left as it is)");
        return super::signals::exit_code();
    }
    if ok && tally.ok() {
        tsmn::run::journal::undone(&journal);
        if tally.skipped > 0 {
            eprintln!("undone, but for {} step(s) that left something as it is (said above); check with tsmn check", tally.skipped);
        } else {
            eprintln!("undone: the last run's data nodes and files are back as they were; check with tsmn check");
        }
        EXIT_OK
    } else {
        eprintln!("{}", tally.closing(ok).replace("tsmn apply", "tsmn undo"));
        EXIT_FAILED
    }
}
