//! Files tsmn will write on a server that its OS user cannot write: found
//! before the run (see probe::writable), with the file or directory to fix.

use super::{Finding, Fix, Severity::Warning};
use crate::facts::{NodeFacts, ServerFacts};

pub(super) fn unwritable(n: &NodeFacts, s: &ServerFacts, out: &mut Vec<Finding>) {
    for u in &s.unwritable {
        let dirs: Vec<&String> = u.blocking.iter().filter(|b| **b != u.path).collect();
        let what = match dirs.as_slice() {
            [] => format!("the server's OS user cannot write {}", u.path),
            [d, ..] => format!(
                "the server's OS user cannot write {}: it cannot write in {d}",
                u.path
            ),
        };
        let all = u.blocking.join(" ");
        let fix = format!(
            "on {}'s host, as root: make {} writable for the server's OS user (e.g. chown postgres {all}), or choose another path, then run tsmn check again",
            n.name,
            u.blocking.join(" and ")
        );
        // A warning: an adopted rule kept, or a passfile that stands,
        // is not written at all; a step that would write it is blocked
        // (steps::block_unwritable_files), and preview shows which.
        out.push(Finding::new(
            Warning,
            &n.name,
            "file_not_writable",
            what,
            "tsmn writes its files as the server's OS user (COPY ... TO PROGRAM): a step that must change this file is blocked until it can",
            Fix::manual(fix),
        ));
    }
}
