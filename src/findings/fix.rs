//! PURE: a finding's fix as data. The text an operator reads is rendered
//! from it (one source), `--json` carries it whole, and the fault tests
//! execute it as written to prove that it clears its finding.

use serde::Serialize;

/// What makes a SQL fix take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Then {
    /// In effect at once.
    Nothing,
    /// `SELECT pg_reload_conf()` on the node.
    Reload,
    /// A restart of the node (postmaster-level settings).
    Restart,
}

/// One edit of a node's pg_hba.conf, by line number as the server reports
/// them (`pg_hba_file_rules.line_number`); a reload follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum HbaEdit {
    /// Take this line out.
    Remove { line: usize },
    /// Put this rule above line `above`, or at the end when None.
    Insert { rule: String, above: Option<usize> },
    /// Move line `line` above line `above`.
    Move { line: usize, above: usize },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fix {
    /// Statements a superuser runs on `node`, connected to `database`.
    Sql {
        node: String,
        database: String,
        sql: String,
        then: Then,
    },
    /// Restart the node's server (settings that are read at start).
    Restart { node: String },
    /// Edit the node's pg_hba.conf at `path`, then reload.
    Hba {
        node: String,
        path: String,
        edit: HbaEdit,
    },
    /// Give a file on the node this mode (the server's OS user owns it).
    Mode {
        node: String,
        path: String,
        mode: u32,
    },
    /// `tsmn apply` (with `flag`, when one is needed) makes this change;
    /// its preview shows exactly how.
    Apply {
        change: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        flag: Option<String>,
    },
    /// Outside what SQL, a file edit or tsmn can do (a package, DNS, a
    /// firewall, the plan, a server that is down).
    Manual { text: String },
    /// Nothing needs to be done.
    Nothing { text: String },
    /// `first`, which tsmn apply would also do.
    ByApplyToo { first: Box<Fix> },
    /// `first`, or another way said in words.
    Or { first: Box<Fix>, otherwise: String },
}

impl Fix {
    pub fn sql(node: &str, sql: impl Into<String>, then: Then) -> Fix {
        Fix::Sql {
            node: node.into(),
            database: "postgres".into(),
            sql: sql.into(),
            then,
        }
    }

    pub fn manual(text: impl Into<String>) -> Fix {
        Fix::Manual { text: text.into() }
    }

    pub fn apply(change: impl Into<String>) -> Fix {
        Fix::Apply {
            change: change.into(),
            flag: None,
        }
    }

    /// `tsmn apply` with one of its options (`--renew-certificates`).
    pub fn apply_with(flag: &str, change: impl Into<String>) -> Fix {
        Fix::Apply {
            change: change.into(),
            flag: Some(flag.into()),
        }
    }

    pub fn nothing(text: impl Into<String>) -> Fix {
        Fix::Nothing { text: text.into() }
    }

    pub fn hba(node: &str, path: &str, edit: HbaEdit) -> Fix {
        Fix::Hba {
            node: node.into(),
            path: path.into(),
            edit,
        }
    }

    /// This fix, which tsmn apply also makes.
    pub fn or_apply(self) -> Fix {
        Fix::ByApplyToo {
            first: Box::new(self),
        }
    }

    /// This fix, or another way.
    pub fn or(self, otherwise: impl Into<String>) -> Fix {
        Fix::Or {
            first: Box::new(self),
            otherwise: otherwise.into(),
        }
    }

    /// The fix an operator can carry out by hand, without the words around it.
    pub fn first(&self) -> &Fix {
        match self {
            Fix::ByApplyToo { first } | Fix::Or { first, .. } => first.first(),
            f => f,
        }
    }

    /// The text shown in check's output, the wizard and `--json`'s `fix`.
    pub fn render(&self) -> String {
        match self {
            Fix::Sql {
                node,
                database,
                sql,
                then,
            } => {
                let on = if database == "postgres" {
                    format!("on {node}: ")
                } else {
                    format!("on {node}, in database {database}: ")
                };
                let sql = sql.trim_end_matches(';');
                let then = match then {
                    Then::Nothing => String::new(),
                    Then::Reload => "; then SELECT pg_reload_conf()".into(),
                    Then::Restart => format!("; then restart {node}"),
                };
                format!("{on}{sql}{then}")
            }
            Fix::Restart { node } => format!(
                "restart {node} (pg_ctlcluster <version> <cluster> restart, systemctl restart <its unit>, or pg_ctl restart -D <data directory>)"
            ),
            Fix::Hba { node, path, edit } => {
                let edit = match edit {
                    HbaEdit::Remove { line } => format!("remove line {line} of {path} on {node}"),
                    HbaEdit::Insert { rule, above: Some(a) } => {
                        format!("add `{rule}` above line {a} in {path} on {node}")
                    }
                    HbaEdit::Insert { rule, above: None } => {
                        format!("add `{rule}` to {path} on {node}")
                    }
                    HbaEdit::Move { line, above } => {
                        format!("move line {line} above line {above} in {path} on {node}")
                    }
                };
                format!("{edit}, then SELECT pg_reload_conf()")
            }
            Fix::Mode { node, path, mode } => format!(
                "on {node}: chmod {mode:o} {path}, owned by the server's OS user; no reload needed"
            ),
            Fix::Apply { change, flag: None } => format!("run tsmn apply: {change}"),
            Fix::Apply {
                change,
                flag: Some(flag),
            } => format!("run tsmn apply {flag}: {change}"),
            Fix::Manual { text } | Fix::Nothing { text } => text.clone(),
            Fix::ByApplyToo { first } => format!("{} (tsmn apply does this)", first.render()),
            Fix::Or { first, otherwise } => format!("{}, or {otherwise}", first.render()),
        }
    }
}

/// The tsmn commands that read a plan (`--plan FILE`), as a fix may name them.
const PLAN_COMMANDS: [&str; 9] = [
    "apply",
    "check",
    "preview",
    "export",
    "undo",
    "rebalance",
    "validate",
    "status",
    "wizard",
];

/// `text` (a fix as rendered) with `--plan <plan>` after each tsmn command
/// it names that reads a plan and does not name one already: the fix,
/// carried out as written, runs on the operator's plan and not on
/// whatever `TSMN_PLAN` or the current directory holds. The one place
/// fixes get the plan path (findings are pure and do not know it: the
/// flow, which does, passes every fix through this).
pub fn naming_plan(text: &str, plan: &str) -> String {
    let arg = format!(" --plan {}", crate::quote::shell::word(plan));
    let mut out = String::with_capacity(text.len() + arg.len());
    let mut rest = text;
    while let Some(at) = rest.find("tsmn ") {
        let after = &rest[at + "tsmn ".len()..];
        let command = after
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap_or("");
        let end = at + "tsmn ".len() + command.len();
        out.push_str(&rest[..end]);
        rest = &rest[end..];
        // The command's words run to the end of its clause.
        let clause = rest.split([':', ',', ';', ')']).next().unwrap_or("");
        let named = clause.contains("--plan");
        if PLAN_COMMANDS.contains(&command) && !named {
            out.push_str(&arg);
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tsmn_command_a_fix_names_gets_the_plan() {
        let f = Fix::apply_with("--data-node-links", "it puts the files there").or("open the port");
        assert_eq!(
            naming_plan(&f.render(), "/p/my plan.toml"),
            "run tsmn apply --plan '/p/my plan.toml' --data-node-links: it puts the files there, or open the port"
        );
        assert_eq!(
            naming_plan("start dn1 (tsmn check --plan x says why), then tsmn check again; tsmn's CA, tsmn connects", "p.toml"),
            "start dn1 (tsmn check --plan x says why), then tsmn check --plan p.toml again; tsmn's CA, tsmn connects"
        );
        assert_eq!(
            naming_plan(
                "the same tsmn command (tsmn apply ... --drain, or tsmn rebalance)",
                "p"
            ),
            "the same tsmn command (tsmn apply --plan p ... --drain, or tsmn rebalance --plan p)"
        );
    }

    #[test]
    fn text_is_rendered_from_the_data() {
        let f = Fix::sql(
            "dn1",
            "ALTER SYSTEM SET max_prepared_transactions = 150",
            Then::Restart,
        )
        .or_apply();
        assert_eq!(
            f.render(),
            "on dn1: ALTER SYSTEM SET max_prepared_transactions = 150; then restart dn1 (tsmn apply does this)"
        );
        assert!(matches!(f.first(), Fix::Sql { .. }));
        let f = Fix::hba("dn1", "/d/pg_hba.conf", HbaEdit::Move { line: 3, above: 2 })
            .or("narrow line 2");
        assert_eq!(
            f.render(),
            "move line 3 above line 2 in /d/pg_hba.conf on dn1, then SELECT pg_reload_conf(), or narrow line 2"
        );
        let f = Fix::Mode {
            node: "an".into(),
            path: "/d/passfile".into(),
            mode: 0o600,
        };
        assert!(f.render().starts_with("on an: chmod 600 /d/passfile"));
        let json = serde_json::to_value(Fix::sql("dn1", "SELECT 1", Then::Reload)).unwrap();
        assert_eq!(json["kind"], "sql");
        assert_eq!(json["then"], "reload");
    }
}
