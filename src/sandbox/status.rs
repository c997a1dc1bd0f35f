//! `tsmn sandbox status`: each node up or down, its port and server version.

use super::{Cluster, Sandbox};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub name: String,
    pub port: u16,
    /// `Ok(version)` when it answered, `Err(why)` when it is down.
    pub state: Result<String, String>,
}

/// Ask every node for its version, all at once, each bounded by a timeout.
pub fn collect(sandbox: &Sandbox) -> Vec<NodeStatus> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let tasks: Vec<_> = sandbox
            .clusters
            .iter()
            .map(|c| tokio::spawn(one(c.clone())))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("status task panicked"));
        }
        out
    })
}

async fn one(c: Cluster) -> NodeStatus {
    let state = if !c.is_running() {
        Err("down (no running postmaster)".to_string())
    } else {
        match tokio::time::timeout(Duration::from_secs(5), server_version(&c)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("running but not answering: {e}")),
            Err(_) => Err("running but no answer within 5 s".into()),
        }
    };
    NodeStatus {
        name: c.name.clone(),
        port: c.port,
        state,
    }
}

pub async fn server_version(c: &Cluster) -> Result<String, tokio_postgres::Error> {
    let (client, conn) = c
        .pg_config("postgres")
        .connect(tokio_postgres::NoTls)
        .await?;
    let driver = tokio::spawn(conn);
    let row = client.query_one("SHOW server_version", &[]).await?;
    drop(client);
    let _ = driver.await;
    Ok(row.get::<_, String>(0))
}

pub fn render(rows: &[NodeStatus]) -> String {
    let mut out = format!(
        "{:<6} {:<5} {:<16} {}\n",
        "NODE", "STATE", "ADDRESS", "VERSION / PROBLEM"
    );
    for r in rows {
        let addr = format!("127.0.0.1:{}", r.port);
        match &r.state {
            Ok(v) => out.push_str(&format!(
                "{:<6} {:<5} {:<16} PostgreSQL {v}\n",
                r.name, "up", addr
            )),
            Err(why) => out.push_str(&format!("{:<6} {:<5} {:<16} {why}\n", r.name, "DOWN", addr)),
        }
    }
    out
}
