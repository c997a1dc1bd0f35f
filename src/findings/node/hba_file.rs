//! The node's pg_hba.conf as a file: loaded since it last changed, and
//! free of lines that cannot match or that stop a reload.

use crate::facts::{Facts, NodeFacts, NodeRole, ServerFacts};
use crate::findings::hba::quote;
use crate::findings::{Finding, Fix, HbaEdit, Severity::*, Then};
use crate::plan::Plan;

/// pg_hba.conf changed after the server last read it: the rules it
/// enforces are the old ones, whatever the file says.
pub(super) fn hba_not_loaded(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    if !s.hba_not_loaded || s.hba_rules.iter().any(|r| r.breaks_reload()) {
        return;
    }
    out.push(Finding::new(
        Warning,
        &n.name,
        "hba_not_loaded",
        format!(
            "{} changed after the server last read it: it still enforces the rules it had before",
            s.hba_file
        ),
        "PostgreSQL reads pg_hba.conf at start and on reload only; what the file says (and what tsmn reads from it) is not yet what the server does",
        Fix::sql(&n.name, "SELECT pg_reload_conf()", Then::Nothing),
    ));
}

pub(super) fn hba_errors(
    plan: &Plan,
    facts: &Facts,
    n: &NodeFacts,
    s: &ServerFacts,
    out: &mut Vec<Finding>,
) {
    for r in s.hba_rules.iter().filter(|r| !r.breaks_reload()) {
        if let Some(e) = r.error.as_deref() {
            out.push(Finding::new(
                Note,
                &n.name,
                "hostssl_without_ssl",
                format!("pg_hba.conf {} cannot match: {e}", quote(&s.hba_lines, r)),
                "with ssl off the line is kept but never matches; it does not stop a reload or a restart",
                Fix::nothing("nothing, unless that rule is needed: then turn ssl on (in certificate mode tsmn apply does)"),
            ));
        }
    }
    for r in s.hba_rules.iter().filter(|r| r.breaks_reload()) {
        let err = r.error.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "the line does not parse (for example clientcert=1, invalid on PostgreSQL 14 and later)".into());
        // Changed since the server last read it: the rules in force are
        // the old ones, and this line may stand where a working rule was;
        // removing it would drop that rule at the next reload.
        // The file on disk is not what is in force: the reload after the
        // fix loads all of it. A data node whose file would then refuse the
        // access node is told so, with the line to change as well.
        let refused = (n.role == NodeRole::Data)
            .then(|| crate::findings::admission::refused_after_reload(plan, facts, &n.name, s))
            .flatten();
        let (what, fix) = if let Some(rule) = refused {
            (
                "PostgreSQL refuses to reload a pg_hba.conf with an error (the old rules stay), and a restart would fail",
                Fix::manual(format!(
                    "correct line {} of {} on {}; the reload then loads the whole file as it is on disk, and there {rule} would refuse the access node: change that too before SELECT pg_reload_conf()",
                    r.line_number, s.hba_file, n.name
                )),
            )
        } else if s.hba_not_loaded {
            (
                "PostgreSQL refused to load this file (the rules from before the change are still in force), and a restart would fail",
                Fix::manual(format!(
                    "correct line {} of {} on {} (removing it would also drop the rule it replaced), then SELECT pg_reload_conf()",
                    r.line_number, s.hba_file, n.name
                )),
            )
        } else {
            (
                "PostgreSQL refuses to reload a pg_hba.conf with an error (the old rules stay), and a restart would fail",
                Fix::hba(&n.name, &s.hba_file, HbaEdit::Remove { line: r.line_number as usize })
                    .or("correct that line"),
            )
        };
        out.push(Finding::new(
            Blocker,
            &n.name,
            "hba_error",
            format!("pg_hba.conf {} has an error: {err}", quote(&s.hba_lines, r)),
            what,
            fix,
        ));
    }
}
