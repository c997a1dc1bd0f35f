//! The one flow over a plan that every face runs: plan -> credentials ->
//! probe -> certificate material -> steps -> run or export. The CLI
//! commands and the wizard's tasks call it, so a behaviour fixed here is
//! fixed for both. Progress and secrets are passed in, never looked up by
//! a face: the face decides how to ask (`Ask`) and how to show progress.

pub mod ask;
pub mod lock;
mod own_login;
pub mod rebalance;
pub mod run;
pub mod secrets;
pub mod settings;

pub use ask::{Ask, NoAsk};
pub use run::{Ready, Run, RunKind};
pub use settings::Settings;

use crate::facts::{Connection, Facts};
use crate::findings::connect::explain;
use crate::plan::{AuthMode, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::{Kept, OnNotice, Progress};
use crate::steps::material::{self, Material};
use crate::steps::secrets::Secrets;
use crate::steps::Step;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// What went wrong, and whether it was the operator's input (exit 2) or an
/// operation that failed (exit 1).
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlowError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl FlowError {
    pub fn exit_code(&self) -> u8 {
        match self {
            FlowError::Usage(_) => 2,
            FlowError::Failed(_) => 1,
        }
    }
}

/// How to follow a probe: each node as soon as it is in, and (to keep the
/// connections for the steps) where their server notices go.
#[derive(Default, Clone)]
pub struct Watch {
    pub progress: Option<Progress>,
    pub keep: Option<OnNotice>,
    /// What is read of each node (all of it unless said).
    pub reads: crate::probe::Reads,
}

pub struct Flow {
    pub plan: Plan,
    pub plan_path: PathBuf,
    passwords: PasswordSource,
    facts: Option<Facts>,
    notes: Vec<String>,
    kept: Kept,
    /// The access node's session that holds the cluster's run lock, taken
    /// before the probe (`lock_cluster`).
    cluster_lock: Option<tokio_postgres::Client>,
    material: Option<Material>,
    /// `--remove-data-nodes`: a data node no longer in the plan may go.
    pub remove_data_nodes: bool,
    /// `--drain`: the chunks a leaving data node alone holds move first.
    pub drain: bool,
    /// `--repair-replication`: chunks short of their replication factor
    /// are copied until it is met.
    pub repair_replication: bool,
    /// `--give-up-chunks`: only copies on a lost data node, given up.
    pub give_up_chunks: Vec<String>,
    /// `--parallel`: the drain's chunk moves at once.
    pub parallel: u16,
    /// `--rotate-password`: roles whose password changes now.
    pub rotate_passwords: Vec<String>,
    /// `tsmn rebalance`: the moves of its run (`RunKind::Rebalance`).
    pub rebalance: Option<rebalance::Rebalancing>,
    /// `--roll-ca`: the CA being replaced in this run.
    previous_ca: Option<String>,
    /// `--renew-certificates`: every certificate is issued anew, an adopted
    /// cluster's own too.
    renewing: bool,
}

impl Flow {
    /// The plan at `path`, validated.
    pub fn open(path: &Path) -> Result<Flow, FlowError> {
        let plan =
            crate::plan::system::load_plan(path).map_err(|e| FlowError::Usage(e.to_string()))?;
        Ok(Flow::new(plan, path.to_path_buf()))
    }

    pub fn new(plan: Plan, plan_path: PathBuf) -> Flow {
        let passwords = PasswordSource::from_plan(&plan);
        Flow {
            plan,
            plan_path,
            passwords,
            facts: None,
            notes: Vec::new(),
            kept: Vec::new(),
            cluster_lock: None,
            material: None,
            remove_data_nodes: false,
            drain: false,
            repair_replication: false,
            give_up_chunks: Vec::new(),
            parallel: 1,
            rotate_passwords: Vec::new(),
            rebalance: None,
            previous_ca: None,
            renewing: false,
        }
    }

    /// The plan as edited (the wizard). What the probe found, and its open
    /// connections, stay while the plan reaches the same servers the same
    /// way (nodes, superuser, database, credentials, roles); the certificate
    /// material stays while the auth section is the same. A password typed
    /// for the old plan stays.
    pub fn set_plan(&mut self, plan: Plan) {
        if plan == self.plan {
            return;
        }
        let reach = |p: &Plan| {
            (
                p.nodes().cloned().collect::<Vec<_>>(),
                p.superuser.clone(),
                p.database.clone(),
                p.credentials.clone(),
                p.auth.roles.clone(),
            )
        };
        if reach(&plan) != reach(&self.plan) {
            let typed = self.passwords.fixed().cloned();
            self.passwords = PasswordSource::from_plan(&plan);
            if let Some(pw) = typed {
                self.passwords.set_prompted(pw);
            }
            self.facts = None;
            self.kept.clear();
        }
        if plan.auth != self.plan.auth {
            self.material = None;
        }
        self.plan = plan;
    }

    /// The plan saved elsewhere from now on (the wizard's plan read from
    /// another access node): its state folder (journal, lock, material)
    /// is the new path's.
    pub fn relocate(&mut self, plan_path: &Path) {
        if self.plan_path != plan_path {
            self.plan_path = plan_path.to_path_buf();
            self.material = None;
        }
    }

    /// The superuser's password, typed by the operator: used for every node.
    pub fn set_password(&mut self, password: SecretString) {
        self.passwords.set_prompted(password);
    }

    pub fn facts(&self) -> Option<&Facts> {
        self.facts.as_ref()
    }

    /// The findings on the facts of the last probe: both faces show these,
    /// each fix that names a tsmn command with `--plan` and the plan's path
    /// as the operator gave it.
    pub fn findings(&self) -> Vec<crate::findings::Finding> {
        let path = self.plan_path.to_string_lossy();
        let mut found = self
            .facts
            .as_ref()
            .map(|f| crate::findings::findings(&self.plan, f))
            .unwrap_or_default();
        for f in &mut found {
            f.fix = crate::findings::fix::naming_plan(&f.fix, &path);
        }
        found
    }

    /// check: each data node's links to the others as the engine's chunk
    /// copy makes them (probe/peers.rs), into the facts; unless the plan
    /// turns those links off (`data_node_links = false`).
    pub async fn probe_peer_links(&mut self, settings: &Settings) {
        if self.plan.auth.data_node_links == Some(false) || self.plan.data_nodes.len() < 2 {
            return;
        }
        if let Some(f) = self.facts.as_mut() {
            crate::probe::peers::probe(&self.plan, &self.passwords, settings.probe_options(), f)
                .await;
        }
    }

    /// Notes about the password sources (an unset variable, an ignored passfile).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Where each run's finished steps are recorded, beside the plan.
    pub fn journal(&self) -> PathBuf {
        crate::plan::state_dir(&self.plan_path).join("journal.jsonl")
    }

    /// Probe `nodes` (all when empty) and merge what was found into the
    /// facts. Like psql, ask for the superuser's password only when a server
    /// wants one tsmn lacks, then probe those nodes again.
    pub async fn probe(
        &mut self,
        nodes: &[String],
        settings: &Settings,
        ask: &dyn Ask,
        watch: Watch,
    ) -> Result<&Facts, FlowError> {
        // Every probe tests from the access node too, for check and apply
        // alike: what the engine shows is what both go by.
        let opts = settings.probe_options();
        let names: Vec<String> = if nodes.is_empty() {
            self.plan.nodes().map(|n| n.name.clone()).collect()
        } else {
            nodes.to_vec()
        };
        let found = self.probe_round(&names, opts, &watch).await?;
        self.merge(found);
        let wanting: Vec<String> = self
            .facts
            .iter()
            .flat_map(|f| &f.nodes)
            .filter(|n| names.contains(&n.name))
            .filter(|n| matches!(&n.connection, Connection::Failed { message, .. } if explain(None, message).code == "no_password"))
            .map(|n| n.name.clone())
            .collect();
        if !wanting.is_empty() && !self.passwords.has_fixed() {
            if let Some(pw) = ask.superuser_password(&self.plan.superuser, &wanting) {
                self.passwords.set_prompted(pw);
                let again = self.probe_round(&wanting, opts, &watch).await?;
                self.merge(again);
            }
        }
        self.notes = std::mem::take(&mut self.passwords.notes);
        Ok(self.facts.get_or_insert_with(Facts::default))
    }

    async fn probe_round(
        &mut self,
        names: &[String],
        opts: crate::probe::ProbeOptions,
        watch: &Watch,
    ) -> Result<Facts, FlowError> {
        let (facts, kept) = crate::probe::probe_watching(
            &self.plan,
            &self.passwords,
            opts,
            names,
            watch.progress.clone(),
            watch.keep.clone(),
            watch.reads,
        )
        .await
        .map_err(|e| FlowError::Usage(e.to_string()))?;
        // A node probed again replaces its kept connection.
        self.kept.retain(|(n, _)| !kept.iter().any(|(m, _)| m == n));
        self.kept.extend(kept);
        Ok(facts)
    }

    fn merge(&mut self, found: Facts) {
        match &mut self.facts {
            Some(old) => {
                for n in found.nodes {
                    match old.nodes.iter_mut().find(|m| m.name == n.name) {
                        Some(slot) => *slot = n,
                        None => old.nodes.push(n),
                    }
                }
                // Plan order, whatever order the rounds finished in.
                let order: Vec<String> = self.plan.nodes().map(|n| n.name.clone()).collect();
                old.nodes
                    .sort_by_key(|n| order.iter().position(|o| *o == n.name));
            }
            None => self.facts = Some(found),
        }
    }

    /// An adopted cluster whose CA tsmn lacks: no material is made for it.
    fn without_ca(&self) -> bool {
        material::without_ca(&self.plan, &crate::plan::state_dir(&self.plan_path))
    }

    /// The certificate material (certificate mode): loaded from beside the
    /// plan, or created there once.
    fn material(&mut self) -> Result<Option<&Material>, FlowError> {
        if self.plan.auth.mode != AuthMode::Certificate || self.without_ca() {
            return Ok(None);
        }
        if self.material.is_none() {
            let mut m =
                material::load_or_create(&self.plan, &crate::plan::state_dir(&self.plan_path))
                    .map_err(|e| FlowError::Failed(e.to_string()))?;
            m.previous_ca.clone_from(&self.previous_ca);
            self.material = Some(m);
        }
        Ok(self.material.as_ref())
    }

    /// Certificate mode: set the server and client certificates aside so
    /// that the next `steps` issues new ones from the same CA (nothing is
    /// lost: Some(where they are kept)). The CA stays.
    pub fn renew_certificates(&mut self) -> Result<Option<PathBuf>, FlowError> {
        if self.plan.auth.mode != AuthMode::Certificate {
            return Err(FlowError::Usage(
                "--renew-certificates: the plan is not in certificate mode (there are no certificates tsmn issued)".into(),
            ));
        }
        if self.without_ca() {
            return Err(FlowError::Usage(
                "--renew-certificates: tsmn has no copy of the CA that issued this adopted cluster's certificates\n    fix: set ca_cert and ca_key in [auth.certificate] to that CA's certificate and key".into(),
            ));
        }
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let aside = material::renew(&crate::plan::state_dir(&self.plan_path), &stamp)
            .map_err(|e| FlowError::Failed(e.to_string()))?;
        self.material = None;
        self.renewing = true;
        Ok(aside)
    }

    /// Certificate mode, tsmn's own CA: a new CA, and every certificate
    /// issued anew from it. For this run the nodes trust both CAs; once the
    /// new certificates are in use and verified, the old CA goes. Nothing
    /// is lost: Some(where the old CA and certificates are kept).
    pub fn roll_ca(&mut self) -> Result<PathBuf, FlowError> {
        let opts = self.plan.auth.certificate.clone().unwrap_or_default();
        if self.plan.auth.mode != AuthMode::Certificate {
            return Err(FlowError::Usage(
                "--roll-ca: the plan is not in certificate mode (there is no CA)".into(),
            ));
        }
        if !opts.ca_cert.is_empty() {
            return Err(FlowError::Usage(format!(
                "--roll-ca: the CA is your own ({}); tsmn rolls over only the CA it made\n    fix: issue a new CA yourself, set ca_cert and ca_key to it, and run tsmn apply --renew-certificates",
                opts.ca_cert
            )));
        }
        let dir = crate::plan::state_dir(&self.plan_path);
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        match material::roll(&dir, &stamp).map_err(|e| FlowError::Failed(e.to_string()))? {
            Some((aside, old)) => {
                self.previous_ca = Some(old);
                self.material = None;
                Ok(aside)
            }
            None => Err(FlowError::Usage(format!(
                "--roll-ca: tsmn has made no CA for this plan yet ({} has none)\n    fix: run tsmn apply first",
                dir.display()
            ))),
        }
    }

    /// Undo `renew_certificates` or `roll_ca` (the operator did not confirm the run).
    pub fn keep_old_certificates(&mut self, aside: &Path) -> Result<(), FlowError> {
        self.material = None;
        self.previous_ca = None;
        material::restore_renewed(&crate::plan::state_dir(&self.plan_path), aside)
            .map_err(|e| FlowError::Failed(e.to_string()))
    }

    /// The steps for the plan and what the probe found (offline when it has
    /// not run: every step is listed as to do), with the certificate
    /// material made when missing: for export and apply.
    pub fn steps(&mut self) -> Result<Vec<Step>, FlowError> {
        self.material()?;
        let steps = self.build_with(self.material.as_ref())?;
        for s in &steps {
            tracing::trace!("step [{}] {} ({:?}): {}", s.node, s.id, s.state, s.title);
        }
        Ok(steps)
    }

    /// The same steps to show (preview, the wizard's preview screen):
    /// nothing is written, material not made yet shows as a placeholder.
    pub fn steps_to_show(&mut self) -> Result<Vec<Step>, FlowError> {
        self.with_material_to_show(|f, m| f.build_with(m))
    }

    /// `build` with the material as it is, or (not made yet) described.
    fn with_material_to_show<T>(
        &self,
        build: impl FnOnce(&Self, Option<&Material>) -> Result<T, FlowError>,
    ) -> Result<T, FlowError> {
        if self.material.is_some()
            || self.plan.auth.mode != AuthMode::Certificate
            || self.without_ca()
        {
            return build(self, self.material.as_ref());
        }
        let shown =
            material::load_or_describe(&self.plan, &crate::plan::state_dir(&self.plan_path))
                .map_err(|e| FlowError::Failed(e.to_string()))?;
        build(self, Some(&shown))
    }

    fn build_with(&self, material: Option<&Material>) -> Result<Vec<Step>, FlowError> {
        crate::steps::build(
            &self.plan,
            crate::steps::Inputs {
                facts: self.facts.as_ref(),
                material,
                remove_data_nodes: self.remove_data_nodes,
                drain: self.drain,
                repair_replication: self.repair_replication,
                give_up: &self.give_up_chunks,
                parallel: self.parallel,
                rotate: &self.rotate_passwords,
                joining: &crate::run::journal::joining(&self.journal()),
                renewing: self.renewing,
            },
        )
        .map_err(|e| FlowError::Usage(e.to_string()))
    }

    /// Write the steps as a reviewable script with its files into `out`.
    pub fn export(
        &mut self,
        steps: &[Step],
        out: &Path,
        secrets: &Secrets,
        include_secrets: bool,
    ) -> Result<Vec<PathBuf>, FlowError> {
        self.material()?;
        let opts = crate::export::Options {
            include_secrets,
            material: self.material.as_ref(),
            secrets,
        };
        crate::export::export(&self.plan, steps, out, &opts)
            .map_err(|e| FlowError::Failed(e.to_string()))
    }
}
