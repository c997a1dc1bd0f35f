//! Executes a finding's fix exactly as it carries it (its data, which its
//! text is rendered from), as an operator would: SQL as the superuser on
//! the named node, a pg_hba.conf edit by line number then a reload, a file
//! mode, a restart, or `tsmn apply`. A fix that is words only (a package
//! to install, a firewall) cannot be executed here and fails the test that
//! tries.

use super::{assert_success, sql_on, tsmn, TestCluster};
use std::path::Path;
use tsmn::findings::{Finding, Fix, HbaEdit, Then};

/// The nodes of a test cluster by plan name, and the plan file for apply.
pub struct Nodes<'a> {
    pub nodes: Vec<(&'a str, &'a TestCluster)>,
    pub plan: &'a Path,
    /// Extra environment for `tsmn apply` (role passwords).
    pub env: Vec<(&'a str, &'a str)>,
    /// Extra arguments for `tsmn apply` (`--phases` where the engine is
    /// not needed).
    pub apply_args: Vec<&'a str>,
}

impl<'a> Nodes<'a> {
    /// These nodes and this plan; `tsmn apply` runs as is.
    pub fn new(nodes: Vec<(&'a str, &'a TestCluster)>, plan: &'a Path) -> Nodes<'a> {
        Nodes {
            nodes,
            plan,
            env: vec![],
            apply_args: vec![],
        }
    }

    /// `tsmn apply` with this environment and these arguments.
    pub fn applying(mut self, env: Vec<(&'a str, &'a str)>, args: Vec<&'a str>) -> Nodes<'a> {
        self.env = env;
        self.apply_args = args;
        self
    }

    fn node(&self, name: &str) -> &TestCluster {
        self.nodes
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| panic!("the fix names node {name}, which is not in this test"))
    }
}

/// Carry out `f`'s fix. The first way an operator would take is executed:
/// the by-hand fix of "X (tsmn apply does this)" and of "X, or Y".
pub fn execute(f: &Finding, nodes: &Nodes) {
    assert_eq!(
        f.fix,
        f.remedy.render(),
        "the text is rendered from the data"
    );
    run(f.remedy.first(), nodes, f);
}

fn run(fix: &Fix, nodes: &Nodes, f: &Finding) {
    match fix {
        Fix::Sql {
            node,
            database,
            sql,
            then,
        } => {
            let c = nodes.node(node);
            sql_on(&c.cluster, database, sql);
            match then {
                Then::Nothing => {}
                Then::Reload => {
                    sql_on(&c.cluster, "postgres", "SELECT pg_reload_conf()");
                }
                Then::Restart => c.restart(),
            }
        }
        Fix::Restart { node } => nodes.node(node).restart(),
        Fix::Hba { node, path, edit } => {
            let c = nodes.node(node);
            assert_eq!(
                Path::new(path),
                c.cluster.data_dir().join("pg_hba.conf"),
                "the fix names the node's pg_hba.conf"
            );
            let old = std::fs::read_to_string(path).expect("read pg_hba.conf");
            std::fs::write(path, edited(&old, edit)).expect("write pg_hba.conf");
            sql_on(&c.cluster, "postgres", "SELECT pg_reload_conf()");
        }
        Fix::Mode { node, path, mode } => {
            use std::os::unix::fs::PermissionsExt;
            let _ = nodes.node(node);
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode)).expect("chmod");
        }
        Fix::Apply { flag, .. } => {
            let mut cmd = tsmn();
            cmd.args(["apply", "--yes", "--plan"])
                .arg(nodes.plan)
                .args(&nodes.apply_args)
                .args(flag);
            for (k, v) in &nodes.env {
                cmd.env(k, v);
            }
            assert_success(&cmd.output().expect("run tsmn apply"));
        }
        Fix::Manual { .. } | Fix::Nothing { .. } | Fix::ByApplyToo { .. } | Fix::Or { .. } => {
            panic!("{} carries no fix a test can execute: {f:#?}", f.code)
        }
    }
}

/// The file with one edit made, by 1-based line numbers.
fn edited(old: &str, edit: &HbaEdit) -> String {
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    let len = lines.len();
    let at = |n: usize| {
        assert!(n >= 1 && n <= len, "line {n} of {len}");
        n - 1
    };
    match edit {
        HbaEdit::Remove { line } => {
            lines.remove(at(*line));
        }
        HbaEdit::Insert { rule, above } => {
            let i = above.map_or(lines.len(), at);
            lines.insert(i, rule.clone());
        }
        HbaEdit::Move { line, above } => {
            let (from, to) = (at(*line), at(*above));
            let l = lines.remove(from);
            lines.insert(if from < to { to - 1 } else { to }, l);
        }
    }
    lines.join("\n") + "\n"
}
