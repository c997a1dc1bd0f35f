//! tsmn: sets up and troubleshoots TimescaleDB multi-node clusters.
//!
//! # The layout of the code
//!
//! One flow, thin faces. Layers from top to bottom; no import runs upward:
//! faces (the binary's `src/main.rs` + `src/cli/`, and [`tui`]) -> [`flow`]
//! -> [`run`], [`migrate`], [`export`], [`report`], [`status`], [`bundle`],
//! [`rebalance`] ->
//! [`steps`], [`probe`], [`sandbox`], [`findings`] -> [`facts`], [`plan`],
//! [`quote`], [`timescale`], [`maintenance`], [`drift`].
//!
//! ```text
//! src/main.rs     argument parsing and dispatch, nothing else
//! src/cli/        the command-line face: args/ (clap, a file per group of commands; connect.rs
//!                 the one reading of --connect-timeout; help.rs each command's long help from
//!                 docs/commands/<command>.md), commands/ (one file per command: flow calls,
//!                 output, exit code), output.rs (colour, -q, JSON documents and errors), log.rs
//!                 (the log file, the notes on stderr), man.rs (the manual pages), prompt.rs
//!                 (passwords without echo and y/N, only on a terminal), signals.rs (Ctrl-C,
//!                 SIGTERM, SIGHUP: stop between steps)
//! src/flow/       the one orchestration both faces call: plan -> credentials -> probe (asking for
//!                 the superuser's password only when a server wants one) -> certificate material
//!                 -> steps -> run or export; run.rs is the one run sequence (lock, steps, what
//!                 the run needs, the run) of apply, undo and the wizard; lock.rs one run per
//!                 cluster; settings.rs the defaults; secrets.rs the one order role passwords are
//!                 looked up in; ask.rs how a face is asked for a secret; rebalance.rs the
//!                 moves of tsmn rebalance (kept beside the plan until they are done)
//! src/tui/        the wizard: mod.rs (terminal, event loop), app.rs (routing keys and task
//!                 results), shared.rs (what several screens read), screens/ (one module per
//!                 screen behind the `Page` contract: its state, key table, actions and
//!                 drawing), overlay.rs (help, quit), tasks.rs (commands carried out over the
//!                 shared flow), watch.rs (the live cluster screen's refresh), migrate_task.rs,
//!                 keys.rs, view.rs, msg.rs, widgets.rs
//! src/run/        the executor: sessions, one file per kind of action (exec.rs dispatches;
//!                 hba.rs, files.rs, restart/, verify.rs, rotate.rs, undo.rs, moves.rs, moves_left.rs,
//!                 recheck.rs), phase.rs
//!                 and sequence.rs (a phase, one node's steps), links.rs (the access node's links
//!                 before and after), the journal; events on a channel
//! src/migrate/    leaving multi-node: source, target, preflight (pure), schema (pg_dump and
//!                 pg_restore), rows and copy, online.rs (counters, freeze), caggs, jobs,
//!                 journal, verify, replicas
//! src/status/     tsmn status: one kept session per node, a snapshot per refresh, problems
//!                 with check's codes, rates, text and JSON
//! src/bundle/     tsmn report: the support bundle, secrets left out
//! src/rebalance/  tsmn rebalance: which chunks to move to even out each hypertable (pure),
//!                 spoken as text and JSON
//! src/export/     steps -> setup.sh (script.rs: prelude and one block per step) + files + README
//! src/report/     the check report (text, JSON), the other commands' JSON documents (json.rs),
//!                 the preview, apply's progress and closing lines, diffs
//! src/steps/      the step model and its builders per concern: settings, auth/ (one file per
//!                 mode and the pg_hba.conf rules), cluster/, verify, rotation, the way back
//!                 (undo.rs), drain, rebalance (its moves, N at a time), links (data node to data node);
//!                 context.rs and moving.rs the facts builders share; material/ the
//!                 certificates (pure but for key generation and its files)
//! src/probe/      connecting (tokio-postgres; tls.rs: rustls on ring with libpq's sslmodes),
//!                 credentials, the read-only queries
//! src/findings/   what blocks multi-node, from plan + facts: per node (node/), pg_hba
//!                 admission, across nodes; the connection-error table (pure)
//! src/sandbox/    local clusters from the installed PostgreSQL (sandbox and tests)
//! src/plan/       plan model, TOML load/save, validation, what a dsn or service may say
//!                 (dsn/: libpq's two syntaxes parsed by tsmn, the table of libpq's keys) (pure);
//!                 system/ libpq as this machine has it (pg_service.conf, PGUSER, the PG*
//!                 environment in one place: env.rs) and where tsmn loads plans; state.rs the
//!                 plan's state folder (<plan>.tsmn)
//! src/facts/      what each node is (mod.rs) and its cluster database (cluster.rs): plain
//!                 data filled by probe/ (pure)
//! src/quote/      quoting per language: SQL, shell, pg_hba, pgpass, libpq conninfo (pure)
//! src/timescale.rs  TimescaleDB rules: version windows, md5 certificate names; ages and sizes
//!                 for people as PostgreSQL writes them (pure)
//! src/maintenance.rs  tsmn's maintenance jobs: their procedures and schedules (pure)
//! src/drift.rs    what must agree between the access node and each data node (pure)
//! src/pg.rs       queries in one round trip (query_typed)
//! src/os.rs       the few facts asked of the system (uid, accounts, home, processes, random
//!                 bytes) through nix and getrandom: the crate forbids unsafe code
//! assets/         commented example plans
//! tests/          integration tests; tests/support/ is the real-server harness (its doc says
//!                 how the tests are built)
//! benches/        benchmark scripts (benches/README.md)
//! docs/           the wizard's screens, moving data, a page per command (docs/commands/: each
//!                 command's --help and man page)
//! ```
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod bundle;
pub mod discover;
pub mod drift;
pub mod export;
pub mod facts;
pub mod findings;
pub mod flow;
pub mod maintenance;
pub mod migrate;
pub mod os;
pub mod pg;
pub mod plan;
pub mod probe;
pub mod quote;
pub mod rebalance;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod steps;
pub mod timescale;
pub mod tui;
