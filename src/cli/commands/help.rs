//! `tsmn completions` and `tsmn man`: what shells and man(1) read.

use super::super::args::{CompletionsArgs, ManArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::{man, output};
use super::failed;

/// A completion script for the shell on stdout.
pub fn completions(a: &CompletionsArgs) -> u8 {
    let mut cmd = <super::super::Cli as clap::CommandFactory>::command();
    let mut script: Vec<u8> = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "tsmn", &mut script);
    output::out!("{}", String::from_utf8_lossy(&script));
    EXIT_OK
}

/// One manual page (roff) on stdout, or every page into a directory.
pub fn man(a: &ManArgs) -> u8 {
    let Some(dir) = &a.out else {
        return match man::page_named(a.command.as_deref()) {
            Ok(page) => {
                output::out!("{page}");
                EXIT_OK
            }
            Err(e) => failed("man", false, &e, EXIT_USAGE),
        };
    };
    if dir.as_os_str() == "-" {
        let message = "--out -: the manual pages are a directory of files, not one stream\n    fix: tsmn man [COMMAND] writes one page to standard output; --out DIR writes them all";
        return failed("man", false, message, EXIT_USAGE);
    }
    let all = man::pages();
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        for (file, doc, cmd) in &all {
            std::fs::write(
                dir.join(format!("{file}.1")),
                man::render(file, doc, cmd, &all),
            )?;
        }
        Ok(())
    });
    match written {
        Ok(()) => {
            output::tell(&format!(
                "wrote {} manual pages to {} (tsmn.1 and tsmn-<command>.1); e.g. man -l {}/tsmn-check.1",
                all.len(),
                dir.display(),
                dir.display()
            ));
            EXIT_OK
        }
        Err(e) => failed(
            "man",
            false,
            &format!(
                "--out {}: {e}\n    fix: give a directory you can write (e.g. /usr/local/share/man/man1 as root)",
                dir.display()
            ),
            EXIT_FAILED,
        ),
    }
}
