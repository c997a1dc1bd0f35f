//! Each command's long help: its page in docs/commands/<command>.md, in
//! the binary. One text in one place: `tsmn <command> --help`, `tsmn man
//! <command>` and the page on GitHub are the same words. A page is plain
//! text that reads as Markdown too: a `# title` line (left out here), the
//! description, then sections, each a `Heading:` line of its own
//! followed by paragraphs and blocks indented by four spaces (examples,
//! captured output).

/// `tsmn --version`: the package's version and, from a git checkout, the
/// commit (build.rs).
pub const VERSION: &str = env!("TSMN_VERSION");

macro_rules! pages {
    ($($name:literal),* $(,)?) => {
        /// Every page: (its name, its text). `sandbox-up` is `tsmn sandbox up`.
        pub const PAGES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../docs/commands/", $name, ".md"))),)*
        ];
    };
}

pages!(
    "tsmn",
    "init",
    "discover",
    "wizard",
    "demo",
    "validate",
    "check",
    "status",
    "report",
    "preview",
    "export",
    "apply",
    "undo",
    "migrate",
    "rebalance",
    "sandbox",
    "sandbox-up",
    "sandbox-status",
    "sandbox-down",
    "completions",
    "man",
);

/// The page's text without its title line.
pub fn page(name: &str) -> &'static str {
    let text = PAGES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, t)| t);
    match text.split_once('\n') {
        Some((title, rest)) if title.starts_with("# ") => rest.trim_start_matches('\n'),
        _ => text,
    }
}

/// Whether a line opens a section (`Examples:`, `Exit codes:`).
pub fn is_heading(line: &str) -> bool {
    line.len() < 40
        && line.ends_with(':')
        && line.starts_with(|c: char| c.is_ascii_uppercase())
        && !line.contains(". ")
}

/// The description: the page up to its first section.
pub fn about(name: &str) -> &'static str {
    split(page(name)).0
}

/// The sections, shown after the options.
pub fn details(name: &str) -> &'static str {
    split(page(name)).1
}

fn split(text: &'static str) -> (&'static str, &'static str) {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if is_heading(line.trim_end()) {
            return (text[..at].trim_end(), text[at..].trim_end());
        }
        at += line.len();
    }
    (text.trim_end(), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_a_description_examples_and_exit_codes() {
        for (name, text) in PAGES {
            assert!(text.starts_with("# tsmn"), "{name}: a title first");
            assert!(!about(name).is_empty(), "{name}: no description");
            let d = details(name);
            for section in ["Examples:", "Exit codes:"] {
                assert!(
                    d.lines().any(|l| l == section),
                    "{name}: no {section} section"
                );
            }
        }
    }
}
