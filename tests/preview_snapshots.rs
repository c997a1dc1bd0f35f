//! Snapshots of `tsmn preview --offline` for each mode, through the real
//! binary. Certificates (random) are filtered; keys are never printed.

mod support;

use support::*;

fn preview(asset: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let plan = copy_asset(dir.path(), asset);
    let out = tsmn()
        .args(["preview", "--offline", "--plan"])
        .arg(&plan)
        .args(extra)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("PRIVATE KEY"), "a private key was printed");
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    text
}

#[test]
fn trust() {
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("preview_trust", preview("plan-trust.toml", &[])));
}

#[test]
fn password() {
    snapshot_settings()
        .bind(|| insta::assert_snapshot!("preview_password", preview("plan-password.toml", &[])));
}

#[test]
fn certificate() {
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("preview_certificate", preview("plan-certificate.toml", &[]))
    });
}

#[test]
fn one_node_only() {
    let text = preview("plan-trust.toml", &["--node", "dn2"]);
    assert!(
        text.contains("== dn2") && !text.contains("== dn1") && !text.contains("== an"),
        "{text}"
    );
}
