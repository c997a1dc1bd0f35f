//! PURE: the column types whose extended hash depends on the value alone,
//! the same on every server.
//!
//! Why: comparing copies of rows on two servers (a chunk moved between data
//! nodes, a table migrated) by `hash_record_extended` is a third of the
//! time of hashing each row's text, but a type's hash may hash something
//! that differs between servers for equal values: an enum hashes its
//! label's OID (`hashenum`), `oid` and the `reg*` types hash OIDs, and
//! arrays, ranges, domains and composites hash through their element or
//! base type. Built-in type OIDs are fixed in PostgreSQL's catalog, the
//! same on every server, and a user's type never has one below 16384; so
//! a column of a type in this list may be hashed by value, any other is
//! hashed as text.

/// Built-in types hashed by value (PostgreSQL 15's hash support functions:
/// hashchar, hashint2/4/8, hashfloat4/8, hashtext, hashbpchar, hashvarlena
/// for bytea, hash_numeric, timestamp_hash, interval_hash, time_hash,
/// timetz_hash, uuid_hash, hashinet, hashmacaddr(8), jsonb_hash, hashbool
/// via char).
pub const TYPES: &[u32] = &[
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

/// `TYPES` as an SQL array literal of OIDs: `'{16,17,...}'::oid[]`.
pub fn sql_array() -> String {
    let list: Vec<String> = TYPES.iter().map(u32::to_string).collect();
    format!("'{{{}}}'::oid[]", list.join(","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_user_type_and_no_oid_hashed_type_is_in_the_list() {
        // oid, regclass, regtype, regproc, an enum's user OID.
        for t in [26, 2205, 2206, 24, 16_384] {
            assert!(!super::TYPES.contains(&t), "{t}");
        }
        assert!(super::sql_array().starts_with("'{16,17,18,"));
    }
}
