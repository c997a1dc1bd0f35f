//! Every wizard screen drawn on ratatui's TestBackend at 80x24 and 120x40,
//! and the too-small screen; a typed password appears in no buffer.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tsmn::run::{Event, Outcome};
use tsmn::tui::app::{App, Cmd, Msg, Screen};
use tsmn::tui::msg::MigrateMsg;
use tsmn::tui::view::{draw, Theme};

mod support;
use support::snapshot_settings;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new_with_kind(
        code,
        KeyModifiers::NONE,
        KeyEventKind::Press,
    ))
}

fn plan() -> tsmn::plan::Plan {
    tsmn::plan::parse_plan(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/assets/plan-trust.toml"
        ))
        .unwrap(),
        "plan.toml",
    )
    .unwrap()
}

/// A fact set for the connectivity screen: dn2 refused.
fn facts() -> (tsmn::facts::Facts, Vec<tsmn::findings::Finding>) {
    use tsmn::facts::*;
    let server = |v: &str| ServerFacts {
        version_num: 150005,
        version: v.into(),
        current_user: "postgres".into(),
        superuser: true,
        ..Default::default()
    };
    let node = |name: &str, role, conn, s: Option<ServerFacts>| NodeFacts {
        name: name.into(),
        role,
        address: format!("{name}.example:5432"),
        connection: conn,
        server: s,
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    };
    let facts = Facts {
        nodes: vec![
            node(
                "an",
                NodeRole::Access,
                Connection::Connected { tls: false },
                Some(server("15.5")),
            ),
            node(
                "dn1",
                NodeRole::Data,
                Connection::Connected { tls: true },
                Some(server("15.5")),
            ),
            node(
                "dn2",
                NodeRole::Data,
                Connection::Failed {
                    sqlstate: None,
                    message: "connection refused: Connection refused (os error 111)".into(),
                },
                None,
            ),
        ],
    };
    let findings = tsmn::findings::findings(&plan(), &facts);
    (facts, findings)
}

/// The app on each screen, in a state that shows what the screen is for.
fn at(screen: Screen) -> App {
    let mut a = App::new(plan(), "plan.toml".into());
    let go = |a: &mut App, keys: &[KeyCode]| {
        for k in keys {
            a.update(key(*k));
        }
    };
    match screen {
        Screen::Start => {}
        Screen::Cluster => {
            go(&mut a, &[KeyCode::Down, KeyCode::Down, KeyCode::Down]);
            let cmds = a.update(key(KeyCode::Enter));
            assert!(cmds.iter().any(|c| matches!(c, Cmd::Watch)), "{cmds:?}");
            a.update(Msg::Status(Ok(Box::new(tsmn::status::Snapshot {
                database: "tsdb".into(),
                took_ms: 12.0,
                ..Default::default()
            }))));
        }
        Screen::Migrate => {
            go(
                &mut a,
                &[
                    KeyCode::Down,
                    KeyCode::Down,
                    KeyCode::Down,
                    KeyCode::Down,
                    KeyCode::Enter,
                ],
            );
        }
        Screen::Nodes => go(&mut a, &[KeyCode::Enter]),
        Screen::Credentials => {
            go(&mut a, &[KeyCode::Enter, KeyCode::Enter]);
            for c in "hunter2".chars() {
                a.update(key(KeyCode::Char(c)));
            }
        }
        Screen::Connectivity => {
            go(&mut a, &[KeyCode::Enter, KeyCode::Enter, KeyCode::Enter]);
            let (facts, _) = facts();
            a.update(Msg::Probed {
                findings: tsmn::findings::findings(&a.shared.plan, &facts),
                facts,
                notes: vec![],
                partial: false,
            });
        }
        Screen::Authentication | Screen::Preview | Screen::Execute | Screen::Summary => {
            go(&mut a, &[KeyCode::Enter, KeyCode::Enter, KeyCode::Enter]);
            let (facts, _) = facts();
            a.update(Msg::Probed {
                findings: tsmn::findings::findings(&a.shared.plan, &facts),
                facts,
                notes: vec![],
                partial: false,
            });
            go(&mut a, &[KeyCode::Enter]);
            if screen != Screen::Authentication {
                // The mode's options, then the preview.
                go(&mut a, &[KeyCode::Enter, KeyCode::Enter]);
                let steps =
                    tsmn::steps::build(&a.shared.plan, tsmn::steps::Inputs::default()).unwrap();
                a.update(Msg::Built(Ok(steps.clone())));
                if screen != Screen::Preview {
                    go(&mut a, &[KeyCode::Enter, KeyCode::Char('y')]);
                    for (i, s) in steps.iter().enumerate() {
                        let outcome = match i {
                            0 | 1 => Outcome::Done {
                                detail: "set; reloaded".into(),
                            },
                            2 => Outcome::AlreadyDone {
                                detail: "already".into(),
                            },
                            3 => Outcome::Failed {
                                message: "cannot connect to dn2".into(),
                            },
                            _ => Outcome::Skipped {
                                why: "an earlier step failed".into(),
                            },
                        };
                        a.update(Msg::Run(Event::StepFinished {
                            step: s.id.clone(),
                            node: s.node.clone(),
                            outcome,
                            millis: 12,
                        }));
                    }
                    a.update(Msg::Run(Event::Finished { ok: false }));
                    if screen == Screen::Summary {
                        go(&mut a, &[KeyCode::Enter]);
                    }
                }
            }
        }
    }
    assert_eq!(a.shared.screen, screen);
    a
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app, &Theme { color: true })).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn every_screen_at_80x24_and_120x40() {
    for screen in Screen::ORDER {
        let app = at(screen);
        for (w, h) in [(80, 24), (120, 40)] {
            let name = format!("tui_{}_{w}x{h}", screen.title().to_lowercase());
            let text = render(&app, w, h);
            assert!(!text.contains("hunter2"), "{name} shows the password");
            snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
        }
    }
}

#[test]
fn the_cluster_screen_opens_from_the_start_and_esc_stops_its_refresh() {
    let mut app = at(Screen::Cluster);
    let text = render(&app, 80, 24);
    assert!(text.contains("refresh 1 · every 2 s"), "{text}");
    snapshot_settings().bind(|| insta::assert_snapshot!("tui_cluster_80x24", text));
    // A snapshot that cannot be taken says why, above the last one.
    app.update(Msg::Status(Err("the CA file /x cannot be read".into())));
    assert!(render(&app, 80, 24).contains("cannot read the cluster: the CA file /x"));
    let cmds = app.update(key(KeyCode::Esc));
    assert!(cmds.iter().any(|c| matches!(c, Cmd::StopWatch)), "{cmds:?}");
    assert_eq!(app.shared.screen, Screen::Start);
    // A snapshot that arrives after Esc changes nothing.
    app.update(Msg::Status(Ok(Box::default())));
    assert_eq!(app.shared.screen, Screen::Start);
}

#[test]
fn the_migrate_screen_checks_then_asks_once_then_shows_the_copy() {
    let mut app = at(Screen::Migrate);
    for c in "10.0.0.20".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let cmds = app.update(key(KeyCode::Enter));
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::MigrateCheck { target } if target == "10.0.0.20")),
        "{cmds:?}"
    );
    // Blocked: m does nothing (dimmed), t types another target.
    app.update(Msg::Migrate(MigrateMsg::Checked(Ok((
        "Blocker: x\n".into(),
        true,
    )))));
    assert!(app.update(key(KeyCode::Char('m'))).is_empty());
    assert!(render(&app, 100, 30).contains("Blocked: correct each blocker"));
    app.update(Msg::Migrate(MigrateMsg::Checked(Ok((
        "Nothing blocks the migration.\n".into(),
        false,
    )))));
    app.update(key(KeyCode::Char('o')));
    assert!(render(&app, 100, 30).contains("Role passwords: not copied"));
    app.update(key(KeyCode::Char('p')));
    assert!(render(&app, 100, 30).contains("Role passwords: copied"));
    app.update(key(KeyCode::Char('m')));
    let asked = render(&app, 100, 30);
    assert!(
        asked.contains("Migrate into 10.0.0.20 now (online)? y / n"),
        "{asked}"
    );
    assert!(asked.contains("Mode: online"), "{asked}");
    let cmds = app.update(key(KeyCode::Char('y')));
    assert!(
        cmds.iter().any(
            |c| matches!(c, Cmd::Migrate { choice, .. } if choice.online && choice.role_passwords)
        ),
        "{cmds:?}"
    );
    // Running: Esc does not leave, the lines show as they come.
    app.update(Msg::Migrate(MigrateMsg::Line("copying 6 part(s)".into())));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.shared.screen, Screen::Migrate);
    app.update(Msg::Migrate(MigrateMsg::Finished(Err(
        "the target is full\n    fix: free space".into(),
    ))));
    let text = render(&app, 100, 30);
    assert!(
        text.contains("copying 6 part(s)") && text.contains("error: the target is full"),
        "{text}"
    );
    assert!(text.contains("off multi-node: failed"), "{text}");
    snapshot_settings().bind(|| insta::assert_snapshot!("tui_migrate_failed_100x30", text));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.shared.screen, Screen::Start);
}

#[test]
fn the_node_form_with_an_inline_error() {
    let mut app = at(Screen::Nodes);
    app.update(key(KeyCode::Char('a')));
    app.update(key(KeyCode::Tab));
    for c in "bad..host".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    let text = render(&app, 80, 24);
    assert!(
        text.contains("Add a data node") && text.contains("empty label"),
        "{text}"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("tui_nodes_form_80x24", text));
}

#[test]
fn password_mode_options_mask_the_role_passwords() {
    let mut app = at(Screen::Authentication);
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    for _ in 0..3 {
        app.update(key(KeyCode::Tab));
    }
    for c in "s3cr3t-role-pw".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    let text = render(&app, 120, 40);
    assert!(
        text.contains("password mode: options") && text.contains("password of postgres"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
    // Masked to a fixed width: the length of the password is not shown.
    assert!(text.contains("[••••••••  "), "{text}");
    assert!(!text.contains("•••••••••"), "{text}");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.shared.screen, Screen::Preview);
    assert_eq!(
        app.shared
            .role_passwords
            .get("postgres")
            .map(String::as_str),
        Some("s3cr3t-role-pw")
    );
    assert!(
        !tsmn::plan::plan_to_toml(&app.shared.plan).contains("s3cr3t"),
        "never in the plan"
    );
}

#[test]
fn too_small_terminal() {
    let text = render(&at(Screen::Start), 60, 20);
    assert!(
        text.contains("too small: 60x20") && text.contains("80x24"),
        "{text}"
    );
}

#[test]
fn the_password_is_masked_and_help_lists_the_keys() {
    let mut app = at(Screen::Credentials);
    let text = render(&app, 80, 24);
    assert!(text.contains("Password:  [•••••••"), "{text}");
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Char('?')));
    let text = render(&app, 80, 24);
    assert!(!text.contains("hunter2"));
    assert!(
        text.contains("Keys on the Credentials screen") && text.contains("next field"),
        "{text}"
    );
}

#[test]
fn execution_is_confirmed_with_what_happens_to_restarts() {
    let mut app = at(Screen::Preview);
    app.update(key(KeyCode::Enter));
    let text = render(&app, 80, 24);
    assert!(
        text.contains("Run the steps?") && text.contains("restarted") && text.contains("waits"),
        "{text}"
    );
    // tsmn wizard --restart never: the confirmation says no node restarts.
    app.shared.settings.restart = tsmn::run::RestartPolicy::Never;
    let text = render(&app, 80, 24);
    assert!(
        text.contains("No node is restarted") && text.contains("--restart never"),
        "{text}"
    );
}

#[test]
fn probing_shows_each_node_as_it_finishes() {
    let mut app = at(Screen::Credentials);
    app.update(key(KeyCode::Enter));
    assert!(app.shared.probing);
    for _ in 0..7 {
        app.update(Msg::Tick);
    }
    app.update(Msg::NodeProbed {
        node: "dn1".into(),
        ok: true,
    });
    app.update(Msg::NodeProbed {
        node: "dn2".into(),
        ok: false,
    });
    for _ in 0..5 {
        app.update(Msg::Tick);
    }
    let text = render(&app, 100, 30);
    assert!(
        text.contains("✓ dn1") && text.contains("connected (0.7 s)"),
        "{text}"
    );
    assert!(
        text.contains("✗ dn2") && text.contains("FAILED (0.7 s)"),
        "{text}"
    );
    // On its own row (the header's "plan" and "Authentication" hold "an"
    // too): the access node's row shows its running time and no result.
    let row = text
        .lines()
        .find(|l| l.contains(" an ") && l.contains("10.0.0.10:5432"))
        .unwrap_or_else(|| panic!("the access node's row: {text}"));
    assert!(
        row.contains("1.2 s") && !row.contains('✓') && !row.contains('✗'),
        "the access node is still running: {row}"
    );
}

/// The quit question names what would be lost, and the key that keeps it.
#[test]
fn the_quit_question_says_what_would_be_lost() {
    let mut app = at(Screen::Nodes);
    app.shared.plan_dirty = true;
    app.update(key(KeyCode::Char('q')));
    let text = render(&app, 100, 30);
    assert!(
        text.contains("unsaved changes") && text.contains("s: save and quit"),
        "{text}"
    );
    assert!(!text.contains("running"), "{text}");
    let mut app = at(Screen::Execute);
    app.shared.run.running = true;
    app.update(key(KeyCode::Char('q')));
    let text = render(&app, 100, 30);
    assert!(
        text.contains("Steps are running") && text.contains("stop after the running step"),
        "{text}"
    );
}

/// F2 (generate a password) is offered only where there is one to type.
#[test]
fn trust_mode_offers_no_password_to_generate() {
    let mut app = at(Screen::Authentication);
    app.update(key(KeyCode::Enter)); // trust is the first mode
    let text = render(&app, 120, 40);
    assert!(text.contains("trust mode: options"), "{text}");
    assert!(!text.contains("F2"), "{text}");
}

/// The summary's psql line uses where tsmn itself got in (the sandbox's
/// access node admits only its socket, not 127.0.0.1).
#[test]
fn the_summary_psql_hint_uses_the_connect_host() {
    let mut app = at(Screen::Summary);
    app.shared.plan.access_node.connect_host = Some("/var/lib/tsmn/sandbox/an/data".into());
    app.shared.plan.access_node.connect_port = Some(6001);
    let text = render(&app, 120, 40);
    assert!(
        text.contains("psql -h /var/lib/tsmn/sandbox/an/data -p 6001 -U postgres tsdb"),
        "{text}"
    );
}

/// 64 data nodes on the execute screen: a row per node, a column per
/// phase; at 80x24 the running and the failed node stay in view however
/// far down the plan they are, the rest scroll.
#[test]
fn the_execute_grid_with_64_data_nodes() {
    let mut p = plan();
    let template = p.data_nodes[0].clone();
    p.data_nodes = (1..=64)
        .map(|i| tsmn::plan::Node {
            name: format!("dn{i}"),
            host: format!("10.0.1.{i}"),
            ..template.clone()
        })
        .collect();
    let mut a = App::new(p, "plan.toml".into());
    for k in [KeyCode::Enter, KeyCode::Enter, KeyCode::Enter] {
        a.update(key(k));
    }
    a.update(Msg::Probed {
        findings: vec![],
        facts: tsmn::facts::Facts { nodes: vec![] },
        notes: vec![],
        partial: false,
    });
    for k in [KeyCode::Enter, KeyCode::Enter, KeyCode::Enter] {
        a.update(key(k));
    }
    let steps = tsmn::steps::build(&a.shared.plan, tsmn::steps::Inputs::default()).unwrap();
    a.update(Msg::Built(Ok(steps.clone())));
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Char('y')));
    assert_eq!(a.shared.screen, Screen::Execute);
    for s in steps
        .iter()
        .filter(|s| s.phase == tsmn::steps::Phase::Settings)
    {
        let outcome = if s.node == "dn57" {
            Outcome::Failed {
                message: "cannot connect to dn57".into(),
            }
        } else {
            Outcome::Done {
                detail: "set; reloaded".into(),
            }
        };
        a.update(Msg::Run(Event::StepFinished {
            step: s.id.clone(),
            node: s.node.clone(),
            outcome,
            millis: 12,
        }));
    }
    let running = steps
        .iter()
        .find(|s| s.node == "dn40" && s.phase == tsmn::steps::Phase::Auth)
        .unwrap();
    a.update(Msg::Run(Event::StepStarted {
        step: running.id.clone(),
        node: running.node.clone(),
        title: running.title.clone(),
    }));
    for (w, h) in [(80, 24), (120, 40)] {
        let text = render(&a, w, h);
        assert!(
            text.contains("dn40 ") && text.contains("dn57 ") && text.contains("more node(s)"),
            "{text}"
        );
        let name = format!("tui_execute_64_nodes_{w}x{h}");
        snapshot_settings().bind(|| insta::assert_snapshot!(name, text));
    }
}

/// The preview's hypertables chooser: a data node that joins a running
/// cluster gets the distributed hypertables ticked; Space turns one off,
/// and the plan (saved with the wizard's plan) says so.
#[test]
fn the_hypertables_chooser_writes_the_choice_into_the_plan() {
    use tsmn::facts::*;
    let mut app = at(Screen::Preview);
    let h = |t: &str| DistributedHypertable {
        schema: "public".into(),
        table: t.into(),
        data_nodes: vec!["dn1".into()],
        replication_factor: 1,
    };
    if let Some(server) = app
        .shared
        .facts
        .as_mut()
        .and_then(|f| f.nodes.iter_mut().find(|n| n.name == "an"))
        .and_then(|n| n.server.as_mut())
    {
        server.database = Some(DatabaseFacts {
            name: "tsdb".into(),
            distributed_hypertables: vec![h("metrics"), h("events")],
            ..Default::default()
        });
    }
    app.update(key(KeyCode::Char('h')));
    assert!(app.pages.preview.choosing);
    app.update(key(KeyCode::Down));
    let cmds = app.update(key(KeyCode::Char(' ')));
    assert!(
        matches!(cmds.as_slice(), [tsmn::tui::app::Cmd::Build]),
        "the steps are built again: {cmds:?}"
    );
    let dn2 = app
        .shared
        .plan
        .data_nodes
        .iter()
        .find(|d| d.name == "dn2")
        .unwrap();
    assert_eq!(dn2.hypertables, Some(vec!["public.metrics".to_string()]));
    assert!(app.shared.plan_dirty);
    let text = render(&app, 80, 24);
    assert!(
        text.contains("[x] dn2 <- public.metrics") && text.contains("> [ ] dn2 <- public.events"),
        "{text}"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!("tui_preview_hypertables_80x24", text));
    app.update(key(KeyCode::Enter));
    assert!(!app.pages.preview.choosing);
}

/// The README's one captured screen is the start screen's snapshot as it
/// stands: one fact in one place, kept true by this test.
#[test]
fn the_readme_shows_the_start_screen_as_the_snapshot_has_it() {
    let root = env!("CARGO_MANIFEST_DIR");
    let snap = std::fs::read_to_string(format!("{root}/tests/snapshots/tui_start_80x24.snap"))
        .expect("the snapshot");
    let screen = snap.splitn(3, "---\n").nth(2).expect("the snapshot's body");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    assert!(
        readme.contains(screen.trim_end()),
        "README.md's start screen differs from tests/snapshots/tui_start_80x24.snap: paste the snapshot's body there"
    );
}
