//! The run's schema parts, each restored by psql in one transaction with
//! tsmn's record of it, so a re-run skips it: pre-data with the
//! hypertables before the rows, post-data after them, and what needs the
//! continuous aggregates (`toc`) once they are created.

use super::super::schema::{self, Dumped};
use super::super::{journal, resume, MigrateError};
use super::Run;
use std::collections::BTreeSet;
use std::path::Path;

/// The parts of the schema the record names when restored.
const PARTS: [&str; 3] = ["schema", "post-data", "late schema"];

/// How many psql sessions build post-data's indexes at once.
const INDEX_SESSIONS: usize = 2;

impl Run<'_> {
    /// Pre-data and the hypertables, unless done; the rest of the schema's
    /// SQL for later (empty when every part is done).
    pub(super) fn schema(
        &self,
        bindir: &Path,
        an_env: &schema::ToolEnv,
        t_env: &schema::ToolEnv,
        ext_schema: &str,
        done: &BTreeSet<String>,
    ) -> Result<Dumped, MigrateError> {
        if PARTS.iter().all(|p| done.contains(*p)) {
            return Ok(Dumped::default());
        }
        let s = self.s;
        (self.say)(
            "dumping the access node's schema (pg_dump --section=pre-data --section=post-data)",
        );
        let dumped = schema::dump(bindir, an_env, self.dir, s, &self.reach.plan.access_node)?;
        if done.contains("schema") {
            return Ok(dumped);
        }
        let mut script = resume::restore_lock_sql();
        script.push_str(&dumped.pre);
        script.push('\n');
        script.push_str(&format!(
            "SELECT pg_catalog.set_config('search_path', {}, false);\n",
            crate::quote::sql::literal(&format!(
                "{}, pg_catalog",
                crate::quote::sql::ident(ext_schema)
            ))
        ));
        script.push_str(journal::SETUP_SQL);
        for h in &s.hypertables {
            script.push_str(&schema::hypertable_sql(h, self.o.space));
            script.push('\n');
        }
        script.push_str(&journal::mark_sql("source", None, Some(&s.identity)));
        script.push_str(";\n");
        script.push_str(&journal::mark_sql("schema", None, None));
        script.push_str(";\n");
        schema::restore(
            bindir,
            t_env,
            &script,
            self.dir,
            "schema (pre-data) and hypertables",
            &self.o.target,
        )?;
        journal::record(self.path, serde_json::json!({ "done": "schema" }));
        (self.say)(&format!(
            "schema restored; {} hypertable(s) created",
            s.hypertables.len()
        ));
        Ok(dumped)
    }

    /// Post-data (indexes, constraints, triggers), unless done. Its index
    /// builds, most of its time, run in `INDEX_SESSIONS` psql sessions side
    /// by side (an index of a hypertable is built chunk after chunk in one
    /// session: two indexes use two cores), each group in one transaction
    /// with its record; then the rest (constraints, whose foreign keys may
    /// need another table's unique constraint, triggers, comments) in one
    /// transaction recorded as post-data, as pg_restore -j orders them.
    pub(super) fn post_data(
        &self,
        bindir: &Path,
        t_env: &schema::ToolEnv,
        post: &str,
        done: &BTreeSet<String>,
    ) -> Result<(), MigrateError> {
        let (header, indexes, rest) = super::super::toc::split_indexes(post);
        if indexes.len() < 2 || done.contains("post-data") {
            return self
                .restore_part(
                    bindir,
                    t_env,
                    post,
                    done,
                    ("post-data", "post-data (indexes, constraints, triggers)"),
                )
                .map(|_| ());
        }
        let mut groups = vec![String::new(); INDEX_SESSIONS.min(indexes.len())];
        let n = groups.len();
        for (i, entry) in indexes.iter().enumerate() {
            groups[i % n].push_str(entry);
        }
        let results: Vec<Result<(), MigrateError>> = std::thread::scope(|scope| {
            let running: Vec<_> = groups
                .iter()
                .enumerate()
                .map(|(i, sql)| {
                    let item = format!("post-data indexes {}/{n}", i + 1);
                    let script = format!("{header}{sql}");
                    scope.spawn(move || {
                        if done.contains(&item) {
                            return Ok(());
                        }
                        let mut full = resume::restore_lock_shared_sql();
                        full.push_str(&script);
                        full.push('\n');
                        full.push_str(&journal::mark_sql(&item, None, None));
                        full.push_str(";\n");
                        let file = self
                            .dir
                            .join(format!("migrate-restore-indexes-{}.sql", i + 1));
                        schema::restore_as(bindir, t_env, &full, &file, &item, &self.o.target)?;
                        journal::record(self.path, serde_json::json!({ "done": item }));
                        Ok(())
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(MigrateError::Failed(
                            "a post-data index restore panicked".into(),
                        ))
                    })
                })
                .collect()
        });
        for r in results {
            r?;
        }
        (self.say)(&format!(
            "post-data: {} index(es) built in {n} session(s) at once",
            indexes.len()
        ));
        self.restore_part(
            bindir,
            t_env,
            &format!("{header}{rest}"),
            done,
            ("post-data", "post-data (constraints, triggers)"),
        )
        .map(|_| ())
    }

    /// What needs the continuous aggregates (views over them and the
    /// like, with their grants), and the materialized views' refresh,
    /// unless done: after the aggregates are created.
    pub(super) fn late_schema(
        &self,
        bindir: &Path,
        t_env: &schema::ToolEnv,
        late: &str,
        done: &BTreeSet<String>,
    ) -> Result<(), MigrateError> {
        let restored = self.restore_part(
            bindir,
            t_env,
            late,
            done,
            (
                "late schema",
                "objects over the continuous aggregates and the materialized views' refresh",
            ),
        )?;
        if restored && !self.s.cagg_dependents.is_empty() {
            let names: BTreeSet<String> = self
                .s
                .cagg_dependents
                .iter()
                .filter(|d| !d.kind.contains("trigger") && !d.kind.contains("rule"))
                .map(|d| d.shown())
                .collect();
            (self.say)(&format!(
                "restored after the continuous aggregates: {}",
                names.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok(())
    }

    /// `sql` restored in one transaction recorded as `item`, unless done:
    /// whether it was restored now.
    fn restore_part(
        &self,
        bindir: &Path,
        t_env: &schema::ToolEnv,
        sql: &str,
        done: &BTreeSet<String>,
        (item, what): (&str, &str),
    ) -> Result<bool, MigrateError> {
        if done.contains(item) {
            return Ok(false);
        }
        let mut script = resume::restore_lock_sql();
        script.push_str(sql);
        script.push('\n');
        script.push_str(&journal::mark_sql(item, None, None));
        script.push_str(";\n");
        schema::restore(bindir, t_env, &script, self.dir, what, &self.o.target)?;
        journal::record(self.path, serde_json::json!({ "done": item }));
        (self.say)(&format!("{what} restored"));
        Ok(true)
    }
}
