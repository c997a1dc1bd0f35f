//! The migrated database's own settings (`ALTER DATABASE ... SET`: the
//! rows of `pg_db_role_setting` with no role). pg_dump writes them only
//! with `--create`, which tsmn cannot use (the target's database may
//! already exist), so tsmn sets them itself, once the rows are verified:
//! they reach only sessions that start afterwards, and none can then
//! change how the run's own work behaves.
//!
//! Not carried, each named in the report: multi-node's own settings
//! (`guc::multinode_only`), and `default_transaction_read_only`, which is
//! how an online migration's freeze holds the source's writes
//! (`online.rs`): a run resumed in the freeze would read tsmn's own
//! freeze as the operator's setting and leave the target read-only.

use super::connect::{sql_error, Reach};
use super::guc::{multinode_only, value_sql};
use super::MigrateError;
use crate::quote::sql::ident;
use tokio_postgres::Client;

/// What the step did: settings set, and those left with why.
#[derive(Debug, Default)]
pub struct Carried {
    pub set: usize,
    pub left: Vec<String>,
}

/// PURE: the statements for the source's settings `(name, value)` on the
/// target's database `db`, and what is left with why. `frozen`: an online
/// run's freeze holds the source, so its `default_transaction_read_only`
/// is tsmn's own and left unsaid here (the report's freeze paragraph says
/// it): never suggested for the target.
pub fn plan(settings: &[(String, String)], db: &str, frozen: bool) -> (Vec<String>, Vec<String>) {
    let mut sql = Vec::new();
    let mut left = Vec::new();
    for (name, value) in settings {
        if multinode_only(name) {
            left.push(format!(
                "database setting {name} = {value} not set on the target (a multi-node setting; 2.14 does not know it)"
            ));
        } else if name.eq_ignore_ascii_case("default_transaction_read_only") {
            if frozen {
                continue;
            }
            left.push(format!(
                "database setting {name} = {value} not set on the target (an online migration's freeze sets it on the source; set it on the target by hand if you want it: ALTER DATABASE {} SET {name} = {value})",
                ident(db)
            ));
        } else {
            sql.push(format!(
                "ALTER DATABASE {} SET {} TO {}",
                ident(db),
                ident(name),
                value_sql(name, value)
            ));
        }
    }
    (sql, left)
}

/// Read the source database's settings on the access node and set them on
/// the target's database. A setting the target refuses (an extension's it
/// lacks, a value out of its range) is named and left; the rest are set.
pub async fn step(
    reach: &Reach,
    database: &str,
    target: &Client,
    shown: &str,
    frozen: bool,
    say: &(dyn Fn(&str) + Sync),
) -> Result<Carried, MigrateError> {
    let an = &reach.plan.access_node;
    let c = reach.node(an, database).await?;
    let settings: Vec<(String, String)> = c
        .query(
            "SELECT c.config FROM pg_catalog.pg_db_role_setting s \
             CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY c(config, i) \
             WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
             ORDER BY c.i",
            &[],
        )
        .await
        .map_err(|e| sql_error(&an.name, "reading the database's settings", &e))?
        .iter()
        .filter_map(|r| {
            let config: String = r.get(0);
            let (n, v) = config.split_once('=')?;
            Some((n.to_string(), v.to_string()))
        })
        .collect();
    let db: String = target
        .query_one("SELECT current_database()::text", &[])
        .await
        .map_err(|e| sql_error(shown, "reading the database's name", &e))?
        .get(0);
    let (statements, mut left) = plan(&settings, &db, frozen);
    let mut set = 0;
    for s in &statements {
        match target.batch_execute(s).await {
            Ok(()) => set += 1,
            Err(e) => left.push(format!(
                "{s}: refused by the target: {} (set it by hand once the cause is corrected)",
                crate::run::session::describe(&e)
            )),
        }
    }
    if !settings.is_empty() {
        say(&format!(
            "database settings: {set} set on the target as on the source, {} left",
            left.len()
        ));
    }
    Ok(Carried { set, left })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_set_but_multi_node_ones_and_the_freeze() {
        let s = |n: &str, v: &str| (n.to_string(), v.to_string());
        let (sql, left) = plan(
            &[
                s("search_path", "\"App Data\", public"),
                s("timescaledb.remote_data_fetcher", "auto"),
                s("default_transaction_read_only", "on"),
                s("statement_timeout", "10min"),
            ],
            "single",
            false,
        );
        assert_eq!(
            sql,
            [
                "ALTER DATABASE \"single\" SET \"search_path\" TO 'App Data', 'public'",
                "ALTER DATABASE \"single\" SET \"statement_timeout\" TO '10min'",
            ]
        );
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(left[0].contains("timescaledb.remote_data_fetcher"));
        assert!(left[1].contains("freeze"));
        // In an online run's freeze it is tsmn's own: not left, not suggested.
        let (_, frozen) = plan(&[s("default_transaction_read_only", "on")], "single", true);
        assert!(frozen.is_empty(), "{frozen:?}");
    }
}
