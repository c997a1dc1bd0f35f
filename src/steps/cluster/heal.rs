//! Two-phase transactions the access node left prepared on its data
//! nodes: resolved by the engine, then checked on each data node.

use super::{running, sql};
use crate::quote::sql::literal;
use crate::steps::{step, Ctx, Phase, Statement, Step};

/// Two-phase transactions the access node left prepared on a data node of
/// its cluster (what check reports as prepared_transactions_left): the
/// engine's healing function on the access node, then a check on the data
/// node itself that none of them is left (one still running on the access
/// node is left alone by the engine, and named).
pub(super) fn heal(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    for dn in ctx
        .data_nodes()
        .filter(|d| an_db.data_nodes.contains(&d.name))
    {
        let Some(left) = ctx
            .server(&dn.name)
            .and_then(|s| s.database.as_ref())
            .map(|d| d.timescaledb_prepared().collect::<Vec<_>>())
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let gids: Vec<String> = left.iter().map(|p| literal(&p.gid)).collect();
        steps.push(step(
            an,
            Phase::Cluster,
            &format!("heal-{}", dn.name),
            format!("Resolve the two-phase transactions left prepared on {}", dn.name),
            format!(
                "{} transaction(s) prepared for the access node and never finished: they hold their locks; the engine commits what the access node committed and rolls back the rest",
                left.len()
            ),
            sql(
                db,
                vec![Statement::plain(crate::timescale::heal_sql(
                    ctx.functions_schema(),
                    &dn.name,
                ))],
            ),
        ));
        steps.push(step(
            &dn.name,
            Phase::Verify,
            "prepared-resolved",
            format!("No transaction of the access node is left prepared on {}", dn.name),
            "done means checked on the data node: the healing function skips what it cannot decide",
            sql(
                db,
                vec![Statement::plain(format!(
                    "DO $tsmn$ DECLARE left_over text; BEGIN \
                     SELECT string_agg(gid, ', ') INTO left_over FROM pg_prepared_xacts \
                     WHERE database = current_database() AND gid IN ({}); \
                     IF left_over IS NOT NULL THEN RAISE EXCEPTION 'still prepared on this data node: %', left_over \
                     USING HINT = 'the access node may still be running it; run tsmn apply again later, or COMMIT PREPARED / ROLLBACK PREPARED by hand after checking the access node'; END IF; END $tsmn$",
                    gids.join(", ")
                ))],
            ),
        ));
    }
    steps
}
