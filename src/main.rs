//! tsmn: command-line entry point. Parses the arguments and hands each
//! command to its function in cli/commands/; those give the exit code
//! (0 ok, 1 failed, 2 usage or plan error).

mod cli;

use clap::Parser;
use cli::commands;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return ExitCode::from(cli::output::command_line_error(&e)),
    };
    cli::output::init(cli.global.clone());
    // Sessions are named after the command (PGAPPNAME overrides).
    tsmn::plan::system::set_command(cli.command.as_ref().map_or("wizard", Command::name));
    // The wizard owns the terminal: its log goes to the file only.
    let wizard = matches!(
        cli.command,
        None | Some(Command::Wizard(_) | Command::Demo(_))
    );
    cli::log::init(cli.global.verbose, !wizard);
    if cli.command.as_ref().is_some_and(connects) {
        cli::output::note_ignored_env();
    }
    let Some(command) = cli.command else {
        return ExitCode::from(commands::wizard_default(&Default::default()));
    };
    ExitCode::from(dispatch(&command))
}

/// The commands that read a plan's nodes or connect (the PG* variables
/// tsmn does not read are named there).
fn connects(command: &Command) -> bool {
    matches!(
        command,
        Command::Discover(_)
            | Command::Check(_)
            | Command::Preview(_)
            | Command::Export(_)
            | Command::Apply(_)
            | Command::Undo(_)
            | Command::Validate(_)
            | Command::Migrate(_)
            | Command::Rebalance(_)
            | Command::Status(_)
            | Command::Report(_)
    )
}

/// The command's function, and its exit code.
fn dispatch(command: &Command) -> u8 {
    match command {
        Command::Init(a) => commands::init(a),
        Command::Discover(a) => commands::discover(a),
        Command::Wizard(a) => commands::wizard_command(a),
        Command::Demo(a) => commands::demo(a),
        Command::Validate(a) => commands::validate(a),
        Command::Check(a) => commands::check(a),
        Command::Preview(a) => commands::preview(a),
        Command::Export(a) => commands::export(a),
        Command::Apply(a) => commands::apply(a),
        Command::Undo(a) => commands::undo(a),
        Command::Migrate(a) => commands::migrate(a),
        Command::Rebalance(a) => commands::rebalance(a),
        Command::Status(a) => commands::status(a),
        Command::Report(a) => commands::report(a),
        Command::Sandbox(c) => commands::sandbox(c),
        Command::Completions(a) => commands::completions(a),
        Command::Man(a) => commands::man(a),
    }
}
