//! The read-only queries behind `ServerFacts`.

use crate::facts::{DatabaseFacts, HbaRule, RoleFacts, ServerFacts, Setting};
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

pub async fn uses_tls(client: &Client) -> bool {
    client
        .query_opt(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .ok()
        .flatten()
        .is_some_and(|r| r.get::<_, bool>(0))
}

pub async fn server_facts(client: &Client, plan: &Plan) -> ServerFacts {
    let mut f = ServerFacts::default();
    if let Ok(r) = client
        .query_one(
            "SELECT current_setting('server_version_num')::int4, current_setting('server_version'), current_user::text, \
             coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)",
            &[],
        )
        .await
    {
        f.version_num = u32::try_from(r.get::<_, i32>(0)).unwrap_or(0);
        f.version = r.get(1);
        f.current_user = r.get(2);
        f.superuser = r.get(3);
    }
    let names: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
    if let Ok(rows) = client
        .query("SELECT name, coalesce(setting, ''), coalesce(source, ''), pending_restart FROM pg_settings WHERE name = ANY($1) OR pending_restart", &[&names])
        .await
    {
        for r in rows {
            f.settings.insert(r.get(0), Setting { value: r.get(1), source: r.get(2), pending_restart: r.get(3) });
        }
    }
    // TimescaleDB's settings exist in pg_settings only once the library is
    // loaded; a value set in the configuration still shows through SHOW.
    for name in SETTINGS.iter().filter(|n| n.starts_with("timescaledb.")) {
        if f.settings.contains_key(*name) {
            continue;
        }
        if let Ok(Some(r)) = client
            .query_opt("SELECT current_setting($1, true)", &[name])
            .await
        {
            if let Some(v) = r.get::<_, Option<String>>(0) {
                f.settings.insert(
                    name.to_string(),
                    Setting {
                        value: v,
                        source: "configuration file".into(),
                        pending_restart: false,
                    },
                );
            }
        }
    }
    f.hba_file = f.setting("hba_file").unwrap_or_default().to_string();
    if f.superuser {
        hba(client, &mut f).await;
    }
    if let Ok(rows) = client.query("SELECT version FROM pg_available_extension_versions WHERE name = 'timescaledb' ORDER BY version", &[]).await {
        f.timescaledb_available = rows.iter().map(|r| r.get(0)).collect();
    }
    f.dblink_available = client
        .query_one(
            "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'dblink'",
            &[],
        )
        .await
        .is_ok_and(|r| r.get::<_, bool>(0));
    if let Ok(Some(r)) = client
        .query_opt(
            "SELECT datname::text, pg_encoding_to_char(encoding), datcollate::text, datctype::text FROM pg_database WHERE datname = $1",
            &[&plan.database],
        )
        .await
    {
        f.database = Some(DatabaseFacts { name: r.get(0), encoding: r.get(1), collate: r.get(2), ctype: r.get(3), ..Default::default() });
    }
    let mut wanted: Vec<String> = plan.auth.roles.clone();
    if !wanted.contains(&plan.superuser) {
        wanted.insert(0, plan.superuser.clone());
    }
    if let Ok(rows) = client
        .query(
            "SELECT w.name, p.rolname IS NOT NULL, coalesce(p.rolcanlogin, false) FROM unnest($1::text[]) WITH ORDINALITY AS w(name, i) \
             LEFT JOIN pg_roles p ON p.rolname = w.name ORDER BY w.i",
            &[&wanted],
        )
        .await
    {
        f.roles = rows.iter().map(|r| RoleFacts { name: r.get(0), exists: r.get(1), can_login: r.get(2) }).collect();
    }
    f
}

async fn hba(client: &Client, f: &mut ServerFacts) {
    if let Ok(rows) = client
        .query(
            "SELECT line_number, type, database, user_name, address, netmask, auth_method, options, error \
             FROM pg_hba_file_rules ORDER BY line_number NULLS LAST",
            &[],
        )
        .await
    {
        f.hba_rules = rows
            .iter()
            .map(|r| HbaRule {
                line_number: r.get::<_, Option<i32>>(0).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                kind: r.get(1),
                databases: r.get::<_, Option<Vec<String>>>(2).unwrap_or_default(),
                users: r.get::<_, Option<Vec<String>>>(3).unwrap_or_default(),
                address: r.get(4),
                netmask: r.get(5),
                method: r.get(6),
                options: r.get::<_, Option<Vec<String>>>(7).unwrap_or_default(),
                error: r.get(8),
            })
            .collect();
    }
    if let Ok(r) = client
        .query_one("SELECT pg_read_file(current_setting('hba_file'))", &[])
        .await
    {
        f.hba_lines = r.get::<_, String>(0).lines().map(str::to_string).collect();
    }
}

/// Inside the cluster database: TimescaleDB's version and membership.
pub async fn database_details(client: &Client, db: &mut DatabaseFacts) {
    db.timescaledb = client
        .query_opt(
            "SELECT extversion::text FROM pg_extension WHERE extname = 'timescaledb'",
            &[],
        )
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    if db.timescaledb.is_none() {
        return;
    }
    if let Ok(rows) = client.query("SELECT key::text, value::text FROM _timescaledb_catalog.metadata WHERE key IN ('uuid', 'dist_uuid')", &[]).await {
        for r in rows {
            let (k, v): (String, String) = (r.get(0), r.get(1));
            match k.as_str() {
                "uuid" => db.uuid = Some(v),
                _ => db.dist_uuid = Some(v),
            }
        }
    }
    if let Ok(rows) = client
        .query(
            "SELECT node_name::text FROM timescaledb_information.data_nodes ORDER BY 1",
            &[],
        )
        .await
    {
        db.data_nodes = rows.iter().map(|r| r.get(0)).collect();
    }
}
