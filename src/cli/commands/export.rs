//! `tsmn export`: the steps as a directory to review and run without tsmn.

use super::super::args::EXIT_OK;
use super::super::output;
use super::super::prompt::Terminal;
use super::{fail_as, probed_steps, runtime, with_timeout, Probing};
use std::path::Path;
use tsmn::flow::Watch;
use tsmn::report;

pub fn export(
    path: &Path,
    out: &Path,
    include_secrets: bool,
    offline: bool,
    json: bool,
    connect_timeout: u64,
) -> u8 {
    let settings = with_timeout(connect_timeout);
    let (mut flow, steps) = match probed_steps(
        &runtime(),
        path,
        &settings,
        Probing {
            offline,
            json,
            watch: Watch::default(),
        },
    ) {
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
