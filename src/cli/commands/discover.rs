//! `tsmn discover`: the plan of a running cluster, read from its access node.

use super::super::args::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::runtime;
use std::path::Path;
use std::time::Duration;

pub fn discover(
    access_node: &str,
    database: Option<&str>,
    superuser: Option<&str>,
    out: &Path,
    connect_timeout: u64,
) -> u8 {
    let target = match tsmn::discover::parse_target(access_node, superuser, database) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    if out.exists() {
        eprintln!(
            "error: {} exists; tsmn discover does not overwrite a plan\n    fix: choose another --out, or remove the file first",
            out.display()
        );
        return EXIT_USAGE;
    }
    eprintln!(
        "reading the cluster from the access node at {} ...",
        target.shown()
    );
    let found = runtime().block_on(tsmn::discover::discover(
        &target,
        Duration::from_secs(connect_timeout),
    ));
    let d = match found {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let text = tsmn::discover::plan_text(&d, &target.shown());
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "error: {}: {e}\n    fix: check that the directory exists and is writable",
            out.display()
        );
        return EXIT_FAILED;
    }
    let p = &d.plan;
    eprintln!(
        "wrote {}: database {}, {} mode, {} data node(s) ({}), roles {}",
        out.display(),
        p.database,
        p.auth.mode.as_str(),
        p.data_nodes.len(),
        p.data_nodes
            .iter()
            .map(|n| format!("{} at {}:{}", n.name, n.host, n.port))
            .collect::<Vec<_>>()
            .join(", "),
        p.auth.roles.join(", ")
    );
    for n in &d.notes {
        eprintln!("  note: {n}");
    }
    eprintln!("Next:\n  tsmn check --plan {o}\n  tsmn preview --plan {o}   (an adopted plan: apply changes only what multi-node needs)", o = out.display());
    EXIT_OK
}
