//! `tsmn export` run for real: the exported setup.sh passes shellcheck, runs
//! against real clusters, leaves each data node admitting the access node the
//! way TimescaleDB will connect (checked from inside the access node), and a
//! second run changes nothing.

mod support;

use std::process::Command;
use support::*;
use tsmn::plan::AuthMode;

const ROLE_PW: &str = "internal:pw\\with 'odd' chars";

/// `tsmn export --offline` of a plan into `out`.
fn export(plan: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    tsmn()
        .args(["export", "--offline", "--plan"])
        .arg(plan)
        .arg("--out")
        .arg(out)
        .env("TSMN_ROLE_PW_POSTGRES", ROLE_PW)
        .output()
        .unwrap()
}

fn run_mode(mode: AuthMode) {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let ts = timescaledb_tier(&format!(
        "export {mode:?}: cluster and verify phases of setup.sh"
    ));
    let mut plan = plan_for(&an.cluster, &[&dn1.cluster, &dn2.cluster], mode);
    // The mode's TimescaleDB setting given as a path, as the example plans
    // do: setup.sh sets it in the cluster database (TimescaleDB's settings
    // exist only where the extension is created); without it the default
    // paths are used.
    if let Some(o) = plan.auth.password.as_mut().filter(|_| ts) {
        o.passfile = an
            .cluster
            .data_dir()
            .join("secrets/tsmn.passfile")
            .display()
            .to_string();
    }
    if let Some(o) = plan.auth.certificate.as_mut().filter(|_| ts) {
        o.ssl_dir = an
            .cluster
            .data_dir()
            .join("client-certs")
            .display()
            .to_string();
    }
    let plan_path = write_plan(work.path(), &plan);
    let out = work.path().join("export");
    let exp = export(&plan_path, &out);
    assert_success(&exp);

    // Reviewable: shellcheck-clean, no password in any file (none was asked to be included).
    let sc = Command::new("shellcheck")
        .arg(out.join("setup.sh"))
        .output()
        .expect("shellcheck (apt-get install shellcheck)");
    assert!(
        sc.status.success(),
        "shellcheck: {}",
        String::from_utf8_lossy(&sc.stdout)
    );
    for (_, f) in files_below(&out) {
        let text = std::fs::read(&f).unwrap();
        assert_no_secret(
            &String::from_utf8_lossy(&text),
            ROLE_PW,
            &f.display().to_string(),
        );
        if String::from_utf8_lossy(&text).contains("PRIVATE KEY")
            || f.starts_with(out.join("secrets"))
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                f.display()
            );
        }
    }

    // Run it (TimescaleDB missing here: the settings and auth phases).
    let phases = if ts {
        "settings,auth,cluster,verify"
    } else {
        "settings,auth"
    };
    let run = || {
        Command::new("sh")
            .arg(out.join("setup.sh"))
            .env("TSMN_PHASES", phases)
            .env("TSMN_ROLE_PW_POSTGRES", ROLE_PW)
            .env_remove("PGPASSWORD")
            .output()
            .unwrap()
    };
    let mut first = run();
    if phases.contains("cluster") {
        // As setup.sh's README says: it stops at the restart gate naming the
        // nodes to restart; restart them, then run it again.
        let said = String::from_utf8_lossy(&first.stderr).to_string();
        assert!(!first.status.success(), "no restart was asked for: {said}");
        assert!(
            said.contains("at step an/cluster/restart-gate") && said.contains("restart dn1 now"),
            "{said}"
        );
        for c in [&an, &dn1, &dn2] {
            c.restart();
        }
        first = run();
    }
    assert!(
        first.status.success(),
        "setup.sh: {}\n{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );

    // Each data node admits the access node as TimescaleDB will connect.
    assert_admitted(&plan, &dn1);

    // A second run changes nothing: every file in every data directory stays byte-identical.
    let before: Vec<_> = [&an, &dn1, &dn2].iter().map(|c| data_files(c)).collect();
    let second = run();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stdout).contains("already holds this block"));
    let after: Vec<_> = [&an, &dn1, &dn2].iter().map(|c| data_files(c)).collect();
    assert!(before == after, "a second run changed files");
}

#[test]
fn trust_mode_export_runs() {
    run_mode(AuthMode::Trust);
}

#[test]
fn password_mode_export_runs() {
    run_mode(AuthMode::Password);
}

#[test]
fn certificate_mode_export_runs() {
    run_mode(AuthMode::Certificate);
}

#[test]
fn a_broken_pg_hba_conf_is_left_alone() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let broken = "local all all trust\nhost all all 10.0.0.0/8 no-such-method\n";
    std::fs::write(&hba, broken).unwrap();
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Trust);
    let plan_path = write_plan(work.path(), &plan);
    let out = work.path().join("export");
    let exp = export(&plan_path, &out);
    assert!(exp.status.success());
    let run = Command::new("sh")
        .arg(out.join("setup.sh"))
        .env("TSMN_PHASES", "auth")
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    let said = format!("{}{err}", String::from_utf8_lossy(&run.stdout));
    assert!(
        err.contains("FAILED on node dn1 at step dn1/auth/hba"),
        "{said}"
    );
    assert!(said.contains("already has an error"), "{said}");
    assert_eq!(
        std::fs::read_to_string(&hba).unwrap(),
        broken,
        "the original is intact"
    );
}

/// Password mode: the SCRAM verifiers are made at export time from the
/// role passwords given then. setup.sh given another password at run time
/// stops before it changes anything (it used to fail late, at add_data_node).
#[test]
fn setup_sh_refuses_another_role_password_before_any_change() {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster], AuthMode::Password);
    let plan_path = write_plan(work.path(), &plan);
    let out = work.path().join("export");
    assert_success(&export(&plan_path, &out));
    // The fingerprint: PBKDF2-HMAC-SHA256 with SCRAM's 4096 iterations
    // (no longer one salted SHA-256), of the export's password.
    let check = read(&out.join("secrets/role-passwords.check"));
    let value = check
        .lines()
        .find_map(|l| {
            l.strip_prefix("fp_postgres_")?
                .split_once("='")
                .map(|(_, v)| v)
        })
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no fingerprint for postgres in {check}"));
    let parts: Vec<&str> = value.split(':').collect();
    assert_eq!(parts[..2], ["pbkdf2-sha256", "4096"], "{value}");
    let unhex = |h: &str| -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    };
    let salt = unhex(parts[2]);
    assert_eq!(salt.len(), 8, "{value}");
    let key = tsmn::steps::secrets::pbkdf2_sha256(ROLE_PW.as_bytes(), &salt, 4096).unwrap();
    assert_eq!(unhex(parts[3]), key, "{value}");
    assert_no_secret(&check, ROLE_PW, "the fingerprint file");

    // Every openssl setup.sh runs is recorded with its arguments: the
    // password must reach it on stdin, never as an argument.
    let wrap = work.path().join("bin");
    std::fs::create_dir(&wrap).unwrap();
    let argv_log = work.path().join("openssl-argv.log");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v openssl"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::write(
        wrap.join("openssl"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {}\nexec {} \"$@\"\n",
            argv_log.display(),
            real.trim()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(wrap.join("openssl"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let path = format!(
        "{}:{}",
        wrap.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |pw: &str| {
        Command::new("sh")
            .arg(out.join("setup.sh"))
            .env("TSMN_PHASES", "settings,auth")
            .env("TSMN_ROLE_PW_POSTGRES", pw)
            .env("PATH", &path)
            .env_remove("PGPASSWORD")
            .output()
            .unwrap()
    };
    let wrong = run("not-the-export-password");
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success());
    assert!(
        said.contains(
            "the password given for role postgres is not the one this export was made with"
        ),
        "{said}"
    );
    assert!(
        !String::from_utf8_lossy(&wrong.stdout).contains("[settings]"),
        "a step ran"
    );
    assert_eq!(dn1.sql("postgres", "SHOW max_prepared_transactions"), ["0"]);
    // The export's own password goes ahead.
    let right = run(ROLE_PW);
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
    assert!(!read(&out.join("README.md")).is_empty());
    assert!(read(&out.join("README.md")).contains("checks it against a salted fingerprint"));
    let argv = read(&argv_log);
    assert!(
        argv.contains("-pbkdf2") && argv.contains("-iter 4096"),
        "{argv}"
    );
    assert_no_secret(&argv, ROLE_PW, "openssl's arguments");
    assert_no_secret(&argv, "not-the-export-password", "openssl's arguments");
}
