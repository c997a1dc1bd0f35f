//! The version `tsmn --version` prints: the package's, with the git commit
//! it was built from when the source is a git checkout (a clean clone in
//! CI is one); without git, or outside a checkout, the version alone.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    // Only this source's own checkout (a packaged crate inside someone
    // else's repository must not take that repository's commit).
    let commit = if Path::new(&manifest).join(".git").exists() {
        git(&["rev-parse", "--short", "HEAD"])
    } else {
        None
    };
    if commit.is_some() {
        // Built again when HEAD moves: a commit, a checkout, a branch update.
        let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
        watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
        for path in watched
            .iter()
            .filter_map(|p| git(&["rev-parse", "--git-path", p]))
        {
            let path = Path::new(&manifest).join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let shown = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => version,
    };
    println!("cargo:rustc-env=TSMN_VERSION={shown}");
}
