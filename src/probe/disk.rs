//! ASYNC: the free space under a node's data directory, `df -Pk` run by
//! the server (its OS user sees the filesystem tsmn may not: the node can
//! be another host). Read by check (ServerFacts::disk) and by status.

use crate::facts::Disk;
use crate::quote::{shell, sql};
use tokio_postgres::Client;

/// `df -Pk` of the data directory, run by the server (its OS user sees
/// the filesystem tsmn may not: the node can be another host). Needs a
/// superuser (COPY FROM PROGRAM); the temporary table lives and dies with
/// tsmn's session, nothing of the cluster's is written.
pub async fn read(client: &Client, dir: &str) -> Option<Disk> {
    let superuser = crate::pg::one(
        client,
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
        &[],
    )
    .await
    .ok()?
    .get::<_, bool>(0);
    if !superuser {
        return None;
    }
    let copy = format!(
        "DO $t$ BEGIN IF to_regclass('pg_temp.tsmn_df') IS NULL THEN \
           CREATE TEMP TABLE tsmn_df (line text); END IF; END $t$; \
         DELETE FROM tsmn_df; COPY tsmn_df FROM PROGRAM {}",
        sql::literal(&format!("df -Pk {} | tail -1", shell::word(dir)))
    );
    if let Err(e) = client.batch_execute(&copy).await {
        tracing::debug!("df of {dir}: {e}");
        return None;
    }
    let line: String = crate::pg::one(client, "SELECT min(line) FROM tsmn_df", &[])
        .await
        .ok()?
        .get::<_, Option<String>>(0)?;
    df_line(dir, &line)
}

/// PURE: `Filesystem 1024-blocks Used Available Capacity Mounted-on`.
fn df_line(dir: &str, line: &str) -> Option<Disk> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let kib = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok());
    Some(Disk {
        data_directory: dir.to_string(),
        total_bytes: kib(1)?.checked_mul(1024)?,
        free_bytes: kib(3)?.checked_mul(1024)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_df_line_gives_total_and_available_in_bytes() {
        let d = df_line("/d", "/dev/vda 263174212 31427576 218299588 13% /").expect("parsed");
        assert_eq!(d.total_bytes, 263_174_212 * 1024);
        assert_eq!(d.free_bytes, 218_299_588 * 1024);
        assert_eq!(df_line("/d", "df: /d: No such file or directory"), None);
    }
}
