//! How a run behaves, with the one set of defaults both faces use.

use crate::run::RestartPolicy;
use crate::steps::Phase;
use std::time::Duration;

pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 5;
pub const DEFAULT_RESTART_WAIT_SECS: u64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Bound on establishing each connection.
    pub connect_timeout: Duration,
    /// The phases that run (the others are reported as skipped).
    pub phases: Vec<Phase>,
    pub restart: RestartPolicy,
    /// How long to wait for a node someone else restarts.
    pub restart_wait: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(DEFAULT_CONNECT_TIMEOUT_SECS),
            phases: Phase::ALL.to_vec(),
            restart: RestartPolicy::Local,
            restart_wait: Duration::from_secs(DEFAULT_RESTART_WAIT_SECS),
        }
    }
}

impl Settings {
    pub fn probe_options(&self) -> crate::probe::ProbeOptions {
        crate::probe::ProbeOptions::with_connect_timeout(self.connect_timeout)
    }
}
