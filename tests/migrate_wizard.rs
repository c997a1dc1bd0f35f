//! The wizard's path off multi-node (TimescaleDB tier), in a real
//! pseudo-terminal: from the start screen, the target typed, the read-only
//! preflight shown, online chosen, the roles' passwords chosen, one
//! question, the copy's progress and the verified report; the target holds
//! the source's rows and the role's stored password verifier.

mod support;

use support::tmux::Tmux;
use support::{metrics, timescaledb_tier, Running, TestCluster};

fn tally(c: &TestCluster, db: &str) -> String {
    c.sql(
        db,
        "SET TimeZone = 'UTC'; SELECT count(*) || ' ' || coalesce(sum(hashtext(x::text)::int8), 0) FROM metrics x",
    )
    .join("")
}

#[test]
fn the_wizard_moves_the_cluster_off_multi_node() {
    if !timescaledb_tier("migrate_wizard") {
        return;
    }
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-10");
    r.an.sql(
        "postgres",
        "CREATE ROLE reader LOGIN PASSWORD 'wiz-Secret-9'",
    );
    let target = TestCluster::named("target");
    let to = format!(
        "host={} port={} dbname=moved",
        target.cluster.socket_dir().display(),
        target.cluster.port
    );
    let cmd = format!(
        "{} wizard --plan {}; echo tsmn-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_tsmn"),
        r.path.display()
    );
    let t = Tmux::start(&cmd, 160, 60);
    t.wait_for("Move this cluster off multi-node");
    t.keys(&["Down", "Down", "Down", "Down", "Enter"]);
    t.wait_for("The target: one server");
    t.tmux(&["send-keys", "-t", "w", "-l", &to]);
    t.keys(&["Enter"]);
    let checked = t.wait_for("Nothing blocks the migration.");
    assert!(
        checked.contains("hypertable public.metrics (distributed)"),
        "{checked}"
    );
    // Nothing is copied by the preflight.
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'moved'"
        ),
        ["0"]
    );
    t.keys(&["o"]);
    t.wait_for("Mode: online");
    assert!(t
        .wait_for("Role passwords: not copied")
        .contains("p copies"));
    t.keys(&["p"]);
    t.wait_for("Role passwords: copied");
    t.keys(&["m"]);
    t.wait_for("(online)? y / n");
    t.keys(&["y"]);
    let done = t.wait_for("Move this cluster off multi-node: done");
    assert!(done.contains("writes frozen for"), "{done}");
    assert_eq!(tally(&target, "moved"), tally(&r.an, "tsdb"));
    assert!(done.contains("1 password(s) copied"), "{done}");
    assert!(!done.contains("wiz-Secret-9"), "{done}");
    let verifier = "SELECT rolpassword FROM pg_authid WHERE rolname = 'reader'";
    let copied = target.sql("postgres", verifier);
    assert!(copied[0].starts_with("SCRAM-SHA-256$"), "{copied:?}");
    assert_eq!(copied, r.an.sql("postgres", verifier));
    // Back to the start, and out.
    t.keys(&["Escape"]);
    t.wait_for("Set up multi-node");
    t.keys(&["q"]);
    let after = t.wait_for("tsmn-exited-");
    assert!(after.contains("tsmn-exited-0"), "{after}");
}
