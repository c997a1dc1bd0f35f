//! The read-only queries behind `ServerFacts`.

use crate::facts::{DatabaseFacts, HbaRule, PassfileFacts, RoleFacts, ServerFacts, Setting};
use crate::plan::Plan;
use tokio_postgres::Client;

/// Settings tsmn reads on every node.
pub const SETTINGS: &[&str] = &[
    "shared_preload_libraries",
    "max_prepared_transactions",
    "max_connections",
    "ssl",
    "ssl_ca_file",
    "ssl_cert_file",
    "ssl_key_file",
    "password_encryption",
    "listen_addresses",
    "wal_level",
    "port",
    "jit",
    "enable_partitionwise_aggregate",
    "data_directory",
    "hba_file",
    "config_file",
    "timescaledb.passfile",
    "timescaledb.ssl_dir",
    "timescaledb.license",
];

const WHO: &str = "SELECT current_setting('server_version_num')::int4, current_setting('server_version'), \
    current_user::text, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false), \
    coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)";
const SETTINGS_SQL: &str =
    "SELECT name, coalesce(setting, ''), coalesce(source, ''), pending_restart \
    FROM pg_settings WHERE name = ANY($1) OR pending_restart";
/// TimescaleDB's settings exist only in a session of a database where the
/// extension is created, not in the `postgres` the probe uses (there even
/// SHOW timescaledb.passfile fails with `unrecognized configuration
/// parameter`, library preloaded or not): there the value comes from the
/// configuration files (pg_file_settings).
const TS_SETTINGS_SQL: &str = "SELECT n, coalesce(current_setting(n, true), \
     (SELECT setting FROM pg_file_settings WHERE name = n ORDER BY seqno DESC LIMIT 1)) \
     FROM unnest($1::text[]) AS n";
const HBA_RULES_SQL: &str =
    "SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error \
    FROM pg_hba_file_rules ORDER BY line_number NULLS LAST";
/// pg_hba.conf's text, and (the same superuser's reads) the TLS files the
/// server has not loaded yet and whether pg_hba.conf is one of them.
fn hba_text_sql() -> String {
    format!(
        "SELECT pg_read_file(current_setting('hba_file')), {}, {}",
        crate::facts::TLS_FILES_NOT_LOADED,
        crate::facts::HBA_NOT_LOADED
    )
}
/// A superuser reads the extension directory directly: far cheaper than
/// pg_available_extension_versions, which parses every extension's scripts.
/// Also the libraries (`lib:timescaledb-2.13.1.so`: a version without its
/// library cannot be created) and the control file's default version
/// (`default:2.13.1`).
const EXTENSION_FILES_SQL: &str = "WITH d AS (SELECT (SELECT setting FROM pg_config WHERE name = 'SHAREDIR') || '/extension' AS share, \
        (SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR') AS lib) \
    SELECT f FROM d, pg_ls_dir(d.share) AS f WHERE f LIKE 'timescaledb--%.sql' OR f IN ('timescaledb.control', 'dblink.control') \
    UNION ALL SELECT 'lib:' || f FROM d, pg_ls_dir(d.lib, true, false) AS f WHERE f LIKE 'timescaledb-%.so' \
    UNION ALL SELECT 'default:' || substring(pg_read_file(d.share || '/timescaledb.control', 0, 65536, true) FROM 'default_version\\s*=\\s*.([0-9][0-9.]*)') FROM d";
const TS_AVAILABLE_SQL: &str = "SELECT version FROM pg_available_extension_versions WHERE name = 'timescaledb' ORDER BY version";
const DBLINK_SQL: &str = "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'dblink'";
/// The cluster database and template1, which a database created now (by
/// tsmn's database step, CREATE DATABASE without options) copies its
/// encoding and locale from.
const DATABASE_SQL: &str =
    "SELECT datname::text, pg_encoding_to_char(encoding), datcollate::text, datctype::text \
    FROM pg_database WHERE datname IN ($1, 'template1')";
/// The stored verifier's kind only (pg_authid is the superuser's to read).
const ROLES_SQL: &str = "SELECT w.name, p.rolname IS NOT NULL, coalesce(p.rolcanlogin, false), \
    CASE WHEN a.rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' WHEN a.rolpassword LIKE 'md5%' THEN 'md5' END \
    FROM unnest($1::text[]) WITH ORDINALITY AS w(name, i) LEFT JOIN pg_roles p ON p.rolname = w.name \
    LEFT JOIN pg_authid a ON a.rolname = w.name ORDER BY w.i";

/// Everything tsmn reads on a node, and whether the session uses TLS. The
/// queries are independent, so they go out together (tokio-postgres pipelines
/// concurrent requests on one connection): two round trips, not twenty.
/// A query a non-superuser may not run just leaves its facts empty.
pub async fn server_facts(client: &Client, plan: &Plan) -> (ServerFacts, bool) {
    let names: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
    let ts_names: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with("timescaledb."))
        .cloned()
        .collect();
    let mut wanted: Vec<String> = plan.auth.roles.clone();
    if !wanted.contains(&plan.superuser) {
        wanted.insert(0, plan.superuser.clone());
    }
    use crate::pg::{one, rows, Text};
    let hba_text_sql = hba_text_sql();
    let (p_names, p_ts, p_db, p_roles) = (
        [Text::Many(&names)],
        [Text::Many(&ts_names)],
        [Text::One(&plan.database)],
        [Text::Many(&wanted)],
    );
    let (who, settings, ts_settings, rules, hba_text, ext_files, database, roles) = tokio::join!(
        one(client, WHO, &[]),
        rows(client, SETTINGS_SQL, &p_names),
        rows(client, TS_SETTINGS_SQL, &p_ts),
        rows(client, HBA_RULES_SQL, &[]),
        one(client, &hba_text_sql, &[]),
        rows(client, EXTENSION_FILES_SQL, &[]),
        rows(client, DATABASE_SQL, &p_db),
        rows(client, ROLES_SQL, &p_roles),
    );
    let mut f = ServerFacts::default();
    let mut tls = false;
    if let Ok(r) = who {
        f.version_num = u32::try_from(r.get::<_, i32>(0)).unwrap_or(0);
        f.version = r.get(1);
        f.current_user = r.get(2);
        f.superuser = r.get(3);
        tls = r.get(4);
    }
    for r in settings.unwrap_or_default() {
        f.settings.insert(
            r.get(0),
            Setting {
                value: r.get(1),
                source: r.get(2),
                pending_restart: r.get(3),
            },
        );
    }
    for r in ts_settings.unwrap_or_default() {
        let (name, value): (String, Option<String>) = (r.get(0), r.get(1));
        if let (false, Some(value)) = (f.settings.contains_key(&name), value) {
            f.settings.insert(
                name,
                Setting {
                    value,
                    source: "configuration file".into(),
                    pending_restart: false,
                },
            );
        }
    }
    f.hba_file = f.setting("hba_file").unwrap_or_default().to_string();
    f.hba_rules = rules.unwrap_or_default().iter().map(hba_rule).collect();
    if let Ok(r) = hba_text {
        f.hba_lines = r.get::<_, String>(0).lines().map(str::to_string).collect();
        HbaRule::mark_quoted_keywords(&mut f.hba_rules, &f.hba_lines);
        f.tls_files_not_loaded = r.get(1);
        f.hba_not_loaded = r.get(2);
    }
    extensions(client, ext_files, &mut f).await;
    (f.database, f.new_database) = databases(&database.unwrap_or_default(), &plan.database);
    f.roles = roles
        .unwrap_or_default()
        .iter()
        .map(|r| RoleFacts {
            name: r.get(0),
            exists: r.get(1),
            can_login: r.get(2),
            verifier: r.get(3),
        })
        .collect();
    (f, tls)
}

/// The extensions, from the directory listing when the superuser could
/// read it, else from the catalog views (slower, and without libraries).
async fn extensions(
    client: &Client,
    listed: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>,
    f: &mut ServerFacts,
) {
    use crate::pg::{one, rows};
    match listed {
        Ok(rows) => {
            let files: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let e = extensions_from_files(&files);
            (
                f.timescaledb_available,
                f.timescaledb_default,
                f.dblink_available,
            ) = (e.timescaledb, e.default, e.dblink);
        }
        Err(_) => {
            if let Ok(rows) = rows(client, TS_AVAILABLE_SQL, &[]).await {
                f.timescaledb_available = rows.iter().map(|r| r.get(0)).collect();
            }
            f.dblink_available = one(client, DBLINK_SQL, &[])
                .await
                .is_ok_and(|r| r.get::<_, bool>(0));
        }
    }
}

/// What the extension and library directories hold of TimescaleDB.
#[derive(Debug, PartialEq, Eq)]
pub struct Extensions {
    /// Versions with an install script and, when any library was listed,
    /// their library (sorted).
    pub timescaledb: Vec<String>,
    pub default: Option<String>,
    pub dblink: bool,
}

/// From the names in the extension directory: `timescaledb--2.13.1.sql`
/// installs 2.13.1; `timescaledb--2.12.0--2.13.1.sql` is an update script;
/// `lib:timescaledb-2.13.1.so` is its library; `default:2.13.1` the
/// control file's default version.
pub fn extensions_from_files(files: &[String]) -> Extensions {
    let has = |name: &str| files.iter().any(|f| f == name);
    let libraries: Vec<&str> = files
        .iter()
        .filter_map(|f| f.strip_prefix("lib:timescaledb-")?.strip_suffix(".so"))
        .collect();
    let mut versions: Vec<String> = if has("timescaledb.control") {
        files
            .iter()
            .filter_map(|f| f.strip_prefix("timescaledb--")?.strip_suffix(".sql"))
            .filter(|v| !v.contains("--"))
            .filter(|v| libraries.is_empty() || libraries.contains(v))
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    versions.sort_by_key(|v| crate::timescale::parse_version(v));
    Extensions {
        timescaledb: versions,
        default: files
            .iter()
            .find_map(|f| f.strip_prefix("default:"))
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        dblink: has("dblink.control"),
    }
}

fn hba_rule(r: &tokio_postgres::Row) -> HbaRule {
    HbaRule {
        line_number: r
            .get::<_, Option<i32>>(0)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        kind: r.get(1),
        databases: r.get::<_, Option<Vec<String>>>(2).unwrap_or_default(),
        users: r.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
        address: r.get(4),
        netmask: r.get(5),
        method: r.get(6),
        options: r.get::<_, Option<Vec<String>>>(7).unwrap_or_default(),
        error: r.get(8),
        quoted_keywords: false,
    }
}

/// Inside the cluster database: TimescaleDB's version and membership.
pub async fn database_details(client: &Client, db: &mut DatabaseFacts) {
    use crate::pg::rows;
    db.timescaledb = crate::pg::timescaledb_version(client).await;
    if db.timescaledb.is_none() {
        return;
    }
    // Independent, so they go out together (pipelined on one connection),
    // as the server facts do.
    let (catalog, metadata, chunks, prepared, sizes, health) = tokio::join!(
        super::catalog::read(client),
        rows(client, METADATA_SQL, &[]),
        rows(client, CHUNKS_SQL, &[]),
        rows(client, PREPARED_SQL, &[]),
        super::sizes::sizes_within(client),
        super::health::read(client),
    );
    (db.remote_txn_backlog, db.failed_jobs) = health;
    catalog.into(db);
    super::catalog::with_bytes(&mut db.chunk_places, sizes);
    db.prepared = prepared
        .unwrap_or_default()
        .iter()
        .map(|r| crate::facts::PreparedXact {
            gid: r.get(0),
            age_seconds: r.get(1),
            database: r.get(2),
        })
        .collect();
    for r in metadata.unwrap_or_default() {
        let (k, v): (String, String) = (r.get(0), r.get(1));
        match k.as_str() {
            "uuid" => db.uuid = Some(v),
            _ => db.dist_uuid = Some(v),
        }
    }
    db.chunks = chunks
        .unwrap_or_default()
        .iter()
        .map(|r| crate::facts::NodeChunks {
            data_node: r.get(0),
            total: r.get(1),
            only_copy: r.get(2),
        })
        .collect();
}

/// TimescaleDB's own two-phase transactions (its gids start with `ts-`,
/// tsl/src/remote/txn_id.c) left prepared in this database, and every
/// other one of the server (they hold their locks as well).
const PREPARED_SQL: &str =
    "SELECT gid, extract(epoch FROM now() - prepared)::bigint, database::text FROM pg_prepared_xacts \
    ORDER BY prepared";

const METADATA_SQL: &str =
    "SELECT key::text, value::text FROM _timescaledb_catalog.metadata WHERE key IN ('uuid', 'dist_uuid')";
/// Per data node: its chunks, and (sorted by name) the ones it alone holds.
const CHUNKS_SQL: &str = "SELECT dn::text, count(*), coalesce(array_agg(format('%I.%I', c.chunk_schema, c.chunk_name) \
            ORDER BY c.chunk_schema, c.chunk_name) FILTER (WHERE cardinality(c.data_nodes) = 1), '{}')::text[] \
     FROM timescaledb_information.chunks c, unnest(c.data_nodes) AS dn GROUP BY dn ORDER BY dn";

/// The access node's passfile as TimescaleDB uses it: whether it exists
/// and, per line, everything but the password (which is dropped at once).
pub async fn passfile(client: &Client, an: &ServerFacts) -> Option<PassfileFacts> {
    let path = an.timescaledb_passfile()?;
    let text: Option<String> = crate::pg::one(
        client,
        "SELECT pg_read_file($1, 0, 1048576, true)",
        &[crate::pg::Text::One(&path)],
    )
    .await
    .ok()
    .and_then(|r| r.get(0));
    let entries = text
        .as_deref()
        .unwrap_or("")
        .lines()
        .filter_map(crate::quote::pgpass::split)
        .map(|[h, p, d, u, _password]| [h, p, d, u])
        .collect();
    Some(PassfileFacts {
        path,
        exists: text.is_some(),
        entries,
    })
}

/// The cluster database (when it exists) and template1, from DATABASE_SQL.
fn databases(
    rows: &[tokio_postgres::Row],
    cluster_db: &str,
) -> (Option<DatabaseFacts>, Option<DatabaseFacts>) {
    let (mut db, mut template) = (None, None);
    for r in rows {
        let d = DatabaseFacts {
            name: r.get(0),
            encoding: r.get(1),
            collate: r.get(2),
            ctype: r.get(3),
            ..Default::default()
        };
        if d.name == cluster_db {
            db = Some(d.clone());
        }
        if d.name == "template1" {
            template = Some(d);
        }
    }
    (db, template)
}

#[cfg(test)]
mod tests {
    #[test]
    fn extension_files() {
        let files: Vec<String> = [
            "timescaledb.control",
            "timescaledb--2.9.3.sql",
            "timescaledb--2.13.1.sql",
            "timescaledb--2.12.0--2.13.1.sql",
            "dblink.control",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let e = super::extensions_from_files(&files);
        assert_eq!(
            (e.timescaledb, e.default, e.dblink),
            (vec!["2.9.3".to_string(), "2.13.1".to_string()], None, true)
        );
        assert_eq!(
            super::extensions_from_files(&files[1..3]).timescaledb,
            Vec::<String>::new(),
            "no control file, no extension"
        );
        // 2.14.2 installed beside 2.13.1, its library too; 2.9.3's gone.
        let mut more = files.clone();
        more.extend(
            [
                "timescaledb--2.14.2.sql",
                "lib:timescaledb-2.13.1.so",
                "lib:timescaledb-2.14.2.so",
                "default:2.14.2",
            ]
            .map(String::from),
        );
        let e = super::extensions_from_files(&more);
        assert_eq!(
            e.timescaledb,
            vec!["2.13.1".to_string(), "2.14.2".to_string()]
        );
        assert_eq!(e.default.as_deref(), Some("2.14.2"));
    }
}
