//! Both faces over one plan: the CLI and the wizard's tasks go through the
//! same flow, so over the same servers they build the same steps, and both
//! refuse a run that lacks a role password before any step runs.

mod support;

use support::*;
use tsmn::plan::AuthMode;
use tsmn::tui::app::{App, Cmd, Msg};
use tsmn::tui::tasks::Tasks;

/// Drive the wizard's tasks: perform `cmd`, feed every message back into
/// the app, until `done` says the answer is in. The app's own update runs,
/// as in the event loop.
fn drive(
    rt: &tokio::runtime::Runtime,
    app: &mut App,
    tasks: &Tasks,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
    cmd: Cmd,
    done: fn(&Msg) -> bool,
) {
    rt.block_on(async {
        tasks.perform(cmd, &app.shared);
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(60), rx.recv())
                .await
                .expect("the wizard's task answers within 60 s")
                .expect("the channel stays open");
            let last = done(&msg);
            app.update(msg);
            if last {
                break;
            }
        }
    });
}

fn wizard(
    path: &std::path::Path,
) -> (
    tokio::runtime::Runtime,
    App,
    Tasks,
    tokio::sync::mpsc::UnboundedReceiver<Msg>,
) {
    let plan = tsmn::plan::load_plan(path).unwrap();
    let app = App::new(plan, path.to_path_buf());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let tasks = {
        let _guard = rt.enter();
        Tasks::new(&app.shared, tx)
    };
    (rt, app, tasks, rx)
}

/// What the wizard does before its preview: probe every node, then build.
fn probe_and_build(
    rt: &tokio::runtime::Runtime,
    app: &mut App,
    tasks: &Tasks,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
) {
    let probe = Cmd::Probe {
        password: None,
        nodes: vec![],
    };
    drive(rt, app, tasks, rx, probe, |m| {
        matches!(m, Msg::Probed { .. })
    });
    drive(rt, app, tasks, rx, Cmd::Build, |m| {
        matches!(m, Msg::Built(_))
    });
}

#[test]
fn the_cli_and_the_wizard_build_the_same_steps() {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let dn2 = TestCluster::named("dn2");
    let work = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dn1.cluster, &dn2.cluster],
        AuthMode::Certificate,
    );
    let path = write_plan(work.path(), &plan);

    let cli = tsmn()
        .args(["preview", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&cli);
    let cli = String::from_utf8(cli.stdout).unwrap();

    let (rt, mut app, tasks, mut rx) = wizard(&path);
    probe_and_build(&rt, &mut app, &tasks, &mut rx);
    assert!(
        app.pages.preview.build_error.is_none(),
        "{:?}",
        app.pages.preview.build_error
    );
    assert!(app.shared.steps.len() > 5, "{:#?}", app.shared.steps);
    let shown = tsmn::report::preview::render(
        &app.shared.plan,
        app.shared.facts.as_ref(),
        &app.shared.steps,
        None,
        &tsmn::report::preview::Style { color: false },
    );
    // Byte for byte: the same facts, the same certificate material (made
    // once beside the plan, reused by the other face), the same steps.
    assert_eq!(cli, shown);
}

#[test]
fn both_faces_refuse_a_run_without_a_role_password_before_any_step() {
    let an = TestCluster::named("an");
    let dn1 = TestCluster::named("dn1");
    let work = temp_dir();
    let plan = plan_for(&an.cluster, &[&dn1.cluster], AuthMode::Password);
    let path = write_plan(work.path(), &plan);

    let cli = tsmn()
        .args(["apply", "--yes", "--plan"])
        .arg(&path)
        .env_remove("TSMN_ROLE_PW_POSTGRES")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&cli.stderr).to_string();
    assert_eq!(cli.status.code(), Some(2), "{err}");
    assert!(err.contains("no password for role postgres"), "{err}");
    assert!(err.contains("TSMN_ROLE_PW_POSTGRES"), "{err}");

    let (rt, mut app, tasks, mut rx) = wizard(&path);
    probe_and_build(&rt, &mut app, &tasks, &mut rx);
    app.shared.run.step_views =
        vec![tsmn::tui::run_record::StepView::Pending; app.shared.steps.len()];
    app.shared.run.running = true;
    let finished = |m: &Msg| matches!(m, Msg::Run(tsmn::run::Event::Finished { .. }));
    drive(&rt, &mut app, &tasks, &mut rx, Cmd::Execute, finished);
    assert_eq!(app.shared.run.finished, Some(false));
    assert!(
        app.shared
            .run
            .step_views
            .iter()
            .all(|v| *v == tsmn::tui::run_record::StepView::Pending),
        "no step ran: {:?}",
        app.shared.run.step_views
    );
    let log = app.shared.run.log.join("\n");
    assert!(
        log.contains("no password for role postgres") && log.contains("TSMN_ROLE_PW_POSTGRES"),
        "{log}"
    );
    // Nothing changed on the data node.
    assert_eq!(dn1.sql("postgres", "SHOW max_prepared_transactions"), ["0"]);
}
