//! PURE: the preflight as the operator reads it (`tsmn migrate --check`).

use super::preflight::{is_time_type, Preflight};
use super::source::Source;

/// Bytes as an operator reads them.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The preflight as text.
pub fn render(p: &Preflight) -> String {
    let t = &p.target_facts;
    let mut out = render_source(&p.source);
    out.push_str(&format!(
        "Target: {} (PostgreSQL {}, TimescaleDB {}{})\n",
        p.target,
        t.pg_version,
        t.timescaledb_available
            .as_deref()
            .unwrap_or("not available"),
        t.timescaledb_installed
            .as_deref()
            .map(|v| format!(", {v} in the database"))
            .unwrap_or_default()
    ));
    for n in &p.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    if p.blockers.is_empty() {
        out.push_str("Nothing blocks the migration.\n");
    } else {
        out.push_str(&format!("{} blocker(s):\n", p.blockers.len()));
        for b in &p.blockers {
            out.push_str(&format!("  BLOCKER {}\n    fix: {}\n", b.what, b.fix));
        }
    }
    out
}

fn render_source(s: &Source) -> String {
    let mut out = format!(
        "Source: database {} (PostgreSQL {}, TimescaleDB {}), {} data node(s), {} in all\n",
        s.database,
        s.pg_version,
        s.timescaledb,
        s.data_nodes.len(),
        bytes(u64::try_from(s.total_bytes).unwrap_or(0))
    );
    for h in &s.hypertables {
        let dims: Vec<String> = h
            .dimensions
            .iter()
            .map(|d| match (d.interval, d.partitions) {
                (Some(i), _) => format!(
                    "{} {} interval {}",
                    d.column,
                    d.column_type,
                    interval(&d.column_type, i)
                ),
                (_, Some(n)) => format!("{} space, {n} partitions", d.column),
                _ => d.column.clone(),
            })
            .collect();
        let chunks: Vec<_> = s.chunks_of(&h.name).collect();
        let compressed = chunks.iter().filter(|c| c.compressed).count();
        out.push_str(&format!(
            "  hypertable {} ({}{}): {}; {} chunk(s){}\n",
            h.name,
            if h.distributed {
                "distributed"
            } else {
                "local"
            },
            if h.replication_factor > 1 {
                format!(", replication factor {}", h.replication_factor)
            } else {
                String::new()
            },
            dims.join("; "),
            chunks.len(),
            if compressed > 0 {
                format!(", {compressed} compressed")
            } else {
                String::new()
            },
        ));
        if let Some(c) = &h.compression {
            out.push_str(&format!(
                "    compression: segmentby [{}], orderby [{}]\n",
                c.segmentby.join(", "),
                c.orderby
                    .iter()
                    .map(|(c, asc, _)| format!("{c}{}", if *asc { "" } else { " DESC" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (node, b) in &h.bytes {
            let n = chunks
                .iter()
                .filter(|c| c.nodes.iter().any(|(x, _)| x == node))
                .count();
            out.push_str(&format!(
                "    {node}: {n} chunk(s), {}\n",
                bytes(u64::try_from(*b).unwrap_or(0))
            ));
        }
    }
    for tb in &s.tables {
        out.push_str(&format!(
            "  table {} ({})\n",
            tb.name,
            bytes(u64::try_from(tb.bytes).unwrap_or(0))
        ));
    }
    render_caggs(s, &mut out);
    for j in &s.jobs {
        out.push_str(&format!(
            "  job {} {} ({})\n",
            j.id, j.application_name, j.schedule_interval
        ));
    }
    out
}

/// The aggregates, and what over them is restored after them.
fn render_caggs(s: &Source, out: &mut String) {
    for c in &s.caggs {
        out.push_str(&format!(
            "  continuous aggregate {} over {}{}{}\n",
            c.name,
            c.raw,
            if c.materialized_only {
                ", materialized only"
            } else {
                ", real-time"
            },
            if c.finalized { "" } else { ", OLD FORMAT" }
        ));
    }
    let over: Vec<String> = s
        .cagg_dependents
        .iter()
        .filter(|d| !d.kind.contains("trigger") && !d.kind.contains("rule"))
        .map(|d| d.shown())
        .collect();
    if !over.is_empty() {
        out.push_str(&format!(
            "  over the continuous aggregates (restored after them): {}\n",
            over.join(", ")
        ));
    }
}

/// A chunk interval as the operator set it.
pub fn interval(column_type: &str, i: i64) -> String {
    if is_time_type(column_type) {
        if i % 86_400_000_000 == 0 {
            format!("{} day(s)", i / 86_400_000_000)
        } else if i % 3_600_000_000 == 0 {
            format!("{} hour(s)", i / 3_600_000_000)
        } else {
            format!("{i} microseconds")
        }
    } else {
        i.to_string()
    }
}

/// PURE: what a finished migration tells the operator (both faces): each
/// part verified, the copy's figures, the freeze, what is next.
pub fn report(r: &super::MigrateReport, target: &super::connect::TargetAddr) -> String {
    let mut out = String::from("Verified (rows on source = rows on target, checksums equal):\n");
    for c in &r.verified {
        out.push_str(&format!(
            "  {:<10} {:<40} {:>12} = {:>12}\n",
            c.kind, c.table, c.source.rows, c.target.rows
        ));
    }
    out.push_str(&format!(
        "done: {} part(s) copied ({} rows) in {:.1} s{}, verified in {:.1} s, {:.1} s in all\n",
        r.parts_copied,
        r.rows_copied,
        r.copy_seconds,
        if r.parts_already_done > 0 {
            format!(" ({} done by an earlier run)", r.parts_already_done)
        } else {
            String::new()
        },
        r.verify_seconds,
        r.total_seconds
    ));
    if !r.phases.is_empty() {
        let each: Vec<String> = r
            .phases
            .iter()
            .map(|(name, secs)| format!("{name} {secs:.1} s"))
            .collect();
        out.push_str(&format!("  time: {}\n", each.join(", ")));
    }
    if !r.jobs_started.is_empty() {
        out.push_str(&format!(
            "  {} job(s) and policies scheduled on the target as on the source, each first when the source's would run next:\n",
            r.jobs_started.len()
        ));
        for j in &r.jobs_started {
            out.push_str(&format!("    {j}\n"));
        }
    }
    if r.database_settings > 0 {
        out.push_str(&format!(
            "  {} database setting(s) (ALTER DATABASE ... SET) set on the target as on the source\n",
            r.database_settings
        ));
    }
    for c in &r.roles.changed {
        out.push_str(&format!("  changed to match the source: {c}\n"));
    }
    for n in &r.not_recreated {
        out.push_str(&format!("  not recreated: {n}\n"));
    }
    for c in &r.recopied {
        out.push_str(&format!("  copied again after a mismatch: {}\n", c.line()));
    }
    for w in &r.warnings {
        out.push_str(&format!("  WARNING {w}\n"));
    }
    if let Some(f) = r.freeze_seconds {
        out.push_str(&format!(
            "  writes frozen for {f:.1} s so far: {} part(s) copied in the freeze, {} of them because they changed after their first copy\n  The freeze is the source database's default_transaction_read_only = on, left on the source on purpose until the applications use the target (not set on the target). Lift it then with tsmn migrate --plan <plan> --to <target> --abandon, or by hand on the access node: ALTER DATABASE <database> RESET default_transaction_read_only. A session can still override it (SET TRANSACTION READ WRITE): writes that do so after the freeze reach only the source.\n",
            r.parts_in_freeze, r.changed_in_freeze
        ));
    }
    out.push_str(&format!(
        "Next: point the applications at {t}; then update TimescaleDB there (psql -X -d {db}: ALTER EXTENSION timescaledb UPDATE). The source's data was not changed.\n",
        t = target.shown(),
        db = target.database
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_as_set() {
        assert_eq!(
            interval("timestamp with time zone", 604_800_000_000),
            "7 day(s)"
        );
        assert_eq!(interval("bigint", 1000), "1000");
        assert_eq!(bytes(2048), "2.0 kB");
    }
}
