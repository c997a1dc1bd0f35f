//! `tsmn status`: the cluster at a glance, once or `--watch`ed. The
//! snapshot, its problems and renderings are the library's
//! (tsmn::status); this file picks the plan (a file, or read from an
//! access node as discover does), prints, and runs the watch loop: redraw
//! in place on a terminal, q or Ctrl-C to quit, sessions kept between
//! refreshes.

use super::super::args::{StatusArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::{failed, runtime};
use std::io::{IsTerminal, Write};
use std::time::Duration;
use tsmn::status::{all_up, collect::Watcher, json, problems, rates, render, Limits, Snapshot};

pub fn status(a: &StatusArgs) -> u8 {
    let rt = runtime();
    let (plan, timeout) = match plan_of(&rt, a) {
        Ok(p) => p,
        Err((message, code)) => return failed("status", a.json, &message, code),
    };
    let mut watcher = match Watcher::new(plan, timeout) {
        Ok(w) => match a.watch {
            Some(secs) => w.watching(refresh_wait(secs)),
            None => w,
        },
        Err(e) => {
            let message = format!("{e}\n    fix: correct the TLS files named in the plan's [auth.certificate] or [tls] section");
            return failed("status", a.json, &message, EXIT_USAGE);
        }
    };
    watcher.peer_links_always(a.links == super::super::args::LinkScope::All);
    for n in watcher.notes() {
        output::tell(&format!("note: {n}"));
    }
    let limits = Limits::from_env();
    let terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    match a.watch {
        Some(secs) if terminal && !a.json => rt.block_on(watch(&mut watcher, secs, &limits)),
        Some(secs) if a.json && terminal => rt.block_on(json_lines(&mut watcher, secs, &limits)),
        _ => {
            let s = rt.block_on(watcher.snapshot());
            print_once(&s, &limits, a.json);
            if all_up(&s) {
                EXIT_OK
            } else {
                EXIT_FAILED
            }
        }
    }
}

/// How long a watch's refresh waits for its nodes before it shows one
/// that has not answered as waiting: a second (a node answers in
/// milliseconds), and at most half the period.
fn refresh_wait(secs: u64) -> Duration {
    Duration::from_secs(1).min(Duration::from_millis(secs.saturating_mul(500).max(200)))
}

/// The plan (a file, or the cluster read from its access node) and the
/// wait for each connection (--connect-timeout, else the access node's
/// connection string's connect_timeout, else PGCONNECT_TIMEOUT).
fn plan_of(
    rt: &tokio::runtime::Runtime,
    a: &StatusArgs,
) -> Result<(tsmn::plan::Plan, Duration), (String, u8)> {
    // TSMN_PLAN as the other commands read it, unless an access node is given.
    let from_env = std::env::var_os("TSMN_PLAN")
        .filter(|p| !p.is_empty() && a.access_node.is_none())
        .map(std::path::PathBuf::from);
    if let Some(path) = a.plan.as_ref().or(from_env.as_ref()) {
        let timeout = a.connect.timeout().map_err(|e| (e, EXIT_USAGE))?;
        return tsmn::plan::system::load_plan(path)
            .map(|p| (p, timeout))
            .map_err(|e| (e.to_string(), EXIT_USAGE));
    }
    let Some(given) = &a.access_node else {
        return Err((
            "tsmn status needs the cluster: --plan FILE (or TSMN_PLAN), or --access-node ADDRESS\n    fix: e.g. tsmn status --plan plan.toml, or tsmn status --access-node 10.0.0.10:5432".into(),
            EXIT_USAGE,
        ));
    };
    let target = tsmn::discover::parse_target(
        given,
        a.superuser.as_deref(),
        a.database.as_deref(),
        &tsmn::plan::system::System,
    )
    .map_err(|e| (e, EXIT_USAGE))?;
    let timeout = a
        .connect
        .timeout_with(target.conn.connect_timeout.as_deref())
        .map_err(|e| (e, EXIT_USAGE))?;
    for n in &target.conn.ignored {
        output::tell(&format!("note: --access-node: {n}"));
    }
    rt.block_on(tsmn::discover::discover(&target, timeout))
        .map(|d| (d.plan, timeout))
        .map_err(|e| (e, EXIT_FAILED))
}

fn print_once(s: &Snapshot, limits: &Limits, as_json: bool) {
    let p = problems(s, limits);
    if as_json {
        output::print_json(&json::document(s, &p, None));
    } else {
        crate::cli::output::out!("{}", render::text(s, &p, None));
    }
}

/// What ends a watch.
enum Quit {
    Key,
    Interrupt,
}

/// What ends a wait between two refreshes.
enum Wake {
    Refresh,
    /// The l key: refresh now, with the links between data nodes.
    PeerLinks,
    Quit(Quit),
}

/// Redraw in place every `secs` until q, Ctrl-C or a signal. The terminal
/// is in raw mode (so q needs no Enter) and on the alternate screen;
/// both are undone on the way out, and the last snapshot is printed on
/// the normal screen so it stays in the scrollback.
async fn watch(watcher: &mut Watcher, secs: u64, limits: &Limits) -> u8 {
    use crossterm::{cursor, execute, terminal};
    if terminal::enable_raw_mode().is_err() {
        let s = watcher.snapshot().await;
        print_once(&s, limits, false);
        return if all_up(&s) { EXIT_OK } else { EXIT_FAILED };
    }
    let mut out = std::io::stdout();
    let _ = execute!(out, terminal::EnterAlternateScreen, cursor::Hide);
    let mut keys = crossterm::event::EventStream::new();
    let mut before: Option<Snapshot> = None;
    let mut shown;
    let mut well;
    let mut count = 0u64;
    let quit = loop {
        count += 1;
        let s = watcher.snapshot().await;
        well = all_up(&s);
        let r = before.as_ref().map(|b| rates(b, &s));
        let p = problems(&s, limits);
        shown = render::text(&s, &p, r.as_deref());
        let screen = format!(
            "{shown}\nsnapshot {count}, every {secs} s; l: test the links between data nodes, q: quit\n"
        )
        .replace('\n', "\r\n");
        let _ = execute!(
            out,
            terminal::Clear(terminal::ClearType::All),
            cursor::MoveTo(0, 0)
        );
        let _ = out.write_all(screen.as_bytes());
        let _ = out.flush();
        before = Some(s);
        match wait(&mut keys, Duration::from_secs(secs)).await {
            Wake::Refresh => {}
            Wake::PeerLinks => watcher.peer_links_once(),
            Wake::Quit(q) => break q,
        }
    };
    let _ = execute!(out, cursor::Show, terminal::LeaveAlternateScreen);
    let _ = terminal::disable_raw_mode();
    crate::cli::output::out!("{shown}");
    match quit {
        // The last snapshot's verdict, as a single status gives it.
        Quit::Key if well => EXIT_OK,
        Quit::Key => EXIT_FAILED,
        Quit::Interrupt => super::super::args::EXIT_INTERRUPTED,
    }
}

/// Wait `period` for a key or a signal.
async fn wait(keys: &mut crossterm::event::EventStream, period: Duration) -> Wake {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    use futures_util::StreamExt;
    let sleep = tokio::time::sleep(period);
    tokio::pin!(sleep);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        tokio::select! {
            () = &mut sleep => return Wake::Refresh,
            _ = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => return Wake::Quit(Quit::Interrupt),
            _ = tokio::signal::ctrl_c() => return Wake::Quit(Quit::Interrupt),
            ev = keys.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
                        return Wake::Quit(Quit::Interrupt);
                    }
                    if matches!(k.code, KeyCode::Char('q' | 'Q') | KeyCode::Esc) {
                        return Wake::Quit(Quit::Key);
                    }
                    if matches!(k.code, KeyCode::Char('l' | 'L')) {
                        return Wake::PeerLinks;
                    }
                }
                // The terminal went away: nothing to draw on.
                None | Some(Err(_)) => return Wake::Quit(Quit::Interrupt),
                _ => {}
            },
        }
    }
}

/// `--watch --json` on a terminal: one compact document per refresh, with
/// the rates since the one before, until Ctrl-C.
async fn json_lines(watcher: &mut Watcher, secs: u64, limits: &Limits) -> u8 {
    let mut before: Option<Snapshot> = None;
    loop {
        let s = watcher.snapshot().await;
        let r = before.as_ref().map(|b| rates(b, &s));
        crate::cli::output::outln!(
            "{}",
            json::document(&s, &problems(&s, limits), r.as_deref())
        );
        before = Some(s);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(secs)) => {}
            _ = tokio::signal::ctrl_c() => return super::super::args::EXIT_INTERRUPTED,
        }
    }
}
