//! `tsmn discover`: the plan of a running cluster, read from its access node.

use super::super::args::{is_stdout, DiscoverArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::{failed, runtime};
use serde_json::json;
use tsmn::discover::Discovered;

pub const JSON_SCHEMA: &str = "tsmn-discover/1";

pub fn discover(a: &DiscoverArgs) -> u8 {
    let fail = |message: &str, code| failed("discover", a.json, message, code);
    let target = match tsmn::discover::parse_target(
        &a.access_node,
        a.superuser.as_deref(),
        a.database.as_deref(),
        &tsmn::plan::system::System,
    ) {
        Ok(t) => t,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let to_stdout = is_stdout(&a.out);
    if to_stdout && a.json {
        return fail("--out - and --json both write to standard output\n    fix: write the plan to a file (--out plan.toml) and keep --json, or drop --json", EXIT_USAGE);
    }
    if !to_stdout && a.out.exists() {
        let message = format!(
            "{} exists; tsmn discover does not overwrite a plan\n    fix: choose another --out, or remove the file first",
            a.out.display()
        );
        return fail(&message, EXIT_USAGE);
    }
    let timeout = match a
        .connect
        .timeout_with(target.conn.connect_timeout.as_deref())
    {
        Ok(t) => t,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    for n in &target.conn.ignored {
        output::tell(&format!("note: --access-node: {n}"));
    }
    output::tell(&format!(
        "reading the cluster from the access node at {} ...",
        target.shown()
    ));
    let found = runtime().block_on(tsmn::discover::discover(&target, timeout));
    let d = match found {
        Ok(d) => d,
        Err(e) => return fail(&e, EXIT_FAILED),
    };
    let text = tsmn::discover::plan_text(&d, &target.shown());
    if to_stdout {
        output::out!("{text}");
    } else if let Err(e) = write_new(&a.out, &text) {
        let message = format!(
            "{}: {e}\n    fix: check that the directory exists and is writable",
            a.out.display()
        );
        return fail(&message, EXIT_FAILED);
    }
    if a.json {
        output::print_json(&output::document(
            JSON_SCHEMA,
            json!({
                "from": target.shown(),
                "out": a.out,
                "plan": d.plan,
                "notes": d.notes,
            }),
        ));
    }
    tell_written(a, &d);
    EXIT_OK
}

/// A file that did not exist, with `text` in it.
fn write_new(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
}

/// What was written, what to check in it, what to run next (unless -q).
fn tell_written(a: &DiscoverArgs, d: &Discovered) {
    let p = &d.plan;
    let shown = if is_stdout(&a.out) {
        "the plan (standard output)".to_string()
    } else {
        a.out.display().to_string()
    };
    output::tell(&format!(
        "wrote {shown}: database {}, {} mode, {} data node(s) ({}), roles {}",
        p.database,
        p.auth.mode.as_str(),
        p.data_nodes.len(),
        p.data_nodes
            .iter()
            .map(|n| format!("{} at {}:{}", n.name, n.host, n.port))
            .collect::<Vec<_>>()
            .join(", "),
        p.auth.roles.join(", ")
    ));
    for n in &d.notes {
        output::tell(&format!("  note: {n}"));
    }
    let o = if is_stdout(&a.out) {
        "PLAN".to_string()
    } else {
        a.out.display().to_string()
    };
    output::tell(&format!("Next:\n  tsmn check --plan {o}\n  tsmn preview --plan {o}   (an adopted plan: apply changes only what multi-node needs)"));
}
