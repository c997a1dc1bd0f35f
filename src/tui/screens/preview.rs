//! Preview: exactly what will run, and the confirmation before it does.

use super::{Keys, Page};
use crate::tui::keys::{b, Action, Binding, NONE, SCROLL};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
use crate::tui::theme::Theme;
use crate::tui::widgets::boxed;
use crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub static KEYS: &[Binding] = &[
    b(KeyCode::Enter, "Enter", Action::Next, "execute", true),
    b(KeyCode::Char('e'), "e", Action::Export, "export", true),
    b(KeyCode::Char('h'), "h", Action::Choose, "hypertables", true),
    b(KeyCode::Esc, "Esc", Action::Back, "back", true),
];
/// The hypertables chooser over the preview.
pub static CHOOSE: &[Binding] = &[
    b(KeyCode::Up, "↑", Action::Up, "select", true),
    b(KeyCode::Down, "↓", Action::Down, "select", false),
    b(
        KeyCode::Char(' '),
        "Space",
        Action::Toggle,
        "attach or not",
        true,
    ),
    b(KeyCode::Enter, "Enter", Action::Back, "done", true),
    b(KeyCode::Esc, "Esc", Action::Back, "done", false),
];

/// The preview's own state: why the steps could not be built, the
/// confirmation before the run, and the hypertables chooser.
#[derive(Debug, Default)]
pub struct State {
    pub build_error: Option<String>,
    /// The confirmation over the preview is open.
    pub confirming: bool,
    pub choosing: bool,
    pub cursor: usize,
}

impl Page for State {
    fn keys(&self) -> Keys {
        if self.confirming {
            (CONFIRM, NONE)
        } else if self.choosing {
            (CHOOSE, NONE)
        } else {
            (KEYS, SCROLL)
        }
    }
    fn enabled(&self, sh: &Shared, action: Action) -> bool {
        action != Action::Next || self.confirming || !sh.steps.is_empty()
    }
    fn on_action(&mut self, sh: &mut Shared, action: Action) -> Vec<Cmd> {
        if self.choosing {
            on_choose(self, sh, action)
        } else {
            on_action(self, sh, action)
        }
    }
    fn draw(&self, f: &mut Frame, sh: &Shared, area: Rect, _theme: &Theme) {
        draw(f, self, sh, area)
    }
    fn draw_over(&self, f: &mut Frame, sh: &Shared, area: Rect, _theme: &Theme) {
        if self.choosing {
            draw_chooser(f, self, sh, area);
        }
        if self.confirming {
            crate::tui::widgets::popup(
                f,
                area,
                "Run the steps?",
                confirm_text(sh.settings.restart),
            );
        }
    }
}

/// The confirmation says what happens to restarts under --restart.
fn confirm_text(restart: crate::run::RestartPolicy) -> &'static str {
    match restart {
        crate::run::RestartPolicy::Never => "tsmn will change the nodes as previewed. Files are backed up first;\npg_hba.conf is checked before each reload. No node is restarted\n(--restart never): a node that needs it stops the run at the restart\ngate, which names it and says how.\n\ny: run   Esc: not now",
        _ => "tsmn will change the nodes as previewed. Files are backed up first;\npg_hba.conf is checked before each reload. Nodes on this host that\nneed it are restarted; for the others tsmn says how and waits.\n\ny: run   Esc: not now",
    }
}

/// One choice: a data node of the plan that joins a running cluster, and
/// a distributed hypertable it does not hold a share of yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Index in `plan.data_nodes`.
    pub node: usize,
    /// `schema.table`.
    pub hypertable: String,
    pub chosen: bool,
}

/// PURE: the choices the facts offer (none before the probe, or on a
/// cluster without distributed hypertables).
pub fn choices(plan: &crate::plan::Plan, facts: Option<&crate::facts::Facts>) -> Vec<Choice> {
    let Some(db) = facts
        .and_then(|f| f.node(&plan.access_node.name))
        .and_then(|n| n.server.as_ref())
        .and_then(|s| s.database.as_ref())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, dn) in plan.data_nodes.iter().enumerate() {
        for h in db
            .distributed_hypertables
            .iter()
            .filter(|h| !h.data_nodes.contains(&dn.name))
        {
            let name = format!("{}.{}", h.schema, h.table);
            let chosen = dn.hypertables.as_ref().is_none_or(|l| l.contains(&name));
            out.push(Choice {
                node: i,
                hypertable: name,
                chosen,
            });
        }
    }
    out
}

/// PURE: choice `i` turned over, written into the plan: the node's
/// `hypertables` lists its chosen ones, or is left out when it gets all.
pub fn toggle(plan: &mut crate::plan::Plan, choices: &[Choice], i: usize) {
    let Some(c) = choices.get(i) else {
        return;
    };
    let mine: Vec<&Choice> = choices.iter().filter(|x| x.node == c.node).collect();
    let chosen: Vec<String> = mine
        .iter()
        .filter(|x| (x.hypertable == c.hypertable) != x.chosen)
        .map(|x| x.hypertable.clone())
        .collect();
    plan.data_nodes[c.node].hypertables = (chosen.len() != mine.len()).then_some(chosen);
}

/// Keys while the chooser is open.
fn on_choose(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    let list = choices(&app.plan, app.facts.as_ref());
    match action {
        Action::Up => st.cursor = st.cursor.saturating_sub(1),
        Action::Down => st.cursor = (st.cursor + 1).min(list.len().saturating_sub(1)),
        Action::Toggle => {
            toggle(&mut app.plan, &list, st.cursor);
            app.plan_dirty = true;
            return vec![Cmd::Build];
        }
        Action::Back => st.choosing = false,
        _ => {}
    }
    vec![]
}
/// The confirmation popup over the preview.
pub static CONFIRM: &[Binding] = &[
    b(
        KeyCode::Char('y'),
        "y",
        Action::Next,
        "yes, run the steps",
        true,
    ),
    b(KeyCode::Esc, "Esc", Action::Back, "no", true),
    b(KeyCode::Char('n'), "n", Action::Back, "no", false),
];

fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    match action {
        Action::Choose => {
            if choices(&app.plan, app.facts.as_ref()).is_empty() {
                app.message = Some("no data node of the plan joins a distributed hypertable: h chooses them for a data node added to a running cluster".into());
            } else {
                st.choosing = true;
                st.cursor = 0;
            }
            vec![]
        }
        Action::Next if st.confirming => {
            st.confirming = false;
            app.execute()
        }
        Action::Next => {
            if !app.steps.is_empty() {
                st.confirming = true;
            }
            vec![]
        }
        Action::Back if st.confirming => {
            st.confirming = false;
            vec![]
        }
        Action::Back => {
            app.back();
            vec![]
        }
        Action::Export => vec![Cmd::Export],
        a => {
            super::scroll(app, a);
            vec![]
        }
    }
}

fn draw(f: &mut Frame, st: &State, app: &Shared, area: Rect) {
    let text = if let Some(e) = &st.build_error {
        format!("The steps could not be built:\n{e}")
    } else if app.steps.is_empty() {
        "Building the steps ...".to_string()
    } else {
        crate::report::preview::render(
            &app.plan,
            app.facts.as_ref(),
            &app.steps,
            None,
            &crate::report::preview::Style { color: false },
        )
    };
    f.render_widget(
        Paragraph::new(text)
            .block(boxed("Preview: exactly what will run"))
            .scroll((app.scroll, 0)),
        area,
    );
}

/// The chooser, over the preview.
fn draw_chooser(f: &mut Frame, st: &State, app: &Shared, area: Rect) {
    let list = choices(&app.plan, app.facts.as_ref());
    let mut text = String::from("Which distributed hypertables does each joining data node get a share of? New chunks of a hypertable land on it only when attached.\n\n");
    for (i, c) in list.iter().enumerate() {
        text.push_str(&format!(
            "{} [{}] {} <- {}\n",
            if i == st.cursor { ">" } else { " " },
            if c.chosen { "x" } else { " " },
            app.plan.data_nodes[c.node].name,
            c.hypertable
        ));
    }
    let height = u16::try_from(list.len())
        .unwrap_or(u16::MAX)
        .saturating_add(6);
    let r = crate::tui::widgets::centered(
        area,
        72.min(area.width.saturating_sub(4)),
        height.min(area.height.saturating_sub(2)),
    );
    crate::tui::widgets::clear_for(f, area, r);
    f.render_widget(
        Paragraph::new(text)
            .block(boxed("Attach to distributed hypertables"))
            .wrap(ratatui::widgets::Wrap { trim: false }),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::*;

    #[test]
    fn a_choice_turned_over_lands_in_the_plan() {
        let mut plan = crate::plan::parse_plan(
            "[access_node]\nname = \"an\"\nhost = \"a\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"b\"\n[[data_nodes]]\nname = \"dn2\"\nhost = \"c\"\n",
            "p",
        )
        .unwrap();
        let h = |t: &str| DistributedHypertable {
            schema: "public".into(),
            table: t.into(),
            data_nodes: vec!["dn1".into()],
            replication_factor: 1,
        };
        let db = DatabaseFacts {
            distributed_hypertables: vec![h("metrics"), h("events")],
            ..Default::default()
        };
        let facts = Facts {
            nodes: vec![NodeFacts {
                name: "an".into(),
                role: NodeRole::Access,
                address: "a".into(),
                connection: Connection::Connected { tls: false },
                server: Some(ServerFacts {
                    database: Some(db),
                    ..Default::default()
                }),
                access_probes: AccessProbes::NotApplicable,
                cluster_reach: vec![],
            }],
        };
        let list = choices(&plan, Some(&facts));
        assert_eq!(list.len(), 2, "dn2 joins both; dn1 holds both: {list:?}");
        assert!(list.iter().all(|c| c.node == 1 && c.chosen));
        toggle(&mut plan, &list, 1);
        assert_eq!(
            plan.data_nodes[1].hypertables,
            Some(vec!["public.metrics".to_string()])
        );
        let list = choices(&plan, Some(&facts));
        assert!(!list[1].chosen);
        toggle(&mut plan, &list, 1);
        assert_eq!(plan.data_nodes[1].hypertables, None, "all again: left out");
        assert!(choices(&plan, None).is_empty());
    }
}
