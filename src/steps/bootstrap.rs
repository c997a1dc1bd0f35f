//! The data nodes' own database and extension, created by tsmn directly on
//! each data node, all at once, the way add_data_node's bootstrap would
//! create them from the access node one after another (TimescaleDB's
//! tsl/src/data_node.c): the access node database's encoding, LC_COLLATE
//! and LC_CTYPE, TEMPLATE template0, the superuser as owner, the extension
//! at the access node's version. add_data_node then only validates them.
//!
//! Only when the access node's facts say what to create: offline (preview
//! or export without connections) add_data_node bootstraps as before.

use super::{step, Action, Ctx, Phase, Statement, Step, StepState};
use crate::quote::sql::literal;

/// The TimescaleDB version the cluster runs: the access node's installed
/// one, or the version tsmn creates (`timescale::version_to_create`: never
/// one without multi-node when one with it is installed).
pub(super) fn version(ctx: &Ctx) -> Option<String> {
    ctx.server(&ctx.plan.access_node.name)?
        .timescaledb_version()
}

/// The extension at `version`: the same on every node (add_data_node's
/// bootstrap creates the access node's version, and tsl/src/dist_util.c
/// refuses a data node older than the access node).
pub(super) fn create_extension(version: Option<&str>) -> String {
    match version {
        Some(v) => format!(
            "CREATE EXTENSION IF NOT EXISTS timescaledb VERSION {}",
            literal(v)
        ),
        None => "CREATE EXTENSION IF NOT EXISTS timescaledb".into(),
    }
}

/// Two steps per data node (its database, in `postgres`; the extension in
/// it), or none when the access node's facts are unknown.
pub(super) fn build(ctx: &Ctx) -> Vec<Step> {
    let plan = ctx.plan;
    let Some(locale) = ctx.an_locale() else {
        return Vec::new();
    };
    let Some(version) = version(ctx) else {
        return Vec::new();
    };
    let db = plan.database.as_str();
    let mut steps = Vec::new();
    for dn in ctx.data_nodes() {
        let theirs = ctx.server(&dn.name).and_then(|s| s.database.as_ref());
        let create = format!(
            "SELECT format('CREATE DATABASE %I ENCODING %L LC_COLLATE %L LC_CTYPE %L TEMPLATE template0 OWNER %I', {d}, {e}, {c}, {t}, {o}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {d})",
            d = literal(db),
            e = literal(&locale.encoding),
            c = literal(&locale.collate),
            t = literal(&locale.ctype),
            o = literal(&plan.superuser),
        );
        let mut database = step(
            &dn.name,
            Phase::Cluster,
            "database",
            format!("Create database {db} on {}", dn.name),
            format!(
                "as add_data_node's bootstrap would ({}, {} / {}, template0), but on every data node at once",
                locale.encoding, locale.collate, locale.ctype
            ),
            Action::Sql {
                database: "postgres".into(),
                statements: vec![Statement::generator(create)],
            },
        );
        let mut extension = step(
            &dn.name,
            Phase::Cluster,
            "extension",
            format!("Create the TimescaleDB extension on {}", dn.name),
            format!("the access node's version ({version}), as add_data_node's bootstrap would"),
            Action::Sql {
                database: db.into(),
                statements: vec![Statement::plain(create_extension(Some(&version)))],
            },
        );
        if let Some(d) = theirs {
            database.state = StepState::Done {
                why: format!("database {db} exists on {}", dn.name),
            };
            if let Some(v) = &d.timescaledb {
                extension.state = StepState::Done {
                    why: format!("TimescaleDB {v} is installed in {db} on {}", dn.name),
                };
            }
        }
        if let Some(why) = ctx.cannot_add(&dn.name) {
            for s in [&mut database, &mut extension] {
                s.state = StepState::Blocked { why: why.clone() };
            }
        }
        steps.push(database);
        steps.push(extension);
    }
    steps
}
