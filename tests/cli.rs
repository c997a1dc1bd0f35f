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
        "tsmn init --mode",
        "--color",
        "completions",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

/// The wizard and demo take --connect-timeout and --restart as apply does.
#[test]
fn the_wizard_takes_apply_s_run_options() {
    for cmd in ["wizard", "demo"] {
        let out = tsmn().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("--connect-timeout") && help.contains("--restart"),
            "{help}"
        );
    }
    let out = tsmn()
        .args(["wizard", "--restart", "sometimes", "--plan", "x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
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

/// A NUL byte (or a line break) in a path of the plan never reaches the
/// export: `tsmn export` exits 2 naming the field, and writes no file.
#[test]
fn export_refuses_a_plan_with_an_unwritable_character() {
    let base = "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n";
    for (auth, field, what) in [
        (
            "[auth]\nmode = \"certificate\"\n[auth.certificate]\nssl_dir = \"/etc/tsmn\\u0000certs\"\n",
            "auth.certificate.ssl_dir",
            "NUL byte",
        ),
        (
            "[auth]\nmode = \"password\"\n[auth.password]\npassfile = \"/var/lib/pg/pass\\u0000file\"\n",
            "auth.password.passfile",
            "NUL byte",
        ),
        (
            "[auth]\nmode = \"trust\"\nroles = [\"postgres\", \"app\\nuser\"]\n",
            "auth.roles[1]",
            "line break",
        ),
    ] {
        let dir = temp_dir();
        let plan = dir.path().join("plan.toml");
        std::fs::write(&plan, format!("{base}{auth}")).unwrap();
        let out_dir = dir.path().join("out");
        let out = tsmn()
            .args(["export", "--offline", "--plan"])
            .arg(&plan)
            .arg("--out")
            .arg(&out_dir)
            .env("TSMN_ROLE_PW_POSTGRES", "pw-one")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {err}");
        assert!(err.contains(field) && err.contains(what) && err.contains("fix:"), "{err}");
        if out_dir.exists() {
            let written = files_below(&out_dir);
            assert!(written.is_empty(), "{field}: export wrote {written:?}");
        }
    }
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
    let st = tsmn()
        .args(["sandbox", "status", "--json", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&st.stdout).expect("one JSON document");
    assert_eq!(doc["schema"], "tsmn-sandbox-status/1");
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{doc}");
    assert!(
        nodes.iter().all(|n| n["up"] == true && n["port"].is_u64()),
        "{doc}"
    );
    // "up" as the servers answer it, not as tsmn reports it: psql logs in
    // to each node of the plan over its socket.
    let plan = tsmn::plan::load_plan(std::path::Path::new(&plan_path)).unwrap();
    let login = |n: &tsmn::plan::Node| {
        let info = format!(
            "host={} port={} user=postgres dbname=postgres",
            n.connect_host
                .as_deref()
                .expect("a sandbox node has a socket"),
            n.port
        );
        psql(&info, "SELECT 1", &[]).0
    };
    assert!(plan.nodes().all(login), "every sandbox node answers psql");

    let down = tsmn()
        .args(["sandbox", "down", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_success(&down);
    assert!(!dir.exists());
    assert!(
        !plan.nodes().any(login),
        "sandbox down stopped every server"
    );

    let again = tsmn()
        .args(["sandbox", "status", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not a tsmn sandbox"));
    let again = tsmn()
        .args(["sandbox", "status", "--json", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).expect("a JSON error");
    assert_eq!(doc["schema"], "tsmn-error/1");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("not a tsmn sandbox"),
        "{doc}"
    );
}

/// `tsmn init` writes the commented example plans from the binary itself
/// (a copy far from the source tree), which validate; it never overwrites.
#[test]
fn init_writes_an_example_plan_from_the_binary_and_never_overwrites() {
    let dir = temp_dir();
    let bin = binary_copy(dir.path());
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
        // `-`: the same plan on standard output, and no file named `-`.
        let piped = std::process::Command::new(&bin)
            .args(["init", "--mode", mode, "--out", "-"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(piped.status.code(), Some(0), "{piped:?}");
        assert_eq!(String::from_utf8_lossy(&piped.stdout), want);
        assert!(!dir.path().join("-").exists());
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

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// validate, preview and errors under --json: one document each, named by
/// its schema; an error keeps its exit code and its fix.
#[test]
fn json_documents_name_their_schema() {
    let dir = temp_dir();
    let good = copy_asset(dir.path(), "plan-password.toml");
    let out = tsmn()
        .args(["validate", "--json", "--plan"])
        .arg(&good)
        .output()
        .unwrap();
    assert_success(&out);
    let doc = json_of(&out);
    assert_eq!(
        (doc["schema"].as_str(), doc["ok"].as_bool()),
        (Some("tsmn-validate/1"), Some(true))
    );
    assert_eq!(doc["plan"]["auth"]["mode"], "password");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[access_node]\nname = \"an\"\nhost = \"db..x\"\n").unwrap();
    let out = tsmn()
        .args(["validate", "--json", "--plan"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    assert_eq!(doc["ok"], false);
    let fields: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"access_node.host") && fields.contains(&"data_nodes"),
        "{doc}"
    );

    let out = tsmn()
        .args(["preview", "--offline", "--json", "--plan"])
        .arg(&good)
        .output()
        .unwrap();
    assert_success(&out);
    let doc = json_of(&out);
    assert_eq!(
        (doc["schema"].as_str(), doc["online"].as_bool()),
        (Some("tsmn-preview/1"), Some(false))
    );
    let steps = doc["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["phase"] == "cluster" && s["node"] == "an"),
        "{doc}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("SCRAM-SHA-256$"),
        "no verifier in a preview"
    );

    let out = tsmn()
        .args(["check", "--json", "--plan"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    assert_eq!(
        (doc["schema"].as_str(), doc["exit_code"].as_u64()),
        (Some("tsmn-error/1"), Some(2))
    );
    assert_eq!(doc["command"], "check");
    assert!(doc["fix"].as_str().unwrap().contains("tsmn init"), "{doc}");
}

/// Completions for the shells operators use, and a man page, from the
/// binary itself.
#[test]
fn completions_and_the_man_page() {
    for (shell, marker) in [
        ("bash", "_tsmn()"),
        ("zsh", "#compdef tsmn"),
        ("fish", "complete -c tsmn"),
    ] {
        let out = tsmn().args(["completions", shell]).output().unwrap();
        assert_success(&out);
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains(marker) && script.contains("discover"),
            "{shell}:\n{script}"
        );
    }
    let out = tsmn().arg("man").output().unwrap();
    assert_success(&out);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH tsmn"),
        "{page}"
    );
    assert!(
        page.contains("discover") && page.contains(".SH \"EXIT CODES\""),
        "{page}"
    );
    // bash can load what it printed.
    let loaded = std::process::Command::new("bash")
        .args(["-c", "source /dev/stdin && complete -p tsmn"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            let script = tsmn().args(["completions", "bash"]).output()?.stdout;
            c.stdin.take().unwrap().write_all(&script)?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        String::from_utf8_lossy(&loaded.stdout).contains("tsmn"),
        "bash loaded the completion"
    );
}

/// --color always / never / auto and NO_COLOR on preview; -q silences the
/// hints on stderr and keeps the output.
#[test]
fn colour_and_quiet() {
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-trust.toml");
    let preview = |args: &[&str], no_color: Option<&str>| {
        let mut cmd = tsmn();
        cmd.args(["preview", "--offline", "--plan"])
            .arg(&plan)
            .args(args);
        cmd.env_remove("NO_COLOR").env("TERM", "xterm");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).to_string()
    };
    let esc = "\u{1b}[";
    assert!(preview(&["--color", "always"], None).contains(esc));
    assert!(
        preview(&["--color", "always"], Some("1")).contains(esc),
        "always beats NO_COLOR"
    );
    assert!(!preview(&["--color", "never"], None).contains(esc));
    assert!(
        !preview(&["--no-color"], None).contains(esc),
        "--no-color is --color never"
    );
    assert!(
        !preview(&["--no-color"], Some("")).contains(esc),
        "and beats auto"
    );
    assert!(
        !preview(&[], None).contains(esc),
        "auto: stdout is no terminal"
    );

    let out = tsmn()
        .args(["-q", "init", "--out"])
        .arg(dir.path().join("q.toml"))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "-q: no hints");
    assert!(dir.path().join("q.toml").exists());
}

/// A reader that goes away (`tsmn validate ... | head -1`) is not a
/// failure of tsmn: no panic, and the command's own exit code.
#[test]
fn a_closed_stdout_is_no_panic() {
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-password.toml");
    let mut child = tsmn()
        .args(["validate", "--plan"])
        .arg(&plan)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// The pages in docs/commands/: (name as `tsmn man` takes it, the words
/// typed after `tsmn`, the page's text).
fn pages() -> Vec<(String, Vec<String>, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let words = if name == "tsmn" {
            Vec::new()
        } else {
            name.split('-').map(str::to_string).collect()
        };
        out.push((name, words, read(&path)));
    }
    out.sort();
    out
}

/// Each command's --help is its page: the description, the options, then
/// its sections (examples, what it changes, exit codes); -h stays short.
/// `tsmn man <command>` renders the same text, a section per heading.
#[test]
fn every_command_teaches_in_its_long_help_and_its_man_page() {
    let all = pages();
    assert_eq!(
        all.len(),
        21,
        "a page per command, the sandbox's three and tsmn"
    );
    for (name, words, text) in &all {
        let long = tsmn().args(words).arg("--help").output().unwrap();
        assert_success(&long);
        let long = String::from_utf8_lossy(&long.stdout).to_string();
        // The description's first line, and every section heading.
        let first = text.lines().nth(2).unwrap();
        assert!(
            long.contains(first),
            "{name}: {first:?} not in --help:\n{long}"
        );
        let headings: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.ends_with(':')
                    && l.starts_with(|c: char| c.is_ascii_uppercase())
                    && !l.contains(". ")
                    && l.len() < 40
            })
            .collect();
        for h in ["Examples:", "Exit codes:"] {
            assert!(headings.contains(&h), "{name}: no {h}");
        }
        for h in &headings {
            assert!(long.contains(h), "{name}: {h} not in --help");
        }
        let short = tsmn().args(words).arg("-h").output().unwrap();
        let short = String::from_utf8_lossy(&short.stdout).to_string();
        assert!(
            !short.contains("Exit codes:"),
            "{name}: -h is short:\n{short}"
        );
        let man = tsmn().args(["man", name]).output().unwrap();
        assert_success(&man);
        let man = String::from_utf8_lossy(&man.stdout).to_string();
        let title = if name == "tsmn" {
            "tsmn".to_string()
        } else {
            format!("tsmn-{name}")
        };
        assert!(man.contains(&format!(".TH {title} 1")), "{name}:\n{man}");
        for h in &headings {
            let section = format!(".SH \"{}\"", h.trim_end_matches(':').to_uppercase());
            assert!(man.contains(&section), "{name}: {section} not in the page");
        }
    }
    let bad = tsmn().args(["man", "nonesuch"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sandbox-up"));
}

/// `tsmn man --out DIR` writes every page the others name in SEE ALSO;
/// man(1) reads each without a warning (where man is installed).
#[test]
fn man_out_writes_every_page_it_names() {
    let dir = temp_dir();
    let out = dir.path().join("man1");
    let run = tsmn().args(["man", "--out"]).arg(&out).output().unwrap();
    assert_success(&run);
    let top = read(&out.join("tsmn.1"));
    let see_also = top.split(".SH \"SEE ALSO\"").nth(1).expect("SEE ALSO");
    let named: Vec<String> = see_also
        .split("\\fB")
        .skip(1)
        .map(|s| s.split("\\fR").next().unwrap().replace("\\-", "-"))
        .collect();
    assert_eq!(named.len(), 20, "{see_also}");
    for n in &named {
        assert!(
            out.join(format!("{n}.1")).is_file(),
            "{n}.1 is named, not written"
        );
    }
    assert!(
        top.contains("tsmn\\-check(1)"),
        "the command list names the pages"
    );
    let man_available = std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_ok();
    if !man_available {
        skipped(
            "man_out_writes_every_page_it_names (man -l)",
            "man is not installed",
        );
        return;
    }
    for n in named.iter().chain(std::iter::once(&"tsmn".to_string())) {
        let shown = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(out.join(format!("{n}.1")))
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&shown.stderr);
        assert!(
            shown.status.success() && err.trim().is_empty(),
            "{n}: {err}"
        );
        assert!(
            String::from_utf8_lossy(&shown.stdout).contains("EXIT CODES"),
            "{n}"
        );
    }
}

/// `tsmn man | head -1` and a completion script into a closed pipe: no
/// "Broken pipe" on stderr, no panic, exit 0.
#[test]
fn a_reader_that_goes_away_is_no_error() {
    let bin = env!("CARGO_BIN_EXE_tsmn");
    for args in [
        "man",
        "man apply",
        "completions bash",
        "--help",
        "init --out -",
    ] {
        let run = std::process::Command::new("sh")
            .args(["-c", &format!("{bin} {args} | head -c 1 >/dev/null")])
            .env(
                "TSMN_LOG_FILE",
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tsmn-tests.log"),
            )
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.is_empty(), "{args}: {err}");
        let mut child = tsmn()
            .args(args.split(' '))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args}: {err}"
        );
        assert_eq!(out.status.code(), Some(0), "{args}: {err}");
    }
}

/// --version names the commit it was built from (build.rs), in a git
/// checkout such as CI's clean clone.
#[test]
fn the_version_names_its_commit() {
    let out = tsmn().arg("--version").output().unwrap();
    assert_success(&out);
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        shown.starts_with(&format!("tsmn {}", env!("CARGO_PKG_VERSION"))),
        "{shown}"
    );
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(manifest)
        .output();
    match head {
        Ok(h) if h.status.success() && manifest.join(".git").exists() => {
            let commit = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(shown.contains(&format!("(commit {commit})")), "{shown}");
            let page = tsmn().arg("man").output().unwrap();
            assert!(
                String::from_utf8_lossy(&page.stdout).contains(&commit),
                "man's VERSION"
            );
        }
        _ => assert!(!shown.contains("commit"), "no git, no commit: {shown}"),
    }
}

/// `-` is standard output where --out names a file (init, report; discover
/// in tests/discover.rs); export, which writes a directory, refuses it by
/// name and writes no file called `-`. report --json is one document.
#[test]
fn standard_output_and_json_where_out_names_a_file() {
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-trust.toml");
    let out = tsmn()
        .args(["export", "--offline", "--out", "-", "--plan"])
        .arg(&plan)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--out -") && err.contains("directory"),
        "{err}"
    );
    assert!(!dir.path().join("-").exists());
    let out = tsmn()
        .args(["export", "--json", "--offline", "--out", "-", "--plan"])
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(json_of(&out)["schema"], "tsmn-error/1");

    let out = tsmn()
        .args(["init", "--out", "-", "--mode", "password"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("[auth.password]"));
    assert!(!dir.path().join("-").exists());

    let (_an, _dn, work, path) = trust_pair();
    let out = tsmn()
        .args(["report", "--connect-timeout", "3", "--out", "-", "--plan"])
        .arg(&path)
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(
        out.stdout.get(..2),
        Some(&[0x1f, 0x8b][..]),
        "gzip on stdout"
    );
    assert!(!work.path().join("-").exists());
    let bundle = work.path().join("b.tar.gz");
    let out = tsmn()
        .args(["report", "--json", "--out"])
        .arg(&bundle)
        .arg("--plan")
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let doc = json_of(&out);
    assert_eq!(doc["schema"], "tsmn-report/1");
    let files: Vec<&str> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        files.contains(&"b/README.txt") && files.contains(&"b/status.json"),
        "{doc}"
    );
    let out = tsmn()
        .args(["report", "--json", "--out"])
        .arg(&bundle)
        .arg("--plan")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "exists");
    assert_eq!(json_of(&out)["command"], "report");
}

/// `tsmn undo --json`: one document (tsmn-undo/1) with what stays, each
/// event and the closing line; with no run recorded, tsmn-error/1.
#[test]
fn undo_json_is_one_document() {
    let (_an, dn, _work, path) = trust_pair();
    let out = tsmn()
        .args(["undo", "--yes", "--json", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    assert_eq!(
        (doc["schema"].as_str(), doc["command"].as_str()),
        (Some("tsmn-error/1"), Some("undo"))
    );
    assert!(
        doc["error"].as_str().unwrap().contains("nothing to undo"),
        "{doc}"
    );

    let (code, text) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{text}");
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let out = tsmn()
        .args(["undo", "--yes", "--json", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&out);
    let doc = json_of(&out);
    assert_eq!(
        (doc["schema"].as_str(), doc["ok"].as_bool()),
        (Some("tsmn-undo/1"), Some(true))
    );
    assert!(
        doc["stays"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("max_prepared_transactions")),
        "{doc}"
    );
    let events = doc["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "step_finished" && e.to_string().contains("undo-pg_hba.conf")),
        "{doc}"
    );
    assert!(events.iter().all(|e| e.get("schema").is_none()));
    assert!(doc["closing"].as_str().unwrap().starts_with("undone"));
    assert!(!read(&hba).contains("BEGIN tsmn"), "put back");
}

/// Refusals found by a trial as a new operator, each before anything is
/// done: a migrate target's string asking for stricter TLS than tsmn would
/// use, `man --out -`, and the demo without a terminal (no sandbox made).
#[test]
fn refused_before_anything_is_done() {
    let dir = temp_dir();
    let plan = copy_asset(dir.path(), "plan-trust.toml");
    let out = tsmn()
        .args(["migrate", "--check", "--plan"])
        .arg(&plan)
        .args([
            "--to",
            "host=10.0.0.20 dbname=x sslmode=verify-full sslrootcert=/nonexistent/ca.crt",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("sslmode=verify-full") && said.contains("fix:"),
        "{said}"
    );

    let out = tsmn().args(["man", "--out", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!std::path::Path::new("-").exists());

    let sandbox = dir.path().join("demo");
    let out = tsmn()
        .args(["demo", "--dir"])
        .arg(&sandbox)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
    assert!(!sandbox.exists(), "no sandbox made");
}

/// A command line clap refuses is, under --json, the tsmn-error/1 document
/// like every other error (and clap's own words without it).
#[test]
fn a_bad_command_line_under_json_is_a_json_error() {
    let out = tsmn()
        .args(["check", "--json", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["schema"], "tsmn-error/1");
    assert_eq!(doc["command"], "check");
    assert!(
        doc["error"].as_str().unwrap_or("").contains("--bogus"),
        "{doc}"
    );
    let out = tsmn().args(["check", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
