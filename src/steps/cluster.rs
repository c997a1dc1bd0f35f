//! The cluster itself, on the access node (§3-§6): database, extension,
//! data nodes, roles; then verification.

use super::{step, Action, Ctx, Order, Part, Phase, Statement, Step, StepState, Template};
use crate::plan::AuthMode;
use crate::quote::sql::{ident, literal};

pub(super) fn build(ctx: &Ctx, out: &mut Vec<Step>) {
    let plan = ctx.plan;
    let an = plan.access_node.name.as_str();
    let mut all: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    // A drain's source restarts too (logical decoding), though it leaves.
    all.extend(super::drain::sources(ctx));
    let mut gate = step(
        an,
        Phase::Cluster,
        "restart-gate",
        "Every node runs with the new settings",
        "shared_preload_libraries and max_prepared_transactions take effect only after a restart",
        Action::RestartGate { nodes: all },
    );
    gate.order = Order::First;
    let mut steps = vec![gate];
    let bootstrap = super::bootstrap::build(ctx);
    let bootstrapped = !bootstrap.is_empty();
    steps.extend(bootstrap);
    // The access node's own database, extension and setting need nothing
    // from the data nodes: they run while the data nodes bootstrap.
    let mut early = vec![database(ctx, bootstrapped), extension(ctx)];
    early.extend(super::auth::timescaledb_setting(ctx));
    for s in &mut early {
        s.order = Order::WithDataNodes;
    }
    steps.extend(early);
    steps.extend(add_data_nodes(ctx, bootstrapped));
    steps.extend(heal(ctx));
    steps.extend(attach_data_nodes(ctx));
    steps.extend(remove_data_nodes(ctx));
    steps.extend(roles(ctx));
    steps.extend(super::verify::build(ctx, ctx.functions_schema()));
    steps.extend(super::verify::enforced(ctx));
    block_without_timescaledb(ctx, &mut steps);
    out.extend(steps);
}

/// A cluster that runs: the access node's name, the cluster database and
/// what the access node holds in it.
fn running<'a>(ctx: &Ctx<'a>) -> Option<(&'a str, &'a str, &'a crate::facts::DatabaseFacts)> {
    Some((
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
        ctx.an_database()?,
    ))
}

fn database(ctx: &Ctx, bootstrapped: bool) -> Step {
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

fn extension(ctx: &Ctx) -> Step {
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
            vec![Statement::plain(super::bootstrap::create_extension(
                super::bootstrap::version(ctx).as_deref(),
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

/// One add_data_node per data node, each sent alone. With the data nodes
/// bootstrapped by tsmn (`bootstrapped`), add_data_node only validates
/// their database (`bootstrap => false`, reference §6), which also checks
/// max_prepared_transactions. The first runs alone (it makes the database
/// an access node); the others then run at once (reference D.1).
fn add_data_nodes(ctx: &Ctx, bootstrapped: bool) -> Vec<Step> {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let an_db = ctx.an_database();
    let mut steps = Vec::new();
    let members = an_db.map(|d| d.data_nodes.clone()).unwrap_or_default();
    let mut one_added = !members.is_empty();
    for dn in ctx.data_nodes() {
        let call = format!(
            "SELECT * FROM add_data_node({}, host => {}, port => {}, database => {}, if_not_exists => true{})",
            literal(&dn.name),
            literal(&dn.host),
            dn.port,
            literal(db),
            if bootstrapped { ", bootstrap => false" } else { "" }
        );
        let mut s = step(an, Phase::Cluster, &format!("add-{}", dn.name), format!("Add data node {}", dn.name), "sent alone: add_data_node refuses to run inside a transaction block or a multi-statement string; its deprecation WARNING is normal", sql(db, vec![Statement::plain(call)]));
        if one_added {
            s.order = Order::Together;
        }
        one_added = true;
        if members.contains(&dn.name) {
            s.state = StepState::Done {
                why: format!("{} is already a data node of {db}", dn.name),
            };
        } else if let Some(why) = ctx.cannot_add(&dn.name) {
            s.state = StepState::Blocked { why };
        }
        steps.push(s);
    }
    steps
}

/// A data node added to a running cluster gets a share of each existing
/// distributed hypertable: `attach_data_node` (repartitioning, so new
/// chunks land on it too); existing chunks stay where they are.
fn attach_data_nodes(ctx: &Ctx) -> Vec<Step> {
    let (an, db) = (
        ctx.plan.access_node.name.as_str(),
        ctx.plan.database.as_str(),
    );
    let Some(hypertables) = ctx.an_database().map(|d| &d.distributed_hypertables) else {
        return Vec::new();
    };
    if hypertables.is_empty() {
        return Vec::new();
    }
    let members = ctx
        .an_database()
        .map(|d| d.data_nodes.as_slice())
        .unwrap_or_default();
    let mut steps = Vec::new();
    for dn in ctx.data_nodes() {
        // A node joins every distributed hypertable, or those the plan
        // names (the wizard's choice). A member that is not joining keeps
        // its place: a hypertable without it was created or placed so
        // (data_nodes => ...), and only its plan entry's list adds it.
        let joining = !members.contains(&dn.name) || ctx.inputs.joining.contains(&dn.name);
        let chosen = |h: &crate::facts::DistributedHypertable| {
            let name = format!("{}.{}", h.schema, h.table);
            match &dn.hypertables {
                Some(l) => l.contains(&name),
                None => joining,
            }
        };
        let missing: Vec<&crate::facts::DistributedHypertable> = hypertables
            .iter()
            .filter(|h| !h.data_nodes.contains(&dn.name) && chosen(h))
            .collect();
        let names = |hs: &[&crate::facts::DistributedHypertable]| {
            hs.iter()
                .map(|h| format!("{}.{}", ident(&h.schema), ident(&h.table)))
                .collect::<Vec<_>>()
        };
        let statements = names(&missing)
            .iter()
            .map(|h| {
                Statement::plain(format!(
                    "SELECT * FROM attach_data_node({}, {}, if_not_attached => true)",
                    literal(&dn.name),
                    literal(h)
                ))
            })
            .collect();
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("attach-{}", dn.name),
            format!("Attach {} to the distributed hypertables", dn.name),
            "a data node added to a running cluster gets a share of each distributed hypertable's new chunks (repartitioned); existing chunks stay where they are",
            sql(db, statements),
        );
        let without: Vec<String> = hypertables
            .iter()
            .filter(|h| !h.data_nodes.contains(&dn.name))
            .map(|h| format!("{}.{}", h.schema, h.table))
            .collect();
        if missing.is_empty() {
            s.state = StepState::Done {
                why: if dn.hypertables.is_some() {
                    format!("{} holds a share of every distributed hypertable chosen for it (data_nodes.hypertables)", dn.name)
                } else if without.is_empty() {
                    format!("{} holds a share of every distributed hypertable", dn.name)
                } else {
                    format!(
                        "{} is a member; {} were placed without it and stay so (name them in its hypertables = [...] to attach it)",
                        dn.name,
                        without.join(", ")
                    )
                },
            };
        }
        steps.push(s);
    }
    steps
}

/// Two-phase transactions the access node left prepared on a data node of
/// its cluster (what check reports as prepared_transactions_left): the
/// engine's healing function on the access node, then a check on the data
/// node itself that none of them is left (one still running on the access
/// node is left alone by the engine, and named).
fn heal(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    for dn in ctx
        .data_nodes()
        .filter(|d| an_db.data_nodes.contains(&d.name))
    {
        let Some(left) = ctx
            .server(&dn.name)
            .and_then(|s| s.database.as_ref())
            .map(|d| &d.prepared)
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let gids: Vec<String> = left.iter().map(|p| literal(&p.gid)).collect();
        steps.push(step(
            an,
            Phase::Cluster,
            &format!("heal-{}", dn.name),
            format!("Resolve the two-phase transactions left prepared on {}", dn.name),
            format!(
                "{} transaction(s) prepared for the access node and never finished: they hold their locks; the engine commits what the access node committed and rolls back the rest",
                left.len()
            ),
            sql(
                db,
                vec![Statement::plain(crate::timescale::heal_sql(
                    ctx.functions_schema(),
                    &dn.name,
                ))],
            ),
        ));
        steps.push(step(
            &dn.name,
            Phase::Verify,
            "prepared-resolved",
            format!("No transaction of the access node is left prepared on {}", dn.name),
            "done means checked on the data node: the healing function skips what it cannot decide",
            sql(
                db,
                vec![Statement::plain(format!(
                    "DO $tsmn$ DECLARE left_over text; BEGIN \
                     SELECT string_agg(gid, ', ') INTO left_over FROM pg_prepared_xacts \
                     WHERE database = current_database() AND gid IN ({}); \
                     IF left_over IS NOT NULL THEN RAISE EXCEPTION 'still prepared on this data node: %', left_over \
                     USING HINT = 'the access node may still be running it; run tsmn apply again later, or COMMIT PREPARED / ROLLBACK PREPARED by hand after checking the access node'; END IF; END $tsmn$",
                    gids.join(", ")
                ))],
            ),
        ));
    }
    steps
}

/// A data node in the cluster but no longer in the plan: detached from each
/// distributed hypertable, then deleted. Never by default (the operator
/// says `--remove-data-nodes`), and never while it holds the only copy of
/// a chunk: that data would be lost.
fn remove_data_nodes(ctx: &Ctx) -> Vec<Step> {
    let Some((an, db, an_db)) = running(ctx) else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for gone in an_db
        .data_nodes
        .iter()
        .filter(|m| !ctx.plan.data_nodes.iter().any(|d| &d.name == *m))
    {
        let mut statements: Vec<Statement> = an_db
            .distributed_hypertables
            .iter()
            .filter(|h| h.data_nodes.contains(gone))
            .map(|h| {
                // force: without it the engine refuses a node that holds
                // any chunk, replicated or not ("still holds data"); with
                // it, it still refuses one that holds a chunk's only copy
                // (data_node.c: "would lose data"), which tsmn has
                // blocked above already. if_attached: a re-run after a
                // partial removal skips what is detached.
                Statement::plain(format!(
                    "SELECT * FROM detach_data_node({}, hypertable => {}, if_attached => true, force => true)",
                    literal(gone),
                    literal(&format!("{}.{}", ident(&h.schema), ident(&h.table)))
                ))
            })
            .collect();
        statements.push(Statement::plain(format!(
            "SELECT delete_data_node({})",
            literal(gone)
        )));
        statements.insert(0, super::drain::guard(gone));
        let chunks = an_db.chunks.iter().find(|c| &c.data_node == gone);
        let held = chunks.map_or(0, |c| c.total);
        let mut s = step(
            an,
            Phase::Cluster,
            &format!("remove-{gone}"),
            format!("Remove data node {gone} (no longer in the plan)"),
            format!("{gone} is a data node of {db} but not in the plan; it holds {held} chunk(s)"),
            sql(db, statements),
        );
        let only: &[String] = chunks.map_or(&[], |c| c.only_copy.as_slice());
        let draining = ctx.inputs.drain && ctx.inputs.remove_data_nodes && !only.is_empty();
        let drain = if draining {
            super::drain::build(ctx, gone, an_db)
        } else {
            Vec::new()
        };
        if let Some(b) = drain.iter().find_map(|d| match &d.state {
            StepState::Blocked { why } => Some(why.clone()),
            _ => None,
        }) {
            s.state = StepState::Blocked {
                why: format!("{gone} is drained first, and its drain cannot run: {b}"),
            };
        } else if draining {
            // Runs after the moves (the guard statement refuses if any
            // only copy is still there).
        } else if !only.is_empty() {
            let shown: Vec<&str> = only.iter().take(5).map(String::as_str).collect();
            s.state = StepState::Blocked {
                why: format!(
                    "{gone} holds the only copy of {} chunk(s) ({}{}): removing it would lose them. Move them first: tsmn apply --remove-data-nodes --drain (trust mode), or by hand (CALL timescaledb_experimental.move_chunk(chunk => '<chunk>', source_node => '{gone}', destination_node => '<node>'); it needs wal_level = logical on the data nodes and the destination able to log in to the source; set_replication_factor does not re-replicate existing chunks), or put {gone} back in the plan",
                    only.len(),
                    shown.join(", "),
                    if only.len() > shown.len() { ", ..." } else { "" }
                ),
            };
        } else if !ctx.inputs.remove_data_nodes {
            s.state = StepState::Blocked {
                why: format!(
                    "{gone} is in the cluster but not in the plan: tsmn removes a data node only when told to (tsmn apply --remove-data-nodes), or put it back in the plan"
                ),
            };
        }
        let blocked = matches!(s.state, StepState::Blocked { .. });
        if !blocked {
            removed.push(gone.clone());
        }
        steps.extend(drain);
        steps.push(s);
        steps.extend(hba_removed(an_db, gone, blocked));
    }
    steps.extend(passfile_without(ctx, an, &removed));
    steps
}

/// The removed node's own pg_hba.conf: tsmn's block goes, once the
/// access node has let it go (where the access node reached it).
fn hba_removed(an_db: &crate::facts::DatabaseFacts, gone: &str, blocked: bool) -> Option<Step> {
    let m = an_db.members.iter().find(|m| m.name == gone)?;
    let mut s = step(
        gone,
        Phase::Cluster,
        "hba-removed",
        "pg_hba.conf: tsmn's block goes (removed from the cluster)",
        format!("the access node no longer connects to {gone}: its rule for it should not stay"),
        Action::HbaBlockRemoved {
            host: m.host.clone(),
            port: m.port,
        },
    );
    s.order = Order::Last;
    if blocked {
        s.state = StepState::Blocked {
            why: format!("{gone} is not removed from the cluster"),
        };
    }
    Some(s)
}

/// Password mode: the passfile without the removed nodes' lines, in the
/// same run (tsmn's own passfile; an adopted one proved to work is kept).
fn passfile_without(ctx: &Ctx, an: &str, removed: &[String]) -> Option<Step> {
    if removed.is_empty() || ctx.plan.auth.mode != AuthMode::Password || ctx.adopted_reach_all() {
        return None;
    }
    let (path, text) = super::auth::passfile(ctx, removed);
    let mut s = step(
        an,
        Phase::Cluster,
        "passfile-without-removed",
        "Passfile on the access node, without the removed data nodes",
        "the lines for a data node that left the cluster only keep its passwords on disk",
        Action::File {
            path,
            mode: 0o600,
            content: super::Content::Text { text },
        },
    );
    s.order = Order::Last;
    Some(s)
}

/// Each role besides the superuser: on every node, with USAGE on the
/// foreign servers (roles are not distributed automatically).
fn roles(ctx: &Ctx) -> Vec<Step> {
    let plan = ctx.plan;
    let (an, db) = (plan.access_node.name.as_str(), plan.database.as_str());
    let mut steps = Vec::new();
    let servers = plan
        .data_nodes
        .iter()
        .map(|d| literal(&d.name))
        .collect::<Vec<_>>()
        .join(", ");
    for role in plan.auth.roles.iter().filter(|r| **r != plan.superuser) {
        // Generators all: a statement runs only where its condition does not
        // hold yet, so a re-run changes (and reports) nothing. The data
        // nodes' side is their own auth step (`auth::roles::data_node_roles`).
        let l = literal(role);
        let mut stmts = vec![
            Statement::generator(format!("SELECT format('CREATE ROLE %I LOGIN', {l}) WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {l})")),
            Statement::generator(format!("SELECT format('GRANT USAGE ON FOREIGN SERVER %s TO %I', string_agg(quote_ident(srvname::text), ', ' ORDER BY srvname), {l}) FROM pg_foreign_server WHERE srvname IN ({servers}) AND NOT has_server_privilege({l}, srvname::text, 'USAGE') HAVING count(*) > 0")),
        ];
        if plan.auth.mode == AuthMode::Password
            && plan.auth.password.as_ref().is_some_and(|p| p.user_mapping)
        {
            for dn in ctx.data_nodes() {
                let d = literal(&dn.name);
                let mut t = Template::lit(format!("SELECT format('CREATE USER MAPPING FOR %I SERVER %I OPTIONS (user %L, password %L)', {l}, {d}, {l}, "));
                t.push(Part::PasswordLiteral(role.clone()));
                t.push_str(&format!(") WHERE NOT EXISTS (SELECT FROM pg_user_mappings WHERE srvname = {d} AND usename = {l})"));
                stmts.push(Statement {
                    sql: t,
                    generate: true,
                });
            }
        }
        let mut s = step(an, Phase::Cluster, &format!("role-{role}"), format!("Role {role} on every node"), "roles are not distributed automatically: the role needs LOGIN on every node (the data nodes get theirs in the auth phase) and USAGE on the foreign servers", sql(db, stmts));
        if adopted_role_works(ctx, role) {
            super::auth::kept(&mut s, format!("{role} may use every data node's foreign server and reaches each of them (proved from the access node)"));
        }
        steps.push(s);
    }
    steps
}

/// On an adopted cluster: `role` has USAGE on every data node's foreign
/// server and the access node reaches every data node as it.
fn adopted_role_works(ctx: &Ctx, role: &str) -> bool {
    let Some(db) = ctx.an_database() else {
        return false;
    };
    ctx.data_nodes().all(|dn| {
        ctx.adopted_reach(role, &dn.name)
            && db
                .members
                .iter()
                .any(|m| m.name == dn.name && !m.without_usage.iter().any(|r| r == role))
    })
}

/// The cluster phase needs TimescaleDB everywhere: without it every step
/// but the restart waits, blocked, naming the nodes that lack it.
fn block_without_timescaledb(ctx: &Ctx, steps: &mut [Step]) {
    if let Some(facts) = ctx.inputs.facts {
        let missing: Vec<&str> = facts
            .nodes
            .iter()
            .filter(|n| {
                n.server.as_ref().is_some_and(|s| {
                    s.timescaledb_available.is_empty()
                        && s.database
                            .as_ref()
                            .and_then(|d| d.timescaledb.as_ref())
                            .is_none()
                })
            })
            .map(|n| n.name.as_str())
            .collect();
        if !missing.is_empty() {
            // A restart needs no TimescaleDB: only the steps after it wait.
            for s in steps
                .iter_mut()
                .filter(|s| !matches!(s.action, Action::RestartGate { .. }))
            {
                if s.state == StepState::Todo {
                    s.state = StepState::Blocked {
                        why: format!("TimescaleDB is not installed on {}", missing.join(", ")),
                    };
                }
            }
        }
    }
}

fn sql(database: &str, statements: Vec<Statement>) -> Action {
    Action::Sql {
        database: database.to_string(),
        statements,
    }
}
