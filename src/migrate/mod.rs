//! `tsmn migrate`: move a multi-node cluster onto one server whose
//! TimescaleDB can be updated past 2.13 (issue 26, offline mode).
//!
//! The parts, in the order a migration runs them:
//! * `source`: what the cluster holds, read from the access node and the
//!   data nodes (read-only);
//! * `target`: what the target server is and holds;
//! * `preflight`: PURE, blockers with their fixes from those two;
//! * `schema`: pg_dump of the access node, filtered, restored on the target;
//!   the distributed hypertables made regular ones;
//! * `rows`, `copy`: each chunk streamed from a data node that holds it into
//!   the target, one transaction per chunk;
//! * `caggs`: continuous aggregates with their materialized rows and
//!   refresh state; `jobs`: policies and user jobs, scheduled at the end;
//! * `journal`: what was copied, beside the plan and on the target, so that a
//!   run killed at any moment goes on without a duplicate or a gap;
//! * `verify`, `replicas`: counts and checksums computed by the servers on
//!   both sides, every replica of a chunk compared.
//!
//! The source is never written: tsmn's sessions there are read-only.

pub mod caggs;
pub mod catalog;
pub mod columns;
pub mod connect;
pub mod copy;
pub mod db_settings;
pub mod guc;
pub mod jobs;
pub mod journal;
pub mod online;
pub mod preflight;
pub mod recopy;
pub mod render;
pub mod replicas;
pub mod resume;
pub mod roles;
pub mod rows;
pub mod run;
pub mod schema;
pub mod source;
mod tally;
pub mod target;
pub mod toc;
pub mod verify;

pub use preflight::{Blocker, Preflight};
pub use run::{
    abandon, already_done, migrate, preflight as check, MigrateOptions, MigrateReport, Online,
};

/// A table by schema and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: &str, name: &str) -> QualifiedName {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }
    /// `"schema"."name"`, for SQL.
    pub fn sql(&self) -> String {
        format!(
            "{}.{}",
            crate::quote::sql::ident(&self.schema),
            crate::quote::sql::ident(&self.name)
        )
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// What went wrong: bad input (exit 2) or a failure or blocker (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl MigrateError {
    pub fn exit_code(&self) -> u8 {
        match self {
            MigrateError::Usage(_) => 2,
            MigrateError::Failed(_) => 1,
        }
    }
}

/// The session settings every migrate session uses on every server, so that
/// text output (and so checksums and text COPY) is the same on both sides.
pub const SESSION_SETTINGS: &str = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; \
     SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'; \
     SET statement_timeout = 0";
