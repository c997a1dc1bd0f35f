//! The one run sequence, for `tsmn apply`, `tsmn undo` and the wizard's
//! execute screen: the lock file beside the plan (before anything
//! connects), the cluster's lock on the access node, the steps, what the
//! run needs before it starts (role passwords, every node of the run
//! probed, tsmn's own login unchanged), then the run on the probe's
//! connections with its journal. Anything refused before the run is one
//! `FlowError`; a face that shows events gets it through [`Flow::refused`].

use super::lock::{self, RunLock};
use super::{own_login, secrets, Ask, Flow, FlowError, Settings};
pub use crate::run::RunKind;
use crate::run::{Event, Events, RunOptions};
use crate::steps::secrets::Secrets;
use crate::steps::Step;
use secrecy::SecretString;
use std::collections::BTreeMap;

/// A run begun: its lock file held until it is dropped.
pub struct Run {
    pub kind: RunKind,
    _lock: RunLock,
}

/// A run ready to start: its steps, the role passwords they hold, and (for
/// undo) what stays as it is.
pub struct Ready {
    pub steps: Vec<Step>,
    pub secrets: Secrets,
    pub stays: Vec<String>,
}

impl Flow {
    /// The run's first move, before anything connects: the lock file beside
    /// the plan, or who holds it.
    pub fn begin(&self, kind: RunKind) -> Result<Run, FlowError> {
        Ok(Run {
            kind,
            _lock: lock::take(&self.plan_path)?,
        })
    }

    /// Before a run probes: the cluster's run lock on a session of its own
    /// to the access node, so that a second run (another plan file, another
    /// machine) is refused before it probes servers the first one is
    /// changing (and restarting). When tsmn cannot log in to the access
    /// node yet (a password to ask for), the lock is taken on the probe's
    /// session before the first change instead (`ready`).
    pub async fn lock_cluster(&mut self, settings: &Settings) -> Result<(), FlowError> {
        let an = self.plan.access_node.clone();
        let Ok(tls) = crate::probe::tls::Tls::from_plan(&self.plan) else {
            return Ok(());
        };
        let opts = settings.probe_options();
        let cfg = crate::probe::config(
            &an,
            &self.plan.superuser,
            "postgres",
            &self.passwords,
            opts,
            &tls,
        );
        let Ok(client) = crate::probe::connect(&cfg, &tls, opts, None).await else {
            return Ok(());
        };
        lock::take_cluster(&client, &self.plan.database, &an.name).await?;
        self.cluster_lock = Some(client);
        Ok(())
    }

    /// The run's steps (apply: the plan's, certificate material made; undo:
    /// the way back from the journal) and all the run needs before its
    /// first change, refused before anything changes.
    pub async fn ready(
        &mut self,
        run: &Run,
        given: &BTreeMap<String, SecretString>,
        settings: &Settings,
        ask: &dyn Ask,
    ) -> Result<Ready, FlowError> {
        if run.kind == RunKind::Apply && self.rotate_passwords.contains(&self.plan.superuser) {
            // A link between data nodes that works now holds the
            // superuser's password: the rotation writes it again there
            // (steps/links.rs, `rotated`).
            self.probe_peer_links(settings).await;
        }
        let (steps, stays) = match run.kind {
            RunKind::Apply => (self.steps()?, Vec::new()),
            RunKind::Undo => self.undo_steps()?,
            RunKind::Rebalance => (self.rebalance_steps()?, Vec::new()),
        };
        let secrets = self.role_secrets(&steps, given, ask)?;
        if let Some(facts) = &self.facts {
            let unprobed = crate::steps::unprobed(&steps, facts, &settings.phases);
            if !unprobed.is_empty() {
                return Err(FlowError::Failed(unprobed_message(&unprobed, run.kind)));
            }
        }
        let an = &self.plan.access_node.name;
        if self.cluster_lock.is_none() {
            if let Some((_, client)) = self.kept.iter().find(|(n, _)| n == an) {
                lock::take_cluster(client, &self.plan.database, an).await?;
            }
        }
        own_login::guard(
            &self.plan,
            &steps,
            &secrets,
            &self.passwords,
            settings.probe_options(),
        )
        .await?;
        Ok(Ready {
            steps,
            secrets,
            stays,
        })
    }

    /// The run itself, on the connections the probe kept; finished steps go
    /// to the journal, events tell the face what happens. `ready` refused
    /// is told as events too (the one error path of a face that shows
    /// events). True when every step of the selected phases finished.
    pub async fn run(
        &mut self,
        run: &Run,
        ready: Result<&Ready, FlowError>,
        settings: &Settings,
        events: Events,
        cancel: Option<tokio_util::sync::CancellationToken>,
    ) -> bool {
        let ready = match ready.and_then(|r| self.material().map(|_| r)) {
            Ok(r) => r,
            Err(e) => {
                self.refused(&events, &e);
                return false;
            }
        };
        let journal = self.journal();
        match run.kind {
            RunKind::Undo => crate::run::journal::start_undo(&journal),
            // Not a run of apply: undo looks past it.
            RunKind::Rebalance => crate::run::journal::start_rebalance(&journal),
            RunKind::Apply => {}
        }
        let kept = std::mem::take(&mut self.kept);
        let opts = RunOptions {
            journal: Some(journal.clone()),
            cancel: cancel.clone(),
            kind: run.kind,
            ..self.run_options(ready, settings)
        };
        let ok = crate::run::run_adopting(&ready.steps, &opts, events, kept).await;
        let cancelled = cancel.is_some_and(|c| c.is_cancelled());
        if run.kind == RunKind::Undo && ok && !cancelled {
            crate::run::journal::undone(&journal);
        }
        ok
    }

    /// A run refused before its first step, told as a face that shows
    /// events sees a run end: a note on the access node, then finished.
    pub fn refused(&self, events: &Events, e: &FlowError) {
        let _ = events.send(Event::Note {
            node: self.plan.access_node.name.clone(),
            message: e.to_string(),
        });
        let _ = events.send(Event::Finished { ok: false });
    }

    /// `tsmn undo`: the steps that take the last run of tsmn apply back (from
    /// its journal and what the probe found), and what stays (settings).
    fn undo_steps(&self) -> Result<(Vec<Step>, Vec<String>), FlowError> {
        let text = std::fs::read_to_string(self.journal()).map_err(|_| {
            FlowError::Usage(format!(
                "nothing to undo: no run of tsmn apply is recorded for this plan ({} does not exist)",
                self.journal().display()
            ))
        })?;
        let last = crate::steps::undo::last_run(&text, &self.plan.access_node.name)
            .map_err(|e| FlowError::Usage(format!("nothing to undo: {e}")))?;
        let facts = self.facts.clone().unwrap_or_default();
        crate::steps::undo::build(&self.plan, &last, &facts)
            .map_err(|e| FlowError::Failed(e.to_string()))
    }

    /// The role passwords these steps hold, in the one order of `secrets.rs`.
    pub fn role_secrets(
        &self,
        steps: &[Step],
        given: &BTreeMap<String, SecretString>,
        ask: &dyn Ask,
    ) -> Result<Secrets, FlowError> {
        let needed = crate::steps::secret_roles(steps);
        secrets::role_secrets(
            &self.plan,
            &needed,
            &self.rotate_passwords,
            given,
            &self.passwords,
            ask,
        )
    }

    /// For the summary before a run: for each node, what tsmn will do when
    /// a setting needs a restart (the run's own decision, made now on the
    /// kept connection): Ok(the command it runs) or Err(how the operator
    /// restarts it while tsmn waits).
    pub async fn restarts(&self, nodes: &[String]) -> Vec<(String, Result<String, String>)> {
        self.restarts_of(nodes, None).await
    }

    /// `restarts`, with a data node that leaves in this run (a drain's
    /// source: no kept connection) decided as the run decides it, where
    /// the access node reaches it (`ready`: the run's steps and secrets).
    pub async fn restarts_of(
        &self,
        nodes: &[String],
        ready: Option<(&super::Ready, &Settings)>,
    ) -> Vec<(String, Result<String, String>)> {
        let mut out = self.restarts_kept(nodes).await;
        let Some((ready, settings)) = ready else {
            return out;
        };
        let opts = self.run_options(ready, settings);
        for (n, d) in out.iter_mut() {
            if self.kept.iter().any(|(k, _)| k == n) {
                continue;
            }
            if let Some(l) = crate::run::leaving_decision(&ready.steps, &opts, n).await {
                *d = l;
            }
        }
        out
    }

    /// What the executor gets from this flow, the run's steps and secrets
    /// and the settings: no journal, no cancel, a run of apply (a run sets
    /// its own).
    fn run_options<'s>(&'s self, ready: &'s super::Ready, settings: &Settings) -> RunOptions<'s> {
        RunOptions {
            plan: &self.plan,
            passwords: &self.passwords,
            secrets: &ready.secrets,
            material: self.material.as_ref(),
            probe: settings.probe_options(),
            phases: settings.phases.clone(),
            restart: settings.restart,
            restart_wait: settings.restart_wait,
            journal: None,
            cancel: None,
            kind: RunKind::Apply,
        }
    }

    async fn restarts_kept(&self, nodes: &[String]) -> Vec<(String, Result<String, String>)> {
        // Every node asked at once, as the restart gate asks them.
        let asks = nodes.iter().map(|n| async move {
            let d = match self.kept.iter().find(|(k, _)| k == n) {
                Some((_, c)) => crate::run::restart_decision(c).await,
                None => Err(crate::run::RESTART_HOW.to_string()),
            };
            (n.clone(), d)
        });
        futures_util::future::join_all(asks).await
    }
}

/// The refusal when nodes of the run could not be probed: tsmn changes
/// nothing when it cannot finish (a cluster changed on some nodes and not
/// on others can be worse than before).
fn unprobed_message(unprobed: &[(String, String)], kind: RunKind) -> String {
    let lines: Vec<String> = unprobed
        .iter()
        .map(|(n, why)| format!("  {n}: {why}"))
        .collect();
    let names: Vec<&str> = unprobed.iter().map(|(n, _)| n.as_str()).collect();
    format!(
        "tsmn cannot reach {} and changes nothing while a node of the run cannot be probed:\n{}\n    fix: bring {} back (tsmn check says why it fails), then run {} again; or run only the phases it has no step in (--phases)",
        names.join(", "),
        lines.join("\n"),
        if names.len() == 1 { "it" } else { "them" },
        kind.command()
    )
}
