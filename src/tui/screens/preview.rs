//! Preview: exactly what will run, and the confirmation before it does.

use crate::tui::keys::{b, Action, Binding};
use crate::tui::msg::Cmd;
use crate::tui::shared::Shared;
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

/// The preview's own state: the hypertables chooser.
#[derive(Debug, Default)]
pub struct State {
    pub choosing: bool,
    pub cursor: usize,
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
pub fn on_choose(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
    let list = choices(&app.plan, app.facts.as_ref());
    match action {
        Action::Up => st.cursor = st.cursor.saturating_sub(1),
        Action::Down => st.cursor = (st.cursor + 1).min(list.len().saturating_sub(1)),
        Action::Toggle => {
            toggle(&mut app.plan, &list, st.cursor);
            app.plan_dirty = true;
            app.revalidate();
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

pub fn on_action(st: &mut State, app: &mut Shared, action: Action) -> Vec<Cmd> {
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
        Action::Next if app.confirming => app.execute(),
        Action::Next => {
            if !app.steps.is_empty() {
                app.confirming = true;
            }
            vec![]
        }
        Action::Back if app.confirming => {
            app.confirming = false;
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

pub fn draw(f: &mut Frame, app: &Shared, area: Rect) {
    let text = if let Some(e) = &app.build_error {
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
pub fn draw_chooser(f: &mut Frame, st: &State, app: &Shared, area: Rect) {
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
