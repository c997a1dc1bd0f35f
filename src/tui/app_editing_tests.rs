//! Editing the plan in the wizard: nodes, the superuser, unsaved changes.

use super::*;
use crate::tui::overlay::Overlay;
use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new_with_kind(
        code,
        KeyModifiers::NONE,
        KeyEventKind::Press,
    ))
}

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        a.update(key(KeyCode::Char(c)));
    }
}

fn at_nodes() -> App {
    let plan = crate::plan::parse_plan("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n", "p").unwrap();
    let mut a = App::new(plan, "plan.toml".into());
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Nodes);
    a
}

#[test]
fn add_a_node_from_a_uri_then_reorder_and_remove() {
    let mut a = at_nodes();
    a.update(key(KeyCode::Char('a')));
    assert!(a.pages.nodes.form.is_some());
    assert_eq!(
        a.pages.nodes.form.as_ref().unwrap().fields[0],
        "dn2",
        "a sensible default name"
    );
    a.update(key(KeyCode::Tab));
    let refused = "postgresql://ops:pw@db2.example.com:6432/tsdb";
    typed(&mut a, refused);
    a.update(key(KeyCode::Enter));
    // A user other than the plan's superuser, and a password: said, not dropped.
    let error = a
        .pages
        .nodes
        .form
        .as_ref()
        .and_then(|f| f.error.clone())
        .unwrap_or_default();
    assert!(
        error.contains("password") && !error.contains("pw@"),
        "{error}"
    );
    for _ in refused.chars() {
        a.update(key(KeyCode::Backspace));
    }
    typed(&mut a, "postgresql://db2.example.com:6432/tsdb");
    a.update(key(KeyCode::Enter));
    assert!(a.pages.nodes.form.is_none(), "{:?}", a.pages.nodes.form);
    let dn2 = &a.shared.plan.data_nodes[1];
    assert_eq!(
        (dn2.host.as_str(), dn2.port),
        ("db2.example.com", 6432),
        "the URI gave host and port"
    );
    assert!(a.shared.plan_dirty);
    let up = Msg::Key(KeyEvent::new_with_kind(
        KeyCode::Up,
        KeyModifiers::SHIFT,
        KeyEventKind::Press,
    ));
    a.update(up);
    assert_eq!(a.shared.plan.data_nodes[0].name, "dn2");
    a.update(key(KeyCode::Char('d')));
    assert_eq!(a.shared.plan.data_nodes.len(), 1);
    a.update(key(KeyCode::Char('d')));
    assert_eq!(
        a.shared.plan.data_nodes.len(),
        1,
        "the last data node stays"
    );
}

#[test]
fn a_bad_node_is_refused_inline_with_its_fix() {
    let mut a = at_nodes();
    a.update(key(KeyCode::Char('a')));
    a.update(key(KeyCode::Tab));
    typed(&mut a, "10.0.0.10");
    a.update(key(KeyCode::Enter));
    let form = a.pages.nodes.form.as_ref().expect("the form stays open");
    let e = form.error.as_deref().unwrap();
    assert!(
        e.contains("cannot also be a data node") && e.contains("fix:"),
        "{e}"
    );
    a.update(key(KeyCode::Esc));
    assert!(
        a.pages.nodes.form.is_none() && a.shared.plan.data_nodes.len() == 1,
        "cancel keeps the plan"
    );
}

#[test]
fn the_superuser_can_be_changed_on_the_credentials_screen() {
    let mut a = at_nodes();
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Tab));
    for _ in 0.."postgres".len() {
        a.update(key(KeyCode::Backspace));
    }
    typed(&mut a, "tsdbadmin");
    let cmds = a.update(key(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [Cmd::Probe { .. }]));
    assert_eq!(a.shared.plan.superuser, "tsdbadmin");
    assert_eq!(
        a.shared.plan.auth.roles,
        ["tsdbadmin"],
        "the role list follows"
    );
    assert!(a.shared.plan_dirty);
}

#[test]
fn quitting_with_an_unsaved_plan_offers_to_save() {
    let mut a = at_nodes();
    a.update(key(KeyCode::Char('a')));
    a.update(key(KeyCode::Tab));
    typed(&mut a, "10.0.0.12");
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Char('q')));
    assert!((a.overlay == Some(Overlay::Quit)) && !a.quit);
    let cmds = a.update(key(KeyCode::Char('s')));
    assert!(matches!(cmds.as_slice(), [Cmd::Save, Cmd::Quit]));
}

/// A plan that does not exist yet: the wizard opens on the access node's
/// form, the data nodes are added, and quitting saves it.
#[test]
fn a_new_plan_starts_with_the_access_node_and_is_saved_on_quit() {
    let mut a = App::new_plan(crate::plan::new_plan(), "new.toml".into());
    assert_eq!(a.shared.screen, Screen::Nodes);
    assert!(
        a.pages.nodes.form.is_some(),
        "the access node's form is open"
    );
    assert!(a.shared.plan_dirty);
    typed(&mut a, "postgresql://10.0.0.10:6432");
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.plan.access_node.host, "10.0.0.10");
    assert_eq!(a.shared.plan.access_node.port, 6432);
    a.update(key(KeyCode::Char('a')));
    a.update(key(KeyCode::Tab));
    typed(&mut a, "10.0.0.11");
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.plan.data_nodes.len(), 1);
    assert!(
        crate::plan::validate(&a.shared.plan).is_empty(),
        "{:?}",
        crate::plan::validate(&a.shared.plan)
    );
    a.update(key(KeyCode::Char('q')));
    assert!((a.overlay == Some(Overlay::Quit)));
    let cmds = a.update(key(KeyCode::Char('s')));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Save, Cmd::Quit]),
        "{cmds:?}"
    );
}

#[test]
fn a_text_field_edits_at_its_cursor() {
    let mut a = at_nodes();
    a.update(key(KeyCode::Char('a')));
    a.update(key(KeyCode::Tab));
    typed(&mut a, "db2.example.com");
    a.update(key(KeyCode::Home));
    typed(&mut a, "x");
    a.update(key(KeyCode::Delete));
    assert_eq!(
        a.pages.nodes.form.as_ref().unwrap().fields[1],
        "xb2.example.com"
    );
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('k'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(a.pages.nodes.form.as_ref().unwrap().fields[1], "x");
    // Focus moves away and back: the cursor is at the field's end again.
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::BackTab));
    typed(&mut a, "y");
    assert_eq!(a.pages.nodes.form.as_ref().unwrap().fields[1], "xy");
    a.update(Msg::Paste("-z\n".into()));
    assert_eq!(a.pages.nodes.form.as_ref().unwrap().fields[1], "xy-z");
}
