//! `tsmn status --watch` in a real pseudo-terminal (tmux): it redraws in
//! place, tests the links between data nodes on the l key, and q quits
//! with exit 0, the last snapshot left on the normal screen.

use super::support::tmux::Tmux;
use super::support::{timescaledb_tier, Running};

#[test]
fn watch_redraws_in_a_terminal_and_q_quits_cleanly() {
    if !timescaledb_tier("status::watch_pty") {
        return;
    }
    let r = Running::applied(&[]);
    let cmd = format!(
        "{} status --plan {} --watch 1; echo tsmn-exited-$?; sleep 60",
        env!("CARGO_BIN_EXE_tsmn"),
        r.path.display()
    );
    let t = Tmux::start(&cmd, 120, 50);
    let first = t.wait_for("snapshot 1, every 1 s");
    assert!(first.contains("3 of 3 node(s) up"), "{first}");
    // Redrawn in place: the same screen, a later snapshot, one header.
    let third = t.wait_for("snapshot 3, every 1 s");
    assert_eq!(third.matches("Cluster tsdb:").count(), 1, "{third}");
    assert!(!third.contains("dn1 -> dn2"), "{third}");
    t.keys(&["l"]);
    let linked = t.wait_for("dn1 -> dn2");
    assert!(linked.contains("dn2 -> dn1"), "{linked}");
    t.keys(&["q"]);
    let after = t.wait_for("tsmn-exited-");
    assert!(after.contains("tsmn-exited-0"), "{after}");
    assert!(after.contains("Cluster tsdb: 3 of 3 node(s) up"), "{after}");
}
