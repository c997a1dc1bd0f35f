//! `tsmn wizard` and `tsmn demo`: the interactive face, on a plan or a sandbox.

use super::super::args::{DemoArgs, WizardArgs, WizardOpts};
use super::super::args::{EXIT_FAILED, EXIT_USAGE};
use super::super::output;
use std::path::Path;
use tsmn::plan::system::load_plan;
use tsmn::sandbox::{Sandbox, PLAN_FILE};

/// `tsmn wizard`: on the plan given, else as with no command.
pub fn wizard_command(a: &WizardArgs) -> u8 {
    match &a.plan {
        Some(plan) => wizard(plan, &a.opts),
        None => wizard_default(&a.opts),
    }
}

/// The wizard without --plan: the default sandbox's plan when there is
/// one, else ./plan.toml as it is, else a new plan to be saved there, on
/// the start screen (set up, or troubleshoot from an access node alone).
pub fn wizard_default(opts: &WizardOpts) -> u8 {
    let sandbox = tsmn::sandbox::default_dir().join(PLAN_FILE);
    if sandbox.is_file() {
        return wizard(&sandbox, opts);
    }
    let here = Path::new(PLAN_FILE);
    if here.is_file() {
        return wizard(here, opts);
    }
    match wizard_options(opts, false) {
        Ok(o) => tsmn::tui::run(tsmn::plan::system::new_plan(), here.to_path_buf(), o),
        Err(code) => code,
    }
}

/// The wizard's options, or (said on stderr) why the command line cannot give them.
fn wizard_options(opts: &WizardOpts, new: bool) -> Result<tsmn::tui::Options, u8> {
    let settings = opts.settings().map_err(|e| {
        eprintln!("error: {e}");
        EXIT_USAGE
    })?;
    Ok(tsmn::tui::Options {
        color: output::colour_in_wizard(),
        new,
        settings,
    })
}

pub fn wizard(path: &Path, opts: &WizardOpts) -> u8 {
    // A plan file that does not exist yet: the wizard starts it, and saves
    // it there (its directory must exist, so the save cannot fail late).
    if !path.exists() {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            eprintln!(
                "error: {}: no such directory to save a new plan in\n    fix: create it, or give --plan a path in an existing directory",
                dir.display()
            );
            return EXIT_USAGE;
        }
        return match wizard_options(opts, true) {
            Ok(o) => tsmn::tui::run(tsmn::plan::system::new_plan(), path.to_path_buf(), o),
            Err(code) => code,
        };
    }
    let plan = match load_plan(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    match wizard_options(opts, false) {
        Ok(o) => tsmn::tui::run(plan, path.to_path_buf(), o),
        Err(code) => code,
    }
}

pub fn say(line: &str) {
    output::tell(line);
}

pub fn demo(a: &DemoArgs) -> u8 {
    if let Err(code) = wizard_options(&a.opts, false) {
        return code;
    }
    // Asked before the sandbox starts: exit 2 means nothing was done.
    if let Some(why) = tsmn::tui::no_terminal() {
        eprintln!("{why}");
        return EXIT_USAGE;
    }
    match Sandbox::up(&a.dir.resolve(), usize::from(a.data_nodes), None, &say) {
        Ok(sb) => wizard(&sb.dir.join(PLAN_FILE), &a.opts),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
