//! Whether the server's OS user can write the files tsmn will write on a
//! server outside its data directory (a pg_hba.conf under /etc, a passfile
//! or certificate directory elsewhere). Inside the data directory the
//! server's user owns everything; outside, a file or directory owned by
//! root stops apply half way. Asked before the run, so that check and
//! preview say so with the directory to fix, not apply's failed write.

use crate::facts::{ServerFacts, Unwritable};
use crate::plan::{AuthMode, Plan};
use crate::quote::{shell, sql};
use tokio_postgres::Client;

/// The paths tsmn may write on this server that lie outside its data
/// directory (none when the data directory is unknown).
pub fn outside_data_directory(plan: &Plan, s: &ServerFacts, access: bool) -> Vec<String> {
    let Some(pgdata) = s.setting("data_directory").filter(|d| !d.is_empty()) else {
        return Vec::new();
    };
    let mut paths = vec![s.hba_file.clone()];
    if access && plan.auth.mode == AuthMode::Password {
        let given = plan.auth.password.as_ref().map(|p| p.passfile.as_str());
        paths.extend(match given {
            Some(p) if !p.is_empty() => Some(s.resolve(p)),
            _ => s.timescaledb_passfile(),
        });
    }
    if access && plan.auth.mode == AuthMode::Certificate {
        paths.push(s.client_certificate(&plan.superuser).0);
    }
    let inside = format!("{}/", pgdata.trim_end_matches('/'));
    paths.retain(|p| p.starts_with('/') && !p.starts_with(&inside));
    paths.dedup();
    paths
}

/// For each path, all that stops the server's OS user writing it (named
/// at once, so that one fix clears it): the file itself when it exists and
/// is read-only to that user, and its nearest existing directory when that
/// is (a directory still to be made is made in it; a file is written
/// beside itself first, then moved or copied over it).
pub async fn unwritable(client: &Client, paths: &[String]) -> Vec<Unwritable> {
    let mut out = Vec::new();
    for path in paths {
        let mut dir = parent(path);
        while !exists(client, &dir).await && dir != "/" {
            dir = parent(&dir);
        }
        let mut blocking = Vec::new();
        if exists(client, path).await && !writable(client, path).await {
            blocking.push(path.clone());
        }
        if !writable(client, &dir).await {
            blocking.push(dir);
        }
        if !blocking.is_empty() {
            out.push(Unwritable {
                path: path.clone(),
                blocking,
            });
        }
    }
    out
}

fn parent(path: &str) -> String {
    std::path::Path::new(path)
        .parent()
        .map_or("/".to_string(), |d| d.display().to_string())
}

async fn exists(client: &Client, path: &str) -> bool {
    let q = format!(
        "SELECT (pg_stat_file({}, true)).size IS NOT NULL",
        sql::literal(path)
    );
    crate::pg::one(client, &q, &[])
        .await
        .is_ok_and(|r| r.get::<_, bool>(0))
}

/// `test -w` as the server's OS user (a program that changes nothing; it
/// reads COPY's one row first, see run::files::program).
async fn writable(client: &Client, path: &str) -> bool {
    let program = format!("cat >/dev/null; test -w {}", shell::word(path));
    client
        .batch_execute(&format!(
            "COPY (SELECT 1) TO PROGRAM {}",
            sql::literal(&program)
        ))
        .await
        .is_ok()
}
