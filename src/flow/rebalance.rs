//! `tsmn rebalance` on the flow: the plan from what the probe found, its
//! steps for the one run sequence (`RunKind::Rebalance`), the plan kept
//! beside the plan file while its moves run (a re-run after a kill resumes
//! the same moves), and the rows of each hypertable as the servers count
//! them.

use super::{Flow, FlowError, Settings};
use crate::rebalance::{self, Refusal};
use crate::steps::material::Material;
use crate::steps::rebalance::Wanted;
use crate::steps::Step;
use std::path::PathBuf;

/// The moves of a rebalance about to run, and how many at once.
#[derive(Debug, Clone, Default)]
pub struct Rebalancing {
    pub plan: rebalance::Plan,
    pub parallel: u16,
}

impl Flow {
    /// The moves that even out each distributed hypertable, from the
    /// access node's facts of the last probe.
    pub fn rebalance_plan(&self) -> Result<rebalance::Plan, FlowError> {
        let an = &self.plan.access_node.name;
        let db = self
            .facts
            .as_ref()
            .and_then(|f| f.node(an))
            .and_then(|n| n.server.as_ref())
            .and_then(|s| s.database.as_ref())
            .filter(|d| d.timescaledb.is_some() && !d.data_nodes.is_empty())
            .ok_or_else(|| {
                FlowError::Failed(format!(
                    "{an} is not the access node of a running cluster in {} (or tsmn cannot read it)\n    fix: tsmn check --plan {} says why",
                    self.plan.database,
                    self.plan_path.display()
                ))
            })?;
        let unavailable: Vec<String> = db
            .members
            .iter()
            .filter(|m| m.unavailable)
            .map(|m| m.name.clone())
            .collect();
        rebalance::plan(db, &unavailable).map_err(|Refusal::SizesUnknown(chunks)| {
            // The data nodes that hold them: among them, the one that did
            // not answer.
            let mut holders: Vec<&str> = db
                .chunk_places
                .iter()
                .filter(|p| chunks.contains(&p.chunk))
                .flat_map(|p| p.data_nodes.iter().map(String::as_str))
                .collect();
            holders.sort_unstable();
            holders.dedup();
            let silent: Vec<&str> = self
                .facts
                .iter()
                .flat_map(|f| f.nodes.iter())
                .filter(|n| {
                    holders.contains(&n.name.as_str())
                        && !matches!(n.connection, crate::facts::Connection::Connected { .. })
                })
                .map(|n| n.name.as_str())
                .collect();
            if !silent.is_empty() {
                holders = silent;
            }
            FlowError::Failed(format!(
                "the sizes of {} chunk(s) could not be read (first: {}), held on {}: a data node did not answer\n    fix: tsmn check --plan {} names which and why; run again once every data node answers",
                chunks.len(),
                chunks.first().map_or("", String::as_str),
                holders.join(", "),
                self.plan_path.display()
            ))
        })
    }

    /// The steps of `self.rebalance`'s moves, with the certificate
    /// material (made when missing) that the links' files need.
    pub(super) fn rebalance_steps(&mut self) -> Result<Vec<Step>, FlowError> {
        self.material()?;
        self.rebalance_build(self.material.as_ref())
    }

    /// The same steps to show (`tsmn rebalance --check`): nothing is
    /// written, material not made yet shows as a placeholder.
    pub fn rebalance_steps_to_show(&mut self) -> Result<Vec<Step>, FlowError> {
        self.with_material_to_show(|f, m| f.rebalance_build(m))
    }

    fn rebalance_build(&self, material: Option<&Material>) -> Result<Vec<Step>, FlowError> {
        let r = self.rebalance.as_ref().ok_or_else(|| {
            FlowError::Usage("tsmn rebalance: no moves were chosen for this run".into())
        })?;
        let moves: Vec<Wanted> = r
            .plan
            .moves()
            .map(|m| Wanted {
                hypertable: m.hypertable.clone(),
                chunk: m.chunk.clone(),
                from: m.from.clone(),
                to: m.to.clone(),
                bytes: m.bytes,
            })
            .collect();
        let inputs = crate::steps::Inputs {
            facts: self.facts.as_ref(),
            material,
            ..Default::default()
        };
        Ok(crate::steps::rebalance::build(
            &self.plan, inputs, &moves, r.parallel,
        ))
    }

    /// Where the plan of a rebalance that has not finished is kept.
    pub fn rebalance_file(&self) -> PathBuf {
        crate::plan::state_dir(&self.plan_path).join("rebalance.json")
    }

    /// The plan of a rebalance that started and did not finish, if any.
    pub fn unfinished_rebalance(&self) -> Option<rebalance::Plan> {
        let text = std::fs::read_to_string(self.rebalance_file()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Kept before the first move; a run that ends well removes it.
    pub fn keep_rebalance(&self, p: &rebalance::Plan) -> Result<(), FlowError> {
        let path = self.rebalance_file();
        let fail = |e: std::io::Error| {
            FlowError::Failed(format!(
                "cannot keep the rebalance plan in {}: {e}",
                path.display()
            ))
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let text = serde_json::to_string_pretty(p).unwrap_or_default();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)
    }

    pub fn rebalance_finished(&self) {
        let _ = std::fs::remove_file(self.rebalance_file());
    }

    /// The rows of each distributed hypertable, counted by the servers
    /// (through the access node), on a session of its own.
    pub async fn hypertable_rows(
        &self,
        settings: &Settings,
    ) -> Result<Vec<(String, i64)>, FlowError> {
        let an = self.plan.access_node.clone();
        let tls = crate::probe::tls::Tls::from_plan(&self.plan).map_err(FlowError::Failed)?;
        let opts = settings.probe_options();
        let cfg = crate::probe::config(
            &an,
            &self.plan.superuser,
            &self.plan.database,
            &self.passwords,
            opts,
            &tls,
        );
        let client = crate::probe::connect(&cfg, &tls, opts, None)
            .await
            .map_err(|c| {
                FlowError::Failed(format!(
                    "counting rows on {}: {}",
                    an.name,
                    c.problem().unwrap_or_default()
                ))
            })?;
        let names = client
            .query(
                "SELECT format('%I.%I', hypertable_schema, hypertable_name) FROM timescaledb_information.hypertables WHERE is_distributed ORDER BY 1",
                &[],
            )
            .await
            .map_err(|e| FlowError::Failed(crate::run::session::describe(&e)))?;
        let mut out = Vec::new();
        for r in names {
            let name: String = r.get(0);
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {name}"), &[])
                .await
                .map_err(|e| FlowError::Failed(crate::run::session::describe(&e)))?
                .get(0);
            out.push((name, n));
        }
        Ok(out)
    }
}
