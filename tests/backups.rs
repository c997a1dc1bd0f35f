//! A backup is never written over: a file written twice in one run (the
//! passfile, before and after a data node is removed), or by two runs in
//! the same second (apply, then undo), keeps every earlier content.

mod support;

use support::*;

#[test]
fn a_second_write_in_the_same_second_keeps_the_first_backup() {
    let node = TestCluster::named("dn1");
    let path = node.cluster.data_dir().join("tsmn-backup-test");
    let p = path.display().to_string();
    let (rt, client) = support::session(&node.cluster, "postgres").expect("a session");
    rt.block_on(async {
        for content in ["first\n", "second\n", "third\n"] {
            tsmn::run::files::write(
                &client,
                &p,
                0o600,
                content.as_bytes(),
                false,
                "20261201000000",
            )
            .await
            .unwrap();
        }
    });
    assert_eq!(read(&path), "third\n");
    assert_eq!(
        read(std::path::Path::new(&format!(
            "{p}.tsmn-20261201000000.bak"
        ))),
        "first\n"
    );
    assert_eq!(
        read(std::path::Path::new(&format!(
            "{p}.tsmn-20261201000000-2.bak"
        ))),
        "second\n"
    );
}
