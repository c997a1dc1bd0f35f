//! Terminal prompts for the CLI: passwords without echo (rpassword) and
//! y/N confirmations, only when a terminal is attached.

use secrecy::SecretString;
use std::io::IsTerminal;
use tsmn::flow::Ask;

/// Asks at the terminal, like psql: only when one is attached.
pub struct Terminal {
    interactive: bool,
    /// Live progress lines to put out of the way while asking.
    live: Option<super::progress::Live>,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            interactive: std::io::stdin().is_terminal(),
            live: None,
        }
    }

    /// Asking beside live progress lines (hidden while the prompt is up).
    pub fn beside(live: Option<&super::progress::Live>) -> Terminal {
        Terminal {
            live: live.cloned(),
            ..Terminal::new()
        }
    }

    fn ask(&self, prompt: String) -> Option<String> {
        let read = || rpassword::prompt_password(prompt).ok();
        match &self.live {
            Some(l) => l.suspend(read),
            None => read(),
        }
    }
}

impl Ask for Terminal {
    fn superuser_password(&self, user: &str, nodes: &[String]) -> Option<SecretString> {
        if !self.interactive {
            return None;
        }
        self.ask(format!(
            "Password for {user} (used for {}): ",
            nodes.join(", ")
        ))
        .map(SecretString::from)
    }

    fn role_password(&self, role: &str) -> Option<SecretString> {
        if !self.interactive {
            return None;
        }
        self.ask(format!(
            "Password of role {role} (internal, access node -> data nodes): "
        ))
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
    }

    fn can_ask(&self) -> bool {
        self.interactive
    }
}

/// A y/N question on stderr; anything but y or yes is no.
pub fn confirm(prompt: &str) -> bool {
    use std::io::Write;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y" | "yes")
}
