//! `tsmn init`: a commented example plan to edit, from the binary.

use super::super::args::{is_stdout, InitArgs, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use super::super::output;

/// The example plans, in the binary (an installed tsmn has no source tree).
const EXAMPLES: [(super::super::args::ModeArg, &str); 3] = [
    (
        super::super::args::ModeArg::Trust,
        include_str!("../../../assets/plan-trust.toml"),
    ),
    (
        super::super::args::ModeArg::Password,
        include_str!("../../../assets/plan-password.toml"),
    ),
    (
        super::super::args::ModeArg::Certificate,
        include_str!("../../../assets/plan-certificate.toml"),
    ),
];

pub fn init(a: &InitArgs) -> u8 {
    let (mode, out) = (a.mode, a.out.as_path());
    let text = EXAMPLES
        .iter()
        .find(|(m, _)| *m == mode)
        .map_or("", |(_, t)| t);
    if is_stdout(out) {
        output::out!("{text}");
        return EXIT_OK;
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    match written {
        Ok(()) => {
            output::tell(&format!(
                "wrote {out}: an example plan with a comment on every field.\nNext: edit the node names, hosts and ports (and the addresses the data nodes see the access node come from), then:\n  tsmn validate --plan {out}\n  tsmn check --plan {out}\n  tsmn wizard --plan {out}",
                out = out.display()
            ));
            EXIT_OK
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} exists; tsmn init does not overwrite a plan\n    fix: choose another --out, or remove the file first",
                out.display()
            );
            EXIT_USAGE
        }
        Err(e) => {
            eprintln!(
                "error: {}: {e}\n    fix: check that the directory exists and is writable",
                out.display()
            );
            EXIT_FAILED
        }
    }
}
