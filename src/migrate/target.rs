//! ASYNC, read-only: what the target server is and holds, for preflight.

use super::connect::{Reach, TargetAddr};
use super::MigrateError;
use crate::pg::{self, Text};

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TargetFacts {
    pub pg_version: String,
    pub pg_version_num: i32,
    pub superuser: bool,
    /// `pg_available_extensions`' default version of timescaledb (None: not installed for this server).
    pub timescaledb_available: Option<String>,
    pub timescaledb_versions: Vec<String>,
    /// `timescaledb` in shared_preload_libraries.
    pub preloaded: bool,
    pub database_exists: bool,
    /// The extension's version in the target database, if created.
    pub timescaledb_installed: Option<String>,
    /// `dist_uuid` in `_timescaledb_catalog.metadata`.
    pub dist_uuid: bool,
    /// `timescaledb_fdw` foreign servers.
    pub fdw_servers: Vec<String>,
    /// Tables of the source that the target already has.
    pub collisions: Vec<String>,
    /// The source a migration into this database was started from (tsmn's
    /// record on the target), if any.
    pub migration_of: Option<String>,
    pub data_directory: String,
    /// Free bytes under the data directory, when tsmn could measure them
    /// (the target on this host, its directory readable).
    pub free_bytes: Option<u64>,
}

/// What the target holds; `names`: the relations the restore creates
/// (tables, sequences, views), `types`: the user's types it creates, quoted.
pub async fn read(
    reach: &Reach,
    t: &TargetAddr,
    names: &[String],
    types: &[String],
) -> Result<TargetFacts, MigrateError> {
    let c = reach.target(t, "postgres").await?;
    let fail = |what: &'static str| {
        let shown = t.shown();
        move |e: tokio_postgres::Error| super::connect::sql_error(&shown, what, &e)
    };
    let r = pg::one(
        &c,
        "SELECT split_part(current_setting('server_version'), ' ', 1), current_setting('server_version_num')::int, \
         (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), \
         (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'), \
         coalesce((SELECT array_agg(version::text ORDER BY version) FROM pg_available_extension_versions WHERE name = 'timescaledb'), '{}'), \
         'timescaledb' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')), \
         EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), current_setting('data_directory')",
        &[Text::One(&t.database)],
    )
    .await
    .map_err(fail("reading the server"))?;
    let mut f = TargetFacts {
        pg_version: r.get(0),
        pg_version_num: r.get(1),
        superuser: r.get(2),
        timescaledb_available: r.get(3),
        timescaledb_versions: r.get(4),
        preloaded: r.get(5),
        database_exists: r.get(6),
        data_directory: r.get(7),
        ..TargetFacts::default()
    };
    f.free_bytes = free_bytes(t, &f.data_directory);
    if !f.database_exists {
        return Ok(f);
    }
    let c = reach.target(t, &t.database).await?;
    f.timescaledb_installed = pg::opt(
        &c,
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
        &[],
    )
    .await
    .map_err(fail("reading its extensions"))?
    .map(|r| r.get(0));
    if f.timescaledb_installed.is_some() {
        f.dist_uuid = pg::one(
            &c,
            "SELECT EXISTS (SELECT 1 FROM _timescaledb_catalog.metadata WHERE key = 'dist_uuid')",
            &[],
        )
        .await
        .map_err(fail("reading TimescaleDB's metadata"))?
        .get(0);
    }
    f.fdw_servers = pg::rows(
        &c,
        "SELECT s.srvname::text FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw WHERE w.fdwname = 'timescaledb_fdw' ORDER BY 1",
        &[],
    )
    .await
    .map_err(fail("reading its foreign servers"))?
    .iter()
    .map(|r| r.get(0))
    .collect();
    f.collisions = pg::rows(
        &c,
        "SELECT n FROM unnest($1::text[]) n WHERE to_regclass(n) IS NOT NULL \
         UNION ALL SELECT 'type ' || n FROM unnest($2::text[]) n WHERE to_regtype(n) IS NOT NULL",
        &[Text::Many(names), Text::Many(types)],
    )
    .await
    .map_err(fail(
        "looking for tables, views, sequences and types of the same names",
    ))?
    .iter()
    .map(|r| r.get(0))
    .collect();
    f.migration_of = super::journal::target_record(&c)
        .await
        .map_err(fail("reading tsmn's migration record"))?;
    Ok(f)
}

/// statvfs of the data directory, when the target is on this host.
fn free_bytes(t: &TargetAddr, data_directory: &str) -> Option<u64> {
    let local =
        t.host.starts_with('/') || matches!(t.host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if !local {
        return None;
    }
    let s = nix::sys::statvfs::statvfs(data_directory).ok()?;
    Some(s.blocks_available() * s.fragment_size())
}
