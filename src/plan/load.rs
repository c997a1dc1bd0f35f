//! Reading and writing plan files.

use super::model::Plan;
use super::problem::{PlanError, Problem};
use super::validate::validate;

/// Keys that would hold a secret. A plan only ever *names* where a secret is.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "passwd",
    "pwd",
    "pgpassword",
    "secret",
    "private_key",
];

const SECRET_FIX: &str = "remove it: a plan never holds a secret. tsmn asks at a prompt, or reads the \
variable named in credentials.password_env, or a passfile (credentials.passfile, PGPASSFILE, ~/.pgpass)";

/// Parse, check and normalize a plan without libpq: a node's dsn or
/// service is a problem here (tsmn loads plans with
/// plan::system::load_plan). `path` is only used in messages.
pub fn parse_plan(text: &str, path: &str) -> Result<Plan, PlanError> {
    parse_plan_with(text, path, &super::dsn::NoLibpq)
}

/// Parse, check and normalize a plan, its dsn and service entries and its
/// default superuser read through `libpq`.
pub fn parse_plan_with(
    text: &str,
    path: &str,
    libpq: &dyn super::dsn::Libpq,
) -> Result<Plan, PlanError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| syntax(text, path, &e))?;
    let mut secrets = Vec::new();
    find_secrets(&table, "", &mut secrets);
    if !secrets.is_empty() {
        return Err(PlanError::Invalid {
            path: path.into(),
            problems: secrets,
        });
    }
    let mut plan: Plan = toml::from_str(text).map_err(|e| syntax(text, path, &e))?;
    if !table.contains_key("superuser") {
        if let Some(u) = libpq.default_user() {
            plan.superuser = u;
        }
    }
    // Host and port from each node's dsn or service, before anything reads them.
    let given = |i: usize, key: &str| node_table(&table, i).is_some_and(|t| t.contains_key(key));
    let mut problems = super::dsn::resolve(&mut plan, &given, libpq);
    let plan = normalize_hosts(plan).normalized();
    problems.extend(validate(&plan));
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(PlanError::Invalid {
            path: path.into(),
            problems,
        })
    }
}

pub fn load_plan(path: &std::path::Path) -> Result<Plan, PlanError> {
    load_plan_with(path, &super::dsn::NoLibpq)
}

pub fn load_plan_with(
    path: &std::path::Path,
    libpq: &dyn super::dsn::Libpq,
) -> Result<Plan, PlanError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PlanError::Read {
        path: shown.clone(),
        source,
    })?;
    let text = utf8(bytes, &shown)?;
    parse_plan_with(&text, &shown, libpq)
}

/// The plan's text; a file that is not UTF-8 (TOML's only encoding) is
/// there and readable, so the error says where its first bad byte is, not
/// that the path may be wrong.
fn utf8(bytes: Vec<u8>, path: &str) -> Result<String, PlanError> {
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let before = std::str::from_utf8(bytes.get(..offset).unwrap_or_default()).unwrap_or_default();
        let (line, column) = line_col(before, offset);
        let byte = bytes.get(offset).copied().unwrap_or_default();
        PlanError::Syntax {
            path: path.into(),
            line,
            column,
            message: format!("byte {offset} (0x{byte:02X}, counted from 0) is not UTF-8"),
            fix: "save the file as UTF-8 (from Latin-1, say: iconv -f LATIN1 -t UTF-8 FILE > NEW), or retype the character at that place".into(),
        }
    })
}

/// The plan as TOML with every default written out.
pub fn plan_to_toml(plan: &Plan) -> String {
    // Serializing plain structs of strings, numbers and tables cannot fail.
    toml::to_string(plan).expect("a plan always serializes")
}

/// Node `i`'s table in the plan file (0 = the access node).
fn node_table(table: &toml::Table, i: usize) -> Option<&toml::Table> {
    if i == 0 {
        return table.get("access_node")?.as_table();
    }
    table.get("data_nodes")?.as_array()?.get(i - 1)?.as_table()
}

fn normalize_hosts(mut plan: Plan) -> Plan {
    use super::address::normalize_host;
    for n in std::iter::once(&mut plan.access_node).chain(plan.data_nodes.iter_mut()) {
        n.host = normalize_host(&n.host);
        n.connect_host = n.connect_host.as_deref().map(normalize_host);
    }
    plan
}

fn find_secrets(table: &toml::Table, prefix: &str, out: &mut Vec<Problem>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            // `[auth.password]` is the table of password mode's options, not a secret.
            toml::Value::Table(t) => find_secrets(t, &path, out),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(t) = item {
                        find_secrets(t, &format!("{path}[{i}]"), out);
                    }
                }
                check_key(key, &path, out);
            }
            _ => check_key(key, &path, out),
        }
    }
}

fn check_key(key: &str, path: &str, out: &mut Vec<Problem>) {
    let k = key.to_ascii_lowercase();
    if SECRET_KEYS.contains(&k.as_str()) || k.ends_with("_password") {
        // Never echo the value: it may be a real password.
        out.push(Problem::new(
            path,
            "looks like a secret (its value is not shown)",
            SECRET_FIX,
        ));
    }
}

fn syntax(text: &str, path: &str, e: &toml::de::Error) -> PlanError {
    let (line, column) = match e.span() {
        Some(span) => line_col(text, span.start),
        None => (1, 1),
    };
    let message = e.message().trim().to_string();
    let fix = if message.contains("unknown field") {
        "remove the key or correct its spelling; `tsmn init --out example.toml` writes a plan with every key"
            .to_string()
    } else if message.contains("missing field") {
        "add the field; `tsmn init --out example.toml` writes a plan that shows each one"
            .to_string()
    } else if message.contains("unknown variant") {
        "use one of the values the message lists".to_string()
    } else {
        "correct the TOML at that place (strings need quotes, tables [name], arrays of tables [[name]])".to_string()
    };
    PlanError::Syntax {
        path: path.into(),
        line,
        column,
        message,
        fix,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A plan to start from when there is none yet: the access node named,
/// nothing else given (every other key at its default). The wizard's nodes
/// screen asks for the addresses.
pub fn new_plan() -> Plan {
    new_plan_with(&super::dsn::NoLibpq)
}

/// `new_plan`, its superuser libpq's default user when there is one.
pub fn new_plan_with(libpq: &dyn super::dsn::Libpq) -> Plan {
    let mut plan = toml::from_str::<Plan>("[access_node]\nname = \"an\"\nhost = \"\"\n")
        .expect("the empty plan parses");
    if let Some(u) = libpq.default_user() {
        plan.superuser = u;
    }
    plan.normalized()
}
