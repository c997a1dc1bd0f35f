//! PURE: the built-in types whose extended hash depends on the value alone,
//! so `hash_record_extended` of them is equal on every server holding the
//! same values. The single list for the verification of `tsmn migrate`
//! (src/migrate/tally.rs) and the drain's chunk fingerprint
//! (src/run/moves.rs): every other column is hashed by its text.
//!
//! Why a list and not "has an extended hash function": some hash functions
//! hash an OID, which differs between servers: an enum's is `hashenum` of
//! the label's OID; oid and the reg* types hash the OID; arrays, ranges,
//! domains and composites hash their elements' (so an enum[] too). Built-in
//! type OIDs (below 16384) are fixed by PostgreSQL itself, the same on
//! every server; a user type is never here. Each entry was checked on
//! PostgreSQL 15 (pg_amproc, support function 2 of the type's default hash
//! opclass): bool, "char" `hashcharextended`; bytea `hashvarlenaextended`;
//! int2/int4/int8 `hashint2/4/8extended`, date `hashint4extended`; text and
//! varchar (text's opclass) `hashtextextended`, bpchar `hashbpcharextended`
//! (the bytes under a deterministic collation); float4/float8
//! `hashfloat4/8extended` (-0 and NaN normalized); inet and cidr (inet's
//! opclass) `hashinetextended`; macaddr/macaddr8 `hashmacaddr(8)extended`;
//! time, timestamp/timestamptz, interval, timetz, numeric, uuid, jsonb
//! their own `*_hash_extended`: all over the value alone.

/// The OIDs, ascending.
pub const OIDS: &[u32] = &[
    16,   // bool
    17,   // bytea
    18,   // "char"
    20,   // int8
    21,   // int2
    23,   // int4
    25,   // text
    650,  // cidr
    700,  // float4
    701,  // float8
    774,  // macaddr8
    829,  // macaddr
    869,  // inet
    1042, // bpchar
    1043, // varchar
    1082, // date
    1083, // time
    1114, // timestamp
    1184, // timestamptz
    1186, // interval
    1266, // timetz
    1700, // numeric
    2950, // uuid
    3802, // jsonb
];

/// Whether a column of type `oid` may be hashed by its value.
pub fn by_value(oid: u32) -> bool {
    OIDS.binary_search(&oid).is_ok()
}

/// The list as a SQL array literal, `'{16,17,...}'::oid[]`, for a query
/// that asks `atttypid = ANY (...)`.
pub fn sql_array() -> String {
    let list: Vec<String> = OIDS.iter().map(u32::to_string).collect();
    format!("'{{{}}}'::oid[]", list.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_built_in_and_says_itself_in_sql() {
        assert!(OIDS.windows(2).all(|w| w[0] < w[1]));
        assert!(OIDS.iter().all(|&o| o < 16384));
        assert!(by_value(23) && by_value(3802) && !by_value(26) && !by_value(2205));
        assert!(sql_array().starts_with("'{16,17,18,20,"));
        assert!(sql_array().ends_with(",2950,3802}'::oid[]"));
    }
}
