//! The cluster screen's live refresh: one task keeps one status watcher
//! (its sessions kept, as `tsmn status --watch` keeps them, so a refresh
//! after the first costs one round trip per node) and sends a snapshot
//! every few seconds, at once when asked, until the screen stops it.

use super::msg::Msg;
use crate::plan::Plan;
use crate::status::collect::Watcher;
use secrecy::SecretString;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_util::sync::CancellationToken;

/// How often the screen refreshes: `tsmn status --watch`'s default.
pub const EVERY: Duration = Duration::from_secs(2);

/// How long a refresh waits for the nodes before it shows one that has
/// not answered as waiting (with its last answer): a node that hangs
/// holds up only its own row.
const REFRESH_WAIT: Duration = Duration::from_secs(1);

/// What the screen asks of a running watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Refresh now.
    Now,
    /// Test the links between data nodes once, in the next refresh.
    PeerLinks,
}

/// A running watch: dropped or stopped, its task ends.
pub struct Watch {
    asks: UnboundedSender<Ask>,
    stop: CancellationToken,
}

impl Watch {
    pub fn ask(&self, a: Ask) {
        let _ = self.asks.send(a);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Start watching the plan's cluster; snapshots (or why none can be taken)
/// come back as `Msg::Status`. Must be called inside the tokio runtime.
pub fn start(
    plan: Plan,
    password: Option<SecretString>,
    connect_timeout: Duration,
    out: UnboundedSender<Msg>,
) -> Watch {
    let (asks, mut asked) = unbounded_channel();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        let mut watcher = match Watcher::new(plan, connect_timeout) {
            Ok(w) => match password {
                Some(p) => w.with_password(p),
                None => w,
            }
            .watching(REFRESH_WAIT),
            Err(e) => {
                let _ = out.send(Msg::Status(Err(e)));
                return;
            }
        };
        loop {
            let snapshot = tokio::select! {
                _ = stopped.cancelled() => return,
                s = watcher.snapshot() => s,
            };
            if out.send(Msg::Status(Ok(Box::new(snapshot)))).is_err() {
                return;
            }
            tokio::select! {
                _ = stopped.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
                a = asked.recv() => match a {
                    Some(Ask::PeerLinks) => watcher.peer_links_once(),
                    Some(Ask::Now) => {}
                    None => return,
                },
            }
        }
    });
    Watch { asks, stop }
}
