//! `tsmn apply`: the run sequence of the flow, shown before it asks, with
//! live progress.

use super::super::args::{ApplyArgs, RestartArg};
use super::super::args::{EXIT_FAILED, EXIT_OK};
use super::super::output;
use super::super::prompt::Terminal;
use super::fail_as;
use super::running::{
    asked, refused_or_declined, restart_policy, run_shown, start, Ran, Show, Started,
};
use std::io::IsTerminal;
use std::time::Duration;
use tsmn::flow::RunKind;
use tsmn::flow::{Flow, FlowError, Settings};
use tsmn::report;

/// Apply's own options on the flow, before its steps are built:
/// `--remove-data-nodes` lets a data node no longer in the plan go (with
/// `--drain`, its only copies of chunks moved first; `--give-up-chunks`,
/// a lost node's only copies named to be given up), `--repair-replication`
/// copies chunks short of their replication factor,
/// `--rotate-password` adds the rotation steps, `--renew-certificates` and
/// `--roll-ca` set the leaves (or the CA) aside for new ones (Some(where the
/// old ones are) to put back on a "no").
fn with_options(flow: &mut Flow, a: &ApplyArgs) -> Result<Option<std::path::PathBuf>, FlowError> {
    flow.remove_data_nodes = a.remove_data_nodes;
    flow.drain = a.drain;
    if a.data_node_links {
        flow.plan.auth.data_node_links = Some(true);
    }
    flow.repair_replication = a.repair_replication;
    flow.give_up_chunks = give_up_list(&a.give_up_chunks)?;
    flow.parallel = a.parallel;
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

/// `--give-up-chunks`: the names as given, an `@FILE` read for its lines
/// (blank lines and `#` comments left out).
fn give_up_list(given: &[String]) -> Result<Vec<String>, FlowError> {
    let mut out = Vec::new();
    for g in given.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        let Some(path) = g.strip_prefix('@') else {
            out.push(g.to_string());
            continue;
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            FlowError::Usage(format!(
                "--give-up-chunks: cannot read {path}: {e} (give a file with one chunk name a line)"
            ))
        })?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    Ok(out)
}

pub fn apply(a: &ApplyArgs) -> u8 {
    let fail = |e| fail_as("apply", a.json, e);
    let connect_timeout = match a.connect.timeout() {
        Ok(t) => t,
        Err(e) => return fail(FlowError::Usage(e)),
    };
    let phases: Vec<tsmn::steps::Phase> = a.phases.iter().map(|p| p.phase()).collect();
    let mut settings = Settings {
        connect_timeout,
        phases: phases.clone(),
        restart_wait: Duration::from_secs(a.restart_wait),
        ..Settings::default()
    };
    let Started {
        mut flow,
        run,
        rt,
        events: (tx, rx),
    } = match start(&a.plan, RunKind::Apply, &settings, a.json) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let renewed = match with_options(&mut flow, a) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let ready = rt.block_on(flow.ready(&run, &Default::default(), &settings, &Terminal::new()));
    let ready = match ready {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    show_plan(a, &rt, &flow, &ready, &settings);
    let interactive = std::io::stdin().is_terminal();
    if !a.yes && !asked("Apply these steps now? [y/N] ") {
        if let Some(aside) = &renewed {
            if let Err(e) = flow.keep_old_certificates(aside) {
                return fail(e);
            }
        }
        return refused_or_declined("apply", a.json, interactive);
    }
    settings.restart = restart_policy(a.restart, interactive);
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
    settings: &Settings,
) {
    let phases = &settings.phases;
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
        rt.block_on(flow.restarts_of(&nodes, Some((ready, settings))))
    };
    let summary = report::apply::summary(RunKind::Apply, &ready.steps, phases, &restarts);
    if a.yes {
        output::tell(summary.trim_end());
    } else {
        eprint!("{summary}");
    }
}
