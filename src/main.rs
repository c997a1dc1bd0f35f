//! tsmn: command-line entry point. Dispatches to the library and maps
//! results to exit codes (0 ok, 1 failed, 2 usage or plan error).

mod cli;

use clap::Parser;
use cli::{Cli, Command, SandboxCommand, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;
use tsmn::facts::Connection;
use tsmn::findings::connect::explain;
use tsmn::findings::{blockers, findings};
use tsmn::plan::{load_plan, plan_to_toml};
use tsmn::probe::credentials::PasswordSource;
use tsmn::probe::{probe_all, probe_some, ProbeOptions};
use tsmn::report;
use tsmn::sandbox::{Sandbox, PLAN_FILE};

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Command::Validate { plan } => validate(&plan),
        Command::Check {
            plan,
            json,
            connect_timeout,
        } => check(&plan, json, connect_timeout),
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

fn check(path: &std::path::Path, json: bool, connect_timeout: u64) -> u8 {
    let plan = match load_plan(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let opts = ProbeOptions::with_connect_timeout(Duration::from_secs(connect_timeout));
    let mut passwords = PasswordSource::from_plan(&plan);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if !json && std::io::stderr().is_terminal() {
        eprintln!(
            "probing {} node(s) (connect timeout {connect_timeout} s) ...",
            plan.nodes().count()
        );
    }
    let mut facts = match rt.block_on(probe_all(&plan, &passwords, opts)) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    // Like psql: ask for the password only when a server wants one we lack.
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
            if let Ok(again) = rt.block_on(probe_some(&plan, &passwords, opts, &wanting)) {
                for n in again.nodes {
                    if let Some(slot) = facts.nodes.iter_mut().find(|m| m.name == n.name) {
                        *slot = n;
                    }
                }
            }
        }
    }
    let found = findings(&plan, &facts);
    if json {
        println!(
            "{:#}",
            report::check::json(&facts, &found, &passwords.notes)
        );
    } else {
        print!("{}", report::check::human(&facts, &found, &passwords.notes));
    }
    if blockers(&found) == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED
    }
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
