//! The verification step: the one check (steps::verify) sent as is; when
//! it fails, each pair that does not answer is asked again on its own so
//! the failure carries the access node's own reason and the fix for it.

use super::session::{describe, Sessions};
use super::{Outcome, RunOptions};
use crate::findings::connect::{explain, Side};
use crate::steps::{Reach, Step};
use tokio_postgres::Client;

pub async fn run(
    s: &Step,
    database: &str,
    reaches: &[Reach],
    sql: &str,
    lane: usize,
    o: &RunOptions<'_>,
    sessions: &Sessions<'_>,
) -> Outcome {
    let held = match super::step_io::session_in(s, database, lane, sessions).await {
        Ok(c) => c,
        Err(failure) => return failure,
    };
    let client: &Client = &held;
    match client.simple_query(sql).await {
        Ok(_) => {
            let mut roles: Vec<&str> = reaches.iter().map(|r| r.role.as_str()).collect();
            roles.dedup();
            let mut nodes: Vec<&str> = reaches.iter().map(|r| r.data_node.as_str()).collect();
            nodes.sort_unstable();
            nodes.dedup();
            Outcome::Verified {
                detail: format!(
                    "{} {} the access node in {database} as {}",
                    nodes.join(", "),
                    if nodes.len() == 1 {
                        "answers"
                    } else {
                        "answer"
                    },
                    roles.join(", ")
                ),
            }
        }
        Err(e) => {
            let mut lines = vec![describe(&e)];
            for r in reaches {
                if let Some(why) = unreachable(client, r, o).await {
                    lines.push(why);
                }
            }
            Outcome::Failed {
                message: lines.join("\n"),
            }
        }
    }
}

/// Why the access node cannot reach one data node as one role, with the
/// fix from the cause table; None when it can.
async fn unreachable(client: &Client, r: &Reach, o: &RunOptions<'_>) -> Option<String> {
    let message = crate::probe::reach::why(client, &r.role, &r.data_node).await?;
    let cause = explain(None, &message);
    let (host, port) = o
        .plan
        .data_nodes
        .iter()
        .find(|d| d.name == r.data_node)
        .map_or(("?", 0), |d| (d.host.as_str(), d.port));
    Some(format!(
        "  {} as {}: {message}\n    cause: {}\n    fix: {}",
        r.data_node,
        r.role,
        cause.what,
        cause
            .fix(Side::AccessNode, host, port, &r.role, &r.data_node)
            .render()
    ))
}
