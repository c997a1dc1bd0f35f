//! The wizard as a state machine: keys in, screens and commands out.

use super::*;
use crate::plan::AuthMode;
use crate::run::Event;
use crate::tui::overlay::Overlay;
use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

fn plan() -> Plan {
    crate::plan::parse_plan("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n", "p").unwrap()
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new_with_kind(
        code,
        KeyModifiers::NONE,
        KeyEventKind::Press,
    ))
}

fn app() -> App {
    App::new(plan(), "plan.toml".into())
}

#[test]
fn forward_through_the_screens() {
    let mut a = app();
    assert!(a.update(key(KeyCode::Enter)).is_empty());
    assert_eq!(a.shared.screen, Screen::Nodes);
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Credentials);
    let cmds = a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Connectivity);
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::Probe { password: None, .. }]
    ));
    assert!(a.shared.busy());
    // Enter waits while probing.
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Connectivity);
    a.update(Msg::Probed {
        findings: vec![],
        facts: crate::facts::Facts::default(),
        notes: vec![],
        partial: false,
    });
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Authentication);
    a.update(key(KeyCode::Down));
    assert!(a.update(key(KeyCode::Enter)).is_empty());
    assert!(
        std::ptr::eq(
            a.page().keys().0,
            crate::tui::screens::authentication::AUTH_SECRET_FORM
        ),
        "the mode's options come first (password mode: F2 generates a password)"
    );
    let cmds = a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Preview);
    assert_eq!(
        a.shared.plan.auth.mode,
        AuthMode::Password,
        "the choice changes the plan"
    );
    assert!(a.shared.plan.auth.password.is_some(), "with its defaults");
    assert!(matches!(cmds.as_slice(), [Cmd::Build]));
    let steps = crate::steps::build(&a.shared.plan, crate::steps::Inputs::default()).unwrap();
    a.update(Msg::Built(Ok(steps)));
    a.update(key(KeyCode::Enter));
    assert!(a.pages.preview.confirming, "execution asks first");
    let cmds = a.update(key(KeyCode::Char('y')));
    assert_eq!(a.shared.screen, Screen::Execute);
    assert!(matches!(cmds.as_slice(), [Cmd::Execute]));
    a.update(Msg::Run(Event::Finished { ok: true }));
    a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Summary);
}

#[test]
fn troubleshooting_goes_straight_to_the_probe() {
    let mut a = app();
    a.update(key(KeyCode::Down));
    let cmds = a.update(key(KeyCode::Enter));
    assert_eq!(a.shared.screen, Screen::Connectivity);
    assert!(matches!(cmds.as_slice(), [Cmd::Probe { .. }]));
}

#[test]
fn the_password_field_takes_q_and_quit_asks_while_busy() {
    let mut a = app();
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Enter));
    for c in "quit?".chars() {
        a.update(key(KeyCode::Char(c)));
    }
    assert_eq!(
        a.shared.password, "quit?",
        "typed characters are text while the field has focus"
    );
    assert!(!a.quit && !(a.overlay == Some(Overlay::Help)));
    a.update(key(KeyCode::Backspace));
    assert_eq!(a.shared.password, "quit");
    a.update(key(KeyCode::Tab));
    let cmds = a.update(key(KeyCode::Enter));
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::Probe {
            password: Some(_),
            ..
        }]
    ));
    a.update(key(KeyCode::Char('q')));
    assert!(
        (a.overlay == Some(Overlay::Quit)) && !a.quit,
        "quitting while work runs asks first"
    );
    a.update(key(KeyCode::Char('n')));
    assert!(!(a.overlay == Some(Overlay::Quit)) && !a.quit);
    let cc = Msg::Key(KeyEvent::new_with_kind(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
        KeyEventKind::Press,
    ));
    assert!(matches!(a.update(cc).as_slice(), [Cmd::Quit]));
    assert!(a.quit, "Ctrl-C always quits");
}

#[test]
fn back_keeps_what_was_entered_and_help_opens_and_closes() {
    let mut a = app();
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Char('x')));
    a.update(key(KeyCode::Esc));
    assert_eq!(a.shared.screen, Screen::Nodes);
    a.update(key(KeyCode::Enter));
    assert_eq!(
        a.shared.password, "x",
        "back and forward keep what was entered"
    );
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Char('?')));
    assert!(
        !(a.overlay == Some(Overlay::Help)) && a.pages.credentials.superuser_edit == "postgres?",
        "the superuser field takes text"
    );
    a.update(key(KeyCode::Backspace));
    a.update(key(KeyCode::Tab));
    a.update(key(KeyCode::Char('?')));
    assert!((a.overlay == Some(Overlay::Help)));
    a.update(key(KeyCode::Esc));
    assert!(!(a.overlay == Some(Overlay::Help)) && a.shared.screen == Screen::Credentials);
    a.update(key(KeyCode::F(1)));
    assert!((a.overlay == Some(Overlay::Help)));
}

#[test]
fn every_binding_in_the_table_dispatches() {
    let a = app();
    for screen in Screen::ORDER {
        let page = a.pages.page(screen);
        for b in crate::tui::screens::bindings(page).chain(crate::tui::keys::GLOBAL.iter()) {
            let k = KeyEvent::new_with_kind(b.key, b.mods, KeyEventKind::Press);
            assert_eq!(
                crate::tui::keys::lookup(crate::tui::screens::bindings(page), false, &k),
                Some(b.action),
                "{screen:?} {}",
                b.label
            );
        }
    }
}

/// Quitting while a run goes uses the CLI's first-interrupt path: the run
/// is cancelled after its running step, and the wizard quits when the run
/// reports it finished; a second Ctrl-C quits at once.
#[test]
fn quitting_while_steps_run_stops_after_the_running_step() {
    let cc = || {
        Msg::Key(KeyEvent::new_with_kind(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
            KeyEventKind::Press,
        ))
    };
    let mut a = app();
    a.shared.run.running = true;
    a.update(key(KeyCode::Char('q')));
    assert!((a.overlay == Some(Overlay::Quit)) && !a.quit, "asks first");
    let cmds = a.update(key(KeyCode::Char('y')));
    assert!(matches!(cmds.as_slice(), [Cmd::Cancel]), "{cmds:?}");
    assert!(!a.quit && a.quit_when_idle, "waits for the running step");
    a.update(Msg::Run(crate::run::Event::Finished { ok: false }));
    assert!(a.quit, "quits once the run has stopped");

    let mut a = app();
    a.shared.run.running = true;
    assert!(matches!(a.update(cc()).as_slice(), [Cmd::Cancel]));
    assert!(!a.quit, "the first Ctrl-C lets the running step finish");
    assert!(matches!(a.update(Msg::Interrupt).as_slice(), [Cmd::Quit]));
    assert!(a.quit, "a second interrupt (here SIGTERM) quits at once");
}

/// Troubleshooting from an access node alone: the address is typed on the
/// start screen, discover runs, its plan replaces the wizard's (unsaved)
/// and every node is probed; a failure is said, nothing replaced.
#[test]
fn troubleshooting_from_an_access_node_discovers_then_probes() {
    let mut a = app();
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Enter));
    assert!(std::ptr::eq(
        a.page().keys().0,
        crate::tui::screens::start::ADDRESS_FORM
    ));
    for c in "10.0.0.10:6432".chars() {
        a.update(key(KeyCode::Char(c)));
    }
    let cmds = a.update(key(KeyCode::Enter));
    assert!(
        matches!(cmds.as_slice(), [Cmd::Discover { address }] if address == "10.0.0.10:6432"),
        "{cmds:?}"
    );
    let before = a.shared.plan.clone();
    a.update(Msg::Discovered(Err(
        "no database on 10.0.0.10:6432 has data nodes".into(),
    )));
    assert_eq!(a.shared.plan, before, "nothing replaced");
    assert!(a
        .shared
        .message
        .as_deref()
        .unwrap_or("")
        .contains("discover failed: no database"));

    let mut found = crate::plan::new_plan();
    found.access_node.host = "10.0.0.10".into();
    found.adopted = true;
    let cmds = a.update(Msg::Discovered(Ok(Box::new(crate::discover::Discovered {
        plan: found.clone(),
        notes: vec![],
    }))));
    assert_eq!(a.shared.plan, found);
    assert!(a.shared.plan_dirty, "the discovered plan is unsaved");
    assert_eq!(a.shared.screen, Screen::Connectivity);
    assert!(matches!(cmds.as_slice(), [Cmd::Probe { .. }]), "{cmds:?}");
    // Saved beside the plan that was open, never over it.
    let opened = std::path::PathBuf::from("plan.toml");
    assert_ne!(a.shared.plan_path, opened);
    assert!(
        a.shared.plan_path.ends_with("discovered-an.toml"),
        "{}",
        a.shared.plan_path.display()
    );
}
