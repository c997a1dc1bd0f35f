//! ASYNC: one part of a refresh (a node's row, the access node's links)
//! run as its own task, owning its state (its session) between refreshes.
//! A refresh starts every part that is idle and waits for the answers
//! until its deadline; a part that hangs keeps running on its own and is
//! reported as waiting, so it holds up only itself (its own bound ends it
//! in time, and the next refresh takes its answer).

use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub(super) struct Part<S, R> {
    /// The state, while no task holds it.
    idle: Option<S>,
    /// The running task and when it started.
    busy: Option<(JoinHandle<(S, R)>, Instant)>,
}

/// What a part gave by the deadline.
pub(super) enum Answer<R> {
    Ready(R),
    /// Still running, for this long.
    Waiting(Duration),
}

impl<S: Default + Send + 'static, R: Send + 'static> Part<S, R> {
    pub fn new(state: S) -> Self {
        Part {
            idle: Some(state),
            busy: None,
        }
    }

    /// Start the work on the state, unless the last one still runs.
    pub fn start<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(S) -> Fut,
        Fut: Future<Output = (S, R)> + Send + 'static,
    {
        if self.busy.is_some() {
            return;
        }
        let state = self.idle.take().unwrap_or_default();
        self.busy = Some((tokio::spawn(work(state)), Instant::now()));
    }

    /// The answer, waited for until `deadline` (None: until it comes).
    /// A task that panicked leaves a fresh state and answers `lost`.
    pub async fn answer(
        &mut self,
        deadline: Option<Instant>,
        lost: impl FnOnce() -> R,
    ) -> Answer<R> {
        let Some((task, since)) = self.busy.as_mut() else {
            return Answer::Ready(lost());
        };
        let joined = match deadline {
            None => task.await,
            Some(d) => match tokio::time::timeout_at(d.into(), &mut *task).await {
                Ok(j) => j,
                Err(_) => return Answer::Waiting(since.elapsed()),
            },
        };
        self.busy = None;
        match joined {
            Ok((state, r)) => {
                self.idle = Some(state);
                Answer::Ready(r)
            }
            Err(e) => {
                tracing::warn!("status: a refresh task ended without an answer: {e}");
                self.idle = Some(S::default());
                Answer::Ready(lost())
            }
        }
    }
}

impl<S, R> Part<S, R> {
    /// The state, while no task holds it (before the first snapshot).
    pub fn state_mut(&mut self) -> Option<&mut S> {
        self.idle.as_mut()
    }
}

impl<S, R> Drop for Part<S, R> {
    /// A watch that ends (q, the wizard leaving its screen) takes its
    /// tasks with it: their sessions close.
    fn drop(&mut self) {
        if let Some((task, _)) = &self.busy {
            task.abort();
        }
    }
}
