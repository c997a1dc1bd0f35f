//! Terminal prompts for the CLI: passwords without echo (rpassword) and
//! y/N confirmations, only when a terminal is attached.

use secrecy::SecretString;
use std::io::IsTerminal;
use tsmn::flow::Ask;

/// Asks at the terminal, like psql: only when one is attached.
pub struct Terminal {
    interactive: bool,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            interactive: std::io::stdin().is_terminal(),
        }
    }
}

impl Ask for Terminal {
    fn superuser_password(&self, user: &str, nodes: &[String]) -> Option<SecretString> {
        if !self.interactive {
            return None;
        }
        rpassword::prompt_password(format!(
            "Password for {user} (used for {}): ",
            nodes.join(", ")
        ))
        .ok()
        .map(SecretString::from)
    }

    fn role_password(&self, role: &str) -> Option<SecretString> {
        if !self.interactive {
            return None;
        }
        rpassword::prompt_password(format!(
            "Password of role {role} (internal, access node -> data nodes): "
        ))
        .ok()
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
