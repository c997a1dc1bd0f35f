//! The run's face on the command line, shared by `tsmn apply` and `tsmn
//! undo`: the flow's run sequence begun (lock, probe), the one question,
//! the run with its events shown as they come and the interrupts stopping
//! it between steps.

use super::super::args::{RestartArg, EXIT_FAILED, EXIT_USAGE};
use super::super::output;
use super::super::progress;
use super::super::prompt::confirm;
use super::{failed, probe_flow, runtime};
use std::io::IsTerminal;
use tsmn::flow::{Flow, FlowError, RunKind, Settings, Watch};
use tsmn::report;

/// A run of the flow's sequence begun, as apply and undo begin it.
pub(super) struct Started {
    pub flow: Flow,
    pub run: tsmn::flow::Run,
    pub rt: tokio::runtime::Runtime,
    pub events: (
        tsmn::run::Events,
        tokio::sync::mpsc::UnboundedReceiver<tsmn::run::Event>,
    ),
}

/// The plan opened and the run's lock file taken (before anything
/// connects); one runtime and one event channel for probe and run (the
/// probe's connections stay open for the steps, their notices reported as
/// events); the cluster's lock; every node probed.
pub(super) fn start(
    plan: &std::path::Path,
    kind: RunKind,
    settings: &Settings,
    json: bool,
) -> Result<Started, FlowError> {
    start_reading(plan, kind, settings, json, tsmn::probe::Reads::All)
}

/// `start`, the probe reading only `reads` of each node (tsmn rebalance).
pub(super) fn start_reading(
    plan: &std::path::Path,
    kind: RunKind,
    settings: &Settings,
    json: bool,
    reads: tsmn::probe::Reads,
) -> Result<Started, FlowError> {
    let mut flow = Flow::open(plan)?;
    let run = flow.begin(kind)?;
    let rt = runtime();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let watch = Watch {
        progress: None,
        keep: Some(tsmn::run::session::notices_to(tx.clone())),
        reads,
    };
    rt.block_on(flow.lock_cluster(settings))?;
    probe_flow(&rt, &mut flow, settings, json, watch)?;
    Ok(Started {
        flow,
        run,
        rt,
        events: (tx, rx),
    })
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
    let command = run.kind.name();
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

/// `--restart`: whether tsmn restarts the nodes on this host whose settings
/// need it (asked once on a terminal when `ask`).
pub(super) fn restart_policy(arg: RestartArg, interactive: bool) -> tsmn::run::RestartPolicy {
    match arg {
        RestartArg::Never => tsmn::run::RestartPolicy::Never,
        RestartArg::Local => tsmn::run::RestartPolicy::Local,
        RestartArg::Ask
            if interactive
                && confirm("Restart nodes on this host when a setting needs it? [y/N] ") =>
        {
            tsmn::run::RestartPolicy::Local
        }
        RestartArg::Ask => tsmn::run::RestartPolicy::Never,
    }
}
