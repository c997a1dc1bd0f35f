//! The plan's state folder, beside the plan: `<plan>.tsmn/` holds the run
//! journal, the run lock, migrations' journals and certificate material
//! (private keys: steps::material makes it 0700 and git-ignored).

use std::path::{Path, PathBuf};

/// PURE: `<plan>.tsmn` beside the plan file.
pub fn state_dir(plan_path: &Path) -> PathBuf {
    let mut name = plan_path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tsmn");
    plan_path.with_file_name(name)
}
