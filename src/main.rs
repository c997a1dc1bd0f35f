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
    cli::output::init(cli.global.clone());
    // The wizard owns the terminal: its log goes to the file only.
    let wizard = matches!(
        cli.command,
        None | Some(Command::Wizard { .. } | Command::Demo { .. })
    );
    cli::log::init(cli.global.verbose, !wizard);
    if matches!(
        cli.command,
        Some(
            Command::Check { .. }
                | Command::Preview { .. }
                | Command::Export { .. }
                | Command::Apply { .. }
                | Command::Undo { .. }
                | Command::Validate { .. }
                | Command::Migrate(_)
                | Command::Status(_)
                | Command::Report { .. }
        )
    ) {
        cli::output::note_ignored_env();
    }
    let Some(command) = cli.command else {
        return ExitCode::from(commands::wizard_default(&Default::default()));
    };
    ExitCode::from(dispatch(command))
}

/// The command's function, and its exit code.
fn dispatch(command: Command) -> u8 {
    match command {
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
        Command::Wizard { plan, opts } => match plan {
            Some(plan) => commands::wizard(&plan, &opts),
            None => commands::wizard_default(&opts),
        },
        Command::Demo {
            data_nodes,
            dir,
            opts,
        } => commands::demo(data_nodes, &dir.resolve(), &opts),
        Command::Validate { plan, json } => commands::validate(&plan, json),
        Command::Check {
            plan,
            json,
            connect_timeout,
        } => commands::check(&plan, json, connect_timeout),
        Command::Preview {
            plan,
            node,
            offline,
            json,
            connect_timeout,
            no_color,
        } => commands::preview(commands::PreviewArgs {
            path: &plan,
            node: node.as_deref(),
            offline,
            json,
            connect_timeout,
            no_color,
        }),
        Command::Export {
            plan,
            out,
            include_secrets,
            offline,
            json,
            connect_timeout,
        } => commands::export(&plan, &out, include_secrets, offline, json, connect_timeout),
        Command::Apply {
            plan,
            yes,
            json,
            restart,
            phases,
            restart_wait,
            connect_timeout,
            renew_certificates,
            roll_ca,
            remove_data_nodes,
            drain,
            rotate_password,
        } => commands::apply(ApplyArgs {
            path: &plan,
            yes,
            json,
            restart,
            phases: phases.iter().map(|p| PhaseArg::phase(*p)).collect(),
            restart_wait,
            connect_timeout,
            renew_certificates,
            roll_ca,
            remove_data_nodes,
            drain,
            rotate_password,
        }),
        Command::Undo {
            plan,
            yes,
            connect_timeout,
        } => commands::undo(&plan, yes, connect_timeout),
        Command::Migrate(m) => commands::migrate(&m),
        Command::Status(a) => commands::status(a),
        Command::Report {
            plan,
            out,
            connect_timeout,
        } => commands::report(&plan, &out, connect_timeout),
        Command::Sandbox(cmd) => commands::sandbox(cmd),
        Command::Completions { shell } => commands::completions(shell),
        Command::Man => commands::man(),
    }
}
