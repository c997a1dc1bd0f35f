//! tsmn: command-line entry point. Dispatches to the library and maps
//! results to exit codes (0 ok, 1 failed, 2 usage or plan error).

mod cli;

use clap::Parser;
use cli::{Cli, Command, SandboxCommand, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tsmn::facts::{Connection, Facts};
use tsmn::findings::connect::explain;
use tsmn::findings::{blockers, findings};
use tsmn::plan::{load_plan, plan_to_toml};
use tsmn::probe::credentials::PasswordSource;
use tsmn::probe::{probe_keeping, probe_some, ProbeOptions};
use tsmn::report;
use tsmn::sandbox::{Sandbox, PLAN_FILE};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        let plan = tsmn::sandbox::default_dir().join(PLAN_FILE);
        if !plan.is_file() {
            eprintln!("error: no plan given, and no sandbox at {}\n    fix: tsmn wizard --plan FILE, or tsmn demo to try it on a local sandbox (tsmn --help lists every command)", plan.display());
            return ExitCode::from(EXIT_USAGE);
        }
        return ExitCode::from(wizard(&plan, false));
    };
    ExitCode::from(match command {
        Command::Wizard { plan, no_color } => {
            let plan = plan.unwrap_or_else(|| tsmn::sandbox::default_dir().join(PLAN_FILE));
            wizard(&plan, no_color)
        }
        Command::Demo {
            data_nodes,
            dir,
            no_color,
        } => {
            let dir = dir.resolve();
            match Sandbox::up(&dir, usize::from(data_nodes), None, &say) {
                Ok(sb) => wizard(&sb.dir.join(PLAN_FILE), no_color),
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_FAILED
                }
            }
        }
        Command::Validate { plan } => validate(&plan),
        Command::Check {
            plan,
            json,
            connect_timeout,
        } => check(&plan, json, connect_timeout),
        Command::Preview {
            plan,
            node,
            offline,
            connect_timeout,
            no_color,
        } => preview(&plan, node.as_deref(), offline, connect_timeout, no_color),
        Command::Export {
            plan,
            out,
            include_secrets,
            offline,
            connect_timeout,
        } => export(&plan, &out, include_secrets, offline, connect_timeout),
        Command::Apply {
            plan,
            yes,
            json,
            restart,
            phases,
            restart_wait,
            connect_timeout,
        } => apply(ApplyArgs {
            path: &plan,
            yes,
            json,
            restart,
            phases: phases.iter().map(|p| p.phase()).collect(),
            restart_wait,
            connect_timeout,
        }),
        Command::Sandbox(cmd) => sandbox(cmd),
    })
}

fn validate(path: &std::path::Path) -> u8 {
    match load_plan(path) {
        Ok(plan) => {
            print!("{}", plan_to_toml(&plan));
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

fn load(path: &std::path::Path) -> Result<tsmn::plan::Plan, u8> {
    load_plan(path).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// What probing left: the facts, notes about password files, the passwords
/// (a prompted one included, for the steps that follow) and, when asked to
/// keep them, each node's open connection.
struct Probed {
    facts: Facts,
    notes: Vec<String>,
    passwords: PasswordSource,
    kept: tsmn::probe::Kept,
}

/// Probe every node; like psql, ask for the password (no echo) only when a
/// server wants one tsmn lacks and a terminal is attached.
fn probe_nodes(
    rt: &tokio::runtime::Runtime,
    plan: &tsmn::plan::Plan,
    connect_timeout: u64,
    quiet: bool,
    for_steps: bool,
    keep: Option<tsmn::probe::OnNotice>,
) -> Result<Probed, u8> {
    let mut opts = ProbeOptions::with_connect_timeout(Duration::from_secs(connect_timeout));
    // The steps need the access node's view only to learn its address when
    // the plan does not name it; check always wants it.
    opts.access_side = !for_steps || plan.access_node_addresses.is_empty();
    let mut passwords = PasswordSource::from_plan(plan);
    if !quiet && std::io::stderr().is_terminal() {
        eprintln!(
            "probing {} node(s) (connect timeout {connect_timeout} s) ...",
            plan.nodes().count()
        );
    }
    let probe = |passwords: &PasswordSource, names: &[String]| {
        rt.block_on(async {
            match &keep {
                Some(tell) => probe_keeping(plan, passwords, opts, names, tell.clone()).await,
                None => probe_some(plan, passwords, opts, names)
                    .await
                    .map(|f| (f, Vec::new())),
            }
        })
    };
    let all: Vec<String> = plan.nodes().map(|n| n.name.clone()).collect();
    let (mut facts, mut kept) = probe(&passwords, &all).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    let wanting: Vec<String> = facts
        .nodes
        .iter()
        .filter(|n| matches!(&n.connection, Connection::Failed { message, .. } if explain(None, message).code == "no_password"))
        .map(|n| n.name.clone())
        .collect();
    if !wanting.is_empty() && !passwords.has_fixed() && std::io::stdin().is_terminal() {
        if let Ok(pw) = rpassword::prompt_password(format!(
            "Password for {} (used for {}): ",
            plan.superuser,
            wanting.join(", ")
        )) {
            passwords.set_prompted(pw.into());
            if let Ok((again, more)) = probe(&passwords, &wanting) {
                for n in again.nodes {
                    if let Some(slot) = facts.nodes.iter_mut().find(|m| m.name == n.name) {
                        *slot = n;
                    }
                }
                kept.extend(more);
            }
        }
    }
    let notes = std::mem::take(&mut passwords.notes);
    Ok(Probed {
        facts,
        notes,
        passwords,
        kept,
    })
}

fn check(path: &std::path::Path, json: bool, connect_timeout: u64) -> u8 {
    let plan = match load(path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Probed { facts, notes, .. } =
        match probe_nodes(&runtime(), &plan, connect_timeout, json, false, None) {
            Ok(r) => r,
            Err(code) => return code,
        };
    let found = findings(&plan, &facts);
    if json {
        println!("{:#}", report::check::json(&facts, &found, &notes));
    } else {
        print!("{}", report::check::human(&facts, &found, &notes));
    }
    if blockers(&found) == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

/// The plan, the facts (unless offline), the certificate material and the
/// steps; the passwords and connections the probe used, for running them.
struct Built {
    plan: tsmn::plan::Plan,
    facts: Option<Facts>,
    material: Option<tsmn::steps::material::Material>,
    steps: Vec<tsmn::steps::Step>,
    passwords: PasswordSource,
    kept: tsmn::probe::Kept,
}

fn build_steps(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
    offline: bool,
    connect_timeout: u64,
    keep: Option<tsmn::probe::OnNotice>,
) -> Result<Built, u8> {
    let plan = load(path)?;
    let (facts, passwords, kept) = if offline {
        (None, PasswordSource::from_plan(&plan), Vec::new())
    } else {
        let p = probe_nodes(rt, &plan, connect_timeout, false, true, keep)?;
        (Some(p.facts), p.passwords, p.kept)
    };
    let material = if plan.auth.mode == tsmn::plan::AuthMode::Certificate {
        Some(
            tsmn::steps::material::load_or_create(&plan, &tsmn::steps::material::dir_for(path))
                .map_err(|e| {
                    eprintln!("error: {e}");
                    EXIT_FAILED
                })?,
        )
    } else {
        None
    };
    let steps = tsmn::steps::build(
        &plan,
        tsmn::steps::Inputs {
            facts: facts.as_ref(),
            material: material.as_ref(),
        },
    )
    .map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    Ok(Built {
        plan,
        facts,
        material,
        steps,
        passwords,
        kept,
    })
}

fn preview(
    path: &std::path::Path,
    node: Option<&str>,
    offline: bool,
    connect_timeout: u64,
    no_color: bool,
) -> u8 {
    let plan = match load(path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(n) = node {
        if !plan.nodes().any(|x| x.name == n) {
            let names: Vec<&str> = plan.nodes().map(|x| x.name.as_str()).collect();
            eprintln!(
                "error: --node {n}: no node of that name in the plan\n    fix: use one of {}",
                names.join(", ")
            );
            return EXIT_USAGE;
        }
    }
    let b = match build_steps(&runtime(), path, offline, connect_timeout, None) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let color =
        !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    print!(
        "{}",
        report::preview::render(
            &b.plan,
            b.facts.as_ref(),
            &b.steps,
            node,
            &report::preview::Style { color }
        )
    );
    EXIT_OK
}

/// Role passwords for password mode: the variable per role, else a prompt.
fn role_passwords(plan: &tsmn::plan::Plan) -> Result<tsmn::steps::secrets::Secrets, u8> {
    let mut secrets = tsmn::steps::secrets::Secrets::default();
    if plan.auth.mode != tsmn::plan::AuthMode::Password {
        return Ok(secrets);
    }
    for role in &plan.auth.roles {
        let var = tsmn::export::role_password_env(plan, role);
        match tsmn::export::role_password_from_env(plan, role) {
            Some(v) => secrets.insert(role, v),
            _ if std::io::stdin().is_terminal() => match rpassword::prompt_password(format!(
                "Password of role {role} (internal, access node -> data nodes): "
            )) {
                Ok(v) if !v.is_empty() => secrets.insert(role, v.into()),
                _ => {
                    eprintln!(
                        "error: no password for role {role}\n    fix: type one, or set {var}"
                    );
                    return Err(EXIT_USAGE);
                }
            },
            _ => {
                eprintln!("error: no password for role {role}\n    fix: set the environment variable {var} (there is no terminal to ask at)");
                return Err(EXIT_USAGE);
            }
        }
    }
    Ok(secrets)
}

fn export(
    path: &std::path::Path,
    out: &std::path::Path,
    include_secrets: bool,
    offline: bool,
    connect_timeout: u64,
) -> u8 {
    let b = match build_steps(&runtime(), path, offline, connect_timeout, None) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let secrets = match role_passwords(&b.plan) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let opts = tsmn::export::Options {
        include_secrets,
        material: b.material.as_ref(),
        secrets: &secrets,
    };
    match tsmn::export::export(&b.plan, &b.steps, out, &opts) {
        Ok(files) => {
            eprintln!(
                "wrote {} file(s) to {}; read {}/README.md, then run: sh {}/setup.sh",
                files.len(),
                out.display(),
                out.display(),
                out.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

struct ApplyArgs<'a> {
    path: &'a std::path::Path,
    yes: bool,
    json: bool,
    restart: cli::RestartArg,
    phases: Vec<tsmn::steps::Phase>,
    restart_wait: u64,
    connect_timeout: u64,
}

fn apply(a: ApplyArgs) -> u8 {
    // One runtime and one event channel for probe and run: the probe's
    // connections stay open for the steps, their notices reported as events.
    let rt = runtime();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let notices = tsmn::run::session::notices_to(tx.clone());
    let b = match build_steps(&rt, a.path, false, a.connect_timeout, Some(notices)) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let secrets = match role_passwords(&b.plan) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let journal = tsmn::steps::material::dir_for(a.path).join("journal.jsonl");
    if !a.json {
        if let Some((step, why)) = tsmn::run::journal::last_failure(&journal) {
            eprintln!("the last run failed at {step} ({}); resuming: finished steps are checked and skipped", why.lines().next().unwrap_or(""));
        }
        eprint!("{}", report::apply::summary(&b.steps, &a.phases));
    }
    let interactive = std::io::stdin().is_terminal();
    if !a.yes {
        if !interactive {
            eprintln!("error: tsmn apply changes servers and asks first, but there is no terminal to ask at\n    fix: add --yes to run without asking");
            return EXIT_USAGE;
        }
        if !confirm("Apply these steps now? [y/N] ") {
            eprintln!("nothing was changed");
            return EXIT_FAILED;
        }
    }
    let restart = match a.restart {
        cli::RestartArg::Never => tsmn::run::RestartPolicy::Never,
        cli::RestartArg::Local => tsmn::run::RestartPolicy::Local,
        cli::RestartArg::Ask
            if interactive
                && confirm("Restart nodes on this host when a setting needs it? [y/N] ") =>
        {
            tsmn::run::RestartPolicy::Local
        }
        cli::RestartArg::Ask => tsmn::run::RestartPolicy::Never,
    };
    let opts = tsmn::run::RunOptions {
        plan: &b.plan,
        passwords: &b.passwords,
        secrets: &secrets,
        material: b.material.as_ref(),
        probe: ProbeOptions::with_connect_timeout(Duration::from_secs(a.connect_timeout)),
        phases: a.phases.clone(),
        restart,
        restart_wait: Duration::from_secs(a.restart_wait),
        journal: Some(journal),
        cancel: None,
    };
    let json = a.json;
    let printer = rt.spawn(async move {
        let mut tally = report::apply::Tally::default();
        while let Some(e) = rx.recv().await {
            tally.add(&e);
            if json {
                println!("{}", serde_json::to_string(&e).unwrap_or_default());
            } else if let Some(l) = report::apply::line(&e) {
                println!("{l}");
            }
        }
        tally
    });
    let ok = rt.block_on(tsmn::run::run_adopting(&b.steps, &opts, tx, b.kept));
    let tally = rt.block_on(printer).unwrap_or_default();
    if !json {
        eprintln!("{}", tally.closing(ok));
    }
    if ok && tally.ok() {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
}

fn confirm(prompt: &str) -> bool {
    use std::io::Write;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}

fn wizard(path: &std::path::Path, no_color: bool) -> u8 {
    let plan = match load(path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let color = !no_color && std::env::var_os("NO_COLOR").is_none();
    tsmn::tui::run(plan, path.to_path_buf(), color)
}

fn say(line: &str) {
    eprintln!("{line}");
}

fn sandbox(cmd: SandboxCommand) -> u8 {
    let result = match cmd {
        SandboxCommand::Up {
            data_nodes,
            dir,
            pg_bindir,
        } => {
            let dir = dir.resolve();
            Sandbox::up(&dir, usize::from(data_nodes), pg_bindir.as_deref(), &say).map(|sb| {
                let plan = sb.dir.join(PLAN_FILE);
                println!("{}", plan.display());
                say(&format!(
                    "\nThe sandbox is up. Its plan is {plan}.\nNext:\n  tsmn validate --plan {plan}\n  tsmn sandbox status --dir {dir}\n  tsmn sandbox down --dir {dir}",
                    plan = plan.display(),
                    dir = sb.dir.display()
                ));
            })
        }
        SandboxCommand::Status { dir } => Sandbox::open(&dir.resolve()).map(|sb| {
            let rows = tsmn::sandbox::status::collect(&sb);
            print!("{}", tsmn::sandbox::status::render(&rows));
        }),
        SandboxCommand::Down { dir } => Sandbox::open(&dir.resolve()).and_then(|sb| sb.down(&say)),
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
