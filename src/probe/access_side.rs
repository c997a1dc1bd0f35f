//! From the access node's side: connect from inside the access node to each
//! data node with the options TimescaleDB itself would use (as its
//! tsl/src/remote/connection.c builds them, TimescaleDB 2.13),
//! through dblink's C function declared as a temporary function of tsmn's
//! session, so nothing is installed or left behind.

use super::ProbeOptions;
use crate::facts::{AccessProbe, AccessProbes, ServerFacts};
use crate::plan::Plan;
use crate::timescale::BOOTSTRAP_DATABASES;
use tokio_postgres::Client;

pub async fn probe(
    lanes: &super::Lanes<'_>,
    plan: &Plan,
    an: &ServerFacts,
    opts: ProbeOptions,
) -> AccessProbes {
    if !an.dblink_available {
        return AccessProbes::NotTested {
            reason: "dblink is not installed on the access node, so tsmn cannot connect out from it \
                     (install PostgreSQL's contrib package there, e.g. apt-get install postgresql-contrib)"
                .into(),
        };
    }
    // Only dblink's one C function, as a temporary function of this session:
    // nothing is installed, and it is gone when the session ends.
    if let Err(e) = lanes.home().batch_execute(DBLINK_FUNCTION).await {
        return AccessProbes::NotTested {
            reason: format!("dblink could not be loaded on the access node: {e}"),
        };
    }
    // One test per data node, at once (see Lanes).
    let tests = plan
        .data_nodes
        .iter()
        .enumerate()
        .map(|(i, dn)| test_one(lanes, i == 0, dn, plan, an, opts));
    let results = futures_util::future::join_all(tests).await;
    AccessProbes::Tested { results }
}

async fn test_one(
    lanes: &super::Lanes<'_>,
    first: bool,
    dn: &crate::plan::Node,
    plan: &Plan,
    an: &ServerFacts,
    opts: ProbeOptions,
) -> AccessProbe {
    // Tested from the access node whatever tsmn's own attempt meets, at
    // the same time: the access node's answer decides (tsmn may reach the
    // node another way, or not at all where the access node can).
    // The cluster database: tsmn creates it on each data node itself, so
    // add_data_node (`bootstrap => false`) and every query after connect
    // there, never to the bootstrap database. One that does not exist yet
    // was admitted all the same: the server checks pg_hba.conf and the
    // password before it looks for the database.
    let in_cluster = an.engine_conninfo(
        &plan.superuser,
        &plan.database,
        (&dn.host, dn.port),
        opts.connect_timeout,
    );
    let bootstrap = options(plan, an, &dn.host, dn.port, opts);
    lanes
        .on(first, async |client: &Client| {
            let mut probe = bounded(client, &dn.name, &in_cluster, opts).await;
            // The mode enforced: a login with neither password nor
            // certificate must be refused (as the verify step proves).
            for (mode, bare) in crate::timescale::without_credentials(plan, &dn.host, dn.port) {
                match connect_out(client, &bare, opts.connect_timeout).await {
                    Err(e) if !missing_database(&e, &plan.database) => {}
                    _ => {
                        probe.admits_without = Some(mode.to_string());
                        break;
                    }
                }
            }
            if probe
                .error
                .as_deref()
                .is_some_and(|e| missing_database(e, &plan.database))
            {
                probe.error = None;
                // Where it came from, for the plan's addresses: the
                // bootstrap database answers that when it admits too.
                probe.source_address = connect_out(client, &bootstrap, opts.connect_timeout)
                    .await
                    .ok();
            }
            probe
        })
        .await
}

/// The access node got past pg_hba.conf and the password, and only the
/// database is not there yet.
pub fn missing_database(error: &str, database: &str) -> bool {
    error.contains(&format!("database \"{database}\" does not exist"))
}

/// `connect_out`, bounded by tsmn's connect timeout (libpq inside the
/// server waits at least 2 s), as the probe's finding for one data node.
async fn bounded(client: &Client, data_node: &str, info: &str, opts: ProbeOptions) -> AccessProbe {
    let tried = connect_out(client, info, opts.connect_timeout).await;
    AccessProbe {
        data_node: data_node.to_string(),
        source_address: tried.as_ref().ok().cloned(),
        error: tried.err(),
        not_tested: None,
        admits_without: None,
    }
}

/// The libpq options TimescaleDB uses from this access node to a data node.
pub fn options(plan: &Plan, an: &ServerFacts, host: &str, port: i64, opts: ProbeOptions) -> String {
    an.engine_conninfo(
        &plan.superuser,
        BOOTSTRAP_DATABASES[0],
        (host, port),
        opts.connect_timeout,
    )
}

pub use crate::timescale::DBLINK_FUNCTION;

/// One connection from inside the access node (dblink's function made in
/// the session first) with `info`, bounded by `timeout`: a test that does
/// not finish is cancelled. Ok(the address the data node saw it come
/// from), or Err(the access node's own error, its detail when it has one).
pub async fn connect_out(
    client: &Client,
    info: &str,
    timeout: std::time::Duration,
) -> Result<String, String> {
    let params = [crate::pg::Text::One(info)];
    let tried = crate::pg::one(
        client,
        "SELECT addr FROM pg_temp.tsmn_dblink($1, 'SELECT host(inet_client_addr())') AS t(addr text)",
        &params,
    );
    match tokio::time::timeout(timeout, tried).await {
        Ok(Ok(row)) => Ok(row
            .get::<_, Option<String>>(0)
            .unwrap_or_else(|| "local socket".into())),
        Ok(Err(e)) => Err(match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(d) => d.trim().to_string(),
                None => db.message().to_string(),
            },
            None => e.to_string(),
        }),
        Err(_) => {
            let _ = client
                .cancel_token()
                .cancel_query(tokio_postgres::NoTls)
                .await;
            Err(format!(
                "timeout expired: no answer within {} s",
                timeout.as_secs()
            ))
        }
    }
}
