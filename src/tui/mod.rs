//! The interactive wizard (ratatui + crossterm). State and update in app.rs
//! (no I/O), drawing in view.rs, the key map in keys.rs, the commands
//! carried out over the shared flow in tasks.rs; this file owns the
//! terminal and the event loop.

pub mod app;
pub mod keys;
pub mod migrate_task;
pub mod msg;
pub mod overlay;
pub mod run_record;
pub mod screen;
pub mod screens;
pub mod shared;
pub mod tasks;
pub mod text_field;
pub mod theme;
pub mod view;
pub mod watch;
pub mod widgets;

use app::{App, Msg};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use std::io::IsTerminal;

/// Run the wizard on a plan; returns the process exit code.
/// `new`: the plan file does not exist yet (the wizard starts it).
/// How the wizard was started.
pub struct Options {
    pub color: bool,
    /// The plan file does not exist yet: start on the nodes screen.
    pub new: bool,
    /// --connect-timeout and --restart.
    pub settings: crate::flow::Settings,
}

/// Why the wizard cannot run here (no terminal), or None.
pub fn no_terminal() -> Option<&'static str> {
    (!std::io::stdout().is_terminal() || !std::io::stdin().is_terminal()).then_some(
        "error: the wizard needs a terminal\n    fix: run it in a terminal, or use the commands that need none: tsmn check, preview, export, apply",
    )
}

pub fn run(plan: crate::plan::Plan, plan_path: std::path::PathBuf, opts: Options) -> u8 {
    if let Some(why) = no_terminal() {
        eprintln!("{why}");
        return 2;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // ratatui::init restores the terminal before a panic report prints.
    let mut terminal = ratatui::init();
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let mut app = if opts.new {
        App::new_plan(plan, plan_path)
    } else {
        App::new(plan, plan_path)
    };
    app.shared.settings = opts.settings;
    let result = rt.block_on(event_loop(
        &mut terminal,
        app,
        view::Theme { color: opts.color },
    ));
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    // Written, not printed: the terminal may be gone, and a failed print
    // would panic.
    let say = |line: &str| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    match result {
        Ok((code, note)) => {
            // After the terminal is back: on the alternate screen it would be lost.
            if let Some(note) = note {
                say(&note);
            }
            code
        }
        Err(e) => {
            say(&format!("error: the terminal failed: {e}"));
            1
        }
    }
}

/// Why the loop stops: the signal's exit code (128 + its number), or the
/// terminal gone (as SIGHUP).
const BY_SIGTERM: u8 = 143;
const BY_SIGHUP: u8 = 129;
const BY_CTRL_C: u8 = 130;

/// The terminal went away (SIGHUP, or EIO reading or drawing): output goes
/// to /dev/null from now on, and it counts as one interrupt (a run
/// finishes its running step, then tsmn quits), never as an abort.
fn terminal_gone(lost: &mut bool, by: &mut Option<u8>, app: &App) -> Option<Msg> {
    if *lost {
        return None;
    }
    *lost = true;
    crate::os::detach_terminal();
    by.get_or_insert(BY_SIGHUP);
    tracing::warn!("the terminal is gone: stopping as after an interrupt");
    (!app.quit_when_idle).then_some(Msg::Interrupt)
}

fn is_ctrl_c(k: &crossterm::event::KeyEvent) -> bool {
    k.code == crossterm::event::KeyCode::Char('c')
        && k.modifiers
            .contains(crossterm::event::KeyModifiers::CONTROL)
}

fn is_interrupt(m: &Msg) -> bool {
    match m {
        Msg::Interrupt => true,
        Msg::Key(k) => is_ctrl_c(k),
        _ => false,
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut app: App,
    theme: view::Theme,
) -> std::io::Result<(u8, Option<String>)> {
    let mut events = EventStream::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let tasks = tasks::Tasks::new(&app.shared, tx);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut dirty = true;
    // The first interrupt's exit code; the terminal gone: no more drawing.
    let mut by: Option<u8> = None;
    let mut lost = false;
    loop {
        if dirty && !lost {
            let drawn = terminal.draw(|f| view::draw(f, &app, &theme)).is_ok();
            dirty = false;
            if !drawn {
                if let Some(m) = terminal_gone(&mut lost, &mut by, &app) {
                    for cmd in app.update(m) {
                        tasks.perform(cmd, &app.shared);
                    }
                }
            }
        }
        if app.quit {
            break;
        }
        let msg = tokio::select! {
            ev = events.next(), if !lost => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                    if is_ctrl_c(&k) {
                        by.get_or_insert(BY_CTRL_C);
                    }
                    Msg::Key(k)
                }
                Some(Ok(TermEvent::Paste(s))) => Msg::Paste(s),
                Some(Ok(TermEvent::Resize(..))) => Msg::Resize,
                Some(Ok(_)) => continue,
                // The terminal is gone (EIO): as SIGHUP.
                Some(Err(_)) | None => match terminal_gone(&mut lost, &mut by, &app) {
                    Some(m) => m,
                    None => continue,
                },
            },
            Some(m) = rx.recv() => m,
            // The spinner moves only while work runs.
            _ = tick.tick(), if app.shared.busy() => Msg::Tick,
            _ = term.recv() => {
                by.get_or_insert(BY_SIGTERM);
                Msg::Interrupt
            }
            _ = hup.recv() => match terminal_gone(&mut lost, &mut by, &app) {
                Some(m) => m,
                None => continue,
            },
        };
        dirty = true;
        // While tsmn restarts a server, nothing stops it early: pg_ctl runs
        // apart from tsmn, and the run ends once the servers are back.
        let restarting = crate::run::restarts_in_flight();
        if app.quit_when_idle && is_interrupt(&msg) && !restarting.is_empty() {
            app.shared.message = Some(format!(
                "not yet: tsmn is restarting {}; it stops once they are back",
                restarting.join(", ")
            ));
            continue;
        }
        for cmd in app.update(msg) {
            tasks.perform(cmd, &app.shared);
        }
    }
    // A run stopped by an interrupt ends as the CLI's does (128 + the
    // signal); one left at once says what may be half done.
    if app.quit_when_idle {
        let note = if app.shared.run.running {
            "tsmn: quit while a step was running: it may be left half done; run tsmn apply again (finished steps are checked and skipped)"
        } else {
            "tsmn: stopped after the running step; the journal records where: run tsmn apply again to go on"
        };
        return Ok((by.unwrap_or(BY_CTRL_C), Some(note.into())));
    }
    let code = match (app.shared.run.finished, by) {
        // Quit by a signal or a lost terminal: 128 + the signal.
        (_, Some(code)) if code != BY_CTRL_C => code,
        (Some(true), _) => 0,
        (Some(false), _) => 1,
        (None, _) => 0,
    };
    Ok((code, None))
}
