//! ASYNC: what must agree across the nodes, read in the cluster database
//! of each node (crate::drift), and on the access node tsmn's maintenance
//! jobs (crate::maintenance). Catalog reads only, sent together: one round
//! trip per node. A query that fails (an older TimescaleDB without a view)
//! leaves its part unknown, never reported as missing.

use crate::drift::{FunctionObject, HypertableSettings, ObjectFacts, TypeObject};
use crate::facts::DatabaseFacts;
use crate::maintenance::{Job, JobFacts, MaintenanceFacts};
use crate::pg::{rows, Text};
use tokio_postgres::{Client, Row};

/// Read into `db` (TimescaleDB installed there): the objects on every
/// node, the maintenance jobs on the access node.
pub async fn read(client: &Client, db: &mut DatabaseFacts, access: bool) {
    if db.timescaledb.is_none() {
        return;
    }
    let procs: Vec<String> = Job::ALL.iter().map(|j| j.procedure().to_string()).collect();
    let p = [Text::Many(&procs)];
    let (types_sql, functions_sql) = if access {
        (access_types(), ACCESS_FUNCTIONS.to_string())
    } else {
        (data_node_types(), DATA_NODE_FUNCTIONS.to_string())
    };
    let distributed = if access { "true" } else { "false" };
    let flag = [Text::One(distributed)];
    let (hypertables, types, functions, extensions, jobs, errors, procedures) = tokio::join!(
        rows(client, HYPERTABLES, &flag),
        rows(client, &types_sql, &[]),
        rows(client, &functions_sql, &[]),
        rows(client, EXTENSIONS, &[]),
        async {
            if access {
                rows(client, JOBS, &p).await.ok()
            } else {
                None
            }
        },
        async {
            if access {
                rows(client, JOB_ERRORS, &p).await.ok()
            } else {
                None
            }
        },
        async {
            if access {
                rows(client, PROCEDURES, &p).await.ok()
            } else {
                None
            }
        },
    );
    if let (Ok(h), Ok(t), Ok(f), Ok(e)) = (hypertables, types, functions, extensions) {
        db.objects = Some(ObjectFacts {
            hypertables: h.iter().map(hypertable).collect(),
            types: t.iter().map(|r| type_object(r, access)).collect(),
            functions: f.iter().map(|r| function(r, access)).collect(),
            extensions: e.iter().map(|r| (r.get(0), r.get(1))).collect(),
        });
    }
    if let Some(jobs) = jobs {
        let errors = errors.unwrap_or_default();
        db.maintenance = MaintenanceFacts {
            read: true,
            procedures: procedures
                .unwrap_or_default()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
            jobs: jobs
                .iter()
                .map(|r| {
                    let job_id: i64 = r.get(0);
                    JobFacts {
                        job_id,
                        procedure: r.get(1),
                        every_seconds: r.get(2),
                        scheduled: r.get(3),
                        last_run_status: r.get(4),
                        last_error: errors
                            .iter()
                            .find(|e| e.get::<_, i64>(0) == job_id)
                            .and_then(|e| e.get(1)),
                        total_runs: r.get(5),
                        total_failures: r.get(6),
                    }
                })
                .collect(),
        };
    }
}

/// Each hypertable's compression settings alone (see HYPERTABLES): on
/// the access node its distributed ones, on a data node all.
pub async fn compression(
    client: &Client,
    access: bool,
) -> Result<Vec<HypertableSettings>, tokio_postgres::Error> {
    let flag = [Text::One(if access { "true" } else { "false" })];
    Ok(rows(client, HYPERTABLES, &flag)
        .await?
        .iter()
        .map(hypertable)
        .collect())
}

fn hypertable(r: &Row) -> HypertableSettings {
    HypertableSettings {
        schema: r.get(0),
        table: r.get(1),
        compression_enabled: r.get(2),
        segmentby: r.get(3),
        orderby: r.get(4),
    }
}

fn type_object(r: &Row, access: bool) -> TypeObject {
    TypeObject {
        schema: r.get(0),
        name: r.get(1),
        kind: r.get(2),
        definition: r.get(3),
        labels: r.get(4),
        extension: r.get(5),
        used_by: if access { r.get(6) } else { Vec::new() },
    }
}

fn function(r: &Row, access: bool) -> FunctionObject {
    FunctionObject {
        schema: r.get(0),
        name: r.get(1),
        args: r.get(2),
        definition_md5: r.get(3),
        create: if access { r.get(4) } else { None },
        extension: if access { r.get(5) } else { None },
        used_by: if access { r.get(6) } else { Vec::new() },
    }
}

/// Each hypertable's compression settings: on the access node its
/// distributed ones (`$1` true), on a data node all (a member has the
/// distributed hypertable's name).
const HYPERTABLES: &str = "SELECT h.hypertable_schema::text, h.hypertable_name::text, coalesce(h.compression_enabled, false), \
  ARRAY(SELECT quote_ident(s.attname) FROM timescaledb_information.compression_settings s \
        WHERE s.hypertable_schema = h.hypertable_schema AND s.hypertable_name = h.hypertable_name \
          AND s.segmentby_column_index IS NOT NULL ORDER BY s.segmentby_column_index), \
  ARRAY(SELECT quote_ident(s.attname) || CASE WHEN s.orderby_asc THEN ' ASC' ELSE ' DESC' END \
               || CASE WHEN s.orderby_nullsfirst THEN ' NULLS FIRST' ELSE ' NULLS LAST' END \
        FROM timescaledb_information.compression_settings s \
        WHERE s.hypertable_schema = h.hypertable_schema AND s.hypertable_name = h.hypertable_name \
          AND s.orderby_column_index IS NOT NULL ORDER BY s.orderby_column_index) \
FROM timescaledb_information.hypertables h WHERE h.is_distributed OR NOT $1::text::bool ORDER BY 1, 2";

/// A type's columns (pg_type `t`, pg_namespace `n`): schema, name, kind,
/// a definition that reads the same on every node for the same type, an
/// enum's labels, its extension.
const TYPE_COLUMNS: &str = "n.nspname::text, t.typname::text, \
  CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite' WHEN 'r' THEN 'range' \
    WHEN 'm' THEN 'multirange' WHEN 'b' THEN 'base' ELSE t.typtype::text END, \
  coalesce(CASE t.typtype \
    WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) \
    WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END \
      || coalesce(' DEFAULT ' || t.typdefault, '') \
      || coalesce((SELECT ' ' || string_agg(format('CONSTRAINT %I %s', c.conname, pg_get_constraintdef(c.oid)), ' ' ORDER BY c.conname) \
                   FROM pg_constraint c WHERE c.contypid = t.oid), '') \
    WHEN 'c' THEN (SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum) \
                   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) \
    WHEN 'r' THEN (SELECT 'subtype = ' || format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid) \
    END, ''), \
  ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder), \
  (SELECT x.extname::text FROM pg_depend dep JOIN pg_extension x ON x.oid = dep.refobjid \
   WHERE dep.classid = 'pg_type'::regclass AND dep.objid = t.oid AND dep.deptype = 'e' LIMIT 1)";

/// Outside the system's and TimescaleDB's schemas; not an array type
/// (its element is listed), not a table's row type.
const TYPE_FILTER: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
  AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb\\_%' \
  AND t.typcategory <> 'A' AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')";

/// The access node: the types its distributed hypertables' columns
/// depend on, through arrays, domains, composites and ranges, each with
/// the hypertables using it.
fn access_types() -> String {
    format!(
        "WITH RECURSIVE ht AS ( \
           SELECT format('%I.%I', hypertable_schema, hypertable_name) AS name, \
                  format('%I.%I', hypertable_schema, hypertable_name)::regclass AS rel \
           FROM timescaledb_information.hypertables WHERE is_distributed), \
         deps(hypertable, typ) AS ( \
           SELECT ht.name, a.atttypid FROM ht JOIN pg_attribute a ON a.attrelid = ht.rel AND a.attnum > 0 AND NOT a.attisdropped \
           UNION \
           SELECT d.hypertable, x.typ FROM deps d JOIN pg_type t ON t.oid = d.typ \
           CROSS JOIN LATERAL ( \
             SELECT t.typelem WHERE t.typcategory = 'A' \
             UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd' \
             UNION ALL SELECT a.atttypid FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'c' \
               WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped \
             UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid) x(typ)), \
         used AS (SELECT typ, array_agg(DISTINCT hypertable ORDER BY hypertable) AS used_by FROM deps GROUP BY typ) \
         SELECT {TYPE_COLUMNS}, u.used_by::text[] \
         FROM used u JOIN pg_type t ON t.oid = u.typ JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {TYPE_FILTER} ORDER BY 1, 2"
    )
}

/// A data node: every type outside extensions.
fn data_node_types() -> String {
    format!(
        "SELECT {TYPE_COLUMNS} FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE {TYPE_FILTER} AND NOT EXISTS (SELECT FROM pg_depend dep WHERE dep.classid = 'pg_type'::regclass \
           AND dep.objid = t.oid AND dep.deptype = 'e') ORDER BY 1, 2"
    )
}

/// The access node: the functions its distributed hypertables' column
/// defaults call, with their definition and the hypertables using them.
const ACCESS_FUNCTIONS: &str = "WITH ht AS ( \
    SELECT format('%I.%I', hypertable_schema, hypertable_name) AS name, \
           format('%I.%I', hypertable_schema, hypertable_name)::regclass AS rel \
    FROM timescaledb_information.hypertables WHERE is_distributed), \
  used AS ( \
    SELECT d.refobjid AS fn, array_agg(DISTINCT ht.name ORDER BY ht.name) AS used_by \
    FROM ht JOIN pg_attrdef ad ON ad.adrelid = ht.rel \
    JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_proc'::regclass \
    GROUP BY d.refobjid) \
  SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), md5(pg_get_functiondef(p.oid)), \
    pg_get_functiondef(p.oid), \
    (SELECT x.extname::text FROM pg_depend dep JOIN pg_extension x ON x.oid = dep.refobjid \
     WHERE dep.classid = 'pg_proc'::regclass AND dep.objid = p.oid AND dep.deptype = 'e' LIMIT 1), \
    u.used_by::text[] \
  FROM used u JOIN pg_proc p ON p.oid = u.fn JOIN pg_namespace n ON n.oid = p.pronamespace \
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p') ORDER BY 1, 2, 3";

/// A data node: every function outside the system's and TimescaleDB's
/// schemas and outside extensions.
const DATA_NODE_FUNCTIONS: &str = "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), \
    md5(pg_get_functiondef(p.oid)) \
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' \
    AND n.nspname NOT LIKE '\\_timescaledb%' AND n.nspname NOT LIKE 'timescaledb\\_%' AND p.prokind IN ('f', 'p') \
    AND NOT EXISTS (SELECT FROM pg_depend dep WHERE dep.classid = 'pg_proc'::regclass AND dep.objid = p.oid AND dep.deptype = 'e') \
  ORDER BY 1, 2, 3";

const EXTENSIONS: &str = "SELECT extname::text, extversion::text FROM pg_extension ORDER BY 1";

/// tsmn's jobs (by their procedure, `$1`), with their last run.
const JOBS: &str = "SELECT j.job_id::bigint, j.proc_name::text, extract(epoch FROM j.schedule_interval)::bigint, j.scheduled, \
    s.last_run_status::text, coalesce(s.total_runs, 0)::bigint, coalesce(s.total_failures, 0)::bigint \
  FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.job_stats s USING (job_id) \
  WHERE j.proc_schema = 'public' AND j.proc_name = ANY($1::text[]) ORDER BY 1";

/// Each of tsmn's jobs' last recorded error.
const JOB_ERRORS: &str = "SELECT DISTINCT ON (e.job_id) e.job_id::bigint, e.err_message::text \
  FROM timescaledb_information.job_errors e JOIN timescaledb_information.jobs j ON j.job_id = e.job_id \
  WHERE j.proc_schema = 'public' AND j.proc_name = ANY($1::text[]) ORDER BY e.job_id, e.finish_time DESC NULLS LAST";

/// tsmn's procedures that exist, with the md5 of their body.
const PROCEDURES: &str = "SELECT p.proname::text, md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
  WHERE n.nspname = 'public' AND p.proname = ANY($1::text[]) AND p.prokind = 'p' ORDER BY 1";

#[cfg(test)]
mod tests {
    #[test]
    fn the_schema_is_the_maintenance_modules() {
        // The statements name the schema as a literal.
        assert_eq!(crate::maintenance::SCHEMA, "public");
        assert!(super::JOBS.contains("j.proc_schema = 'public'"));
        assert!(super::PROCEDURES.contains("n.nspname = 'public'"));
    }
}
