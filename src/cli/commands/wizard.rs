//! `tsmn wizard` and `tsmn demo`: the interactive face, on a plan or a sandbox.

use super::super::args::WizardOpts;
use super::super::args::{EXIT_FAILED, EXIT_USAGE};
use super::super::output;
use std::path::Path;
use tsmn::probe::conninfo::load_plan;
use tsmn::sandbox::{Sandbox, PLAN_FILE};

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
    tsmn::tui::run(
        tsmn::probe::conninfo::new_plan(),
        here.to_path_buf(),
        wizard_options(opts, false),
    )
}

fn wizard_options(opts: &WizardOpts, new: bool) -> tsmn::tui::Options {
    tsmn::tui::Options {
        color: output::colour_in_wizard(opts.no_color),
        new,
        settings: opts.settings(),
    }
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
        return tsmn::tui::run(
            tsmn::probe::conninfo::new_plan(),
            path.to_path_buf(),
            wizard_options(opts, true),
        );
    }
    let plan = match load_plan(path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    tsmn::tui::run(plan, path.to_path_buf(), wizard_options(opts, false))
}

pub fn say(line: &str) {
    output::tell(line);
}

pub fn demo(data_nodes: u16, dir: &Path, opts: &WizardOpts) -> u8 {
    match Sandbox::up(dir, usize::from(data_nodes), None, &say) {
        Ok(sb) => wizard(&sb.dir.join(PLAN_FILE), opts),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
