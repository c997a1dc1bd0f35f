//! The interactive wizard (ratatui + crossterm). State and update in app.rs
//! (no I/O), drawing in view.rs, the key map in keys.rs, the commands
//! carried out over the shared flow in tasks.rs; this file owns the
//! terminal and the event loop.

pub mod app;
pub mod keys;
pub mod msg;
pub mod screen;
pub mod screens;
pub mod shared;
pub mod tasks;
pub mod text_field;
pub mod theme;
pub mod view;
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

pub fn run(plan: crate::plan::Plan, plan_path: std::path::PathBuf, opts: Options) -> u8 {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "error: the wizard needs a terminal\n    fix: run it in a terminal, or use the commands that need none: tsmn check, preview, export, apply"
        );
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
    app.settings = opts.settings;
    let result = rt.block_on(event_loop(
        &mut terminal,
        app,
        view::Theme { color: opts.color },
    ));
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    match result {
        Ok((code, note)) => {
            // After the terminal is back: on the alternate screen it would be lost.
            if let Some(note) = note {
                eprintln!("{note}");
            }
            code
        }
        Err(e) => {
            eprintln!("error: the terminal failed: {e}");
            1
        }
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut app: App,
    theme: view::Theme,
) -> std::io::Result<(u8, Option<String>)> {
    let mut events = EventStream::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let tasks = tasks::Tasks::new(&app, tx);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| view::draw(f, &app, &theme))?;
            dirty = false;
        }
        if app.quit {
            break;
        }
        let msg = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => Msg::Key(k),
                Some(Ok(TermEvent::Paste(s))) => Msg::Paste(s),
                Some(Ok(TermEvent::Resize(..))) => Msg::Resize,
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => break,
            },
            Some(m) = rx.recv() => m,
            // The spinner moves only while work runs.
            _ = tick.tick(), if app.busy() => Msg::Tick,
            _ = term.recv() => Msg::Interrupt,
            _ = hup.recv() => Msg::Interrupt,
        };
        dirty = true;
        for cmd in app.update(msg) {
            tasks.perform(cmd, &app);
        }
    }
    // A run stopped by an interrupt ends as the CLI's does (130); one
    // left at once says what may be half done.
    if app.quit_when_idle {
        let note = if app.running {
            "tsmn: quit while a step was running: it may be left half done; run tsmn apply again (finished steps are checked and skipped)"
        } else {
            "tsmn: stopped after the running step; the journal records where: run tsmn apply again to go on"
        };
        return Ok((130, Some(note.into())));
    }
    let code = match app.finished {
        Some(true) => 0,
        Some(false) => 1,
        None => 0,
    };
    Ok((code, None))
}
