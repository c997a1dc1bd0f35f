//! Whether the cluster database already belongs to a distributed
//! database: this one, one it left, or another.

use crate::facts::{Facts, NodeFacts, NodeRole, ServerFacts};
use crate::findings::{Finding, Fix, Severity::*, Then};
use crate::quote::sql::ident;

pub(super) fn membership(facts: &Facts, n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    let Some(db) = &s.database else { return };
    let Some(dist) = &db.dist_uuid else { return };
    // The access node not read (it did not answer in time): its cluster's
    // id is unknown, so nothing here can be told to belong to another
    // cluster, and no database is to be dropped on that guess.
    if n.role == NodeRole::Data && facts.access().and_then(|a| a.server.as_ref()).is_none() {
        return;
    }
    let an_db = facts
        .access()
        .and_then(|a| a.server.as_ref())
        .and_then(|a| a.database.as_ref());
    let an_uuid = an_db.and_then(|d| d.uuid.clone());
    let listed = an_db.is_some_and(|d| d.data_nodes.contains(&n.name));
    match n.role {
        NodeRole::Access if db.uuid.as_ref() != Some(dist) => out.push(Finding::new(
            Blocker,
            &n.name,
            "member_of_other_cluster",
            format!("database {} on the access node is itself a data node of another cluster", db.name),
            "add_data_node fails here with `unable to assign data nodes from an existing distributed database`",
            Fix::manual("use another database name for the cluster, or detach this database from its access node first"),
        )),
        // This cluster's id, but the access node no longer lists the node:
        // a data node removed earlier keeps its database and the id.
        NodeRole::Data if an_uuid.as_ref() == Some(dist) && !listed => out.push(Finding::new(
            Blocker,
            &n.name,
            "removed_member_database",
            format!("database {} on this node is left from when it was a data node of this cluster (it was removed): it keeps the cluster's id (dist_uuid {dist})", db.name),
            "the access node no longer lists it, and add_data_node refuses it with `node is already a data node`",
            Fix::sql(&n.name, format!("DROP DATABASE {}", ident(&db.name)), Then::Nothing)
                .or("if its rows are needed, copy them out first, or choose another database name"),
        )),
        NodeRole::Data if an_uuid.as_ref() == Some(dist) => out.push(Finding::new(
            Note,
            &n.name,
            "already_member",
            format!("database {} is already a data node of this access node", db.name),
            "a re-run keeps it; add_data_node with if_not_exists skips it",
            Fix::nothing("nothing to do"),
        )),
        NodeRole::Data => out.push(Finding::new(
            Blocker,
            &n.name,
            "member_of_other_cluster",
            format!("database {} on this node already belongs to another distributed database (dist_uuid {dist})", db.name),
            "add_data_node fails with `cannot add ... as a data node` / `node is already a data node`",
            Fix::sql(&n.name, format!("DROP DATABASE {}", ident(&db.name)), Then::Nothing)
                .or("if its data is needed, choose another database name; next time remove data nodes with delete_data_node(..., drop_database => true)"),
        )),
        _ => {}
    }
}
