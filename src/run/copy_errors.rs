//! PURE: what a failed engine copy of a chunk means, said with its fix.

use crate::quote::sql::literal;
use crate::steps::ChunkMove;

/// PURE: the cause and fix when the engine's copy of a compressed chunk
/// found its compressed chunk's name taken on the destination: each data
/// node numbers its compressed chunks on its own, and the copy keeps the
/// source's name (`relation "compress_hyper_3_12_chunk" already exists`).
/// A chunk decompressed first has no compressed chunk to copy.
pub(super) fn name_taken(error: &str, m: &ChunkMove, command: &str) -> Option<String> {
    let name = error
        .split("relation \"")
        .nth(1)?
        .split('"')
        .next()
        .filter(|n| n.starts_with("compress_hyper_") && error.contains("already exists"))?;
    Some(format!(
        "\n    cause: {} already has a compressed chunk named {name} (each data node numbers its compressed chunks on its own; the engine's copy keeps the source's name)\n    fix: on the access node, in the cluster database: SELECT decompress_chunk({}); then run {command} again, and compress the chunk again once it has moved: SELECT compress_chunk({})",
        m.destination,
        literal(&m.chunk),
        literal(&m.chunk)
    ))
}

#[cfg(test)]
mod tests {
    use crate::steps::ChunkMove;

    #[test]
    fn a_compressed_chunks_name_taken_on_the_destination_gets_the_decompress_fix() {
        let m = ChunkMove {
            database: "tsdb".into(),
            hypertable: "public.c".into(),
            chunk: "_timescaledb_internal._dist_hyper_2_13_chunk".into(),
            source: "dn1".into(),
            destination: "dn3".into(),
            bytes: None,
            functions_schema: "_timescaledb_functions".into(),
            keep_source: false,
            one_replica: false,
        };
        let e = "ERROR: [dn3]: relation \"compress_hyper_3_12_chunk\" already exists";
        let said = super::name_taken(e, &m, "tsmn rebalance").expect("the cause");
        assert!(
            said.contains("dn3 already has a compressed chunk named compress_hyper_3_12_chunk")
                && said.contains("SELECT decompress_chunk('_timescaledb_internal._dist_hyper_2_13_chunk'); then run tsmn rebalance again"),
            "{said}"
        );
        assert_eq!(
            super::name_taken("ERROR: relation \"x\" already exists", &m, "c"),
            None
        );
        assert_eq!(super::name_taken("could not connect", &m, "c"), None);
    }
}
