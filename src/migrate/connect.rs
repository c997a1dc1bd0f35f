//! Connections of a migration: the plan's nodes as tsmn reaches them
//! (probe::config), and the target as `--to` names it (a URI, key=value
//! conninfo, `HOST[:PORT]` or a socket directory; no password in it).

use super::MigrateError;
use crate::discover::Target;
use crate::plan::{Node, Plan};
use crate::probe::credentials::PasswordSource;
use crate::probe::tls::Tls;
use crate::probe::ProbeOptions;
use std::time::Duration;
use tokio_postgres::{Client, Config};

/// The target: where it is, and its database (the `--to` string's dbname,
/// else the plan's database name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetAddr {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

impl TargetAddr {
    /// `host:port/database`, for messages and the journal's name.
    pub fn shown(&self) -> String {
        let t = Target {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            database: None,
            ..Target::default()
        };
        format!("{}/{}", t.shown(), self.database)
    }
}

/// `--to` as given (a service it names is read from pg_service.conf).
pub fn parse_target(given: &str, plan: &Plan) -> Result<TargetAddr, MigrateError> {
    let t = crate::discover::parse_target(given, None, None, &crate::plan::system::System)
        .map_err(|e| {
            let e = e.replace("--access-node", "--to");
            if e.contains("\n    fix:") {
                MigrateError::Usage(e)
            } else {
                MigrateError::Usage(format!(
                    "{e}\n    fix: give the target as HOST[:PORT], a socket directory, a postgresql://USER@HOST:PORT/DATABASE URI or key=value conninfo (host=... port=... dbname=..., or service=NAME); the database defaults to the plan's; the password comes from PGPASSWORD or ~/.pgpass, never from --to"
                ))
            }
        })?;
    // tsmn connects to the target with the plan's TLS and passwords: a
    // key that would make its connection stricter cannot be dropped with
    // a note (the connection would be weaker than asked), so it is refused.
    let c = &t.conn.credentials;
    let strict: Vec<String> = [
        ("sslmode", &c.sslmode),
        ("sslrootcert", &c.sslrootcert),
        ("sslcert", &c.sslcert),
        ("sslkey", &c.sslkey),
        ("passfile", &c.passfile),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={v}"))
    .chain(t.conn.hostaddr.iter().map(|h| format!("hostaddr={h}")))
    .collect();
    if !strict.is_empty() {
        return Err(MigrateError::Usage(format!(
            "--to: {} cannot be used for the target: tsmn migrate connects to it with the plan's [credentials] (TLS and passfile), and would connect less strictly than the string asks\n    fix: put them in the plan's [credentials] (they then apply to every node), or give the target's address without them",
            strict.join(", ")
        )));
    }
    // parse_target defaults the user to postgres; the plan's superuser is
    // the better default unless the string named one.
    let named_user = given.contains("user=") || given.contains('@');
    Ok(TargetAddr {
        host: t.host,
        port: t.port,
        user: if named_user {
            t.user
        } else {
            plan.superuser.clone()
        },
        database: t.database.unwrap_or_else(|| plan.database.clone()),
    })
}

/// Everything a migration needs to open sessions.
pub struct Reach {
    pub plan: Plan,
    pub passwords: PasswordSource,
    pub tls: Tls,
    pub opts: ProbeOptions,
}

impl Reach {
    pub fn new(plan: &Plan, connect_timeout: Duration) -> Result<Reach, MigrateError> {
        let tls = Tls::from_plan(plan).map_err(MigrateError::Usage)?;
        Ok(Reach {
            plan: plan.clone(),
            passwords: PasswordSource::from_plan(plan),
            tls,
            opts: ProbeOptions::with_connect_timeout(connect_timeout),
        })
    }

    /// A session on a node of the plan, in `db`, with the migrate settings.
    pub async fn node(&self, node: &Node, db: &str) -> Result<Client, MigrateError> {
        let cfg = crate::probe::config(
            node,
            &self.plan.superuser,
            db,
            &self.passwords,
            self.opts,
            &self.tls,
        );
        let fix = "tsmn check --plan <the plan> says why this node refuses or does not answer";
        self.open(&cfg, &format!("{} (database {db})", node.name), fix)
            .await
    }

    pub fn target_config(&self, t: &TargetAddr, db: &str) -> Config {
        let mut cfg = Config::new();
        if t.host.starts_with('/') {
            cfg.host_path(&t.host);
        } else {
            cfg.host(&t.host);
        }
        cfg.port(t.port)
            .user(&t.user)
            .dbname(db)
            .application_name(crate::plan::system::application_name())
            .connect_timeout(self.opts.connect_timeout)
            .ssl_mode(self.tls.ssl_mode_for(&t.host));
        if let Some(pw) = self.passwords.password_for(&t.host, t.port, db, &t.user) {
            use secrecy::ExposeSecret;
            cfg.password(pw.expose_secret().as_bytes());
        }
        cfg
    }

    /// `e`, an error reading the cluster, named better when a data node
    /// cannot be reached (the access node cannot read it either).
    pub async fn explain_unreadable(&self, e: MigrateError) -> MigrateError {
        match self.unreachable_data_nodes().await.first() {
            Some((n, why)) => MigrateError::Failed(format!(
                "data node {n} cannot be reached, so the cluster cannot be read; nothing was copied\n    {}\n    fix: bring {n} back (tsmn check --plan PLAN says why it fails), then run tsmn migrate again",
                why.lines().next().unwrap_or_default()
            )),
            None => e,
        }
    }

    /// The plan's data nodes tsmn cannot open a session on (in the plan's
    /// database), with why: what explains a source that cannot be read.
    pub async fn unreachable_data_nodes(&self) -> Vec<(String, String)> {
        let tries = self.plan.data_nodes.iter().map(|n| async move {
            self.node(n, &self.plan.database)
                .await
                .err()
                .map(|e| (n.name.clone(), e.to_string()))
        });
        futures_util::future::join_all(tries)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// A session on the target server, in `db`.
    pub async fn target(&self, t: &TargetAddr, db: &str) -> Result<Client, MigrateError> {
        let cfg = self.target_config(t, db);
        let fix = "check the target's address and port in --to, that its server runs, that its pg_hba.conf admits this host for the superuser, and its password (PGPASSWORD or ~/.pgpass; never in --to)";
        self.open(&cfg, &format!("the target {}", t.shown()), fix)
            .await
    }

    async fn open(&self, cfg: &Config, what: &str, fix: &str) -> Result<Client, MigrateError> {
        let client = crate::probe::connect(cfg, &self.tls, self.opts, None)
            .await
            .map_err(|c| {
                MigrateError::Failed(format!(
                    "cannot connect to {what}: {}\n    fix: {fix}",
                    c.problem().unwrap_or_default()
                ))
            })?;
        client
            .batch_execute(super::SESSION_SETTINGS)
            .await
            .map_err(|e| sql_error(what, "setting the session up", &e))?;
        Ok(client)
    }
}

/// A failed statement as one line: where, doing what, the server's words.
pub fn sql_error(node: &str, doing: &str, e: &tokio_postgres::Error) -> MigrateError {
    MigrateError::Failed(format!(
        "{node}: {doing}: {}",
        crate::run::session::describe(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_forms() {
        let plan = crate::plan::new_plan();
        let t = parse_target("postgresql://ops@10.0.0.9:6432/newdb", &plan).unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.database.as_str()
            ),
            ("10.0.0.9", 6432, "ops", "newdb")
        );
        let t = parse_target("10.0.0.9", &plan).unwrap();
        assert_eq!(
            (t.port, t.database.as_str()),
            (5432, plan.database.as_str())
        );
        assert_eq!(t.user, plan.superuser);
        let e = parse_target("postgresql://ops:pw@h/db", &plan).unwrap_err();
        assert!(e.to_string().contains("--to"), "{e}");
        assert!(!e.to_string().contains("pw@"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }
}
