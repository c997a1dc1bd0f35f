//! The access node's cluster database and its TimescaleDB extension.

use super::sql;
use crate::quote::sql::literal;
use crate::steps::{step, Action, Ctx, Phase, Statement, Step, StepState};

pub(super) fn database(ctx: &Ctx, bootstrapped: bool) -> Step {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let an_db = ctx.an_database();
    let mut s = step(
        an,
        Phase::Cluster,
        "database",
        format!("Create database {db} on the access node"),
        if bootstrapped {
            "the distributed database; each data node gets its twin from tsmn at the same time"
        } else {
            "the distributed database; add_data_node creates its twin on each data node"
        },
        Action::Sql {
            database: "postgres".into(),
            statements: vec![Statement::generator(format!(
                "SELECT format('CREATE DATABASE %I', {l}) WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {l})",
                l = literal(db)
            ))],
        },
    );
    if an_db.is_some() {
        s.state = StepState::Done {
            why: format!("database {db} exists"),
        };
    }
    s
}

pub(super) fn extension(ctx: &Ctx) -> Step {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let an_db = ctx.an_database();
    let mut s = step(
        an,
        Phase::Cluster,
        "extension",
        "Create the TimescaleDB extension",
        "the access node's catalog of data nodes and distributed hypertables",
        sql(
            db,
            vec![Statement::plain(crate::steps::bootstrap::create_extension(
                crate::steps::bootstrap::version(ctx).as_deref(),
            ))],
        ),
    );
    if let Some(v) = an_db.and_then(|d| d.timescaledb.as_ref()) {
        s.state = StepState::Done {
            why: format!("TimescaleDB {v} is installed in {db}"),
        };
    }
    s
}
