//! The declared rust-version is one the locked crates really build with:
//! no locked crate asks for a newer compiler than the one Cargo.toml names
//! (there is no second toolchain here to try it on, so it is read from the
//! lock's own metadata).

use std::process::Command;

fn version(v: &str) -> (u64, u64, u64) {
    let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn rust_version_covers_every_locked_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let declared = version(env!("CARGO_PKG_RUST_VERSION"));
    let too_new: Vec<String> = m["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| {
            let rv = p["rust_version"].as_str()?;
            (version(rv) > declared).then(|| format!("{} {} needs {rv}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "Cargo.toml declares rust-version {}, but {too_new:?}",
        env!("CARGO_PKG_RUST_VERSION")
    );
}

/// The dependency policy of deny.toml: no duplicate crate beyond the four
/// named there, licenses from its list only, crates.io only. Needs
/// cargo-deny (`.ci/run` installs it); where it is missing the test says
/// SKIPPED with the reason.
#[test]
fn cargo_deny_bans_licenses_sources() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["deny", "--offline", "check", "bans", "licenses", "sources"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo");
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("no such command") {
        eprintln!("SKIPPED cargo_deny_bans_licenses_sources: cargo-deny is not installed (cargo install --locked cargo-deny)");
        return;
    }
    assert!(
        out.status.success(),
        "cargo deny ({}):\n{err}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Files by what they hold: no source file over 500 lines, and the README a
/// front door of at most 500 (details live in each command's page).
#[test]
fn no_source_file_over_500_lines_and_a_short_readme() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).expect("read").lines().count()))
        .filter(|(_, n)| *n > 500)
        .map(|(f, n)| format!("{} ({n} lines)", f.display()))
        .collect();
    assert!(long.is_empty(), "split these by what they hold: {long:?}");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert!(readme.lines().count() <= 500, "README.md is over 500 lines");
}
