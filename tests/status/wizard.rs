//! The wizard's live Cluster screen in a real pseudo-terminal (tmux), on a
//! cluster set up by `tsmn apply`: reached from the start screen, it
//! refreshes by itself, shows a data node stopped for real, and Esc goes
//! back to where it was opened (the refresh stops with it).

use super::support::tmux::Tmux;
use super::support::{timescaledb_tier, Running};

#[test]
fn the_wizard_watches_the_cluster_live_and_sees_a_node_go_down() {
    if !timescaledb_tier("status::wizard_cluster_screen") {
        return;
    }
    let r = Running::applied(&[]);
    let cmd = format!(
        "{} wizard --plan {}; echo tsmn-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_tsmn"),
        r.path.display()
    );
    let t = Tmux::start(&cmd, 120, 50);
    t.wait_for("Watch this cluster");
    t.keys(&["Down", "Down", "Down", "Enter"]);
    let first = t.wait_for("3 of 3 node(s) up");
    assert!(first.contains("Cluster (live)"), "{first}");
    // It refreshes by itself: a later refresh, still one map on the screen.
    let later = t.wait_for("refresh 3 ·");
    assert_eq!(later.matches("Cluster tsdb:").count(), 1, "{later}");
    r.dn2.cluster.stop(true).expect("stop dn2");
    let down = t.wait_for("2 of 3 node(s) up");
    assert!(down.contains("dn2"), "{down}");
    // Esc: back on the start screen, the choice kept.
    t.keys(&["Escape"]);
    let back = t.wait_for("Set up multi-node");
    assert!(!back.contains("Cluster (live)"), "{back}");
    t.keys(&["q"]);
    let after = t.wait_for("tsmn-exited-");
    assert!(after.contains("tsmn-exited-0"), "{after}");
}
