//! Saving a plan the way the wizard does: in place, comments and layout
//! kept, atomically, with the previous version beside it; and on a full
//! disk (a small tmpfs this test mounts) nothing is lost or half written.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::*;
use tsmn::plan::save::{backup_path, save};

fn comments(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains('#')).collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("tsmn-tmp"))
        .collect()
}

#[test]
fn the_example_plan_keeps_every_comment_and_its_previous_version() {
    let dir = temp_dir();
    let path = copy_asset(dir.path(), "plan-trust.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let original = read(&path);
    let mut plan = tsmn::plan::load_plan(&path).expect("the example plan loads");
    plan.data_nodes[0].port = 6543;
    plan.access_node_addresses = vec!["10.0.0.99".into()];
    save(&path, &plan, &tsmn::plan::system::System).expect("save");

    let saved = read(&path);
    assert_eq!(comments(&saved), comments(&original), "{saved}");
    assert!(saved.contains("port = 6543"), "{saved}");
    assert!(
        saved.contains("access_node_addresses = [\"10.0.0.99\"]"),
        "{saved}"
    );
    assert_eq!(tsmn::plan::load_plan(&path).expect("reads back"), plan);
    assert_eq!(read(&backup_path(&path)), original, "the previous version");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o640,
        "the plan keeps its mode"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

/// A tmpfs of 64 KiB, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tsmn-test"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    /// Fill what is left, so the next write fails with ENOSPC.
    fn fill(&self) {
        let filler = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut f, &block).is_ok() {}
        let _ = f.sync_all();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn on_a_full_disk_the_plan_is_left_whole_and_the_error_names_file_and_cause() {
    let Some(disk) = SmallDisk::mount() else {
        skipped(
            "on_a_full_disk_the_plan_is_left_whole_and_the_error_names_file_and_cause",
            "cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)",
        );
        return;
    };
    let path = copy_asset(disk.dir.path(), "plan-trust.toml");
    let original = read(&path);
    let mut plan = tsmn::plan::load_plan(&path).expect("the example plan loads");
    plan.data_nodes[0].port = 6543;
    disk.fill();

    let err = save(&path, &plan, &tsmn::plan::system::System).expect_err("no space left");
    assert!(err.contains("No space left on device"), "the cause: {err}");
    assert!(err.contains(&*path.to_string_lossy()), "the file: {err}");
    assert!(err.contains("the file is unchanged"), "{err}");
    assert_eq!(read(&path), original, "nothing lost");
    assert!(
        leftovers(disk.dir.path()).is_empty(),
        "nothing half written: {:?}",
        leftovers(disk.dir.path())
    );
}
