//! Findings that compare nodes, and what the access node itself saw when
//! it connected to each data node.

use super::connect::explain;
use super::{Finding, Fix, Severity::*, Then};
use crate::facts::{AccessProbes, Facts, NodeFacts, NodeRole, ServerFacts};
use crate::plan::Plan;
use crate::quote::sql::ident;

pub fn across_nodes(plan: &Plan, facts: &Facts, out: &mut Vec<Finding>) {
    let servers: Vec<(&NodeFacts, &ServerFacts)> = facts
        .nodes
        .iter()
        .filter_map(|n| n.server.as_ref().map(|s| (n, s)))
        .collect();
    let Some((an, an_s)) = servers
        .iter()
        .find(|(n, _)| n.role == NodeRole::Access)
        .copied()
    else {
        return;
    };
    prepared_left(plan, an_s, &servers, out);
    // TimescaleDB: the installed version, else the newest available, must agree.
    let ts = ServerFacts::timescaledb_version;
    if let Some(an_v) = ts(an_s) {
        for (n, s) in servers.iter().filter(|(n, _)| n.role == NodeRole::Data) {
            if let Some(v) = ts(s) {
                if v != an_v {
                    out.push(Finding::new(
                        Blocker,
                        &n.name,
                        "timescaledb_version_differs",
                        format!("TimescaleDB {v} here, {an_v} on the access node"),
                        "bootstrap creates the extension on the data node at the access node's version, and connections check compatibility",
                        Fix::manual(format!("install TimescaleDB {an_v} on {} (upgrade data nodes first, the access node last)", n.name)),
                    ));
                }
            }
        }
    }
    // Before setup the access node's database does not exist yet: it will
    // be created from template1, so a data node database is compared with
    // that (found now, not when add_data_node refuses it).
    let an_db = an_s.database.as_ref().map(|d| (d, "has")).or_else(|| {
        an_s.new_database
            .as_ref()
            .map(|d| (d, "will have (from its template1)"))
    });
    if let Some((an_db, has)) = an_db {
        for (n, s) in servers.iter().filter(|(n, _)| n.role == NodeRole::Data) {
            let Some(db) = &s.database else { continue };
            for (what, mine, theirs) in [
                ("encoding", &db.encoding, &an_db.encoding),
                ("collation", &db.collate, &an_db.collate),
                ("LC_CTYPE", &db.ctype, &an_db.ctype),
            ] {
                if mine != theirs {
                    out.push(Finding::new(
                        Blocker,
                        &n.name,
                        "database_locale_differs",
                        format!("database {} exists here with {what} {mine}; the access node's {has} {theirs}", db.name),
                        format!("add_data_node refuses it: `database exists but has wrong {what}`"),
                        Fix::sql(&n.name, format!("DROP DATABASE {}", ident(&db.name)), Then::Nothing)
                            .or(format!("recreate it with {what} {theirs} (add_data_node creates it when it is missing)")),
                    ));
                }
            }
        }
    }
    access_side(plan, facts, an, out);
    cluster_reach(plan, facts, an, out);
    members_not_in_plan(plan, an, out);
}

/// A data node of the cluster that the plan does not list: the cluster
/// runs with it (queries reach it), and apply removes it only when told,
/// never while it holds a chunk's only copy.
fn members_not_in_plan(plan: &Plan, an: &NodeFacts, out: &mut Vec<Finding>) {
    let Some(db) = an.server.as_ref().and_then(|s| s.database.as_ref()) else {
        return;
    };
    for gone in db
        .data_nodes
        .iter()
        .filter(|m| !plan.data_nodes.iter().any(|d| &d.name == *m))
    {
        let chunks = db.chunks.iter().find(|c| &c.data_node == gone);
        let (held, only) = chunks.map_or((0, 0), |c| (c.total, c.only_copy.len()));
        let (what, fix) = if only > 0 {
            (
                format!("{gone} is a data node of {} but not in the plan; it holds {held} chunk(s), {only} of them the only copy", db.name),
                Fix::manual(format!("put {gone} back in the plan; to remove it, first move its only copies to other data nodes (timescaledb_experimental.move_chunk), then run tsmn apply --remove-data-nodes")),
            )
        } else {
            (
                format!("{gone} is a data node of {} but not in the plan; it holds {held} chunk(s), each with a copy elsewhere", db.name),
                Fix::apply_with("--remove-data-nodes", format!("it detaches {gone} from every distributed hypertable and deletes it (or put it back in the plan)")),
            )
        };
        out.push(Finding::new(
            Warning,
            &an.name,
            "member_not_in_plan",
            what,
            "the cluster still uses it: its chunks are read and written there; apply leaves it until told",
            fix,
        ));
    }
}

fn access_side(plan: &Plan, facts: &Facts, an: &NodeFacts, out: &mut Vec<Finding>) {
    match &an.access_probes {
        AccessProbes::NotApplicable => {}
        AccessProbes::NotTested { reason } => out.push(Finding::new(
            Note,
            &an.name,
            "access_side_not_tested",
            "the connections from the access node to the data nodes were not tested",
            reason.clone(),
            Fix::manual("install PostgreSQL's contrib package on the access node host and run tsmn check again"),
        )),
        AccessProbes::Tested { results } => {
            for r in results {
                // Pairs of a running cluster are judged by its own check.
                if an.cluster_reach.iter().any(|c| c.data_node == r.data_node) {
                    continue;
                }
                let Some(err) = &r.error else { continue };
                let database = plan.database.as_str();
                let Some(dn) = plan.data_nodes.iter().find(|d| d.name == r.data_node) else {
                    continue;
                };
                let cause = explain(None, err);
                // The pg_hba evaluation already explained a missing rule, with the line to add.
                if cause.code == "no_hba_entry"
                    && out
                        .iter()
                        .any(|f| f.node == dn.name && f.code.starts_with("hba_"))
                {
                    continue;
                }
                // The data node's certificate findings already name the
                // expired file and its renewal: one finding, not two.
                if cause.code == "server_cert_expired"
                    && out.iter().any(|f| {
                        f.node == dn.name
                            && matches!(f.code, "certificate_expired" | "certificate_not_yet_valid")
                    })
                {
                    continue;
                }
                out.push(super::access_cause::finding(
                    &super::access_cause::Failure {
                        facts,
                        an,
                        dn,
                        role: &plan.superuser,
                        message: err,
                        how: format!(
                            "the access node cannot connect to {} at {}:{} (database {database})",
                            dn.name, dn.host, dn.port
                        ),
                        plan_addresses: &plan.access_node_addresses,
                        mode: plan.auth.mode,
                        adopted: plan.adopted,
                    },
                ));
            }
        }
    }
}

/// The running cluster, checked as the verify step checks it: each role that
/// cannot reach a data node is a blocker filed under that data node (where
/// the fix usually goes), with the access node's own reason.
pub(super) fn cluster_reach(plan: &Plan, facts: &Facts, an: &NodeFacts, out: &mut Vec<Finding>) {
    for r in &an.cluster_reach {
        let Some(err) = &r.error else { continue };
        let Some(dn) = plan.data_nodes.iter().find(|d| d.name == r.data_node) else {
            continue;
        };
        out.push(super::access_cause::finding(
            &super::access_cause::Failure {
                facts,
                an,
                dn,
                role: &r.role,
                message: err,
                how: format!(
                    "the access node cannot reach {} as {} in {}",
                    dn.name, r.role, plan.database
                ),
                plan_addresses: &plan.access_node_addresses,
                mode: plan.auth.mode,
                adopted: plan.adopted,
            },
        ));
    }
}

/// Two-phase transactions the access node left prepared on a data node
/// that is in its cluster: they hold their locks and keep VACUUM from
/// freezing past them until resolved. The engine resolves them itself.
fn prepared_left(
    plan: &Plan,
    an_s: &ServerFacts,
    servers: &[(&NodeFacts, &ServerFacts)],
    out: &mut Vec<Finding>,
) {
    let Some(an_db) = an_s.database.as_ref() else {
        return;
    };
    let schema = crate::timescale::functions_schema(an_db.timescaledb.as_deref());
    for (n, s) in servers.iter().filter(|(n, _)| n.role == NodeRole::Data) {
        let Some(db) = s.database.as_ref() else {
            continue;
        };
        // TimescaleDB's own, at any age: the heal leaves one still running
        // on the access node alone.
        let left: Vec<&crate::facts::PreparedXact> = db.timescaledb_prepared().collect();
        if left.is_empty() || !an_db.data_nodes.contains(&n.name) {
            continue;
        }
        let Some(oldest) = left.iter().max_by_key(|p| p.age_seconds) else {
            continue;
        };
        out.push(super::health::own_prepared_left(
            &n.name,
            &db.name,
            left.len(),
            (&oldest.gid, oldest.age_seconds),
            Fix::ByApplyToo {
                first: Box::new(Fix::Sql {
                    node: plan.access_node.name.clone(),
                    database: plan.database.clone(),
                    sql: crate::timescale::heal_sql(schema, &n.name),
                    then: Then::Nothing,
                }),
            },
        ));
    }
}
