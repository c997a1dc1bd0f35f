//! The real binary: help, exit codes, validate and the sandbox commands.

mod support;

use support::*;

#[test]
fn help_teaches_each_subcommand_with_an_example() {
    let out = tsmn().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "validate",
        "sandbox",
        "tsmn sandbox up --dir",
        "tsmn validate --plan",
        "Exit codes",
        "assets/plan-",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn validate_prints_the_normalized_plan() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/plan-certificate.toml");
    let out = tsmn()
        .args(["validate", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("validity_days = 825") && text.contains("[auth.certificate]"),
        "{text}"
    );
}

#[test]
fn an_invalid_plan_exits_2_with_path_and_fix() {
    let (code, err) = validate_text("[access_node]\nname = \"an\"\nhost = \"h\"\nport = 99999\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("access_node.port: 99999 is not a TCP port"),
        "{err}"
    );
    assert!(err.contains("data_nodes: no data nodes"), "{err}");
    assert!(err.contains("fix:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_plan_with_a_password_exits_2_and_never_shows_it() {
    let (code, all) =
        validate_text("password = \"Tr0ub4dor&3\"\n[access_node]\nname = \"an\"\nhost = \"h\"\n");
    assert_eq!(code, Some(2));
    assert!(all.contains("password: looks like a secret"), "{all}");
    assert_no_secret(&all, "Tr0ub4dor&3", "validate's output");
}

#[test]
fn a_missing_plan_file_is_a_clear_error() {
    let out = tsmn()
        .args(["validate", "--plan", "/nonexistent/plan.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/plan.toml") && err.contains("fix:"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = tsmn()
        .args(["sandbox", "up", "--data-nodes", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // The flag, the cause and the allowed range, not only the value echoed.
    assert!(
        err.contains("--data-nodes") && err.contains("1..=64"),
        "{err}"
    );
}

#[test]
fn sandbox_commands_end_to_end() {
    let parent = own_dir();
    let dir = parent.path().join("cli-sb");
    let up = tsmn()
        .args(["sandbox", "up", "--data-nodes", "1", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&up);
    let plan_path = String::from_utf8_lossy(&up.stdout).trim().to_string();
    assert_eq!(
        plan_path,
        dir.join("plan.toml").display().to_string(),
        "stdout is the plan path, for scripts"
    );
    let progress = String::from_utf8_lossy(&up.stderr);
    assert!(
        progress.contains("dn1  up on 127.0.0.1:") && progress.contains("tsmn validate --plan"),
        "{progress}"
    );

    let v = tsmn()
        .args(["validate", "--plan", &plan_path])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0));

    let st = tsmn()
        .args(["sandbox", "status", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&st.stdout);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains(" up ") && l.contains("PostgreSQL"))
            .count(),
        2,
        "{table}"
    );

    let down = tsmn()
        .args(["sandbox", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&down);
    assert!(!dir.exists());

    let again = tsmn()
        .args(["sandbox", "status", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not a tsmn sandbox"));
}

/// `tsmn init` writes the commented example plans from the binary itself
/// (a copy far from the source tree), which validate; it never overwrites.
#[test]
fn init_writes_an_example_plan_from_the_binary_and_never_overwrites() {
    let dir = temp_dir();
    let bin = dir.path().join("tsmn");
    std::fs::copy(env!("CARGO_BIN_EXE_tsmn"), &bin).unwrap();
    for (mode, asset) in [
        ("trust", "plan-trust.toml"),
        ("password", "plan-password.toml"),
        ("certificate", "plan-certificate.toml"),
    ] {
        let out = dir.path().join(format!("{mode}.toml"));
        let made = std::process::Command::new(&bin)
            .args(["init", "--mode", mode, "--out"])
            .arg(&out)
            .current_dir("/")
            .output()
            .unwrap();
        assert_eq!(made.status.code(), Some(0), "{made:?}");
        assert!(String::from_utf8_lossy(&made.stderr).contains("tsmn validate --plan"));
        let want = read(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("assets")
                .join(asset),
        );
        assert_eq!(read(&out), want);
        let valid = std::process::Command::new(&bin)
            .args(["validate", "--plan"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(valid.status.code(), Some(0), "{valid:?}");
        std::fs::write(&out, "# mine\n").unwrap();
        let again = std::process::Command::new(&bin)
            .args(["init", "--mode", mode, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&again.stderr).contains("does not overwrite"));
        assert_eq!(read(&out), "# mine\n", "overwritten");
    }
}

/// The plan by short flag and from TSMN_PLAN, as operators expect.
#[test]
fn the_plan_comes_from_p_or_tsmn_plan() {
    let dir = temp_dir();
    let path = copy_asset(dir.path(), "plan-trust.toml");
    let short = tsmn().args(["validate", "-p"]).arg(&path).output().unwrap();
    assert_success(&short);
    let from_env = tsmn()
        .arg("validate")
        .env("TSMN_PLAN", &path)
        .output()
        .unwrap();
    assert_success(&from_env);
    assert_eq!(short.stdout, from_env.stdout);
    let none = tsmn()
        .arg("validate")
        .env_remove("TSMN_PLAN")
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("--plan <FILE>"),
        "names the missing option: {}",
        String::from_utf8_lossy(&none.stderr)
    );
}
