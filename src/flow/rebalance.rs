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
        let facts = self.facts.as_ref();
        // The access node's catalog, each copy's bytes as its data node
        // read them (probe::Reads::Placement) or the engine did.
        let placed = facts.and_then(|f| crate::probe::placed(f, an));
        let db = placed
            .as_ref()
            .filter(|d| d.timescaledb.is_some() && !d.data_nodes.is_empty())
            .ok_or_else(|| {
                let why = facts
                    .and_then(|f| f.node(an))
                    .and_then(|n| n.connection.problem())
                    .map_or_else(String::new, |p| format!(": tsmn cannot connect ({p})"));
                FlowError::Failed(format!(
                    "{an} is not the access node of a running cluster in {} (or tsmn cannot read it){why}\n    fix: tsmn check --plan {} says why",
                    self.plan.database,
                    self.plan_path.display()
                ))
            })?;
        self.outside_the_plan(db)?;
        self.silent_data_nodes(db)?;
        let unavailable: Vec<String> = db
            .members
            .iter()
            .filter(|m| m.unavailable)
            .map(|m| m.name.clone())
            .collect();
        rebalance::plan(db, &unavailable).map_err(|Refusal::SizesUnknown(chunks)| {
            // Every data node answered (silent_data_nodes): the data nodes
            // that hold them did not give their sizes.
            let mut holders: Vec<&str> = db
                .chunk_places
                .iter()
                .filter(|p| chunks.contains(&p.chunk))
                .flat_map(|p| p.data_nodes.iter().map(String::as_str))
                .collect();
            holders.sort_unstable();
            holders.dedup();
            FlowError::Failed(format!(
                "the sizes of {} chunk(s) could not be read (first: {}), held on {}\n    fix: tsmn check --plan {} says what stands in the way; run again once every data node answers",
                chunks.len(),
                chunks.first().map_or("", String::as_str),
                holders.join(", "),
                self.plan_path.display()
            ))
        })
    }

    /// A data node attached to the cluster (available) that the plan does
    /// not list: tsmn cannot reach it to size its chunks, give it the
    /// settings or links of a move, or prove them, so a plan with it would
    /// move chunks to a node no run can take part in.
    fn outside_the_plan(&self, db: &crate::facts::DatabaseFacts) -> Result<(), FlowError> {
        let outside: Vec<&str> = db
            .members
            .iter()
            .filter(|m| !m.unavailable && !self.plan.data_nodes.iter().any(|d| d.name == m.name))
            .map(|m| m.name.as_str())
            .collect();
        if outside.is_empty() {
            return Ok(());
        }
        Err(FlowError::Failed(format!(
            "{} {} attached to the cluster on {} but not in the plan: tsmn cannot reach it to size its chunks or take part in a move
    fix: add it to the plan's [[data_nodes]] (tsmn discover --access-node <the access node> --out FILE writes every member's entry), or take it out of the cluster: tsmn apply --plan {} --remove-data-nodes --drain (its chunks moved first)",
            outside.join(", "),
            if outside.len() == 1 { "is a data node" } else { "are data nodes" },
            self.plan.access_node.name,
            self.plan_path.display()
        )))
    }

    /// A data node of the cluster (in the plan, available) that tsmn
    /// could not reach: named with why, whether or not it holds chunks
    /// (it would be a destination). Its sizes are unknown, and a move to or
    /// from it could not run.
    fn silent_data_nodes(&self, db: &crate::facts::DatabaseFacts) -> Result<(), FlowError> {
        let silent: Vec<String> = self
            .facts
            .iter()
            .flat_map(|f| f.nodes.iter())
            .filter(|n| n.name != self.plan.access_node.name)
            .filter(|n| {
                db.members
                    .iter()
                    .any(|m| m.name == n.name && !m.unavailable)
            })
            .filter_map(|n| Some(format!("{} ({})", n.name, n.connection.problem()?)))
            .collect();
        if silent.is_empty() {
            return Ok(());
        }
        Err(FlowError::Failed(format!(
            "data node(s) of the cluster did not answer: {}; no plan is made without them (what they hold, or whether they can take chunks, is unknown) and no move to or from them could run\n    fix: tsmn check --plan {} says why; run again once every data node answers, or mark one that stays down unavailable on the access node (SELECT alter_data_node('<name>', available => false)): the plan then leaves it out",
            silent.join(", "),
            self.plan_path.display()
        )))
    }

    /// Before a run moves: the access node and every data node a move
    /// touches probed for their own facts (settings, sessions kept for
    /// the run: `watch.keep`), and the links between data nodes that the
    /// moves use proven as the engine's copy makes them (probe/peers.rs;
    /// steps::rebalance refuses a move over one that is not). The other
    /// data nodes are not asked again: the plan's reads (Reads::Placement)
    /// stay in the facts.
    pub async fn probe_for_moves(
        &mut self,
        planned: &rebalance::Plan,
        settings: &Settings,
        ask: &dyn super::Ask,
        watch: super::Watch,
    ) -> Result<(), FlowError> {
        let mut names = vec![self.plan.access_node.name.clone()];
        let mut pairs: Vec<(String, String)> = Vec::new();
        for m in planned.moves() {
            for n in [&m.from, &m.to] {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            let pair = (m.to.clone(), m.from.clone());
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
        let placed = self.facts.clone();
        let watch = super::Watch {
            reads: crate::probe::Reads::Server,
            ..watch
        };
        self.probe(&names, settings, ask, watch).await?;
        // The cluster database as the plan read it (catalog, sizes).
        if let (Some(f), Some(old)) = (self.facts.as_mut(), placed) {
            for n in f.nodes.iter_mut().filter(|n| names.contains(&n.name)) {
                let was = old.node(&n.name).and_then(|o| o.server.as_ref());
                if let (Some(s), Some(db)) =
                    (n.server.as_mut(), was.and_then(|w| w.database.clone()))
                {
                    s.database = Some(db);
                }
            }
        }
        if self.plan.auth.data_node_links == Some(false) {
            return Ok(());
        }
        if let Some(f) = self.facts.as_mut() {
            crate::probe::peers::probe_pairs(
                &self.plan,
                &self.passwords,
                settings.probe_options(),
                f,
                Some(&pairs),
            )
            .await;
        }
        Ok(())
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
        let client = self
            .session(&self.plan.access_node, settings, "counting rows")
            .await?;
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

    /// A session of tsmn's in the cluster database of `node`, for `what`
    /// (said in the error when tsmn cannot connect).
    async fn session(
        &self,
        node: &crate::plan::Node,
        settings: &Settings,
        what: &str,
    ) -> Result<tokio_postgres::Client, FlowError> {
        let tls = crate::probe::tls::Tls::from_plan(&self.plan).map_err(FlowError::Failed)?;
        let opts = settings.probe_options();
        let cfg = crate::probe::config(
            node,
            &self.plan.superuser,
            &self.plan.database,
            &self.passwords,
            opts,
            &tls,
        );
        crate::probe::connect(&cfg, &tls, opts, None)
            .await
            .map_err(|c| {
                FlowError::Failed(format!(
                    "{what} on {}: {}",
                    node.name,
                    c.problem().unwrap_or_default()
                ))
            })
    }

    /// Before anything changes: each move's destination has the
    /// compression settings of a hypertable that compresses on the access
    /// node (drift::compression_gap; rebalance's narrow reads leave them
    /// out, so they are read here, on the access node and, only when one
    /// of the moves' hypertables compresses, on the moves' destinations).
    pub async fn compression_gaps(
        &self,
        planned: &rebalance::Plan,
        settings: &Settings,
    ) -> Result<(), FlowError> {
        let what = "reading the compression settings";
        let read = |c: tokio_postgres::Client, access: bool| async move {
            crate::probe::drift::compression(&c, access)
                .await
                .map_err(|e| {
                    FlowError::Failed(format!("{what}: {}", crate::run::session::describe(&e)))
                })
        };
        let an = self.session(&self.plan.access_node, settings, what).await?;
        // The moves name their hypertable as the catalog quotes it
        // (format('%I.%I')): the access node says which that is.
        let names: Vec<(String, String, String)> = an
            .query(
                "SELECT format('%I.%I', hypertable_schema, hypertable_name), hypertable_schema::text, hypertable_name::text \
                 FROM timescaledb_information.hypertables WHERE is_distributed",
                &[],
            )
            .await
            .map_err(|e| FlowError::Failed(format!("{what}: {}", crate::run::session::describe(&e))))?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        let access = read(an, true).await?;
        let quoted = |h: &crate::drift::HypertableSettings| {
            names
                .iter()
                .find(|(_, s, t)| *s == h.schema && *t == h.table)
                .map(|(q, _, _)| q.as_str())
        };
        let mut pairs: Vec<(&crate::drift::HypertableSettings, &str)> = Vec::new();
        for m in planned.moves() {
            if let Some(h) = access
                .iter()
                .find(|h| h.compression_enabled && quoted(h) == Some(m.hypertable.as_str()))
            {
                if !pairs.iter().any(|(p, d)| std::ptr::eq(*p, h) && *d == m.to) {
                    pairs.push((h, m.to.as_str()));
                }
            }
        }
        let mut gaps = Vec::new();
        let mut read_on: Vec<(&str, Vec<crate::drift::HypertableSettings>)> = Vec::new();
        for (h, dn) in pairs {
            if !read_on.iter().any(|(n, _)| *n == dn) {
                let node = self
                    .plan
                    .data_nodes
                    .iter()
                    .find(|d| d.name == dn)
                    .ok_or_else(|| FlowError::Failed(format!("{dn} is not in the plan")))?;
                let c = self.session(node, settings, what).await?;
                read_on.push((dn, read(c, false).await?));
            }
            let theirs = read_on.iter().find(|(n, _)| *n == dn).map(|(_, t)| t);
            let here = theirs.and_then(|t| {
                t.iter()
                    .find(|x| x.schema == h.schema && x.table == h.table)
            });
            gaps.extend(crate::drift::compression_gap(h, dn, here));
        }
        match gaps.is_empty() {
            true => Ok(()),
            false => Err(FlowError::Failed(format!(
                "nothing was changed: {}\n    then run tsmn rebalance --plan {} again",
                gaps.join("\n"),
                self.plan_path.display()
            ))),
        }
    }
}
