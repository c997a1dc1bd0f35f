//! PURE: settings (`ALTER ROLE|DATABASE ... SET`) as the target takes them
//! again: how a stored value is written back, and which TimescaleDB
//! settings belong to multi-node only and so do not move.

use crate::quote::sql::literal;

/// The settings pg_dump quotes as lists (`variable_is_guc_list_quote`):
/// the server stores each element quoted as an identifier, comma-separated.
const LIST_SETTINGS: [&str; 6] = [
    "local_preload_libraries",
    "search_path",
    "session_preload_libraries",
    "shared_preload_libraries",
    "temp_tablespaces",
    "unix_socket_directories",
];

/// TimescaleDB 2.13's settings that exist for multi-node only: the names
/// 2.13.1's `src/guc.c` and `tsl/src` define and 2.14.2's no longer do,
/// but `vectorized_aggregation` (renamed, not removed). On a single node
/// they mean nothing, and once the target is updated to 2.14 each would be
/// an unknown name under the reserved prefix `timescaledb`, warned about
/// at every login that applies it.
const MULTINODE_ONLY: [&str; 18] = [
    "debug_allow_datanode_only_path",
    "debug_broken_sendrecv_error_after",
    "debug_enable_ssl",
    "debug_inject_gid_error",
    "dist_copy_transfer_format",
    "enable_2pc",
    "enable_client_ddl_on_data_nodes",
    "enable_connection_binary_data",
    "enable_distributed_insert_with_copy",
    "enable_parameterized_data_node_scan",
    "enable_per_data_node_queries",
    "enable_remote_explain",
    "hide_data_node_name_in_errors",
    "hypertable_distributed_default",
    "hypertable_replication_factor_default",
    "passfile",
    "remote_data_fetcher",
    "ssl_dir",
];

/// PURE: whether a setting's name is one of multi-node's own.
pub fn multinode_only(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.strip_prefix("timescaledb.")
        .is_some_and(|n| MULTINODE_ONLY.contains(&n))
}

/// PURE: a stored list's elements, dequoted (`"a""b", c` -> `a"b`, `c`).
fn list_elements(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            // Unquoted, an element has no white space.
            c if c.is_whitespace() && !quoted => {}
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// PURE: the value of `SET <name> TO <value>` for a value as the server
/// stores it in `pg_db_role_setting` (as pg_dump writes it back).
pub fn value_sql(name: &str, value: &str) -> String {
    if LIST_SETTINGS.contains(&name.to_ascii_lowercase().as_str()) {
        list_elements(value)
            .iter()
            .map(|e| literal(e))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        literal(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_node_settings_are_told_by_name() {
        assert!(multinode_only("timescaledb.enable_2pc"));
        assert!(multinode_only("TimescaleDB.Remote_Data_Fetcher"));
        assert!(!multinode_only("timescaledb.vectorized_aggregation"));
        assert!(!multinode_only("timescaledb.max_background_workers"));
        assert!(!multinode_only("enable_2pc"));
        assert_eq!(
            value_sql("search_path", "app, \"My \"\"S\"\"\", public"),
            "'app', 'My \"S\"', 'public'"
        );
        assert_eq!(value_sql("work_mem", "it's"), "'it''s'");
    }
}
