//! tsmn: command-line entry point. Parses the arguments and hands each
//! command to its function in cli/commands.rs; those give the exit code
//! (0 ok, 1 failed, 2 usage or plan error).

mod cli;

use clap::Parser;
use cli::args::PhaseArg;
use cli::commands::{self, ApplyArgs};
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return ExitCode::from(commands::wizard_default(false));
    };
    ExitCode::from(match command {
        Command::Init { mode, out } => commands::init(mode, &out),
        Command::Discover {
            access_node,
            database,
            superuser,
            out,
            connect_timeout,
        } => commands::discover(
            &access_node,
            database.as_deref(),
            superuser.as_deref(),
            &out,
            connect_timeout,
        ),
        Command::Wizard { plan, no_color } => match plan {
            Some(plan) => commands::wizard(&plan, no_color),
            None => commands::wizard_default(no_color),
        },
        Command::Demo {
            data_nodes,
            dir,
            no_color,
        } => commands::demo(data_nodes, &dir.resolve(), no_color),
        Command::Validate { plan } => commands::validate(&plan),
        Command::Check {
            plan,
            json,
            connect_timeout,
        } => commands::check(&plan, json, connect_timeout),
        Command::Preview {
            plan,
            node,
            offline,
            connect_timeout,
            no_color,
        } => commands::preview(&plan, node.as_deref(), offline, connect_timeout, no_color),
        Command::Export {
            plan,
            out,
            include_secrets,
            offline,
            connect_timeout,
        } => commands::export(&plan, &out, include_secrets, offline, connect_timeout),
        Command::Apply {
            plan,
            yes,
            json,
            restart,
            phases,
            restart_wait,
            connect_timeout,
            renew_certificates,
            remove_data_nodes,
        } => commands::apply(ApplyArgs {
            path: &plan,
            yes,
            json,
            restart,
            phases: phases.iter().map(|p| PhaseArg::phase(*p)).collect(),
            restart_wait,
            connect_timeout,
            renew_certificates,
            remove_data_nodes,
        }),
        Command::Sandbox(cmd) => commands::sandbox(cmd),
    })
}
