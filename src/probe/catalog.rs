//! ASYNC: the access node's catalog of its cluster, in the cluster
//! database: its data nodes (and who may use them), its distributed
//! hypertables and each chunk's places. Read by check's probe
//! (queries::database_details) and, alone, by tsmn rebalance's narrower
//! one (Reads::Placement): one reader for both.

use crate::facts::{ChunkPlace, DatabaseFacts, DistributedHypertable, Member};
use std::collections::HashMap;
use tokio_postgres::{Client, Error, Row};

/// With each data node, the login roles that may not use its foreign server
/// (superusers may use all): a role needs USAGE there to reach it.
const DATA_NODES_SQL: &str =
    "SELECT d.node_name::text, coalesce(d.options, '{}')::text[], \
     ARRAY(SELECT r.rolname::text FROM pg_roles r WHERE r.rolcanlogin AND NOT has_server_privilege(r.oid, s.oid, 'USAGE') ORDER BY 1) \
     FROM timescaledb_information.data_nodes d JOIN pg_foreign_server s ON s.srvname = d.node_name ORDER BY 1";
const HYPERTABLES_SQL: &str =
    "SELECT hypertable_schema::text, hypertable_name::text, coalesce(data_nodes, '{}')::text[], \
       (SELECT h.replication_factor::bigint FROM _timescaledb_catalog.hypertable h \
        WHERE h.schema_name = i.hypertable_schema AND h.table_name = i.hypertable_name) \
     FROM timescaledb_information.hypertables i WHERE is_distributed ORDER BY 1, 2";
/// Each chunk of a distributed hypertable and its data nodes (the access
/// node's catalog only: no data node is asked).
const PLACES_SQL: &str = "SELECT format('%I.%I', hypertable_schema, hypertable_name), format('%I.%I', chunk_schema, chunk_name), \
     data_nodes::text[], hypertable_schema::text, hypertable_name::text, \
     coalesce(range_start::text, range_start_integer::text), coalesce(range_end::text, range_end_integer::text), \
     (SELECT nullif(c.reltuples, -1)::bigint FROM pg_class c \
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = chunk_schema AND c.relname = chunk_name) \
     FROM timescaledb_information.chunks WHERE data_nodes IS NOT NULL ORDER BY 1, 2";

/// The catalog's rows, read together (pipelined on one session).
pub struct Catalog {
    nodes: Result<Vec<Row>, Error>,
    hypertables: Result<Vec<Row>, Error>,
    places: Result<Vec<Row>, Error>,
}

pub async fn read(client: &Client) -> Catalog {
    use crate::pg::rows;
    let (nodes, hypertables, places) = tokio::join!(
        rows(client, DATA_NODES_SQL, &[]),
        rows(client, HYPERTABLES_SQL, &[]),
        rows(client, PLACES_SQL, &[]),
    );
    Catalog {
        nodes,
        hypertables,
        places,
    }
}

impl Catalog {
    /// Into the database's facts: data nodes, members, distributed
    /// hypertables, chunk places (without their bytes: `with_bytes`).
    pub fn into(self, db: &mut DatabaseFacts) {
        let nodes = self.nodes.unwrap_or_default();
        db.data_nodes = nodes.iter().map(|r| r.get(0)).collect();
        db.members = nodes
            .iter()
            .map(|r| {
                let options: Vec<String> = r.get(1);
                let (host, port, _) = crate::timescale::server_options(&options);
                Member {
                    name: r.get(0),
                    host: host.unwrap_or_default(),
                    port: port.unwrap_or(5432),
                    without_usage: r.get(2),
                    unavailable: options.iter().any(|o| o == "available=false"),
                    answers: None,
                }
            })
            .collect();
        db.distributed_hypertables = self
            .hypertables
            .unwrap_or_default()
            .iter()
            .map(|r| DistributedHypertable {
                schema: r.get(0),
                table: r.get(1),
                data_nodes: r.get(2),
                replication_factor: r.get::<_, Option<i64>>(3).unwrap_or(1),
            })
            .collect();
        db.chunk_places = self
            .places
            .unwrap_or_default()
            .iter()
            .map(|r| ChunkPlace {
                hypertable: r.get(0),
                chunk: r.get(1),
                data_nodes: r.get(2),
                hypertable_name: (r.get(3), r.get(4)),
                bytes: Vec::new(),
                range: r
                    .get::<_, Option<String>>(5)
                    .zip(r.get::<_, Option<String>>(6)),
                rows: r.get(7),
                compressed: Vec::new(),
            })
            .collect();
    }
}

/// PURE: each place's bytes from (chunk, data node, bytes) rows, in the
/// order the rows come (one pass: 10,000 chunks are looked up, not
/// scanned for).
pub fn with_bytes(places: &mut [ChunkPlace], sizes: Vec<(String, String, i64)>) {
    let mut by_chunk: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (chunk, node, bytes) in sizes {
        by_chunk.entry(chunk).or_default().push((node, bytes));
    }
    for p in places {
        if let Some(b) = by_chunk.remove(&p.chunk) {
            p.bytes.extend(b);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_go_to_their_chunk_and_node() {
        let mut places = vec![
            crate::facts::ChunkPlace {
                chunk: "a".into(),
                ..Default::default()
            },
            crate::facts::ChunkPlace {
                chunk: "b".into(),
                ..Default::default()
            },
        ];
        super::with_bytes(
            &mut places,
            vec![
                ("b".into(), "dn1".into(), 7),
                ("a".into(), "dn2".into(), 3),
                ("b".into(), "dn2".into(), 5),
                ("c".into(), "dn1".into(), 1),
            ],
        );
        assert_eq!(places[0].bytes, vec![("dn2".to_string(), 3)]);
        assert_eq!(
            places[1].bytes,
            vec![("dn1".to_string(), 7), ("dn2".to_string(), 5)]
        );
    }
}
