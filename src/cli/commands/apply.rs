//! `tsmn apply`: the run sequence of the flow, shown before it asks, with
//! live progress.

use super::super::args::{ApplyArgs, RestartArg};
use super::super::args::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::super::progress;
use super::super::prompt::{confirm, Terminal};
use super::{fail_as, failed, probe_flow, runtime};
use std::io::IsTerminal;
use std::time::Duration;
use tsmn::flow::RunKind;
use tsmn::flow::{Flow, FlowError, Settings, Watch};
use tsmn::report;

/// Apply's own options on the flow, before its steps are built:
/// `--remove-data-nodes` lets a data node no longer in the plan go,
/// `--rotate-password` adds the rotation steps, `--renew-certificates` and
/// `--roll-ca` set the leaves (or the CA) aside for new ones (Some(where the
/// old ones are) to put back on a "no").
fn with_options(flow: &mut Flow, a: &ApplyArgs) -> Result<Option<std::path::PathBuf>, FlowError> {
    if a.drain {
        // Never worse: in testing (tests/drain.rs, rows inserted throughout
        // a drain) one acknowledged row of about 1,300 was missing in 1 of
        // 4 runs. Until that is found and fixed, no drain runs.
        return Err(FlowError::Usage(
            "--drain is not available in this version: in testing, a row written while a chunk moved was lost in rare cases\n    fix: stop the writes to the hypertables, move the leaving node's only copies by hand (CALL timescaledb_experimental.move_chunk(...), with wal_level = logical on the data nodes), then run tsmn apply --remove-data-nodes".into(),
        ));
    }
    flow.remove_data_nodes = a.remove_data_nodes;
    flow.rotate_passwords.clone_from(&a.rotate_password);
    let aside = if a.renew_certificates {
        flow.renew_certificates()?
    } else if a.roll_ca {
        Some(flow.roll_ca()?)
    } else {
        None
    };
    if let Some(d) = &aside {
        let what = if a.roll_ca {
            "rolling the CA over: the old CA and certificates are kept in"
        } else {
            "renewing certificates: the old ones are kept in"
        };
        output::tell(&format!("{what} {}", d.display()));
    }
    Ok(aside)
}

pub fn apply(a: &ApplyArgs) -> u8 {
    let fail = |e| fail_as("apply", a.json, e);
    let connect_timeout = match a.connect.timeout() {
        Ok(t) => t,
        Err(e) => return fail(FlowError::Usage(e)),
    };
    let phases: Vec<tsmn::steps::Phase> = a.phases.iter().map(|p| p.phase()).collect();
    let mut flow = match Flow::open(&a.plan) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    // One run per plan at a time, decided before anything connects.
    let run = match flow.begin(RunKind::Apply) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    // One runtime and one event channel for probe and run: the probe's
    // connections stay open for the steps, their notices reported as events.
    let rt = runtime();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut settings = Settings {
        connect_timeout,
        phases: phases.clone(),
        restart_wait: Duration::from_secs(a.restart_wait),
        ..Settings::default()
    };
    let watch = Watch {
        progress: None,
        keep: Some(tsmn::run::session::notices_to(tx.clone())),
    };
    let probed = rt
        .block_on(flow.lock_cluster(&settings))
        .and_then(|()| probe_flow(&rt, &mut flow, &settings, a.json, watch));
    if let Err(e) = probed {
        return fail(e);
    }
    let renewed = match with_options(&mut flow, a) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let ready = rt.block_on(flow.ready(&run, &Default::default(), &settings, &Terminal::new()));
    let ready = match ready {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    show_plan(a, &rt, &flow, &ready, &phases);
    let interactive = std::io::stdin().is_terminal();
    if !a.yes && !asked("Apply these steps now? [y/N] ") {
        if let Some(aside) = &renewed {
            if let Err(e) = flow.keep_old_certificates(aside) {
                return fail(e);
            }
        }
        return refused_or_declined("apply", a.json, interactive);
    }
    settings.restart = match a.restart {
        RestartArg::Never => tsmn::run::RestartPolicy::Never,
        RestartArg::Local => tsmn::run::RestartPolicy::Local,
        RestartArg::Ask
            if interactive
                && confirm("Restart nodes on this host when a setting needs it? [y/N] ") =>
        {
            tsmn::run::RestartPolicy::Local
        }
        RestartArg::Ask => tsmn::run::RestartPolicy::Never,
    };
    let show = if a.json { Show::JsonLines } else { Show::Text };
    let Ran {
        ok,
        tally,
        cancelled,
        ..
    } = run_shown(&rt, &mut flow, &run, &ready, &settings, (tx, rx), show);
    if cancelled {
        eprintln!("stopped after the interrupt: every step that ran was finished and recorded; run tsmn apply again to go on (finished steps are checked and skipped)");
        return super::super::signals::exit_code();
    }
    if !a.json {
        // The result: a failure always, "done" unless -q (the exit code says it).
        let closing = tally.closing(RunKind::Apply, ok);
        if ok && tally.ok() {
            output::tell(&closing);
        } else {
            eprintln!("{closing}");
        }
    }
    if ok && tally.ok() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// What the run will do: shown whatever -q and --json say when it asks
/// (nobody answers blind), else a hint (stderr, unless -q).
fn show_plan(
    a: &ApplyArgs,
    rt: &tokio::runtime::Runtime,
    flow: &Flow,
    ready: &tsmn::flow::Ready,
    phases: &[tsmn::steps::Phase],
) {
    if a.json && a.yes {
        return;
    }
    if let Some(note) = tsmn::run::journal::last_end_note(&flow.journal()) {
        output::tell(&note);
    }
    let restarts = if matches!(a.restart, RestartArg::Never) {
        Vec::new()
    } else {
        let nodes = report::apply::needs_restart(&ready.steps, phases);
        rt.block_on(flow.restarts(&nodes))
    };
    let summary = report::apply::summary(RunKind::Apply, &ready.steps, phases, &restarts);
    if a.yes {
        output::tell(summary.trim_end());
    } else {
        eprint!("{summary}");
    }
}

/// Whether the operator says yes at the terminal (false without one).
pub(super) fn asked(question: &str) -> bool {
    std::io::stdin().is_terminal() && confirm(question)
}

/// A run not confirmed: refused for want of a terminal (exit 2, with the
/// fix), or declined at it (exit 1, nothing changed).
pub(super) fn refused_or_declined(command: &str, json: bool, interactive: bool) -> u8 {
    if !interactive {
        let message = format!("tsmn {command} changes servers and asks first, but there is no terminal to ask at\n    fix: add --yes to run without asking");
        return failed(command, json, &message, EXIT_USAGE);
    }
    eprintln!("nothing was changed");
    EXIT_FAILED
}

/// How a run's events are shown: text (live lines on a terminal), one
/// JSON line each (apply --json), or kept for one JSON document at the
/// end (undo --json).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Show {
    Text,
    JsonLines,
    Document,
}

/// The run of the flow's sequence with its events shown as they come, the
/// interrupts (Ctrl-C, SIGTERM, SIGHUP) stopping it between steps: whether
/// it finished, the tally of its steps (and, for a document, the events),
/// and whether it was interrupted.
pub(super) fn run_shown(
    rt: &tokio::runtime::Runtime,
    flow: &mut Flow,
    run: &tsmn::flow::Run,
    ready: &tsmn::flow::Ready,
    settings: &Settings,
    (tx, rx): (
        tsmn::run::Events,
        tokio::sync::mpsc::UnboundedReceiver<tsmn::run::Event>,
    ),
    show: Show,
) -> Ran {
    let names: Vec<String> = flow.plan.nodes().map(|n| n.name.clone()).collect();
    let printer = rt.spawn(print_events(rx, show, names));
    let cancel = tokio_util::sync::CancellationToken::new();
    let command = if run.kind == RunKind::Apply {
        "apply"
    } else {
        "undo"
    };
    rt.spawn(super::super::signals::interrupts(cancel.clone(), command));
    let ok = rt.block_on(flow.run(run, Ok(ready), settings, tx, Some(cancel.clone())));
    let (tally, events) = rt.block_on(printer).unwrap_or_default();
    Ran {
        ok,
        tally,
        cancelled: cancel.is_cancelled(),
        events,
    }
}

/// What a run came to: whether it finished, its steps' tally, whether it
/// was interrupted, and (Show::Document) its events as JSON.
pub(super) struct Ran {
    pub ok: bool,
    pub tally: report::apply::Tally,
    pub cancelled: bool,
    pub events: Vec<serde_json::Value>,
}

/// Apply's events as they come: JSON lines, live lines on a terminal, or
/// one line per step (restart waits sparse); counted for the closing line,
/// and kept as JSON for a document.
pub(super) async fn print_events(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<tsmn::run::Event>,
    show: Show,
    names: Vec<String>,
) -> (report::apply::Tally, Vec<serde_json::Value>) {
    let json = show != Show::Text;
    let mut kept = Vec::new();
    let live = progress::wanted(json).then(|| progress::Live::new(&names, "waiting its turn"));
    let mut tally = report::apply::Tally::default();
    let mut sparse = report::apply::Sparse::default();
    while let Some(e) = rx.recv().await {
        tally.add(&e);
        if show == Show::JsonLines {
            crate::cli::output::outln!("{}", report::json::event(&e, &output::now()));
        } else if show == Show::Document {
            kept.extend(serde_json::from_str(&report::json::event(&e, &output::now())).ok());
        } else if let Some(l) = &live {
            l.event(&e);
        } else if let (Some(l), true) = (report::apply::line(&e), sparse.keep(&e)) {
            crate::cli::output::outln!("{l}");
        }
    }
    if let Some(l) = &live {
        l.clear();
    }
    (tally, kept)
}
