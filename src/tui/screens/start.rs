//! Start: set up a cluster, troubleshoot the one the plan describes, or
//! troubleshoot a running cluster from its access node alone (discovered:
//! no plan file needed).

use super::{Keys, Page};
use crate::tui::keys::{b, Action, Binding, NONE};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::text_field::TextField;
use crate::tui::theme::Theme;
use crate::tui::widgets::{boxed, choice};
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "choose", true),
    b(KeyCode::Down, "↓", Action::Down, "choose", false),
    b(KeyCode::Enter, "Enter", Action::Next, "continue", true),
];
/// While the access node's address is typed.
pub static ADDRESS_FORM: &[Binding] = &[
    b(
        KeyCode::Enter,
        "Enter",
        Action::Next,
        "discover and probe",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "cancel", true),
];

/// The choice on the start screen.
#[derive(Debug, Default)]
pub struct State {
    /// 0: set up, 1: troubleshoot the plan's cluster, 2: troubleshoot from
    /// an access node, 3: watch the plan's cluster, 4: move it off
    /// multi-node.
    pub choice: usize,
    /// The access node's address being typed (choice 2).
    pub address: Option<TextField>,
}

impl Page for State {
    fn keys(&self) -> Keys {
        if self.address.is_some() {
            (ADDRESS_FORM, NONE)
        } else {
            (KEYS, NONE)
        }
    }
    fn field<'a>(&'a mut self, _sh: &'a mut Shared) -> Option<&'a mut TextField> {
        self.address.as_mut()
    }
    fn typing(&self) -> bool {
        self.address.is_some()
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        on_action(self, sh, action)
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, theme: &Theme) {
        draw(f, self, sh, area, theme)
    }
}

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    if let Some(address) = &st.address {
        match action {
            Action::Next if !address.trim().is_empty() => {
                let address = address.trim().to_string();
                st.address = None;
                app.message = Some(format!("reading the cluster from {address} ..."));
                app.probing = true;
                return vec![Cmd::Discover { address }];
            }
            Action::Back => st.address = None,
            _ => {}
        }
        return vec![];
    }
    match action {
        Action::Up => st.choice = st.choice.saturating_sub(1),
        Action::Down => st.choice = (st.choice + 1).min(4),
        Action::Back => app.back(),
        Action::Next if st.choice == 1 => {
            // Troubleshooting: straight to the facts and findings.
            app.go(super::Screen::Connectivity);
            return app.probe();
        }
        Action::Next if st.choice == 2 => st.address = Some(Default::default()),
        Action::Next if st.choice == 3 => return app.watch(),
        Action::Next if st.choice == 4 => app.go(super::Screen::Migrate),
        Action::Next => app.go(super::Screen::Nodes),
        _ => {}
    }
    vec![]
}

/// The plan discovered from the access node: it replaces the wizard's plan
/// (unsaved until the operator saves it), then every node is probed.
pub fn discovered(
    app: &mut Shared,
    found: Result<Box<crate::discover::Discovered>, String>,
) -> Vec<Cmd> {
    app.probing = false;
    match found {
        Ok(d) => {
            let d = *d;
            // Another cluster's plan: saved beside the open one, never
            // over it (the open plan file stays as it was).
            app.plan_path = beside(&app.plan_path, &d.plan.access_node.name);
            app.plan = d.plan;
            app.plan_dirty = true;
            app.notes = d.notes;
            app.go(super::Screen::Connectivity);
            let cmds = app.probe();
            app.message = Some(format!(
                "the cluster read from its access node; s saves its plan as {} (the plan you opened is left as it was)",
                app.plan_path.display()
            ));
            cmds
        }
        Err(e) => {
            app.message = Some(format!("discover failed: {e}"));
            vec![]
        }
    }
}

/// A file for a discovered plan beside `open`: `discovered-<access node>.toml`,
/// numbered when that exists.
fn beside(open: &std::path::Path, access_node: &str) -> std::path::PathBuf {
    let dir = open.parent().unwrap_or(std::path::Path::new("."));
    let safe: String = access_node
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    (1..)
        .map(|n| match n {
            1 => dir.join(format!("discovered-{safe}.toml")),
            n => dir.join(format!("discovered-{safe}-{n}.toml")),
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join("discovered.toml"))
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::from(format!(
            "Plan: {} (access node {}, {} data node(s))",
            app.plan_path.display(),
            app.plan.access_node.name,
            app.plan.data_nodes.len()
        )),
        Line::from(""),
    ];
    lines.extend(choice(
        theme,
        st.choice == 0,
        "Set up multi-node",
        "nodes, credentials, connectivity, authentication, preview, execution",
    ));
    lines.extend(choice(
        theme,
        st.choice == 1,
        "Troubleshoot this cluster",
        "probe every node now and show what stands in the way, with the fixes",
    ));
    lines.extend(choice(
        theme,
        st.choice == 2,
        "Troubleshoot a running cluster from its access node",
        "no plan: read the cluster from it, probe every node, show the findings",
    ));
    lines.extend(choice(
        theme,
        st.choice == 3,
        "Watch this cluster",
        "live: nodes, links, chunks per data node, rows/s, what needs attention",
    ));
    lines.extend(choice(
        theme,
        st.choice == 4,
        "Move this cluster off multi-node",
        "multi-node ends at TimescaleDB 2.13: copy it onto one server, verified",
    ));
    if let Some(address) = &st.address {
        lines.push(Line::from(""));
        lines.push(Line::from(
            "The access node (HOST[:PORT], a socket directory or a postgresql:// URI; the password from PGPASSWORD or ~/.pgpass):",
        ));
        let mut line = vec![Span::raw("  ")];
        line.extend(crate::tui::text_field::spans(
            address,
            44,
            Style::default(),
            Some(address.cursor()),
        ));
        lines.push(Line::from(line));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(boxed("What do you want to do?"))
            .wrap(Wrap { trim: false }),
        area,
    );
}
