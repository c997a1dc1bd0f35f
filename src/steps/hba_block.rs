//! tsmn's block in pg_hba.conf: marked, placed before the first rule (so no
//! earlier rule can shadow it), and replaced as a whole on every run.

pub use crate::quote::hba::{BLOCK_BEGIN as BEGIN, BLOCK_END as END};

pub fn block(lines: &[String]) -> String {
    let mut out = String::from(BEGIN);
    out.push('\n');
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

/// The file with tsmn's block put in place: an existing block is removed,
/// and the new one goes after the leading comments, before the first rule.
pub fn merge(old: &str, lines: &[String]) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut inside = false;
    for l in old.lines() {
        if l.starts_with("# BEGIN tsmn") {
            inside = true;
        } else if inside && l.starts_with(END) {
            inside = false;
        } else if !inside {
            kept.push(l);
        }
    }
    let first_rule = kept.iter().position(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    });
    let at = first_rule.unwrap_or(kept.len());
    let mut out = String::new();
    for l in &kept[..at] {
        out.push_str(l);
        out.push('\n');
    }
    // No lines: the block goes (a data node that left the cluster).
    if !lines.is_empty() {
        out.push_str(&block(lines));
    }
    for l in &kept[at..] {
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Whether the file already holds exactly this block where it belongs:
/// the same test the executor makes before it writes.
pub fn holds(old: &str, lines: &[String]) -> bool {
    merge(old, lines) == old
}

/// Whether a rule of the block may match a TCP connection from `ip`: its
/// address column covers `ip`, or is a name tsmn cannot judge. (Every line
/// tsmn writes is `host`/`hostssl`, so none matches a Unix-socket connection.)
pub fn could_match(lines: &[String], ip: std::net::IpAddr) -> bool {
    lines.iter().any(|l| {
        let Some(addr) = l.split_whitespace().nth(3) else {
            return true;
        };
        // A host name, samehost, samenet or all: assume it may.
        crate::plan::cidr_covers(addr, ip).unwrap_or(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_before_the_first_rule_and_replaces_itself() {
        let old = "# header\n\nlocal all all peer\nhost all all 0.0.0.0/0 scram-sha-256\n";
        let lines = vec!["host all postgres 10.0.0.10/32 trust".to_string()];
        let new = merge(old, &lines);
        assert_eq!(
            new,
            format!(
                "# header\n\n{}local all all peer\nhost all all 0.0.0.0/0 scram-sha-256\n",
                block(&lines)
            )
        );
        assert!(holds(&new, &lines));
        let other = vec!["host all postgres 10.0.0.11/32 trust".to_string()];
        let again = merge(&new, &other);
        assert_eq!(again.matches("BEGIN tsmn").count(), 1);
        assert!(again.contains("10.0.0.11") && !again.contains("10.0.0.10/32"));
        assert_eq!(merge(&again, &lines), new, "merging is idempotent");
    }

    #[test]
    fn which_connections_the_block_may_match() {
        let lines = vec![
            "host all postgres 10.0.0.0/24 trust".to_string(),
            "hostssl all app fe80::/64 cert".to_string(),
        ];
        assert!(could_match(&lines, "10.0.0.7".parse().unwrap()));
        assert!(!could_match(&lines, "10.0.1.7".parse().unwrap()));
        assert!(could_match(&lines, "fe80::9".parse().unwrap()));
        assert!(could_match(
            &["host all all an.example.com trust".to_string()],
            "192.0.2.1".parse().unwrap()
        ));
    }
}
