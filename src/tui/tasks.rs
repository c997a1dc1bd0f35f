//! Carrying out the wizard's commands: each one a task over the shared flow
//! (the same calls `tsmn apply` makes), its results sent back as messages.
//! Nothing here decides anything the CLI decides differently: probing,
//! steps, role secrets, running and exporting are the flow's.

use super::msg::{Cmd, Msg};
use super::shared::Shared;
use crate::flow::{Flow, NoAsk, RunKind, Settings, Watch};
use crate::plan::Plan;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The flow and the running job's cancel switch, shared by the tasks. One
/// job runs at a time (the app refuses new work while busy), so the lock
/// is never contended for long.
pub struct Tasks {
    flow: Arc<Mutex<Flow>>,
    cancel: Arc<std::sync::Mutex<Option<CancellationToken>>>,
    tx: UnboundedSender<Msg>,
    settings: Settings,
    /// The cluster screen's refresh, while it is open.
    watch: std::sync::Mutex<Option<super::watch::Watch>>,
}

impl Tasks {
    pub fn new(app: &Shared, tx: UnboundedSender<Msg>) -> Tasks {
        Tasks {
            flow: Arc::new(Mutex::new(Flow::new(
                app.plan.clone(),
                app.plan_path.clone(),
            ))),
            cancel: Arc::default(),
            tx,
            settings: app.settings.clone(),
            watch: std::sync::Mutex::default(),
        }
    }

    /// Start `cmd`; must be called inside the tokio runtime.
    pub fn perform(&self, cmd: Cmd, app: &Shared) {
        let plan = app.plan.clone();
        let (flow, tx) = (self.flow.clone(), self.tx.clone());
        let at = app.plan_path.clone();
        match cmd {
            Cmd::Quit => {}
            Cmd::Probe { password, nodes } => self.probe(plan, at, password, nodes),
            Cmd::Save => {
                // In place: the operator's comments and layout stay, the
                // previous version is kept as <plan>.bak.
                let r = crate::plan::save::save(
                    &app.plan_path,
                    &app.plan,
                    &crate::plan::system::System,
                );
                let _ = tx.send(Msg::Saved(r));
            }
            Cmd::Discover { address } => {
                let settings = self.settings.clone();
                tokio::spawn(async move {
                    let found = match crate::discover::parse_target(
                        &address,
                        None,
                        None,
                        &crate::plan::system::System,
                    ) {
                        Ok(t) => crate::discover::discover(&t, settings.connect_timeout).await,
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(Msg::Discovered(found.map(Box::new)));
                });
            }
            Cmd::Cancel => {
                if let Some(c) = self.lock_cancel().as_ref() {
                    c.cancel();
                }
            }
            Cmd::Build => {
                tokio::spawn(async move {
                    let mut flow = flow.lock().await;
                    flow.set_plan(plan);
                    flow.relocate(&at);
                    // The preview screen writes nothing (no certificate material yet).
                    let built = flow.steps_to_show().map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Built(built));
                });
            }
            Cmd::Execute => self.execute(plan, app),
            Cmd::Watch => {
                let w = super::watch::start(
                    plan,
                    app.typed_password(),
                    self.settings.connect_timeout,
                    tx,
                );
                *self.lock_watch() = Some(w);
            }
            Cmd::WatchNow => self.ask_watch(super::watch::Ask::Now),
            Cmd::WatchPeerLinks => self.ask_watch(super::watch::Ask::PeerLinks),
            Cmd::StopWatch => *self.lock_watch() = None,
            Cmd::MigrateCheck { target } => super::migrate_task::check(self.job(app, target), tx),
            Cmd::Migrate { target, choice } => {
                super::migrate_task::run(self.job(app, target), choice, tx)
            }
            Cmd::Export => {
                let given = given(app);
                let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
                let out = app.plan_path.with_file_name(format!("tsmn-export-{stamp}"));
                tokio::spawn(async move {
                    let mut flow = flow.lock().await;
                    flow.set_plan(plan);
                    flow.relocate(&at);
                    // The steps as previewed, with the certificate material made now.
                    let result = flow
                        .steps()
                        .and_then(|steps| {
                            let secrets = flow.role_secrets(&steps, &given, &NoAsk)?;
                            flow.export(&steps, &out, &secrets, false)
                        })
                        .map(|_| out.display().to_string())
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Exported(result));
                });
            }
        }
    }

    /// Probe (all nodes, or the named ones again) on the shared flow, each
    /// node's result as it comes in; the connections stay open for the run.
    fn probe(&self, plan: Plan, at: PathBuf, password: Option<SecretString>, nodes: Vec<String>) {
        let (flow, tx) = (self.flow.clone(), self.tx.clone());
        let settings = self.settings.clone();
        tokio::spawn(async move {
            let mut flow = flow.lock().await;
            flow.set_plan(plan);
            flow.relocate(&at);
            if let Some(p) = password {
                flow.set_password(p);
            }
            let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel();
            let forward = {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some((node, ok)) = prx.recv().await {
                        let _ = tx.send(Msg::NodeProbed { node, ok });
                    }
                })
            };
            let notes_tx = tx.clone();
            let watch = Watch {
                progress: Some(ptx),
                // The connections stay open for the run; what their
                // servers say then goes to the execute screen's log.
                keep: Some(Arc::new(move |node: &str, message: String| {
                    let _ = notes_tx.send(Msg::Run(crate::run::Event::Note {
                        node: node.to_string(),
                        message: crate::timescale::notice_for_people(&message),
                    }));
                })),
                ..Watch::default()
            };
            let partial = !nodes.is_empty();
            let probed = flow.probe(&nodes, &settings, &NoAsk, watch).await.is_ok();
            // The whole cluster's check tests the links between data
            // nodes too, as tsmn check does.
            if probed && !partial {
                flow.probe_peer_links(&settings).await;
            }
            let facts = match probed {
                true => flow.facts().cloned().unwrap_or_default(),
                false => Default::default(),
            };
            // Every node's own line before the whole report.
            let _ = forward.await;
            let _ = tx.send(Msg::Probed {
                facts,
                findings: flow.findings(),
                notes: flow.notes().to_vec(),
                partial,
            });
        });
    }

    /// Run the steps through the flow (role secrets first: a missing one
    /// stops the run before any step), the events forwarded as messages.
    fn execute(&self, plan: Plan, app: &Shared) {
        let (flow, tx) = (self.flow.clone(), self.tx.clone());
        let at = app.plan_path.clone();
        let settings = self.settings.clone();
        let given = given(app);
        let cancel = CancellationToken::new();
        *self.lock_cancel() = Some(cancel.clone());
        tokio::spawn(async move {
            let mut flow = flow.lock().await;
            flow.set_plan(plan);
            flow.relocate(&at);
            let (etx, mut erx) = tokio::sync::mpsc::unbounded_channel();
            let forward = {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(e) = erx.recv().await {
                        let _ = tx.send(Msg::Run(e));
                    }
                })
            };
            // The one run sequence, as tsmn apply runs it: the lock, the
            // steps as previewed (certificate material made now), what the
            // run needs, the run; a refusal shown as the run's end.
            match flow.begin(RunKind::Apply) {
                Ok(run) => {
                    let ready = flow.ready(&run, &given, &settings, &NoAsk).await;
                    let ready = ready.as_ref().map_err(Clone::clone);
                    flow.run(&run, ready, &settings, etx, Some(cancel)).await;
                }
                Err(e) => flow.refused(&etx, &e),
            }
            let _ = forward.await;
        });
    }

    fn job(&self, app: &Shared, target: String) -> super::migrate_task::Job {
        super::migrate_task::Job {
            plan: app.plan.clone(),
            plan_path: app.plan_path.clone(),
            connect_timeout: self.settings.connect_timeout,
            target,
        }
    }

    fn ask_watch(&self, a: super::watch::Ask) {
        if let Some(w) = self.lock_watch().as_ref() {
            w.ask(a);
        }
    }

    fn lock_watch(&self) -> std::sync::MutexGuard<'_, Option<super::watch::Watch>> {
        self.watch.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_cancel(&self) -> std::sync::MutexGuard<'_, Option<CancellationToken>> {
        self.cancel.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The role passwords typed or generated in the options form.
fn given(app: &Shared) -> BTreeMap<String, SecretString> {
    app.role_passwords
        .iter()
        .map(|(r, p)| (r.clone(), SecretString::from(p.clone())))
        .collect()
}
