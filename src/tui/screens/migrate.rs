//! Migrate: move this cluster off multi-node (what `tsmn migrate` does),
//! from the start screen. The target is typed; Enter runs the read-only
//! preflight and shows it; `o` chooses online or offline, `p` whether the
//! roles' passwords come (as `--with-role-passwords`); `m` asks once,
//! saying what happens to the writes, then copies with every line of
//! progress shown, and ends on the verified report or the error with its fix.

use super::{Keys, Page, Screen};
use crate::tui::keys::{b, Action, Binding, SCROLL};
use crate::tui::msg::{Cmd, MigrateChoice, MigrateMsg};
use crate::tui::shared::Shared;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// While the target is typed.
pub static TARGET_FORM: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "preflight (read-only)",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
/// The preflight shown.
pub static KEYS: &[Binding] = &[
    b(KeyCode::Char('m'), "m", Action::Save, "migrate", true),
    b(
        KeyCode::Char('o'),
        "o",
        Action::Toggle,
        "online / offline",
        true,
    ),
    b(
        KeyCode::Char('p'),
        "p",
        Action::Passwords,
        "role passwords or not",
        true,
    ),
    b(
        KeyCode::Char('t'),
        "t",
        Action::Edit,
        "another target",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
/// The one question before the copy.
pub static CONFIRM: &[Binding] = &[
    b(KeyCode::Char('y'), "y", Action::Next, "migrate now", true),
    b(KeyCode::Char('n'), "n", Action::Back, "not now", true),
    b(KeyCode::Esc, "Esc", Action::Back, "not now", false),
];

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Phase {
    /// The target being typed.
    #[default]
    Target,
    Checking,
    /// The preflight, and whether it found blockers.
    Checked {
        text: String,
        blocked: bool,
    },
    Confirm {
        text: String,
    },
    Running,
    Finished {
        ok: bool,
    },
}

#[derive(Debug, Default)]
pub struct State {
    target: TextField,
    phase: Phase,
    choice: MigrateChoice,
    /// The copy's progress lines and its report (or error).
    lines: Vec<String>,
}

impl State {
    /// Opened from the start screen: a new target to type.
    pub fn opened(&mut self) {
        *self = State::default();
    }
}

/// A message of the preflight or the copy.
pub fn message(st: &mut State, sh: &mut Shared, m: MigrateMsg) {
    match m {
        MigrateMsg::Checked(Ok((text, blocked))) => st.phase = Phase::Checked { text, blocked },
        MigrateMsg::Checked(Err(e)) => {
            st.lines = vec![e];
            st.phase = Phase::Finished { ok: false };
        }
        MigrateMsg::Line(l) => st.lines.push(l),
        MigrateMsg::Finished(r) => {
            let ok = r.is_ok();
            st.lines.push(r.unwrap_or_else(|e| format!("error: {e}")));
            st.phase = Phase::Finished { ok };
            sh.probing = false;
        }
    }
}

impl Page for State {
    fn keys(&self) -> Keys {
        match self.phase {
            Phase::Target => (TARGET_FORM, crate::tui::keys::NONE),
            Phase::Confirm { .. } => (CONFIRM, crate::tui::keys::NONE),
            _ => (KEYS, SCROLL),
        }
    }
    fn enabled(&self, _sh: &Shared, action: Action) -> bool {
        match action {
            Action::Save => matches!(self.phase, Phase::Checked { blocked: false, .. }),
            Action::Toggle | Action::Passwords | Action::Edit => {
                !matches!(self.phase, Phase::Running | Phase::Checking)
            }
            Action::Back => !matches!(self.phase, Phase::Running),
            _ => true,
        }
    }
    fn field<'a>(&'a mut self, _sh: &'a mut Shared) -> Option<&'a mut TextField> {
        (self.phase == Phase::Target).then_some(&mut self.target)
    }
    fn typing(&self) -> bool {
        self.phase == Phase::Target
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        if !self.enabled(sh, action) {
            return vec![];
        }
        match (&self.phase, action) {
            (Phase::Target, Action::Next) if !self.target.trim().is_empty() => {
                self.phase = Phase::Checking;
                self.lines.clear();
                return vec![Cmd::MigrateCheck {
                    target: self.target.trim().to_string(),
                }];
            }
            (Phase::Checked { text, .. }, Action::Save) => {
                self.phase = Phase::Confirm { text: text.clone() };
            }
            (Phase::Confirm { .. }, Action::Next) => {
                self.phase = Phase::Running;
                self.lines.clear();
                sh.probing = true;
                return vec![Cmd::Migrate {
                    target: self.target.trim().to_string(),
                    choice: self.choice,
                }];
            }
            (Phase::Confirm { text }, Action::Back) => {
                self.phase = Phase::Checked {
                    text: text.clone(),
                    blocked: false,
                };
            }
            (_, Action::Toggle) => self.choice.online = !self.choice.online,
            (_, Action::Passwords) => {
                self.choice.role_passwords = !self.choice.role_passwords
            }
            (_, Action::Edit) => self.phase = Phase::Target,
            (_, Action::Back) => sh.go(Screen::Start),
            (_, a) => super::scroll(sh, a),
        }
        vec![]
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
}

/// What the question says happens to the writes.
fn writes(online: bool) -> &'static str {
    if online {
        "online: copied while the applications write; then the writes are frozen (sessions ended, new ones read-only, the job scheduler stopped) for the rest, until the applications use the target (tsmn migrate --abandon lifts it)"
    } else {
        "offline: stop every writer to the cluster first; the copy is verified against the source at the end"
    }
}

/// What the screen says of the roles' passwords.
fn passwords(copied: bool) -> &'static str {
    if copied {
        "Role passwords: copied (each created role's stored SCRAM or md5 verifier; never shown or logged)"
    } else {
        "Role passwords: not copied (the roles come without; p copies their stored verifiers)"
    }
}

fn draw(f: &mut Frame, st: &State, sh: &Shared, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::from(
            "The target: one server whose TimescaleDB can be updated past 2.13 (HOST[:PORT], a socket directory, a postgresql:// URI or key=value; the password from PGPASSWORD or ~/.pgpass). The source is only read.",
        ),
        {
            let mut l = vec![Span::raw("  ")];
            let cursor = (st.phase == Phase::Target).then(|| st.target.cursor());
            l.extend(crate::tui::text_field::spans(&st.target, 60, Style::default(), cursor));
            Line::from(l)
        },
        Line::from(Span::styled(format!("Mode: {}", writes(st.choice.online)), theme.bold())),
        Line::from(passwords(st.choice.role_passwords)),
        Line::from(""),
    ];
    match &st.phase {
        Phase::Target => {}
        Phase::Checking => lines.push(Line::from(
            "reading the cluster and the target (read-only) ...",
        )),
        Phase::Checked { text, blocked } => {
            lines.extend(text.lines().map(|l| Line::from(l.to_string())));
            if *blocked {
                lines.push(Line::from(Span::styled(
                    "Blocked: correct each blocker above, then t and Enter to check again.",
                    theme.bold(),
                )));
            }
        }
        Phase::Confirm { text } => {
            lines.extend(text.lines().map(|l| Line::from(l.to_string())));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                format!(
                    "Migrate into {} now ({})? y / n",
                    st.target.trim(),
                    if st.choice.online {
                        "online"
                    } else {
                        "offline: are the writers stopped?"
                    }
                ),
                theme.selected(),
            )));
        }
        Phase::Running | Phase::Finished { .. } => {
            lines.extend(
                st.lines
                    .iter()
                    .flat_map(|l| l.lines().map(|x| Line::from(x.to_string()))),
            );
        }
    }
    let title = match st.phase {
        Phase::Running => "Move this cluster off multi-node (copying)",
        Phase::Finished { ok: true } => "Move this cluster off multi-node: done",
        Phase::Finished { ok: false } => "Move this cluster off multi-node: failed",
        _ => "Move this cluster off multi-node",
    };
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((sh.scroll, 0))
            .block(boxed(title)),
        area,
    );
}
