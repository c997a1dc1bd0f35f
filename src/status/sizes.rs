//! PURE: a data node's chunk sizes, kept between refreshes. Measuring a
//! chunk (`pg_total_relation_size`: a stat of each of its files, indexes
//! and TOAST included) was about 2 ms of a data node's CPU per refresh
//! with 100 chunks; a chunk whose insert, update and delete counters did
//! not move keeps its last size instead (queries::DATA_COUNTERS sends no
//! size for it). What changes a size without those counters (TRUNCATE,
//! VACUUM FULL, compression) shows when every chunk is measured again,
//! with the slow facts (once a minute).

use super::Counters;
use std::collections::{BTreeMap, HashMap};

/// One chunk as the data node reports it.
#[derive(Debug, serde::Deserialize)]
struct Chunk {
    hypertable: String,
    relid: i64,
    inserted: i64,
    changes: i64,
    /// None: unchanged since the reading `known` named.
    bytes: Option<i64>,
}

#[derive(Debug, Default)]
pub(super) struct ChunkSizes {
    /// relid -> (changes when measured, bytes).
    kept: HashMap<i64, (i64, i64)>,
}

impl ChunkSizes {
    /// The chunks whose size the server may leave out (`relid:changes`);
    /// none when every chunk is to be measured again.
    pub fn known(&self, measure_all: bool) -> Vec<String> {
        if measure_all {
            return Vec::new();
        }
        self.kept
            .iter()
            .map(|(relid, (changes, _))| format!("{relid}:{changes}"))
            .collect()
    }

    /// The data node's answer (a JSON list of chunks) as counters per
    /// hypertable; the sizes it left out are the kept ones.
    pub fn counters(&mut self, json: &str) -> Vec<Counters> {
        let chunks: Vec<Chunk> = serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::warn!("status: unreadable chunk list from a data node ({e})");
            Vec::new()
        });
        let mut kept = HashMap::with_capacity(chunks.len());
        let mut per: BTreeMap<String, Counters> = BTreeMap::new();
        for c in chunks {
            let bytes = c
                .bytes
                .or_else(|| self.kept.get(&c.relid).map(|k| k.1))
                .unwrap_or(0);
            kept.insert(c.relid, (c.changes, bytes));
            let h = per.entry(c.hypertable.clone()).or_insert_with(|| Counters {
                hypertable: c.hypertable.clone(),
                ..Counters::default()
            });
            h.chunks += 1;
            h.rows_inserted += c.inserted;
            h.bytes += bytes;
        }
        // Chunks gone since (dropped) are forgotten.
        self.kept = kept;
        per.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_left_out_is_the_kept_one_and_hypertables_are_summed() {
        let mut s = ChunkSizes::default();
        let first = s.counters(
            r#"[{"hypertable":"public.m","relid":1,"inserted":10,"changes":10,"bytes":8192},
                {"hypertable":"public.m","relid":2,"inserted":5,"changes":6,"bytes":16384},
                {"hypertable":"public.n","relid":3,"inserted":0,"changes":0,"bytes":0}]"#,
        );
        assert_eq!(first.len(), 2);
        assert_eq!(
            (first[0].chunks, first[0].rows_inserted, first[0].bytes),
            (2, 15, 24576)
        );
        let mut known = s.known(false);
        known.sort();
        assert_eq!(known, ["1:10", "2:6", "3:0"]);
        assert!(s.known(true).is_empty());
        // Chunk 1 unchanged (no size sent), chunk 2 grew, chunk 3 dropped.
        let next = s.counters(
            r#"[{"hypertable":"public.m","relid":1,"inserted":10,"changes":10,"bytes":null},
                {"hypertable":"public.m","relid":2,"inserted":9,"changes":10,"bytes":24576}]"#,
        );
        assert_eq!(next.len(), 1);
        assert_eq!((next[0].rows_inserted, next[0].bytes), (19, 8192 + 24576));
        assert_eq!(s.known(false).len(), 2);
    }
}
