//! `tsmn sandbox up|status|down`: the local throwaway cluster.

use super::super::args::SandboxCommand;
use super::super::args::{EXIT_FAILED, EXIT_OK};
use super::super::output;
use super::{failed, say};
use tsmn::report;
use tsmn::sandbox::{Sandbox, PLAN_FILE};

pub fn sandbox(cmd: &SandboxCommand) -> u8 {
    let result = match cmd {
        SandboxCommand::Up {
            data_nodes,
            dir,
            pg_bindir,
        } => {
            let dir = dir.resolve();
            Sandbox::up(&dir, usize::from(*data_nodes), pg_bindir.as_deref(), &say).map(|sb| {
                let plan = sb.dir.join(PLAN_FILE);
                crate::cli::output::outln!("{}", plan.display());
                say(&format!(
                    "\nThe sandbox is up. Its plan is {plan}.\nNext:\n  tsmn validate --plan {plan}\n  tsmn sandbox status --dir {dir}\n  tsmn sandbox down --dir {dir}",
                    plan = plan.display(),
                    dir = sb.dir.display()
                ));
            })
        }
        SandboxCommand::Status { dir, json } => match Sandbox::open(&dir.resolve()) {
            Ok(sb) => {
                let rows = tsmn::sandbox::status::collect(&sb);
                if *json {
                    output::print_json(&report::json::sandbox_status(&sb.dir, &rows));
                } else {
                    crate::cli::output::out!("{}", tsmn::sandbox::status::render(&rows));
                }
                Ok(())
            }
            Err(e) if *json => return failed("sandbox status", true, &e.to_string(), EXIT_FAILED),
            Err(e) => Err(e),
        },
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
