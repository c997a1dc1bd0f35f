//! Verification by the servers: per hypertable, per table and per
//! continuous aggregate, the row count and an order-independent checksum
//! (a sum of each row's hash, its columns named: `tally`)
//! computed on the source and on the target, in sessions with the same
//! settings. Distributed hypertables are counted on the data nodes, chunk
//! by chunk (`replicas`); local hypertables, tables and the aggregates'
//! materialized rows on the access node.

use super::connect::{sql_error, Reach};
use super::recopy::{self, Recopied};
use super::source::Source;
pub use super::tally::{tally, tally_sql, Tally};
use super::{caggs, journal, replicas, MigrateError, QualifiedName};
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Compared {
    pub table: String,
    pub kind: &'static str,
    pub source: Tally,
    pub target: Tally,
}

impl Compared {
    pub fn equal(&self) -> bool {
        self.source == self.target
    }
}

/// Every hypertable, table and aggregate compared; with the warnings
/// (replicas that differ) and the parts copied again after a mismatch
/// (`recopy`: hypertables range by range, tables and aggregates' rows
/// whole, before their figures here).
pub async fn verify_all(
    reach: &Reach,
    s: &Source,
    t: &super::connect::TargetAddr,
    target: &Client,
    shown: &str,
) -> Result<(Vec<Compared>, Vec<String>, Vec<Recopied>), MigrateError> {
    let an_name = &reach.plan.access_node.name;
    let an = reach.node(&reach.plan.access_node, &s.database).await?;
    an.batch_execute("SET default_transaction_read_only = on")
        .await
        .map_err(|e| sql_error(an_name, "making the session read-only", &e))?;
    let copied = journal::done_notes(target)
        .await
        .map_err(|e| sql_error(shown, "reading tsmn's record", &e))?;
    let cx = recopy::Ctx {
        reach,
        s,
        t,
        target,
        an: &an,
        shown,
    };
    // The data nodes count their chunks while the target counts its
    // ranges: neither needs the other's figures until they are compared.
    let (chunk_tallies, on_target) =
        tokio::join!(replicas::tally_chunks(reach, s), recopy::target_ranges(&cx));
    let (chunk_tallies, on_target) = (chunk_tallies?, on_target?);
    let warnings = replicas::divergences(&chunk_tallies, &copied);
    let (mut recopied, sums) = recopy::ranges(&cx, &chunk_tallies, &on_target, &copied).await?;
    // What was copied again is read again.
    let copied = journal::done_notes(target)
        .await
        .map_err(|e| sql_error(shown, "reading tsmn's record", &e))?;
    let mut out = Vec::new();
    for h in &s.hypertables {
        let sql = tally_sql(&h.name, &h.columns);
        let a = if h.distributed {
            replicas::hypertable_tally(s, &h.name, &chunk_tallies, &copied)
        } else {
            tally(&an, &sql)
                .await
                .map_err(|e| sql_error(an_name, &format!("counting {}", h.name), &e))?
        };
        let b = recopy::whole(target, &h.name, sums.get(&h.name), &sql)
            .await
            .map_err(|e| sql_error(shown, &format!("counting {}", h.name), &e))?;
        out.push(compared("hypertable", &h.name, a, b));
    }
    for tb in &s.tables {
        let sql = tally_sql(&tb.name, &tb.columns);
        let (a, b) = tokio::join!(tally(&an, &sql), tally(target, &sql));
        let a = a.map_err(|e| sql_error(an_name, &format!("counting {}", tb.name), &e))?;
        let mut b = b.map_err(|e| sql_error(shown, &format!("counting {}", tb.name), &e))?;
        if a != b {
            let again = recopy::table(&cx, &tb.name, &tb.columns, a.clone(), b).await?;
            b = again.after.clone();
            recopied.push(again);
        }
        out.push(compared("table", &tb.name, a, b));
    }
    for c in s.caggs.iter() {
        let mat = caggs::target_mat(target, &c.name)
            .await
            .map_err(|e| sql_error(shown, &format!("finding {}", c.name), &e))?
            .map(|m| m.0)
            .ok_or_else(|| {
                MigrateError::Failed(format!(
                    "{shown}: continuous aggregate {} is missing on the target",
                    c.name
                ))
            })?;
        let (sa, sb) = (tally_sql(&c.mat, &c.columns), tally_sql(&mat, &c.columns));
        let (a, b) = tokio::join!(tally(&an, &sa), tally(target, &sb));
        let a = a.map_err(|e| sql_error(an_name, &format!("counting {}", c.name), &e))?;
        let mut b = b.map_err(|e| sql_error(shown, &format!("counting {}", c.name), &e))?;
        if a != b {
            let again = recopy::aggregate(&cx, c, &mat, a.clone(), b).await?;
            b = again.after.clone();
            recopied.push(again);
        }
        out.push(compared("aggregate", &c.name, a, b));
    }
    Ok((out, warnings, recopied))
}

/// Verification as a run does it: `verify_all`, each part copied again and
/// each warning said; Err naming what still differs.
pub async fn verified(
    reach: &Reach,
    s: &Source,
    t: &super::connect::TargetAddr,
    target: &Client,
    shown: &str,
    say: &(dyn Fn(&str) + Sync),
) -> Result<(Vec<Compared>, Vec<String>, Vec<Recopied>), MigrateError> {
    let (verified, warnings, recopied) = verify_all(reach, s, t, target, shown).await?;
    for c in &recopied {
        say(&format!("verification: {}", c.line()));
    }
    for w in &warnings {
        say(&format!("WARNING {w}"));
    }
    let bad: Vec<String> = recopied
        .iter()
        .filter(|c| !c.fixed())
        .map(Recopied::line)
        .chain(verified.iter().filter(|c| !c.equal()).map(|c| {
            format!(
                "{} {}: source {} rows (checksum {}), target {} rows (checksum {})",
                c.kind, c.table, c.source.rows, c.source.checksum, c.target.rows, c.target.checksum
            )
        }))
        .collect();
    if !bad.is_empty() {
        return Err(MigrateError::Failed(format!(
            "verification failed: the target differs from the source, also after copying the differing parts again once:\n  {}\n    fix: find what changes those rows (a writer on the source or the target, a trigger on the target), stop it, and run tsmn migrate again: it verifies again and copies what differs again",
            bad.join("\n  ")
        )));
    }
    Ok((verified, warnings, recopied))
}

fn compared(kind: &'static str, name: &QualifiedName, source: Tally, target: Tally) -> Compared {
    Compared {
        table: name.to_string(),
        kind,
        source,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::Column;

    #[test]
    fn the_checksum_names_its_columns_and_hashes_text_only_where_it_must() {
        let col = |name: &str, hashed: bool| Column {
            name: name.into(),
            builtin: true,
            hashed,
        };
        let m = QualifiedName::new("public", "m");
        assert_eq!(
            tally_sql(&m, &[col("time", true), col("doc", false)]),
            "SELECT count(*), coalesce(sum(hash_record_extended(ROW(t.\"time\", t.\"doc\"::text), 0)), 0)::text FROM \"public\".\"m\" t"
        );
        // No hashable column (or no hash_record_extended): the text form whole.
        assert_eq!(
            tally_sql(&m, &[col("doc", false)]),
            "SELECT count(*), coalesce(sum(hashtext(ROW(t.\"doc\")::text)::int8), 0)::text FROM \"public\".\"m\" t"
        );
    }
}
