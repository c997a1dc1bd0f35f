//! One file per command: arguments in, calls of the flow, output and
//! an exit code out (0 ok, 1 failed, 2 usage or plan error). No probing,
//! step building, secret handling or export logic of its own.

use super::args::ConnectOpts;
use super::output;
use super::progress;
use super::prompt::Terminal;
use std::io::IsTerminal;
use std::path::Path;
use tsmn::flow::{Flow, FlowError, Settings, Watch};

/// An error of `command`: on stderr, and under --json also as the
/// command's one JSON document (schema tsmn-error/1) on stdout.
pub(super) fn failed(command: &str, json: bool, message: &str, code: u8) -> u8 {
    if json {
        output::json_error(command, message, code);
    } else {
        eprintln!("error: {message}");
    }
    code
}

pub(super) fn fail_as(command: &str, json: bool, e: FlowError) -> u8 {
    failed(command, json, &e.to_string(), e.exit_code())
}

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The settings of a command that connects: its wait for each
/// connection (--connect-timeout, else PGCONNECT_TIMEOUT, else 5 s).
pub(super) fn with_timeout(connect: &ConnectOpts) -> Result<Settings, FlowError> {
    Ok(Settings {
        connect_timeout: connect.timeout().map_err(FlowError::Usage)?,
        ..Settings::default()
    })
}

/// The "probing ..." line, on a terminal only (scripts read stderr too).
pub(super) fn say_probing(flow: &Flow, settings: &Settings) {
    if std::io::stderr().is_terminal() {
        output::tell(&format!(
            "probing {} node(s) (connect timeout {}) ...",
            flow.plan.nodes().count(),
            tsmn::plan::system::env::shown(settings.connect_timeout)
        ));
    }
}

/// Probe every node of the flow: on a terminal with a live line per node
/// (out of the way while a password is asked for), else the one
/// "probing ..." line.
pub(super) fn probe_flow(
    rt: &tokio::runtime::Runtime,
    flow: &mut Flow,
    settings: &Settings,
    json: bool,
    mut watch: Watch,
) -> Result<(), FlowError> {
    let names: Vec<String> = flow.plan.nodes().map(|n| n.name.clone()).collect();
    let live = progress::wanted(json).then(|| progress::Live::new(&names, "probing"));
    if live.is_none() && !json {
        say_probing(flow, settings);
    }
    if let Some(l) = live.clone() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        watch.progress = Some(tx);
        rt.spawn(async move {
            while let Some((node, ok)) = rx.recv().await {
                l.probed(&node, ok);
            }
        });
    }
    let asked = Terminal::beside(live.as_ref());
    let probed = rt.block_on(flow.probe(&[], settings, &asked, watch));
    if let Some(l) = &live {
        l.clear();
    }
    probed.map(|_| ())
}

/// How a command probes: offline or not, its JSON mode, what it watches.
pub(super) struct Probing {
    pub offline: bool,
    pub json: bool,
    pub watch: Watch,
}

/// The flow over the plan at `path`, probed (unless offline).
pub(super) fn probed(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    settings: &Settings,
    how: Probing,
) -> Result<Flow, FlowError> {
    probe_opened(rt, Flow::open(path)?, settings, how)
}

pub(super) fn probe_opened(
    rt: &tokio::runtime::Runtime,
    mut flow: Flow,
    settings: &Settings,
    how: Probing,
) -> Result<Flow, FlowError> {
    if !how.offline {
        probe_flow(rt, &mut flow, settings, how.json, how.watch)?;
    }
    Ok(flow)
}

/// `probed`, and the steps to export (certificate material made).
pub(super) fn probed_steps(
    rt: &tokio::runtime::Runtime,
    path: &Path,
    settings: &Settings,
    how: Probing,
) -> Result<(Flow, Vec<tsmn::steps::Step>), FlowError> {
    let mut flow = probed(rt, path, settings, how)?;
    let steps = flow.steps()?;
    Ok((flow, steps))
}

mod apply;
mod bundle;
mod check;
mod discover;
mod export;
mod help;
mod init;
mod migrate;
mod preview;
mod rebalance;
mod running;
mod sandbox;
mod status;
mod undo;
mod validate;
mod wizard;

pub use apply::*;
pub use bundle::report;
pub use check::*;
pub use discover::*;
pub use export::*;
pub use help::*;
pub use init::*;
pub use migrate::migrate;
pub use preview::*;
pub use rebalance::rebalance;
pub use sandbox::*;
pub use status::status;
pub use undo::undo;
pub use validate::*;
pub use wizard::*;
