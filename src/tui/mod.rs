//! The interactive wizard (ratatui + crossterm). State and update in app.rs
//! (no I/O), drawing in view.rs, the key map in keys.rs; this file owns the
//! terminal and the event loop, and runs commands as tasks whose results
//! come back as messages.

pub mod app;
pub mod keys;
pub mod view;

use app::{App, Cmd, Msg};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use secrecy::SecretString;
use std::io::IsTerminal;
use tokio::sync::mpsc::UnboundedSender;

/// Run the wizard on a plan; returns the process exit code.
pub fn run(plan: crate::plan::Plan, plan_path: std::path::PathBuf, color: bool) -> u8 {
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
    let result = rt.block_on(event_loop(
        &mut terminal,
        App::new(plan, plan_path),
        view::Theme { color },
    ));
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    match result {
        Ok(code) => code,
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
) -> std::io::Result<u8> {
    let mut events = EventStream::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
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
            _ = term.recv() => break,
            _ = hup.recv() => break,
        };
        dirty = true;
        for cmd in app.update(msg) {
            perform(cmd, &app, tx.clone());
        }
    }
    Ok(match app.finished {
        Some(true) => 0,
        Some(false) => 1,
        None => 0,
    })
}

/// Role passwords for password mode: the variables `tsmn apply` reads; the
/// superuser's falls back to the password typed on the credentials screen.
fn role_secrets(app: &App) -> crate::steps::secrets::Secrets {
    let mut s = crate::steps::secrets::Secrets::default();
    for role in &app.plan.auth.roles {
        if let Some(pw) = app.role_passwords.get(role) {
            s.insert(role, SecretString::from(pw.clone()));
            continue;
        }
        match crate::flow::secrets::from_env(&app.plan, role) {
            Some(v) => s.insert(role, v),
            _ if role == &app.plan.superuser && !app.password.is_empty() => {
                s.insert(role, SecretString::from(app.password.clone()))
            }
            _ => {}
        }
    }
    s
}

fn material(app: &App) -> Result<Option<crate::steps::material::Material>, String> {
    if app.plan.auth.mode != crate::plan::AuthMode::Certificate {
        return Ok(None);
    }
    crate::steps::material::load_or_create(
        &app.plan,
        &crate::steps::material::dir_for(&app.plan_path),
    )
    .map(Some)
    .map_err(|e| e.to_string())
}

fn passwords(app: &App) -> crate::probe::credentials::PasswordSource {
    let mut p = crate::probe::credentials::PasswordSource::from_plan(&app.plan);
    if !app.password.is_empty() {
        p.set_prompted(SecretString::from(app.password.clone()));
    }
    p
}

/// The running execution's cancel switch.
static CANCEL: std::sync::Mutex<Option<tokio_util::sync::CancellationToken>> =
    std::sync::Mutex::new(None);

fn perform(cmd: Cmd, app: &App, tx: UnboundedSender<Msg>) {
    let plan = app.plan.clone();
    match cmd {
        Cmd::Quit => {}
        Cmd::Probe { password, nodes } => {
            let mut pw = crate::probe::credentials::PasswordSource::from_plan(&plan);
            if let Some(p) = password {
                pw.set_prompted(p);
            }
            tokio::spawn(async move {
                let opts = crate::probe::ProbeOptions::with_connect_timeout(
                    std::time::Duration::from_secs(5),
                );
                let partial = !nodes.is_empty();
                let names = if partial {
                    nodes
                } else {
                    plan.nodes().map(|n| n.name.clone()).collect()
                };
                let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel();
                let forward = {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some((node, ok)) = prx.recv().await {
                            let _ = tx.send(Msg::NodeProbed { node, ok });
                        }
                    })
                };
                let facts = crate::probe::probe_reporting(&plan, &pw, opts, &names, Some(ptx))
                    .await
                    .unwrap_or_default();
                // Every node's own line before the whole report.
                let _ = forward.await;
                let _ = tx.send(Msg::Probed {
                    facts,
                    notes: pw.notes.clone(),
                    partial,
                });
            });
        }
        Cmd::Save => {
            let text = crate::plan::plan_to_toml(&app.plan);
            let r = std::fs::write(&app.plan_path, text)
                .map_err(|e| format!("{}: {e}", app.plan_path.display()));
            let _ = tx.send(Msg::Saved(r));
        }
        Cmd::Cancel => {
            if let Some(c) = CANCEL.lock().expect("cancel lock").as_ref() {
                c.cancel();
            }
        }
        Cmd::Build => {
            let built = material(app).and_then(|m| {
                crate::steps::build(
                    &plan,
                    crate::steps::Inputs {
                        facts: app.facts.as_ref(),
                        material: m.as_ref(),
                    },
                )
                .map_err(|e| e.to_string())
            });
            let _ = tx.send(Msg::Built(built));
        }
        Cmd::Execute => {
            let steps = app.steps.clone();
            let secrets = role_secrets(app);
            let pw = passwords(app);
            let mat = material(app);
            let journal = crate::steps::material::dir_for(&app.plan_path).join("journal.jsonl");
            tokio::spawn(async move {
                let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
                let forward = {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(e) = erx.recv().await {
                            let _ = tx.send(Msg::Run(e));
                        }
                    })
                };
                let mat = match mat {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Msg::Run(crate::run::Event::Note {
                            node: plan.access_node.name.clone(),
                            message: e,
                        }));
                        let _ = tx.send(Msg::Run(crate::run::Event::Finished { ok: false }));
                        return;
                    }
                };
                let cancel = tokio_util::sync::CancellationToken::new();
                *CANCEL.lock().expect("cancel lock") = Some(cancel.clone());
                let opts = crate::run::RunOptions {
                    cancel: Some(cancel),
                    plan: &plan,
                    passwords: &pw,
                    secrets: &secrets,
                    material: mat.as_ref(),
                    probe: crate::probe::ProbeOptions::with_connect_timeout(
                        std::time::Duration::from_secs(5),
                    ),
                    phases: crate::steps::Phase::ALL.to_vec(),
                    restart: crate::run::RestartPolicy::Local,
                    restart_wait: std::time::Duration::from_secs(300),
                    journal: Some(journal),
                };
                crate::run::run(&steps, &opts, etx).await;
                let _ = forward.await;
            });
        }
        Cmd::Export => {
            let secrets = role_secrets(app);
            let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
            let out = app.plan_path.with_file_name(format!("tsmn-export-{stamp}"));
            let result = material(app).and_then(|m| {
                let opts = crate::export::Options {
                    include_secrets: false,
                    material: m.as_ref(),
                    secrets: &secrets,
                };
                crate::export::export(&plan, &app.steps, &out, &opts)
                    .map(|_| out.display().to_string())
                    .map_err(|e| e.to_string())
            });
            let _ = tx.send(Msg::Exported(result));
        }
    }
}
