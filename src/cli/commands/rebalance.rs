//! `tsmn rebalance`: probe the cluster as check does, then which chunks to
//! move so each data node holds about the same bytes of each distributed
//! hypertable (tsmn::rebalance), before and after. `--check` prints it;
//! without, the moves run through the flow's one run sequence (lock,
//! journal, settings and restart gate, progress, interrupts), and the
//! spread and rows are read again from the servers afterwards.

use super::super::args::{RebalanceArgs, RestartArg, EXIT_FAILED, EXIT_OK};
use super::super::output;
use super::super::prompt::Terminal;
use super::running::{
    asked, refused_or_declined, restart_policy, run_shown, start_reading, Ran, Show, Started,
};
use super::{fail_as, failed, probe_flow, runtime, with_timeout};
use std::io::IsTerminal;
use std::time::Duration;
use tsmn::flow::rebalance::Rebalancing;
use tsmn::flow::{Flow, FlowError, NoAsk, RunKind, Settings, Watch};
use tsmn::probe::Reads;
use tsmn::rebalance::{self, Plan};

pub fn rebalance(a: &RebalanceArgs) -> u8 {
    if a.check {
        return check(a);
    }
    let fail = |e| fail_as("rebalance", a.json, e);
    let mut settings = match with_timeout(&a.connect) {
        Ok(s) => Settings {
            restart_wait: Duration::from_secs(a.restart_wait),
            ..s
        },
        Err(e) => return fail(e),
    };
    let Started {
        mut flow,
        run,
        rt,
        events,
    } = match start_reading(
        &a.plan,
        RunKind::Rebalance,
        &settings,
        a.json,
        Reads::Placement,
    ) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // A run that did not finish is resumed with its own moves: those done
    // are found done on the servers and skipped.
    let resumed = flow.unfinished_rebalance();
    let planned = match resumed.clone().map_or_else(|| flow.rebalance_plan(), Ok) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if !a.json {
        if resumed.is_some() {
            output::tell(&format!(
                "resuming the rebalance that did not finish (its plan: {}): moves already done are checked on the servers and skipped",
                flow.rebalance_file().display()
            ));
        }
        output::out!("{}", rebalance::render::text(&planned));
    }
    if planned.moves().count() == 0 {
        flow.rebalance_finished();
        if a.json {
            output::print_json(&rebalance::render::json(&planned));
        }
        return EXIT_OK;
    }
    if let Err(e) = rt.block_on(flow.compression_gaps(&planned, &settings)) {
        return fail(e);
    }
    let ready = match prepared(a, &rt, &mut flow, &run, &planned, &events.0, &settings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if !a.json {
        output::out!("{}", rebalance::links::text(&ready.steps));
    }
    settings.restart = match confirmed(a, &rt, &flow, &ready, &settings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let rows_before = match rt.block_on(flow.hypertable_rows(&settings)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Err(e) = flow.keep_rebalance(&planned) {
        return fail(e);
    }
    let show = if a.json { Show::Document } else { Show::Text };
    let Ran {
        ok,
        tally,
        cancelled,
        events,
    } = run_shown(&rt, &mut flow, &run, &ready, &settings, events, show);
    if cancelled {
        eprintln!("stopped after the interrupt: the moves that ran finished or were cleaned up, no new one started; run tsmn rebalance again to go on with the same moves");
        return super::super::signals::exit_code();
    }
    let done = ok && tally.ok();
    let (now, rows) = match after(&rt, &mut flow, &settings, &rows_before) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    if done {
        flow.rebalance_finished();
    }
    let shown = Shown {
        planned: &planned,
        now: &now,
        rows: &rows,
        resumed: resumed.is_some(),
    };
    report(a, &shown, &tally, ok, events)
}

/// What the moves need, read, and their steps, ready: the nodes the moves
/// touch (their sessions kept for the run) and the links between data
/// nodes the moves use, tested as the engine makes them: a move goes only
/// over a proven one (steps::rebalance). Err(exit code) when refused.
fn prepared(
    a: &RebalanceArgs,
    rt: &tokio::runtime::Runtime,
    flow: &mut Flow,
    run: &tsmn::flow::Run,
    planned: &Plan,
    events: &tsmn::run::Events,
    settings: &Settings,
) -> Result<tsmn::flow::Ready, u8> {
    let fail = |e| fail_as("rebalance", a.json, e);
    let watch = Watch {
        keep: Some(tsmn::run::session::notices_to(events.clone())),
        ..Watch::default()
    };
    rt.block_on(flow.probe_for_moves(planned, settings, &Terminal::new(), watch))
        .map_err(fail)?;
    flow.rebalance = Some(Rebalancing {
        plan: planned.clone(),
        parallel: a.parallel,
    });
    let ready = rt
        .block_on(flow.ready(run, &Default::default(), settings, &Terminal::new()))
        .map_err(fail)?;
    if let Some(why) = ready.steps.iter().find_map(|s| match &s.state {
        tsmn::steps::StepState::Blocked { why } => Some(why.clone()),
        _ => None,
    }) {
        return Err(failed("rebalance", a.json, &why, EXIT_FAILED));
    }
    Ok(ready)
}

/// After the run, read from the servers: the shares each data node holds
/// now (the access node probed again) and the rows of each hypertable.
#[allow(clippy::type_complexity)]
fn after(
    rt: &tokio::runtime::Runtime,
    flow: &mut Flow,
    settings: &Settings,
    rows_before: &[(String, i64)],
) -> Result<(Plan, Vec<(String, i64, i64)>), FlowError> {
    let placement = Watch {
        reads: Reads::Placement,
        ..Watch::default()
    };
    rt.block_on(flow.probe(&[], settings, &NoAsk, placement))?;
    let now = flow.rebalance_plan()?;
    let rows_after = rt.block_on(flow.hypertable_rows(settings))?;
    let rows = rows_before
        .iter()
        .map(|(name, b)| {
            let a = rows_after
                .iter()
                .find(|(n, _)| n == name)
                .map_or(-1, |(_, a)| *a);
            (name.clone(), *b, a)
        })
        .collect();
    Ok((now, rows))
}

/// `--check`: the plan only, nothing changed.
fn check(a: &RebalanceArgs) -> u8 {
    let json = a.json;
    let opened = with_timeout(&a.connect).and_then(|s| Ok((Flow::open(&a.plan)?, s)));
    let (mut flow, settings) = match opened {
        Ok(f) => f,
        Err(e) => return fail_as("rebalance", json, e),
    };
    // What the plan needs only (probe::Reads::Placement): the access
    // node's catalog and each data node's chunk sizes, all at once.
    let placement = Watch {
        reads: Reads::Placement,
        ..Watch::default()
    };
    if let Err(e) = probe_flow(&runtime(), &mut flow, &settings, json, placement) {
        return fail_as("rebalance", json, e);
    }
    let p = match flow.rebalance_plan() {
        Ok(p) => p,
        Err(e) => return fail_as("rebalance", json, e),
    };
    // The plan first: read in one round of Reads::Placement, and printed
    // before anything else is asked.
    if !json {
        output::out!("{}", rebalance::render::text(&p));
    }
    // Then what the run would write for the links, and whether its moves
    // could run: the same reads as the run's (the access node and the data
    // nodes the moves touch, the links they use) and the same steps.
    let steps = if p.moves().count() == 0 {
        Ok(Vec::new())
    } else {
        let rt = runtime();
        rt.block_on(flow.compression_gaps(&p, &settings))
            .and_then(|()| {
                rt.block_on(flow.probe_for_moves(&p, &settings, &NoAsk, Watch::default()))
            })
            .and_then(|()| {
                flow.rebalance = Some(Rebalancing {
                    plan: p.clone(),
                    parallel: a.parallel,
                });
                flow.rebalance_steps_to_show()
            })
    };
    let steps = match steps {
        Ok(s) => s,
        Err(e) => return fail_as("rebalance", json, e),
    };
    // A run that did not finish is what the next run resumes, not this
    // plan: said in the document too, for a script.
    let unfinished = flow.unfinished_rebalance();
    if json {
        let mut doc = rebalance::render::json(&p);
        if let (Some(d), serde_json::Value::Object(o)) =
            (doc.as_object_mut(), rebalance::links::json(&steps))
        {
            d.extend(o);
        }
        if let Some(d) = doc.as_object_mut() {
            d.insert(
                "unfinished_run".into(),
                unfinished.as_ref().map_or(serde_json::Value::Null, |u| {
                    serde_json::json!({
                        "file": flow.rebalance_file().display().to_string(),
                        "moves": u.moves().count(),
                        "resumed_by": format!("tsmn rebalance --plan {}", a.plan.display()),
                    })
                }),
            );
        }
        output::print_json(&doc);
        return EXIT_OK;
    }
    output::out!("{}", rebalance::links::text(&steps));
    if unfinished.is_some() {
        output::tell(&format!(
            "a rebalance did not finish ({} keeps its moves): tsmn rebalance --plan {} resumes those moves, not these",
            flow.rebalance_file().display(),
            a.plan.display()
        ));
    }
    EXIT_OK
}

/// The steps shown (whatever -q and --json say when it asks: nobody
/// answers blind), the one question, and how restarts go: Err(exit code)
/// when the operator did not say yes.
fn confirmed(
    a: &RebalanceArgs,
    rt: &tokio::runtime::Runtime,
    flow: &Flow,
    ready: &tsmn::flow::Ready,
    settings: &Settings,
) -> Result<tsmn::run::RestartPolicy, u8> {
    if !(a.json && a.yes) {
        let restarts = if matches!(a.restart, RestartArg::Never) {
            Vec::new()
        } else {
            let nodes = tsmn::report::apply::needs_restart(&ready.steps, &settings.phases);
            rt.block_on(flow.restarts(&nodes))
        };
        let summary = tsmn::report::apply::summary(
            RunKind::Rebalance,
            &ready.steps,
            &settings.phases,
            &restarts,
        );
        if a.yes {
            output::tell(summary.trim_end());
        } else {
            eprint!("{summary}");
        }
    }
    let interactive = std::io::stdin().is_terminal();
    if !a.yes && !asked("Run these moves now? [y/N] ") {
        return Err(refused_or_declined("rebalance", a.json, interactive));
    }
    Ok(restart_policy(a.restart, interactive))
}

/// What a run came to, for `report`.
struct Shown<'a> {
    planned: &'a Plan,
    now: &'a Plan,
    rows: &'a [(String, i64, i64)],
    resumed: bool,
}

/// The outcome: the spread and shares planned and now, the rows, the
/// closing line (or one JSON document: the plan's, with the run, the
/// shares now and the rows); the exit code.
fn report(
    a: &RebalanceArgs,
    s: &Shown,
    tally: &tsmn::report::apply::Tally,
    ok: bool,
    events: Vec<serde_json::Value>,
) -> u8 {
    let done = ok && tally.ok();
    if a.json {
        let mut doc = rebalance::render::json(s.planned);
        doc["run"] = serde_json::json!({ "ok": done, "parallel": a.parallel, "resumed": s.resumed, "events": events });
        if let (Some(d), serde_json::Value::Object(o)) = (
            doc.as_object_mut(),
            rebalance::render::outcome_json(s.now, s.rows),
        ) {
            d.extend(o);
        }
        output::print_json(&doc);
    } else {
        output::out!(
            "{}",
            rebalance::render::outcome_text(s.planned, s.now, s.rows)
        );
        let closing = tally.closing(RunKind::Rebalance, ok);
        if done {
            output::tell(&closing);
        } else {
            eprintln!("{closing}");
        }
    }
    if done {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}
