//! How the commands speak: colour (auto, always, never), quiet or verbose
//! words on stderr, and JSON documents that name their schema. One place,
//! so every command answers the same way.

use super::args::{ColorArg, Global};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::sync::OnceLock;

static GLOBAL: OnceLock<Global> = OnceLock::new();

/// Set once, from the command line, before any command runs.
pub fn init(g: Global) {
    let _ = GLOBAL.set(g);
}

fn global() -> Global {
    GLOBAL.get().cloned().unwrap_or_default()
}

/// The environment allows colour: NO_COLOR counts only when it is set to
/// something (no-color.org), and TERM=dumb has none.
fn colour_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// Colour on stdout: `--color always` wins, `never` (or `--no-color`)
/// loses, `auto` asks the environment and whether stdout is a terminal.
pub fn colour() -> bool {
    colour_on(std::io::stdout().is_terminal())
}

/// Colour in the wizard, which draws on the terminal whatever stdout is.
pub fn colour_in_wizard() -> bool {
    colour_on(true)
}

fn colour_on(terminal: bool) -> bool {
    let g = global();
    match g.color {
        _ if g.no_color => false,
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => colour_allowed() && terminal,
    }
}

/// -q: only errors and the output asked for.
pub fn quiet() -> bool {
    global().quiet
}

/// A line for the operator on stderr (hints, progress), unless -q.
pub fn tell(line: &str) {
    if !quiet() {
        eprintln!("{line}");
    }
}

/// One line per PG* variable that is set and that tsmn does not read,
/// with why (unless -q): the operator is not left to wonder why psql and
/// tsmn go to different places. The list is libpq's keys'
/// (tsmn::plan::dsn::keys), read in one place (tsmn::plan::system::env).
pub fn note_ignored_env() {
    for (var, why) in tsmn::plan::system::env::ignored_set() {
        tell(&format!("note: {var} is set and ignored: {why}"));
    }
}

/// A JSON document of `schema` (`tsmn-<command>/<version>`) with `body`'s
/// fields after the schema name.
pub fn document(schema: &str, body: Value) -> Value {
    let mut doc = json!({ "schema": schema });
    if let (Some(d), Value::Object(b)) = (doc.as_object_mut(), body) {
        d.extend(b);
    }
    doc
}

/// Print a JSON document on stdout, pretty.
pub fn print_json(doc: &Value) {
    write_out(format_args!("{doc:#}\n"));
}

/// Text on stdout. A reader that went away (`tsmn check --json | head`)
/// is not tsmn's failure: the rest of the output is dropped and the
/// command goes on to its end and its exit code (an apply is never cut
/// short by its reader), where `print!` would panic.
pub fn write_out(text: std::fmt::Arguments) {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static GONE: AtomicBool = AtomicBool::new(false);
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(text)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        GONE.store(true, Ordering::Relaxed);
    }
}

/// An error as JSON on stdout (schema tsmn-error/1): the message, its
/// fix when it has one, the exit code. The same text goes to stderr.
pub fn json_error(command: &str, message: &str, exit_code: u8) {
    eprintln!("error: {message}");
    let (what, fix) = match message.split_once("\n    fix: ") {
        Some((w, f)) => (w, Some(f)),
        None => (message, None),
    };
    print_json(&document(
        "tsmn-error/1",
        json!({ "command": command, "error": what, "fix": fix, "exit_code": exit_code }),
    ));
}

/// A command line clap refuses: as clap says it (help and --version too),
/// and under --json also as the command's one JSON document (tsmn-error/1)
/// on stdout, as every other error under --json. Exit 2.
pub fn command_line_error(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shown = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if shown || !args.iter().any(|a| a == "--json") {
        e.exit();
    }
    let command = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ");
    let message = format!("{first}\n    fix: see tsmn {command} --help");
    json_error(&command, &message, 2);
    2
}

/// Now, as RFC 3339 in UTC (apply's events carry it).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `print!` through `write_out`: a reader that went away ends the output, not tsmn.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::output::write_out(format_args!($($t)*)) };
}
/// `println!` through `write_out`.
macro_rules! outln {
    ($($t:tt)*) => { $crate::cli::output::write_out(format_args!("{}\n", format_args!($($t)*))) };
}
pub(crate) use {out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_name_their_schema_first() {
        let d = document("tsmn-x/1", json!({"a": 1}));
        assert_eq!(d.to_string(), r#"{"schema":"tsmn-x/1","a":1}"#);
        assert!(now().ends_with('Z'), "{}", now());
    }
}
