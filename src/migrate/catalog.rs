//! ASYNC, read-only: the access node's continuous aggregates (and what
//! depends on them), jobs and sequences, as the migration recreates them.

use super::source::{columns, name, Cagg, Dependent, Job, Source, SKIPPED_SCHEMAS_SQL};
use super::QualifiedName;
use crate::pg;
use tokio_postgres::Client;

/// The continuous aggregates, jobs and sequences.
pub async fn extras(c: &Client, s: &mut Source) -> Result<(), tokio_postgres::Error> {
    s.caggs = caggs(c).await?;
    s.cagg_dependents = dependents(c).await?;
    s.jobs = jobs(c).await?;
    s.sequences = pg::rows(
        c,
        &format!(
            "SELECT n.nspname::text, c.relname::text, s.last_value FROM pg_sequences s \
             JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename \
             WHERE {SKIPPED_SCHEMAS_SQL} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2"
        ),
        &[],
    )
    .await?
    .iter()
    .map(|r| (name(r.get(0), r.get(1)), r.get(2)))
    .collect();
    Ok(())
}

async fn caggs(c: &Client) -> Result<Vec<Cagg>, tokio_postgres::Error> {
    // pg_get_viewdef qualifies every name not on the search_path: with
    // only pg_catalog there, the definition means the same on the target.
    c.batch_execute("SET search_path = pg_catalog").await?;
    let rows = pg::rows(
        c,
        "SELECT a.user_view_schema::text, a.user_view_name::text, coalesce(a.finalized, true), a.mat_hypertable_id, a.raw_hypertable_id, \
         a.parent_mat_hypertable_id, rh.schema_name::text, rh.table_name::text, mh.schema_name::text, mh.table_name::text, \
         a.materialized_only, pg_get_viewdef(format('%I.%I', a.direct_view_schema, a.direct_view_name)::regclass), \
         pg_get_userbyid(v.relowner)::text, v.oid::int8, mh.compression_state = 1 \
         FROM _timescaledb_catalog.continuous_agg a \
         JOIN _timescaledb_catalog.hypertable rh ON rh.id = a.raw_hypertable_id \
         JOIN _timescaledb_catalog.hypertable mh ON mh.id = a.mat_hypertable_id \
         JOIN pg_class v ON v.oid = format('%I.%I', a.user_view_schema, a.user_view_name)::regclass \
         ORDER BY a.mat_hypertable_id",
        &[],
    )
    .await;
    c.batch_execute("RESET search_path").await?;
    let mut out = Vec::new();
    for r in rows? {
        let owner: String = r.get(12);
        let oid: i64 = r.get(13);
        let grants = c
            .query(
                "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee)::text END, a.privilege_type, a.is_grantable \
                 FROM pg_class v, aclexplode(v.relacl) a WHERE v.oid = $1::int8::oid AND a.grantee <> v.relowner ORDER BY 1, 2",
                &[&oid],
            )
            .await?
            .iter()
            .map(|g| (g.get(0), g.get(1), g.get(2)))
            .collect();
        let mat = name(r.get(8), r.get(9));
        let compression = if r.get::<_, bool>(14) {
            Some(super::source::compression(c, &mat).await?)
        } else {
            None
        };
        let compressed = super::caggs::compress::chunks(c, &mat)
            .await?
            .into_iter()
            .filter(|(_, _, compressed)| *compressed)
            .map(|(_, range, _)| range)
            .collect();
        out.push(Cagg {
            name: name(r.get(0), r.get(1)),
            finalized: r.get(2),
            mat_id: r.get(3),
            raw_id: r.get(4),
            parent_mat_id: r.get(5),
            raw: name(r.get(6), r.get(7)),
            columns: columns(c, &mat).await?,
            mat,
            materialized_only: r.get(10),
            view_definition: r.get(11),
            owner,
            grants,
            compression,
            compressed,
        });
    }
    Ok(out)
}

/// Every object that depends on a continuous aggregate's view, directly
/// or through another such object (a view's rule stands for its view, a
/// relation's row type for it), outside TimescaleDB's schemas and the
/// aggregates themselves. A trigger has no schema: it is found by its ids.
async fn dependents(c: &Client) -> Result<Vec<Dependent>, tokio_postgres::Error> {
    let rows = pg::rows(
        c,
        &format!(
            "WITH RECURSIVE caggs AS ( \
               SELECT format('%I.%I', user_view_schema, user_view_name)::regclass::oid AS oid FROM _timescaledb_catalog.continuous_agg), \
             held(classid, objid) AS ( \
               SELECT 'pg_class'::regclass::oid, oid FROM caggs \
               UNION \
               SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass THEN 'pg_class'::regclass::oid ELSE d.classid END, \
                      CASE WHEN d.classid = 'pg_rewrite'::regclass THEN r.ev_class ELSE d.objid END \
               FROM held h LEFT JOIN pg_class hc ON h.classid = 'pg_class'::regclass AND hc.oid = h.objid \
               JOIN pg_depend d ON d.deptype IN ('n', 'a') AND ((d.refclassid = h.classid AND d.refobjid = h.objid) \
                 OR (d.refclassid = 'pg_type'::regclass AND d.refobjid = hc.reltype)) \
               LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid) \
             SELECT h.classid::int8, h.objid::int8, o.type, coalesce(o.schema, '')::text, coalesce(k.relname::text, p.proname::text, o.name, o.identity) \
             FROM held h CROSS JOIN LATERAL pg_identify_object(h.classid, h.objid, 0) o \
             LEFT JOIN pg_namespace n ON n.nspname = o.schema \
             LEFT JOIN pg_class k ON h.classid = 'pg_class'::regclass AND k.oid = h.objid \
             LEFT JOIN pg_proc p ON h.classid = 'pg_proc'::regclass AND p.oid = h.objid \
             WHERE NOT (h.classid = 'pg_class'::regclass AND h.objid IN (SELECT oid FROM caggs)) AND (n.oid IS NULL OR {SKIPPED_SCHEMAS_SQL}) \
             ORDER BY 4, 5, 1, 2"
        ),
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| Dependent {
            classid: u32::try_from(r.get::<_, i64>(0)).unwrap_or(0),
            objid: u32::try_from(r.get::<_, i64>(1)).unwrap_or(0),
            kind: r.get(2),
            name: name(r.get(3), r.get(4)),
        })
        .collect())
}

async fn jobs(c: &Client) -> Result<Vec<Job>, tokio_postgres::Error> {
    // bgw_job itself: the jobs view lacks the timezone. Ids below 1000 are
    // the engine's own jobs (telemetry, job history), never copied.
    let rows = pg::rows(
        c,
        "SELECT j.id, j.application_name::text, j.proc_schema::text, j.proc_name::text, h.schema_name::text, h.table_name::text, \
         j.schedule_interval::text, j.max_runtime::text, j.max_retries, j.retry_period::text, j.scheduled, j.fixed_schedule, \
         j.config::text, j.initial_start::text, j.timezone::text, \
         CASE WHEN j.check_name IS NULL THEN NULL ELSE format('%I.%I', j.check_schema, j.check_name) END, \
         pg_get_userbyid(j.owner)::text \
         FROM _timescaledb_config.bgw_job j LEFT JOIN _timescaledb_catalog.hypertable h ON h.id = j.hypertable_id \
         WHERE j.id >= 1000 ORDER BY j.id",
        &[],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let (ps, pn): (String, String) = (r.get(2), r.get(3));
            let hs: Option<String> = r.get(4);
            let hn: Option<String> = r.get(5);
            Job {
                id: r.get(0),
                application_name: r.get(1),
                proc: QualifiedName::new(&ps, &pn).sql(),
                proc_schema: ps,
                proc_name: pn,
                hypertable: hs.zip(hn).map(|(s, n)| name(s, n)),
                schedule_interval: r.get(6),
                max_runtime: r.get(7),
                max_retries: r.get(8),
                retry_period: r.get(9),
                scheduled: r.get(10),
                fixed_schedule: r.get(11),
                config: r.get(12),
                initial_start: r.get(13),
                timezone: r.get(14),
                check: r.get(15),
                owner: r.get(16),
            }
        })
        .collect())
}

/// The names the restore creates beside the tables, as `(relations, types)`,
/// quoted: views and materialized views (an aggregate's too), and the
/// user's own types (enums, domains, ranges, composite types of their own),
/// outside TimescaleDB's schemas and extensions. One of them already on the
/// target makes the restore fail, so the preflight looks for them there.
pub async fn restored_names(
    c: &Client,
) -> Result<(Vec<String>, Vec<String>), tokio_postgres::Error> {
    const OURS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'timescaledb_information', 'timescaledb_experimental') \
         AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT LIKE '\\_timescaledb%'";
    let relations = pg::rows(
        c,
        &format!(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('v', 'm') AND {OURS} \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1"
        ),
        &[],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let types = pg::rows(
        c,
        &format!(
            "SELECT format('%I.%I', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) \
             AND {OURS} \
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') ORDER BY 1"
        ),
        &[],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    Ok((relations, types))
}
