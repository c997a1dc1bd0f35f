//! tsmn: command-line entry point. Dispatches to the library and maps
//! results to exit codes (0 ok, 1 failed, 2 usage or plan error).

mod cli;

use clap::Parser;
use cli::{Cli, Command, SandboxCommand, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use std::process::ExitCode;
use tsmn::plan::{load_plan, plan_to_toml};
use tsmn::sandbox::{Sandbox, PLAN_FILE};

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Command::Validate { plan } => validate(&plan),
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
