//! `tsmn export`: the steps as a directory to review and run without tsmn.

use super::super::args::{is_stdout, ExportArgs, EXIT_OK, EXIT_USAGE};
use super::super::output;
use super::super::prompt::Terminal;
use super::{fail_as, failed, probed_steps, runtime, with_timeout, Probing};
use tsmn::flow::Watch;
use tsmn::report;

pub fn export(a: &ExportArgs) -> u8 {
    let (out, include_secrets, json) = (a.out.as_path(), a.include_secrets, a.json);
    if is_stdout(out) {
        let message = "--out -: tsmn export writes a directory (README.md, setup.sh, a folder per node), which standard output cannot hold\n    fix: give a new or empty directory, e.g. --out ./tsmn-setup (tsmn preview prints the steps on standard output)";
        return failed("export", json, message, EXIT_USAGE);
    }
    let how = Probing {
        offline: a.offline,
        json,
        watch: Watch::default(),
    };
    let probed = with_timeout(&a.connect).and_then(|s| probed_steps(&runtime(), &a.plan, &s, how));
    let (mut flow, steps) = match probed {
        Ok(r) => r,
        Err(e) => return fail_as("export", json, e),
    };
    let written = flow
        .role_secrets(&steps, &Default::default(), &Terminal::new())
        .and_then(|secrets| flow.export(&steps, out, &secrets, include_secrets));
    match written {
        Ok(files) => {
            if json {
                output::print_json(&report::json::exported(out, &files, include_secrets));
            }
            output::tell(&format!(
                "wrote {} file(s) to {}; read {}/README.md, then run: sh {}/setup.sh",
                files.len(),
                out.display(),
                out.display(),
                out.display()
            ));
            EXIT_OK
        }
        Err(e) => fail_as("export", json, e),
    }
}
