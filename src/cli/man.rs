//! The manual pages: tsmn(1) and tsmn-<command>(1) for each command (the
//! sandbox's as tsmn-sandbox-up(1) and so on), each from clap's
//! definition (name, synopsis, options) and the command's page in
//! docs/commands/ (description and sections, args/help.rs).

use super::args::help::is_heading;
use super::Cli;
use clap::CommandFactory;

/// Every page: (its name, `tsmn-check` say; the page in docs/commands/,
/// `check`; the command).
pub fn pages() -> Vec<(String, String, clap::Command)> {
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    let mut out = vec![("tsmn".to_string(), "tsmn".to_string(), root.clone())];
    for sub in root.get_subcommands() {
        let name = sub.get_name().to_string();
        out.push((format!("tsmn-{name}"), name.clone(), sub.clone()));
        for inner in sub.get_subcommands() {
            let doc = format!("{name}-{}", inner.get_name());
            out.push((format!("tsmn-{doc}"), doc, inner.clone()));
        }
    }
    out
}

/// The page of `name` (`check`, `tsmn-check`, `sandbox-up`, `sandbox up`;
/// `tsmn` or none: the overview), as roff.
pub fn page_named(name: Option<&str>) -> Result<String, String> {
    let wanted = name.map_or("tsmn".to_string(), |n| n.trim().replace(' ', "-"));
    let all = pages();
    let found = all
        .iter()
        .find(|(file, doc, _)| *file == wanted || *doc == wanted);
    match found {
        Some((file, doc, cmd)) => Ok(render(file, doc, cmd, &all)),
        None => Err(format!(
            "no manual page for `{wanted}`\n    fix: name one of {}",
            all.iter()
                .map(|(_, d, _)| d.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// One page as roff: clap's sections, the page's own, SEE ALSO.
pub fn render(
    file: &str,
    doc: &str,
    cmd: &clap::Command,
    all: &[(String, String, clap::Command)],
) -> String {
    let man = clap_mangen::Man::new(cmd.clone())
        .title(file)
        .source(format!("tsmn {}", super::args::help::VERSION))
        .manual("tsmn manual");
    // Writing into memory cannot fail.
    let mut out: Vec<u8> = Vec::new();
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut text = String::from_utf8_lossy(&out).to_string();
    text.push_str(&sections(super::args::help::details(doc)));
    text.push_str(&format!(
        ".SH VERSION\n{}\n",
        escape(super::args::help::VERSION)
    ));
    text.push_str(&see_also(file, all));
    text
}

/// The other pages, by name.
fn see_also(file: &str, all: &[(String, String, clap::Command)]) -> String {
    let others: Vec<String> = all
        .iter()
        .filter(|(f, _, _)| f != file)
        .map(|(f, _, _)| format!("\\fB{}\\fR(1)", escape(f)))
        .collect();
    format!(".SH \"SEE ALSO\"\n{}\n", others.join(", "))
}

/// A page's sections as roff: each `Heading:` a section, paragraphs
/// filled, blocks indented by four spaces kept as they are.
pub fn sections(text: &str) -> String {
    let mut out = String::new();
    let mut block = false;
    let mut blank = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        let indented = line.starts_with("    ");
        if block && !indented {
            out.push_str(".fi\n.RE\n");
            block = false;
        }
        if is_heading(line) {
            let title = line.trim_end_matches(':').to_uppercase();
            out.push_str(&format!(".SH \"{}\"\n", escape(&title)));
        } else if indented {
            if !block {
                out.push_str(".RS 4\n.nf\n");
                block = true;
            } else if blank {
                out.push_str(".sp\n");
            }
            out.push_str(&escape(&line[4..]));
            out.push('\n');
        } else {
            if blank {
                out.push_str(".PP\n");
            }
            out.push_str(&escape(line));
            out.push('\n');
        }
        blank = false;
    }
    if block {
        out.push_str(".fi\n.RE\n");
    }
    out
}

/// Text as roff reads it literally: backslashes, a leading dot or quote,
/// hyphens that are to stay hyphens (options copied from the page).
fn escape(line: &str) -> String {
    let mut s = line.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        s.insert_str(0, "\\&");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_blocks_and_escapes() {
        let roff = sections("Examples:\n\n    tsmn check --plan p\n        what\n\n    .x\nText \\ here.\n\nMore.\n");
        assert_eq!(
            roff,
            ".SH \"EXAMPLES\"\n.RS 4\n.nf\ntsmn check \\-\\-plan p\n    what\n.sp\n\\&.x\n.fi\n.RE\nText \\e here.\n.PP\nMore.\n"
        );
    }

    #[test]
    fn a_page_for_every_command_and_each_names_the_others() {
        let all = pages();
        for want in [
            "tsmn",
            "tsmn-check",
            "tsmn-discover",
            "tsmn-sandbox-up",
            "tsmn-man",
        ] {
            assert!(all.iter().any(|(f, _, _)| f == want), "{want}");
        }
        let page = page_named(Some("check")).unwrap();
        assert!(page.contains(".TH tsmn-check 1"), "{page}");
        assert!(page.contains("\\fBtsmn\\-undo\\fR(1)"), "{page}");
        assert!(page_named(Some("nope")).is_err());
    }
}
