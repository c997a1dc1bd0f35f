//! Snapshots of `tsmn export --offline` for each mode: the file list with
//! modes, setup.sh, and the SQL. Verifiers and certificates are filtered.

mod support;

use support::*;

fn export(asset: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let plan = copy_asset(dir.path(), asset);
    let out = dir.path().join("out");
    let run = tsmn()
        .args(["export", "--offline", "--plan"])
        .arg(&plan)
        .arg("--out")
        .arg(&out)
        .env("TSMN_ROLE_PW_POSTGRES", "pw1")
        .env("TSMN_ROLE_PW_APP_WRITER", "pw2")
        .output()
        .unwrap();
    assert_success(&run);
    let files = files_below(&out);
    let mut text = String::new();
    use std::os::unix::fs::PermissionsExt;
    for (rel, path) in &files {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        text.push_str(&format!("{mode:04o} {rel}\n"));
    }
    for (rel, path) in &files {
        if rel.ends_with(".sql")
            || rel.ends_with(".psql")
            || rel == "setup.sh"
            || rel.ends_with(".conf")
        {
            text.push_str(&format!(
                "\n===== {rel}\n{}",
                std::fs::read_to_string(path).unwrap()
            ));
        }
    }
    text
}

#[test]
fn trust() {
    snapshot_settings().bind(|| insta::assert_snapshot!("export_trust", export("plan-trust.toml")));
}

#[test]
fn password() {
    let text = export("plan-password.toml");
    assert!(
        !text.contains("pw1") && !text.contains("pw2"),
        "no password in the export"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("export_password", text));
}

#[test]
fn certificate() {
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("export_certificate", export("plan-certificate.toml")));
}
