//! Saving a plan the operator wrote: edited in place, so that comments,
//! order and layout stay; written atomically (a temporary file beside it,
//! synced, then renamed over it), with the previous version kept beside it
//! as `<plan>.bak`.

use super::{plan_to_toml, Plan};
use std::io::Write;
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item, Table};

/// PURE: `old` (the file as it is) with the values of `plan`: keys and
/// tables that stay keep their comments and layout, changed values take
/// the new value with the old one's surrounding comments, keys the plan no
/// longer has go, new ones are added. A key the file leaves out (its
/// default) stays out while the plan keeps the default. An unreadable `old`
/// gives the plain serialization.
pub fn merged(old: &str, plan: &Plan) -> String {
    merged_with(old, plan, &super::dsn::NoLibpq)
}

/// `merged`, the old file read through `libpq` (its dsn entries give
/// the host and port that are then no change).
pub fn merged_with(old: &str, plan: &Plan, libpq: &dyn super::dsn::Libpq) -> String {
    let new_text = plan_to_toml(plan);
    let (Ok(mut doc), Ok(new)) = (old.parse::<DocumentMut>(), new_text.parse::<DocumentMut>())
    else {
        return new_text;
    };
    // What the file says, with its defaults written out: a key missing
    // from the file and equal here is a default, not a change.
    let base = super::parse_plan_with(old, "plan", libpq)
        .ok()
        .and_then(|p| plan_to_toml(&p).parse::<DocumentMut>().ok());
    merge_table(
        doc.as_table_mut(),
        new.as_table(),
        base.as_ref().map(|b| b.as_table()),
    );
    doc.to_string()
}

fn same(a: &Item, b: &Item) -> bool {
    a.to_string().trim() == b.to_string().trim()
}

fn merge_table(old: &mut Table, new: &Table, base: Option<&Table>) {
    let gone: Vec<String> = old
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in gone {
        old.remove(&k);
    }
    for (k, v) in new.iter() {
        let b = base.and_then(|b| b.get(k));
        match old.get_mut(k) {
            Some(o) => merge_item(o, v, b),
            None if b.is_some_and(|b| same(b, v)) => {}
            None => {
                old.insert(k, v.clone());
            }
        }
    }
}

fn merge_item(old: &mut Item, new: &Item, base: Option<&Item>) {
    match (old, new) {
        (Item::Table(o), Item::Table(n)) => {
            merge_table(o, n, base.and_then(Item::as_table));
        }
        (Item::ArrayOfTables(o), Item::ArrayOfTables(n)) => {
            // Entries are matched by name (a data node keeps its comments
            // when another is removed or they are reordered), else by place.
            let b = base.and_then(Item::as_array_of_tables);
            let name = |t: &Table| t.get("name").and_then(Item::as_str).map(str::to_string);
            let find = |a: &toml_edit::ArrayOfTables, t: &Table, i: usize| match name(t) {
                Some(n) => a
                    .iter()
                    .position(|x| name(x).as_deref() == Some(n.as_str())),
                None => (i < a.len()).then_some(i),
            };
            let mut out = toml_edit::ArrayOfTables::new();
            for (i, t) in n.iter().enumerate() {
                let bt = b.and_then(|b| find(b, t, i)).and_then(|j| b?.get(j));
                match find(o, t, i).and_then(|j| o.get(j)) {
                    Some(ot) => {
                        let mut ot = ot.clone();
                        merge_table(&mut ot, t, bt);
                        out.push(ot);
                    }
                    None => out.push(t.clone()),
                }
            }
            *o = out;
        }
        (Item::Value(o), Item::Value(n)) => {
            // Same value (however written): leave it as the operator wrote it.
            if o.to_string().trim() != n.to_string().trim() {
                let decor = o.decor().clone();
                *o = n.clone();
                *o.decor_mut() = decor;
            }
        }
        (o, n) => *o = n.clone(),
    }
}

/// The previous version's name beside the plan.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".bak");
    path.with_file_name(name)
}

/// Save `plan` to `path`: merged into what is there, the old file kept as
/// `<plan>.bak`, the new one in place by rename (never half written).
pub fn save(path: &Path, plan: &Plan, libpq: &dyn super::dsn::Libpq) -> Result<(), String> {
    let err = |what: &str, p: &Path, e: std::io::Error| {
        format!(
            "{what} {}: {e} (the plan was not saved; the file is unchanged)",
            p.display()
        )
    };
    let old = match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err("cannot read", path, e)),
    };
    let text = match &old {
        Some(old) => merged_with(old, plan, libpq),
        None => plan_to_toml(plan),
    };
    if old.as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".tsmn-tmp-{}", std::process::id()));
    let tmp = path.with_file_name(name);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err("cannot write", &tmp, e));
    }
    if let Some(old) = &old {
        let bak = backup_path(path);
        if let Err(e) = std::fs::write(&bak, old) {
            let _ = std::fs::remove_file(&tmp);
            return Err(err("cannot keep the previous version as", &bak, e));
        }
        // Keep the original's mode (a plan may be private).
        if let Ok(m) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(&tmp, m.permissions());
        }
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err("cannot replace", path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"# The cluster of the reporting team.
database = "tsdb"   # do not rename: the app expects it
superuser = "postgres"

# The access node is the one the app connects to.
[access_node]
name = "an"
host = "10.0.0.10"
port = 5432

[[data_nodes]]
name = "dn1"   # rack 1
host = "10.0.0.11"
port = 5432

[[data_nodes]]
name = "dn2"   # rack 2
host = "10.0.0.12"
port = 5432

[auth]
mode = "trust"
"#;

    #[test]
    fn comments_stay_and_values_change() {
        let mut plan = super::super::parse_plan(PLAN, "plan.toml").expect("plan");
        plan.data_nodes[1].port = 5433;
        plan.data_nodes.remove(0);
        let out = merged(PLAN, &plan);
        assert!(
            out.starts_with("# The cluster of the reporting team.\n"),
            "{out}"
        );
        assert!(
            out.contains("database = \"tsdb\"   # do not rename"),
            "{out}"
        );
        assert!(
            out.contains("# The access node is the one the app connects to."),
            "{out}"
        );
        assert!(out.contains("name = \"dn2\"   # rack 2"), "{out}");
        assert!(out.contains("port = 5433"), "{out}");
        assert!(!out.contains("dn1"), "{out}");
        assert_eq!(
            super::super::parse_plan(&out, "plan.toml").expect("reads back"),
            plan
        );
    }

    #[test]
    fn an_unchanged_plan_is_the_same_text() {
        let plan = super::super::parse_plan(PLAN, "plan.toml").expect("plan");
        assert_eq!(merged(PLAN, &plan), PLAN);
    }
}
