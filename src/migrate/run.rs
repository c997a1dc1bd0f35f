//! ASYNC: the migration's order: preflight, the target's database and
//! extension, pre-data with the hypertables, the rows (all data nodes at
//! once), post-data, compression, sequences, ANALYZE, verification. Each
//! part is recorded on the target and in the journal, so a re-run skips it.

use super::connect::{sql_error, Reach, TargetAddr};
use super::copy::{compress, copy_node};
use super::preflight::{self, Preflight};
use super::rows;
use super::schema::{self, SpaceDimension};
use super::source::{self, Source};
use super::verify::Compared;
use super::{caggs, jobs, journal, resume, MigrateError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

mod freeze;
mod restore;

pub struct MigrateOptions {
    pub plan_path: PathBuf,
    pub target: TargetAddr,
    pub space: SpaceDimension,
    /// Copy the roles' stored password verifiers too (`--with-role-passwords`).
    pub with_role_passwords: bool,
    /// `--online`: copy while the applications write, then freeze the
    /// writes for the rest.
    pub online: Option<Online>,
}

/// How an online migration asks before it freezes the writes.
pub struct Online {
    /// Asked with what the freeze will do: true to go on.
    pub ask: Box<dyn Fn(&str) -> bool + Send + Sync>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct MigrateReport {
    pub parts_copied: usize,
    pub parts_already_done: usize,
    pub rows_copied: u64,
    pub copy_seconds: f64,
    pub verify_seconds: f64,
    pub total_seconds: f64,
    /// Each phase of the run with its seconds, in the order they ran
    /// (where a run's time goes: the benchmark prints them).
    pub phases: Vec<(String, f64)>,
    pub verified: Vec<Compared>,
    /// What the migration could not carry or found odd on the source
    /// (replicas that differ), each with what to do.
    pub warnings: Vec<String>,
    pub not_recreated: Vec<String>,
    /// Each job scheduled on the target, with when it first runs there
    /// (its source job's next start).
    pub jobs_started: Vec<String>,
    /// The database's own settings (`ALTER DATABASE ... SET`) set on the
    /// target as on the source.
    pub database_settings: usize,
    pub roles: super::roles::Moved,
    /// Parts copied again after a verification mismatch.
    pub recopied: Vec<super::recopy::Recopied>,
    pub journal: String,
    /// Online: how long the writes have been frozen, at the end.
    pub freeze_seconds: Option<f64>,
    /// Online: the parts copied in the freeze, and of them the ones copied
    /// again because they changed after their first copy.
    pub parts_in_freeze: usize,
    pub changed_in_freeze: usize,
}

/// Whether the journal says this migration finished and was verified.
pub fn already_done(o: &MigrateOptions) -> bool {
    let path = journal::path_for(&o.plan_path, &o.target);
    std::fs::read_to_string(path).is_ok_and(|t| journal::finished(&t))
}

/// Give the migration up: an online migration's freeze lifted, recorded in
/// the journal. The target keeps what was copied (and its record).
pub async fn abandon(reach: &Reach, o: &MigrateOptions) -> Result<(), MigrateError> {
    super::online::lift(reach, &reach.plan.database).await?;
    let path = journal::path_for(&o.plan_path, &o.target);
    journal::record(&path, serde_json::json!({ "run": "abandoned" }));
    Ok(())
}

/// Read both sides and say what blocks the migration. Read-only.
pub async fn preflight(reach: &Reach, o: &MigrateOptions) -> Result<Preflight, MigrateError> {
    let (mut s, c) = match source::read(reach).await {
        Ok(x) => x,
        Err(e) => return Err(reach.explain_unreadable(e).await),
    };
    let an = &reach.plan.access_node.name;
    super::catalog::extras(&c, &mut s).await.map_err(|e| {
        super::connect::sql_error(an, "reading the aggregates, jobs and sequences", &e)
    })?;
    let roles = super::roles::preflight_note(reach, &c, &o.target, o.with_role_passwords).await?;
    let (views, types) = super::catalog::restored_names(&c).await.map_err(|e| {
        super::connect::sql_error(an, "reading the views and types the restore creates", &e)
    })?;
    drop(c);
    let plan_nodes: Vec<String> = reach
        .plan
        .data_nodes
        .iter()
        .map(|n| n.name.clone())
        .collect();
    let reads = s.data_nodes.iter().filter_map(|dn| {
        let node = reach.plan.data_nodes.iter().find(|n| n.name == dn.name)?;
        Some(async move {
            let got = match reach.node(node, &dn.database).await {
                Ok(c) => source::node_chunks(&c, &dn.name).await.map(|_| ()),
                Err(e) => Err(e),
            };
            got.err().map(|e| (dn.name.clone(), e.to_string()))
        })
    });
    let unreachable: Vec<(String, String)> = futures_util::future::join_all(reads)
        .await
        .into_iter()
        .flatten()
        .collect();
    let mut names: Vec<String> = s.hypertables.iter().map(|h| h.name.sql()).collect();
    names.extend(s.tables.iter().map(|t| t.name.sql()));
    names.extend(s.sequences.iter().map(|(n, _)| n.sql()));
    names.extend(views);
    let t = super::target::read(reach, &o.target, &names, &types).await?;
    let mut pf = preflight::assess(&o.target.shown(), s, t, &unreachable, &plan_nodes);
    pf.notes.push(roles);
    Ok(pf)
}

/// The migration, after a preflight without blockers.
pub async fn migrate(
    reach: &Reach,
    o: &MigrateOptions,
    pf: &Preflight,
    say: &(dyn Fn(&str) + Sync),
) -> Result<MigrateReport, MigrateError> {
    let started = Instant::now();
    let path = journal::path_for(&o.plan_path, &o.target);
    let dir = crate::plan::state_dir(&o.plan_path);
    crate::steps::material::private_dir(&dir).map_err(|e| MigrateError::Failed(e.to_string()))?;
    journal::record(
        &path,
        serde_json::json!({ "run": "started", "target": o.target.shown() }),
    );
    let mut result = steps(reach, o, pf, say, &path, &dir, started).await;
    let _ = std::fs::remove_file(dir.join("migrate.pgpass"));
    match &mut result {
        Ok(report) => resume::finish(reach, &o.target, &path, &mut report.warnings).await,
        Err(e) => journal::record(
            &path,
            serde_json::json!({ "run": "finished", "ok": false, "error": e.to_string() }),
        ),
    }
    result
}

/// What every phase of a run works with.
struct Run<'a> {
    reach: &'a Reach,
    o: &'a MigrateOptions,
    s: &'a Source,
    say: &'a (dyn Fn(&str) + Sync),
    path: &'a Path,
    dir: &'a Path,
    shown: String,
}

async fn steps(
    reach: &Reach,
    o: &MigrateOptions,
    pf: &Preflight,
    say: &(dyn Fn(&str) + Sync),
    path: &Path,
    dir: &Path,
    started: Instant,
) -> Result<MigrateReport, MigrateError> {
    let r = Run {
        reach,
        o,
        s: &pf.source,
        say,
        path,
        dir,
        shown: o.target.shown(),
    };
    let mut report = MigrateReport {
        journal: path.display().to_string(),
        ..MigrateReport::default()
    };
    let mut clock = Instant::now();
    let mut lap = |report: &mut MigrateReport, name: &str| {
        report
            .phases
            .push((name.to_string(), clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };
    let (mut target, ext_schema, done) = r.prepare_target(pf.target_facts.database_exists).await?;
    report.roles = super::roles::step(
        reach,
        &r.s.database,
        &mut target,
        &r.shown,
        path,
        o.with_role_passwords,
        say,
    )
    .await?;
    lap(&mut report, "target and roles");
    let (bindir, an_env, t_env) = r.tools()?;
    let dumped = r.schema(&bindir, &an_env, &t_env, &ext_schema, &done)?;
    lap(&mut report, "schema (pre-data)");
    let restore_post = |done: &BTreeSet<String>| r.post_data(&bindir, &t_env, &dumped.post, done);
    let frozen;
    let (r, done) = match &o.online {
        None => {
            r.copy(&done, &mut report, &BTreeSet::new()).await?;
            lap(&mut report, "copy");
            restore_post(&done)?;
            lap(&mut report, "post-data");
            (r, done)
        }
        Some(online) => {
            frozen = r
                .online(online, &mut target, done, &mut report, &restore_post)
                .await?;
            let r = Run { s: &frozen.0, ..r };
            let before = report.parts_copied;
            r.copy(&frozen.1, &mut report, &BTreeSet::new()).await?;
            report.parts_in_freeze = report.parts_copied - before;
            lap(&mut report, "online copy and freeze");
            (r, frozen.1.clone())
        }
    };
    compress(&mut target, r.s, &done, path, &r.shown, say).await?;
    lap(&mut report, "compression");
    caggs::migrate(reach, r.s, &mut target, &done, &r.shown, say).await?;
    caggs::compress::compress(&mut target, r.s, &done, path, &r.shown, say).await?;
    lap(&mut report, "continuous aggregates");
    r.late_schema(&bindir, &t_env, &dumped.late, &done)?;
    report.not_recreated = jobs::recreate(r.s, &mut target, &done, &r.shown, say).await?;
    lap(&mut report, "late schema and jobs");
    r.sequences(&target).await?;
    lap(&mut report, "sequences");
    // ANALYZE only reads the rows and writes statistics: it runs beside
    // the verification (its own session), and neither waits for the other.
    let verify_started = Instant::now();
    let (analyzed, verified) = tokio::join!(
        r.analyze(),
        super::verify::verified(reach, r.s, &o.target, &target, &r.shown, say)
    );
    analyzed?;
    let (verified, warnings, recopied) = verified?;
    report.verified = verified;
    report.warnings = warnings;
    report.recopied = recopied;
    report.verify_seconds = verify_started.elapsed().as_secs_f64();
    if o.online.is_some() {
        r.unchanged_in_freeze(&target, &mut report).await?;
    }
    lap(&mut report, "verification and ANALYZE");
    report.jobs_started = jobs::schedule(reach, r.s, &target, &r.shown).await?;
    let frozen = o.online.is_some();
    r.settings(reach, &target, frozen, &mut report, say).await?;
    target
        .batch_execute(&resume::verified_sql())
        .await
        .map_err(|e| sql_error(&r.shown, "recording the migration as verified", &e))?;
    lap(&mut report, "jobs scheduled and settings");
    report.total_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

impl Run<'_> {
    /// The database's settings set on the target, and what was left warned.
    async fn settings(
        &self,
        reach: &Reach,
        target: &tokio_postgres::Client,
        frozen: bool,
        report: &mut MigrateReport,
        say: &(dyn Fn(&str) + Sync),
    ) -> Result<(), MigrateError> {
        let db = &self.s.database;
        let carried = super::db_settings::step(reach, db, target, &self.shown, frozen, say).await?;
        report.database_settings = carried.set;
        report.warnings.extend(report.roles.settings_left.clone());
        report.warnings.extend(report.roles.not_changed.clone());
        report.warnings.extend(carried.left);
        Ok(())
    }

    /// The target's database (made when missing) and extension; the
    /// extension's schema; the parts the target has recorded as done.
    async fn prepare_target(
        &self,
        exists: bool,
    ) -> Result<(tokio_postgres::Client, String, BTreeSet<String>), MigrateError> {
        let t = &self.o.target;
        if !exists {
            let c = self.reach.target(t, "postgres").await?;
            c.batch_execute(&format!(
                "CREATE DATABASE {}",
                crate::quote::sql::ident(&t.database)
            ))
            .await
            .map_err(|e| sql_error(&self.shown, "creating the database", &e))?;
            (self.say)(&format!(
                "created the database {} on the target",
                t.database
            ));
        }
        let target = self.reach.target(t, &t.database).await?;
        target
            .batch_execute(super::online::COUNTERS_SQL)
            .await
            .map_err(|e| sql_error(&self.shown, "creating tsmn's record", &e))?;
        target
            .batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            .await
            .map_err(|e| sql_error(&self.shown, "creating the timescaledb extension", &e))?;
        let ext_schema: String = target
            .query_one(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'timescaledb'",
                &[],
            )
            .await
            .map_err(|e| sql_error(&self.shown, "reading the extension's schema", &e))?
            .get(0);
        resume::wait_for_earlier_run(&target, &self.shown, self.say).await?;
        let done = journal::done_items(&target)
            .await
            .map_err(|e| sql_error(&self.shown, "reading tsmn's record", &e))?;
        Ok((target, ext_schema, done))
    }

    /// The PostgreSQL programs' directory, and the environment of the tools
    /// for the access node and the target (a password only in a 0600 passfile).
    fn tools(&self) -> Result<(PathBuf, schema::ToolEnv, schema::ToolEnv), MigrateError> {
        let (reach, s, t) = (self.reach, self.s, &self.o.target);
        let an = &reach.plan.access_node;
        let an_host = an.effective_connect_host().to_string();
        let an_port = u16::try_from(an.effective_connect_port()).unwrap_or(5432);
        let su = &reach.plan.superuser;
        let mut lines = Vec::new();
        if let Some(pw) = reach
            .passwords
            .password_for(&an_host, an_port, &s.database, su)
        {
            lines.push((an_host.clone(), an_port, s.database.clone(), su.clone(), pw));
        }
        if let Some(pw) = reach
            .passwords
            .password_for(&t.host, t.port, &t.database, &t.user)
        {
            lines.push((
                t.host.clone(),
                t.port,
                t.database.clone(),
                t.user.clone(),
                pw,
            ));
        }
        let passfile = schema::write_passfile(self.dir, &lines)?;
        let sslmode = reach.tls.mode().as_str();
        let an_env = schema::tool_env(
            &an_host,
            an_port,
            &s.database,
            su,
            passfile.as_deref(),
            sslmode,
        );
        let t_env = schema::tool_env(
            &t.host,
            t.port,
            &t.database,
            &t.user,
            passfile.as_deref(),
            sslmode,
        );
        let bindir = crate::sandbox::PgBin::find(None)
            .map_err(|e| MigrateError::Failed(format!("{e}\n    fix: install the PostgreSQL client programs (pg_dump, pg_restore, psql)")))?
            .bindir;
        Ok((bindir, an_env, t_env))
    }

    /// The rows: every part not done yet (and not held back), every node at once.
    async fn copy(
        &self,
        done: &BTreeSet<String>,
        report: &mut MigrateReport,
        held: &BTreeSet<String>,
    ) -> Result<(), MigrateError> {
        let s = self.s;
        let copy_started = Instant::now();
        let mut todo = rows::parts(s, &self.reach.plan.access_node.name, done);
        let pending: usize = todo.values().map(Vec::len).sum();
        report.parts_already_done = (s.chunks.len() + s.tables.len()).saturating_sub(pending);
        for parts in todo.values_mut() {
            parts.retain(|p| !held.contains(&p.id));
        }
        todo.retain(|_, parts| !parts.is_empty());
        let pending: usize = todo.values().map(Vec::len).sum();
        if report.parts_already_done > 0 {
            (self.say)(&format!(
                "{} part(s) already copied by an earlier run: skipped",
                report.parts_already_done
            ));
        }
        (self.say)(&format!(
            "copying {pending} part(s) from {} node(s) at once",
            todo.len()
        ));
        let counter = AtomicUsize::new(0);
        let rows_total = AtomicU64::new(0);
        let copies = todo.iter().map(|(node, parts)| {
            copy_node(
                self.reach,
                s,
                &self.o.target,
                node,
                parts,
                self.path,
                self.say,
                &counter,
                &rows_total,
            )
        });
        let errors: Vec<String> = futures_util::future::join_all(copies)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        report.parts_copied += counter.load(Ordering::SeqCst);
        report.rows_copied += rows_total.load(Ordering::SeqCst);
        report.copy_seconds += copy_started.elapsed().as_secs_f64();
        if errors.is_empty() {
            return Ok(());
        }
        Err(MigrateError::Failed(format!(
            "the copy stopped:\n  {}\n    fix: correct the cause and run tsmn migrate again: the {} part(s) copied are recorded and are not copied twice",
            errors.join("\n  "),
            counter.load(Ordering::SeqCst) + report.parts_already_done
        )))
    }

    /// Sequences set to the source's values.
    async fn sequences(&self, target: &tokio_postgres::Client) -> Result<(), MigrateError> {
        let mut seq = String::from("BEGIN;\n");
        for (name, last) in &self.s.sequences {
            if let Some(v) = last {
                seq.push_str(&format!(
                    "SELECT pg_catalog.setval({}, {v}, true);\n",
                    crate::quote::sql::literal(&name.sql())
                ));
            }
        }
        seq.push_str("COMMIT;\n");
        target
            .batch_execute(&seq)
            .await
            .map_err(|e| sql_error(&self.shown, "setting the sequences", &e))?;
        (self.say)(&format!(
            "{} sequence(s) set to the source's values",
            self.s.sequences.len()
        ));
        Ok(())
    }

    /// ANALYZE of what the migration filled (the hypertables, whose chunks
    /// the engine analyzes with them, the tables and the aggregates'
    /// materialization hypertables), not the whole database: the catalogs
    /// and tsmn's record need none. In its own session.
    async fn analyze(&self) -> Result<(), MigrateError> {
        let t = &self.o.target;
        let c = self.reach.target(t, &t.database).await?;
        let mut names: Vec<String> = self.s.hypertables.iter().map(|h| h.name.sql()).collect();
        names.extend(self.s.tables.iter().map(|t| t.name.sql()));
        for a in &self.s.caggs {
            if let Some((mat, _, _)) = super::caggs::target_mat(&c, &a.name)
                .await
                .map_err(|e| sql_error(&self.shown, "finding the aggregates", &e))?
            {
                names.push(mat.sql());
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        c.batch_execute(&format!("ANALYZE {}", names.join(", ")))
            .await
            .map_err(|e| sql_error(&self.shown, "analyzing", &e))?;
        (self.say)(&format!("ANALYZE done ({} relation(s))", names.len()));
        Ok(())
    }
}
