//! Signals during a run. The first Ctrl-C, SIGTERM or SIGHUP lets the
//! running step finish on every node, records it and stops; a closed
//! terminal (SIGHUP) is such an interrupt too, with output sent to
//! /dev/null. A second interrupt aborts, but never while tsmn is
//! restarting a server: pg_ctl runs apart from tsmn and starts it again
//! whatever happens, and tsmn waits for it and says so. The exit code
//! follows the first signal: 128 + its number (130, 143, 129).

use std::sync::atomic::{AtomicI32, Ordering};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// The first signal received (0: none).
static FIRST: AtomicI32 = AtomicI32::new(0);

/// 128 + the first signal's number; 130 when none was recorded.
pub fn exit_code() -> u8 {
    match FIRST.load(Ordering::SeqCst) {
        0 => super::args::EXIT_INTERRUPTED,
        n => u8::try_from(128 + n).unwrap_or(super::args::EXIT_INTERRUPTED),
    }
}

struct Listeners {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Listeners {
    fn new() -> Option<Listeners> {
        Some(Listeners {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
            hup: signal(SignalKind::hangup()).ok()?,
        })
    }

    /// The next signal's number; a hangup sends output to /dev/null.
    async fn next(&mut self) -> i32 {
        let n = tokio::select! {
            _ = self.int.recv() => nix::libc::SIGINT,
            _ = self.term.recv() => nix::libc::SIGTERM,
            _ = self.hup.recv() => nix::libc::SIGHUP,
        };
        if n == nix::libc::SIGHUP {
            tsmn::os::detach_terminal();
        }
        n
    }
}

/// Listens for the whole run; `cancel` stops it after the running step.
pub async fn interrupts(cancel: tokio_util::sync::CancellationToken, command: &'static str) {
    let Some(mut l) = Listeners::new() else {
        return;
    };
    let first = l.next().await;
    let _ = FIRST.compare_exchange(0, first, Ordering::SeqCst, Ordering::SeqCst);
    tracing::info!("signal {first}: stopping after the running step");
    cancel.cancel();
    eprintln!("\ninterrupted: the running step finishes on each node and is recorded, then tsmn stops (interrupt again to abort at once)");
    loop {
        let again = l.next().await;
        if again == nix::libc::SIGHUP {
            // The terminal went away after an interrupt: keep finishing.
            continue;
        }
        let restarting = tsmn::run::restarts_in_flight();
        if restarting.is_empty() {
            break;
        }
        eprintln!(
            "not yet: tsmn is restarting {} (pg_ctl runs apart from tsmn and starts each server again); tsmn stops once they are back",
            restarting.join(", ")
        );
    }
    tracing::warn!("aborted by a second signal");
    eprintln!("aborted: a step that was running may be half done; run tsmn {command} again: it checks every step before it changes anything");
    std::process::exit(i32::from(exit_code()));
}
