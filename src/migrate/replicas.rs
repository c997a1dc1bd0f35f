//! The source's side of the verification of distributed hypertables, on
//! the data nodes themselves: every chunk counted and summed (verify's
//! checksum) on every data node holding it, all nodes at once. A chunk
//! replicated on several nodes is compared across its replicas (a
//! divergence is reported, naming the chunk and the nodes); a hypertable's
//! source figures are the sums over its chunks as read on the node each
//! chunk was copied from (the checksum is a sum, so it adds up), which is
//! what the target must hold whatever replica the access node would read.

use super::connect::{sql_error, Reach};
use super::source::{self, Source};
use super::tally::{self, Tally};
use super::{MigrateError, QualifiedName};
use std::collections::BTreeMap;

/// Each chunk (its access node name) with its tally on each node holding it.
pub type ChunkTallies = BTreeMap<QualifiedName, Vec<(String, Tally)>>;

/// Every distributed chunk counted on every data node holding it.
pub async fn tally_chunks(reach: &Reach, s: &Source) -> Result<ChunkTallies, MigrateError> {
    let per_node = s.data_nodes.iter().map(|dn| async move {
        let Some(node) = reach.plan.data_nodes.iter().find(|n| n.name == dn.name) else {
            return Ok(Vec::new());
        };
        let c = reach.node(node, &dn.database).await?;
        c.batch_execute("SET default_transaction_read_only = on")
            .await
            .map_err(|e| sql_error(&dn.name, "making the session read-only", &e))?;
        let names = source::node_chunks(&c, &dn.name).await?;
        let mut out = Vec::new();
        for ch in &s.chunks {
            let Some((_, id)) = ch.nodes.iter().find(|(n, _)| n == &dn.name) else {
                continue;
            };
            let (Some(h), Some((rel, _))) = (s.hypertable(&ch.hypertable), names.get(id)) else {
                continue;
            };
            let t = tally::tally(&c, &tally::tally_sql(rel, &h.columns))
                .await
                .map_err(|e| sql_error(&dn.name, &format!("counting chunk {rel}"), &e))?;
            out.push((ch.name.clone(), dn.name.clone(), t));
        }
        Ok::<_, MigrateError>(out)
    });
    let mut all = ChunkTallies::new();
    for got in futures_util::future::join_all(per_node).await {
        for (chunk, node, t) in got? {
            all.entry(chunk).or_default().push((node, t));
        }
    }
    Ok(all)
}

/// PURE: the chunks whose replicas differ, each as a warning; `copied`:
/// the node each chunk was copied from (tsmn's record: `chunk <name>`).
pub fn divergences(t: &ChunkTallies, copied: &BTreeMap<String, String>) -> Vec<String> {
    t.iter()
        .filter(|(_, v)| v.iter().any(|(_, x)| x != &v[0].1))
        .map(|(chunk, v)| {
            let each: Vec<String> = v
                .iter()
                .map(|(n, x)| format!("{n} has {} row(s) (checksum {})", x.rows, x.checksum))
                .collect();
            format!(
                "chunk {chunk}: its replicas differ: {}; tsmn copied {}'s (fix: find which replica is right, e.g. by comparing the rows on those nodes, and correct the target)",
                each.join(", "),
                copied
                    .get(&format!("chunk {chunk}"))
                    .map_or("one", String::as_str)
            )
        })
        .collect()
}

/// PURE: a distributed hypertable's figures on the source, summed over
/// its chunks as read on the node each was copied from.
pub fn hypertable_tally(
    s: &Source,
    h: &QualifiedName,
    t: &ChunkTallies,
    copied: &BTreeMap<String, String>,
) -> Tally {
    let (mut rows, mut sum) = (0i64, 0i128);
    for ch in s.chunks_of(h) {
        let Some(v) = t.get(&ch.name) else { continue };
        let node = copied.get(&format!("chunk {}", ch.name));
        let x = v.iter().find(|(n, _)| Some(n) == node).unwrap_or(&v[0]);
        rows += x.1.rows;
        sum += x.1.checksum.parse::<i128>().unwrap_or(0);
    }
    Tally {
        rows,
        checksum: sum.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::source::{Chunk, Hypertable};

    fn tally(rows: i64, sum: i64) -> Tally {
        Tally {
            rows,
            checksum: sum.to_string(),
        }
    }

    #[test]
    fn replicas_compared_and_summed_as_copied() {
        let h = QualifiedName::new("public", "m");
        let c1 = QualifiedName::new("_timescaledb_internal", "c1");
        let c2 = QualifiedName::new("_timescaledb_internal", "c2");
        let s = Source {
            hypertables: vec![Hypertable {
                name: h.clone(),
                distributed: true,
                replication_factor: 2,
                dimensions: vec![],
                compression: None,
                columns: vec![],
                bytes: vec![],
            }],
            chunks: [&c1, &c2]
                .iter()
                .map(|n| Chunk {
                    hypertable: h.clone(),
                    name: (*n).clone(),
                    compressed: false,
                    range: (0, 1),
                    nodes: vec![("dn1".into(), 1), ("dn2".into(), 2)],
                })
                .collect(),
            ..Source::default()
        };
        let mut t = ChunkTallies::new();
        t.insert(
            c1.clone(),
            vec![("dn1".into(), tally(3, 10)), ("dn2".into(), tally(3, 10))],
        );
        t.insert(
            c2.clone(),
            vec![("dn1".into(), tally(5, -7)), ("dn2".into(), tally(4, -9))],
        );
        let copied: BTreeMap<String, String> = [(format!("chunk {c2}"), "dn2".to_string())].into();
        let d = divergences(&t, &copied);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].contains("_timescaledb_internal.c2")
                && d[0].contains("dn1 has 5 row(s)")
                && d[0].contains("dn2 has 4 row(s)")
                && d[0].contains("copied dn2's"),
            "{}",
            d[0]
        );
        assert_eq!(hypertable_tally(&s, &h, &t, &copied), tally(7, 1));
    }
}
