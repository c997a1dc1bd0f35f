//! `tsmn completions` and `tsmn man`: what shells and man(1) read.

use super::super::args::{EXIT_FAILED, EXIT_OK};

/// A completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> u8 {
    let mut cmd = <super::super::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "tsmn", &mut std::io::stdout());
    EXIT_OK
}

/// The manual page (roff) on stdout.
pub fn man() -> u8 {
    let cmd = <super::super::Cli as clap::CommandFactory>::command();
    match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: writing the manual page: {e}");
            EXIT_FAILED
        }
    }
}
