//! pg_hba.conf fields: a name is double-quoted when it holds anything but
//! plain characters, or is one of the keywords (a quoted keyword means the
//! literal name). A double quote inside a name cannot be written at all.

const KEYWORDS: [&str; 6] = [
    "all",
    "sameuser",
    "samerole",
    "samegroup",
    "replication",
    "samehost",
];

pub fn field(name: &str) -> Result<String, String> {
    if name.contains('"') || name.contains('\n') || name.contains('\r') {
        return Err(format!(
            "`{}` contains a double quote or a line break, which pg_hba.conf cannot express",
            name.escape_default()
        ));
    }
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && !name.starts_with(['+', '@'])
        && !KEYWORDS.contains(&name);
    Ok(if plain {
        name.to_string()
    } else {
        format!("\"{name}\"")
    })
}

/// A comma-separated list of names.
pub fn list(names: &[String]) -> Result<String, String> {
    names
        .iter()
        .map(|n| field(n))
        .collect::<Result<Vec<_>, _>>()
        .map(|v| v.join(","))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields() {
        assert_eq!(super::field("postgres").unwrap(), "postgres");
        assert_eq!(super::field("all").unwrap(), "\"all\"");
        assert_eq!(super::field("app user").unwrap(), "\"app user\"");
        assert!(super::field("bad\"name").is_err());
    }
}
