//! PURE: the connection TimescaleDB makes from an access node to a data
//! node, as its tsl/src/remote/connection.c builds the options (2.13),
//! read from the access node's facts. One reading for every place that
//! makes the same connection: check's probe from inside the access node,
//! the links between data nodes (a chunk copy's destination logs in to its
//! source with the access node's options), apply's proofs and status.

use super::ServerFacts;
use crate::quote::conninfo::conninfo;
use std::time::Duration;

impl ServerFacts {
    /// The libpq options the engine uses from this access node when `role`
    /// connects to `database` on `to` (host, port), bounded by
    /// `connect_timeout`.
    pub fn engine_conninfo(
        &self,
        role: &str,
        database: &str,
        to: (&str, i64),
        connect_timeout: Duration,
    ) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("host", to.0.to_string()),
            ("port", to.1.to_string()),
            ("dbname", database.to_string()),
            ("user", role.to_string()),
            (
                "application_name",
                crate::plan::system::link_application_name(),
            ),
            // libpq's minimum is 2 seconds; 0 waits without a limit.
            ("connect_timeout", libpq_timeout(connect_timeout)),
        ];
        // The extension always passes a passfile, in every mode: the
        // timescaledb.passfile setting, else <PGDATA>/passfile.
        if let Some(p) = self.timescaledb_passfile() {
            pairs.push(("passfile", p));
        }
        // With ssl off on the access node TimescaleDB adds nothing, so
        // libpq's defaults apply (the ssl_off finding explains the
        // consequence).
        if self.ssl_on() {
            pairs.push(("sslmode", "require".into()));
            if let Some(ca) = self.setting("ssl_ca_file").filter(|v| !v.is_empty()) {
                pairs.push(("sslrootcert", self.resolve(ca)));
            }
            let (crt, key) = self.client_certificate(role);
            pairs.push(("sslcert", crt));
            pairs.push(("sslkey", key));
        }
        conninfo(pairs)
    }

    /// This access node's settings that name paths, as a data node's libpq
    /// finds them (a chunk copy's subscription runs there): a relative one
    /// in `data_dir`, the data node's own.
    pub fn as_seen_from(&self, data_dir: &str) -> ServerFacts {
        let mut settings = self.settings.clone();
        for name in ["timescaledb.passfile", "timescaledb.ssl_dir", "ssl_ca_file"] {
            if let Some(s) = settings.get_mut(name) {
                if !s.value.is_empty() && !s.value.starts_with('/') {
                    s.value = format!("{}/{}", data_dir.trim_end_matches('/'), s.value);
                }
            }
        }
        ServerFacts {
            settings,
            ..ServerFacts::default()
        }
    }
}

/// tsmn's connect timeout as libpq's connect_timeout: whole seconds, at
/// least 2 (libpq's minimum), 0 for tsmn's wait without a limit.
fn libpq_timeout(t: Duration) -> String {
    if t >= crate::plan::system::env::WAIT_FOREVER {
        "0".into()
    } else {
        t.as_secs().max(2).to_string()
    }
}

#[cfg(test)]
mod tests {
    use crate::facts::ServerFacts;
    use std::time::Duration;

    fn server(settings: &[(&str, &str)]) -> ServerFacts {
        ServerFacts::with_settings(settings)
    }

    #[test]
    fn the_engines_options_name_the_access_nodes_files_and_ssl_only_when_on() {
        let an = server(&[("data_directory", "/srv/an"), ("ssl", "off")]);
        let off = an.engine_conninfo("postgres", "tsdb", ("10.0.0.11", 5432), Duration::ZERO);
        assert!(off.contains("passfile='/srv/an/passfile'"), "{off}");
        assert!(
            off.contains("connect_timeout='2'") && !off.contains("ssl"),
            "{off}"
        );
        let an = server(&[
            ("data_directory", "/srv/an"),
            ("ssl", "on"),
            ("ssl_ca_file", "root.crt"),
            ("timescaledb.passfile", "/etc/tsdb/pass"),
        ]);
        let on = an.engine_conninfo("app", "tsdb", ("10.0.0.11", 5433), Duration::from_secs(9));
        for part in [
            "port='5433'",
            "user='app'",
            "passfile='/etc/tsdb/pass'",
            "sslmode='require'",
            "sslrootcert='/srv/an/root.crt'",
            "sslcert='/srv/an/timescaledb/certs/",
            "connect_timeout='9'",
        ] {
            assert!(on.contains(part), "{part} in {on}");
        }
    }

    #[test]
    fn relative_paths_set_on_the_access_node_are_found_in_the_data_nodes_directory() {
        let an = server(&[
            ("data_directory", "/srv/an"),
            ("ssl", "on"),
            ("ssl_ca_file", "root.crt"),
            ("timescaledb.passfile", "passfile.links"),
        ]);
        let seen = an.as_seen_from("/srv/dn1/");
        let info = seen.engine_conninfo("postgres", "tsdb", ("dn2", 5432), Duration::ZERO);
        assert!(
            info.contains("passfile='/srv/dn1/passfile.links'"),
            "{info}"
        );
        assert!(info.contains("sslrootcert='/srv/dn1/root.crt'"), "{info}");
    }
}
