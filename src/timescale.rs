//! PURE: rules of TimescaleDB multi-node (2.0 to 2.13, the releases that
//! have it), in one place.

/// The floor tsmn sets max_prepared_transactions to on a data node (and at
/// least max_connections, as TimescaleDB recommends): apply and check's
/// fixes name the same value.
pub const PREPARED_TRANSACTIONS: i64 = 150;

/// Databases `add_data_node` bootstraps through, in the order it tries them.
pub const BOOTSTRAP_DATABASES: [&str; 3] = ["postgres", "template1", "defaultdb"];

/// PostgreSQL majors on which TimescaleDB 2.13 supports multi-node.
pub const MULTINODE_PG_MAJORS: std::ops::RangeInclusive<u32> = 13..=15;

/// dblink(connstr, sql) from contrib's library, as a temporary function of
/// the session: how tsmn connects out from inside the access node (as
/// TimescaleDB does) with nothing installed and nothing left behind.
pub const DBLINK_FUNCTION: &str =
    "CREATE OR REPLACE FUNCTION pg_temp.tsmn_dblink(text, text) RETURNS SETOF record \
    AS '$libdir/dblink', 'dblink_record' LANGUAGE C STRICT";

/// TimescaleDB's client-certificate file stem for a role: md5 of the role name.
pub fn cert_file_stem(role: &str) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(role.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A TimescaleDB version as (major, minor, patch); None when unparsable.
pub fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let core = v.split(['-', '+', ' ']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Multi-node exists from 2.0 through 2.13.
pub fn has_multinode(version: &str) -> Option<bool> {
    parse_version(version).map(|(maj, min, _)| maj == 2 && min <= 13)
}

/// The TimescaleDB version tsmn creates on a node where the extension is
/// not created yet. `available`: versions with both an install script and
/// a library; `default`: the control file's default_version. The default
/// when it still has multi-node (2.13.x or older), else the newest
/// available version that has it: after a package upgrade the default is
/// usually 2.14 or later, whose CREATE EXTENSION would make a node that
/// add_data_node refuses. None: no installed version has multi-node.
pub fn version_to_create(available: &[String], default: Option<&str>) -> Option<String> {
    let usable = |v: &&String| has_multinode(v) == Some(true);
    if let Some(d) = default.filter(|d| has_multinode(d) == Some(true)) {
        if let Some(v) = available.iter().find(|v| v.as_str() == d) {
            return Some(v.clone());
        }
    }
    available
        .iter()
        .filter(usable)
        .max_by_key(|v| parse_version(v))
        .cloned()
}

/// PostgreSQL majors a TimescaleDB release supports multi-node on, as each
/// release's CHANGELOG.md gives them (2.13 refuses multi-node on 16).
pub fn pg_majors_for(version: &str) -> Option<std::ops::RangeInclusive<u32>> {
    let (maj, min, _) = parse_version(version)?;
    if maj != 2 {
        return None;
    }
    Some(match min {
        0 => 11..=12,
        1..=3 => 11..=13,
        4 => 12..=13,
        5..=9 => 12..=14,
        10..=11 => 12..=15,
        _ => 13..=15,
    })
}

/// Host, port and database of a data node from its foreign server's
/// options (`{host=127.0.0.1,port=6433,dbname=tsdb}`), as add_data_node
/// stores them: discover reads them, and so does the probe (where the
/// access node reaches each member).
pub fn server_options(options: &[String]) -> (Option<String>, Option<i64>, Option<String>) {
    let get = |k: &str| {
        options
            .iter()
            .find_map(|o| o.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
            .map(str::to_string)
    };
    (
        get("host"),
        get("port").and_then(|p| p.parse().ok()),
        get("dbname"),
    )
}

/// TimescaleDB's own prepared transaction of the cluster database (its
/// gid starts `ts-`, tsl/src/remote/txn_id.c): the engine's heal resolves
/// it. Any other is someone else's to commit or roll back.
pub fn own_prepared(gid: &str, database: &str, cluster_database: &str) -> bool {
    gid.starts_with("ts-") && database == cluster_database
}

/// The gid prefix of tsmn's own write pauses: each chunk move holds the
/// lock that pauses writes to its hypertable in a prepared transaction on
/// the access node (run/moves.rs), so that a killed run leaves writes
/// paused, never unsafe, until the next run compares and releases.
pub const WRITE_PAUSE_PREFIX: &str = "tsmn_drain_";

/// Whether a prepared transaction is one of tsmn's write pauses.
pub fn write_pause(gid: &str) -> bool {
    gid.starts_with(WRITE_PAUSE_PREFIX)
}

/// Bytes for people: B, kB, MB, GB (powers of 1024, as pg_size_pretty).
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Where TimescaleDB's internal functions (ping_data_node, ...) live:
/// `_timescaledb_functions` from 2.12, `_timescaledb_internal` before;
/// unknown versions get the newer.
pub fn functions_schema(version: Option<&str>) -> &'static str {
    match version.and_then(parse_version) {
        Some((2, minor, _)) if minor < 12 => "_timescaledb_internal",
        _ => "_timescaledb_functions",
    }
}

/// The engine's own resolution of the two-phase transactions a data node
/// holds for the access node (`remote_txn_heal_data_node`, the function
/// TimescaleDB's multinode-maintenance docs page runs): run on the access
/// node, in the cluster database, outside a transaction block. It commits
/// what the access node committed, rolls back what it did not, and leaves
/// what is still running there.
pub fn heal_sql(schema: &str, data_node: &str) -> String {
    format!(
        "SELECT {schema}.remote_txn_heal_data_node(oid) FROM pg_foreign_server WHERE srvname = {}",
        crate::quote::sql::literal(data_node)
    )
}

/// An age for people: seconds, minutes, hours or days.
pub fn age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// Logins from the access node to a data node that bring neither a
/// password nor a client certificate, which password and certificate mode
/// must see refused: without TLS, and in certificate mode with TLS too
/// (sslmode, conninfo). The verify step tries them, and so does check.
pub fn without_credentials(
    plan: &crate::plan::Plan,
    host: &str,
    port: i64,
) -> Vec<(&'static str, String)> {
    let modes: &[&'static str] = match plan.auth.mode {
        crate::plan::AuthMode::Trust => &[],
        crate::plan::AuthMode::Password => &["disable"],
        crate::plan::AuthMode::Certificate => &["disable", "require"],
    };
    modes
        .iter()
        .map(|m| {
            (
                *m,
                crate::quote::conninfo::conninfo([
                    ("host", host.to_string()),
                    ("port", port.to_string()),
                    // Where the cluster's links go (the bootstrap database
                    // may be refused by rules that still let the cluster
                    // database in).
                    ("dbname", plan.database.clone()),
                    ("user", plan.superuser.clone()),
                    ("passfile", "/nonexistent/tsmn-no-passfile".to_string()),
                    ("sslcert", "/nonexistent/tsmn-no-cert.crt".to_string()),
                    ("sslkey", "/nonexistent/tsmn-no-cert.key".to_string()),
                    ("sslmode", (*m).to_string()),
                    ("connect_timeout", "5".to_string()),
                ]),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_pg_size_pretty() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(2048), "2.0 kB");
        assert_eq!(size(5 * 1024 * 1024 + 1024 * 512), "5.5 MB");
    }

    #[test]
    fn server_options_are_read() {
        let o = [
            "host=10.0.0.11".to_string(),
            "port=6433".into(),
            "dbname=tsdb".into(),
        ];
        assert_eq!(
            server_options(&o),
            (Some("10.0.0.11".into()), Some(6433), Some("tsdb".into()))
        );
        assert_eq!(server_options(&[]), (None, None, None));
    }

    #[test]
    fn heal_and_ages() {
        assert_eq!(
            heal_sql("_timescaledb_functions", "dn'1"),
            "SELECT _timescaledb_functions.remote_txn_heal_data_node(oid) FROM pg_foreign_server WHERE srvname = 'dn''1'"
        );
        assert_eq!(
            (age(5), age(600), age(7300), age(3 * 86400)),
            ("5 s".into(), "10 min".into(), "2 h".into(), "3 days".into())
        );
    }

    #[test]
    fn internal_functions_moved_in_2_12() {
        assert_eq!(functions_schema(Some("2.11.2")), "_timescaledb_internal");
        assert_eq!(functions_schema(Some("2.12.0")), "_timescaledb_functions");
        assert_eq!(functions_schema(Some("2.13.1")), "_timescaledb_functions");
        assert_eq!(functions_schema(None), "_timescaledb_functions");
    }

    #[test]
    fn cert_names_are_the_md5_of_the_role_name() {
        assert_eq!(
            cert_file_stem("postgres"),
            "e8a48653851e28c69d0506508fb27fc5"
        );
        assert_eq!(
            cert_file_stem("testrole"),
            "9e87613bf77d50f190dca2a795efcc44"
        );
    }

    #[test]
    fn the_version_created_keeps_multinode() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let both = v(&["2.13.1", "2.14.2"]);
        assert_eq!(
            version_to_create(&both, Some("2.13.1")).as_deref(),
            Some("2.13.1")
        );
        // After a package upgrade the default moves past multi-node.
        assert_eq!(
            version_to_create(&both, Some("2.14.2")).as_deref(),
            Some("2.13.1")
        );
        assert_eq!(version_to_create(&both, None).as_deref(), Some("2.13.1"));
        assert_eq!(
            version_to_create(&v(&["2.12.0", "2.13.1"]), Some("2.12.0")).as_deref(),
            Some("2.12.0"),
            "an older default that has multi-node stays"
        );
        assert_eq!(
            version_to_create(&v(&["2.13.0"]), Some("2.13.1")).as_deref(),
            Some("2.13.0"),
            "a default without its script or library is not created"
        );
        assert_eq!(version_to_create(&v(&["2.14.2"]), Some("2.14.2")), None);
        assert_eq!(version_to_create(&[], None), None);
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("2.13.1"), Some((2, 13, 1)));
        assert_eq!(has_multinode("2.13.1"), Some(true));
        assert_eq!(has_multinode("2.14.0"), Some(false));
        assert_eq!(pg_majors_for("2.13.1"), Some(13..=15));
        assert_eq!(pg_majors_for("2.4.2"), Some(12..=13));
    }
}

/// A server notice as an operator should see it: TimescaleDB's welcome
/// banner (a multi-line WARNING on the first CREATE EXTENSION in a
/// session) becomes one line; everything else is kept as it is.
pub fn notice_for_people(message: &str) -> String {
    if message.contains("WELCOME TO") && message.contains("Running version") {
        let version = message
            .lines()
            .find_map(|l| l.trim().strip_prefix("Running version "))
            .unwrap_or("?");
        return format!("WARNING: TimescaleDB {version} welcome banner (normal, not a failure)");
    }
    message.to_string()
}

#[cfg(test)]
mod notice_tests {
    #[test]
    fn the_welcome_banner_is_one_line_and_other_notices_stay() {
        let banner = "WARNING: \nWELCOME TO\n _____ _\n               Running version 2.13.1\nFor more information";
        assert_eq!(
            super::notice_for_people(banner),
            "WARNING: TimescaleDB 2.13.1 welcome banner (normal, not a failure)"
        );
        let other = "WARNING: adding data node is deprecated";
        assert_eq!(super::notice_for_people(other), other);
    }
}
