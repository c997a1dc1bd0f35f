//! Benchmark (not a test): render time of the connectivity and execute
//! screens with 64 data nodes on ratatui's TestBackend at 120x40, and the
//! in-process time to the first frame. Prints the figures against the
//! targets (2 ms per frame; 100 ms to the first frame). Run with
//! `cargo bench --bench render`.

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::{Duration, Instant};
use tsmn::facts::*;
use tsmn::plan::*;
use tsmn::run::{Event, Outcome};
use tsmn::tui::app::{App, Msg};
use tsmn::tui::view::{draw, Theme};

fn plan(n: usize) -> Plan {
    let node = |i: usize| Node {
        name: format!("dn{i}"),
        host: format!("10.0.{}.{}", i / 200, i % 200 + 1),
        port: 5432,
        connect_host: None,
        connect_port: None,
        dsn: None,
        service: None,
        hypertables: None,
    };
    Plan {
        database: "tsdb".into(),
        superuser: "postgres".into(),
        credentials: Credentials::default(),
        access_node_addresses: vec!["10.9.9.9".into()],
        access_node: Node {
            name: "an".into(),
            host: "10.9.9.9".into(),
            port: 5432,
            connect_host: None,
            connect_port: None,
            dsn: None,
            service: None,
            hypertables: None,
        },
        data_nodes: (1..=n).map(node).collect(),
        auth: Auth::default(),
        adopted: false,
        maintenance: Default::default(),
    }
    .normalized()
}

fn facts(plan: &Plan) -> Facts {
    let server = ServerFacts {
        version_num: 150005,
        version: "15.5".into(),
        current_user: "postgres".into(),
        superuser: true,
        ..Default::default()
    };
    Facts {
        nodes: plan
            .nodes()
            .enumerate()
            .map(|(i, n)| NodeFacts {
                name: n.name.clone(),
                role: if i == 0 {
                    NodeRole::Access
                } else {
                    NodeRole::Data
                },
                address: format!("{}:{}", n.host, n.port),
                connection: Connection::Connected { tls: false },
                server: Some(server.clone()),
                access_probes: AccessProbes::NotApplicable,
                cluster_reach: Vec::new(),
            })
            .collect(),
    }
}

fn per_frame(app: &App, frames: u32) -> Duration {
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let theme = Theme { color: true };
    let start = Instant::now();
    for _ in 0..frames {
        t.draw(|f| draw(f, app, &theme)).unwrap();
    }
    start.elapsed() / frames
}

fn main() {
    let plan = plan(64);
    let key = |c| {
        Msg::Key(crossterm::event::KeyEvent::new(
            c,
            crossterm::event::KeyModifiers::NONE,
        ))
    };
    use crossterm::event::KeyCode::*;

    let start = Instant::now();
    let first = App::new(plan.clone(), "plan.toml".into());
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| draw(f, &first, &Theme { color: true })).unwrap();
    let first_frame = start.elapsed();

    let mut app = App::new(plan.clone(), "plan.toml".into());
    for k in [Enter, Enter, Enter] {
        app.update(key(k));
    }
    let f = facts(&plan);
    app.update(Msg::Probed {
        findings: tsmn::findings::findings(&app.shared.plan, &f),
        facts: f,
        notes: vec![],
        partial: false,
    });
    let connectivity = per_frame(&app, 200);

    // Authentication, its options, then the preview (which asks for the steps).
    for k in [Enter, Enter, Enter] {
        app.update(key(k));
    }
    assert_eq!(app.shared.screen, tsmn::tui::app::Screen::Preview);
    let steps = tsmn::steps::build(&app.shared.plan, tsmn::steps::Inputs::default()).unwrap();
    app.update(Msg::Built(Ok(steps.clone())));
    app.update(key(Enter));
    app.update(key(Char('y')));
    // Timed on the execute screen itself, with its steps, or not at all.
    assert_eq!(
        app.shared.screen,
        tsmn::tui::app::Screen::Execute,
        "not on the execute screen"
    );
    assert_eq!(app.shared.steps.len(), steps.len());
    for s in steps.iter().take(steps.len() / 2) {
        app.update(Msg::Run(Event::StepFinished {
            step: s.id.clone(),
            node: s.node.clone(),
            outcome: Outcome::Done {
                detail: "ok".into(),
            },
            millis: 3,
        }));
    }
    let execute = per_frame(&app, 200);

    let verdict = |ms: f64, target: f64| if ms <= target { "met" } else { "NOT MET" };
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "first frame (in process, 64 data nodes): {:.2} ms (target <= 100 ms: {})",
        ms(first_frame),
        verdict(ms(first_frame), 100.0)
    );
    println!(
        "connectivity screen, 64 data nodes: {:.3} ms per frame (target <= 2 ms: {})",
        ms(connectivity),
        verdict(ms(connectivity), 2.0)
    );
    println!(
        "execute screen, {} steps: {:.3} ms per frame (target <= 2 ms: {})",
        steps.len(),
        ms(execute),
        verdict(ms(execute), 2.0)
    );
}
