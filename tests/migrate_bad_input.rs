//! `tsmn migrate` refuses bad input before it copies anything, each time
//! naming the thing, the cause and the fix (TimescaleDB tier), beyond
//! tests/migrate.rs's access node database, name collision and server
//! without timescaledb preloaded: a data node's database (a multi-node
//! member too), a server without TimescaleDB installed at all (a copy of
//! this machine's PostgreSQL without its TimescaleDB files), a target
//! on a small filesystem (a tmpfs this test mounts, as root), a data node
//! down before the run, and a name collision whose table keeps its rows.
//! A data node that goes down in the middle of the copy stops the run
//! with its name and a fix, every table holding exactly the rows its
//! recorded parts hold; once it is back, the same command finishes.

mod support;

use std::path::Path;
use std::time::Duration;
use support::migrate::{
    chunks_by_table, migrate, nothing_half_copied, poll, tally, to, tsmn_waiting, Holder, Run,
};
use support::{metrics, server_user, skipped, timescaledb_tier, Running, TestCluster};

const TABLES: [&str; 3] = ["metrics", "readings", "notes"];

fn source() -> Running {
    let r = Running::applied(&[]);
    metrics(&r.an, "2024-01-01", "2024-01-31");
    for s in [
        "CREATE TABLE readings (ts timestamptz NOT NULL, sensor text, v numeric)",
        "SELECT create_distributed_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '7 days')",
        "INSERT INTO readings SELECT '2024-01-01'::timestamptz + i * INTERVAL '5 minutes', 's' || (i % 5), i / 7.0 FROM generate_series(1, 12000) i",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 50) i",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

fn databases(c: &TestCluster) -> Vec<String> {
    c.sql(
        "postgres",
        "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1",
    )
}

/// Refused: exit 1, the blocker's words and a fix, "nothing was copied".
fn refused(out: &str, code: Option<i32>, says: &str) {
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(says), "{says}: {out}");
    let blocker = out
        .lines()
        .position(|l| l.contains(says))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        out.lines()
            .nth(blocker + 1)
            .is_some_and(|l| l.trim_start().starts_with("fix: ")),
        "a fix under the blocker: {out}"
    );
    assert!(out.contains("nothing was copied"), "{out}");
    eprintln!(
        "{}",
        out.lines()
            .skip(blocker)
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn refuses_bad_input_before_copying_and_resumes_after_a_data_node_returns() {
    if !timescaledb_tier("refuses_bad_input_before_copying_and_resumes_after_a_data_node_returns") {
        return;
    }
    let r = source();
    let before: Vec<String> = TABLES.iter().map(|t| tally(&r.an, "tsdb", t)).collect();

    // A data node's database: it has a dist_uuid too.
    let (code, out) = migrate(&r.path, &to(&r.dn1, "tsdb"), &["--yes"]);
    refused(
        &out,
        code,
        "is part of a multi-node installation (dist_uuid",
    );
    assert_eq!(
        r.dn1
            .sql("tsdb", "SELECT to_regclass('tsmn_migrate.done') IS NULL"),
        ["t"]
    );

    // A name collision: the table there keeps its own rows.
    let target = TestCluster::named("target");
    target.sql("postgres", "CREATE DATABASE taken");
    target.sql("taken", "CREATE EXTENSION timescaledb");
    target.sql(
        "taken",
        "CREATE TABLE notes (x int); INSERT INTO notes VALUES (1), (2), (3)",
    );
    let (code, out) = migrate(&r.path, &to(&target, "taken"), &["--yes"]);
    refused(
        &out,
        code,
        "already has tables, views, sequences or types of the same names: \"public\".\"notes\"",
    );
    assert_eq!(
        target.sql(
            "taken",
            "SELECT string_agg(x::text, ',' ORDER BY x) FROM notes"
        ),
        ["1,2,3"]
    );
    assert_eq!(
        target.sql(
            "taken",
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        ["1"]
    );

    // A type and a view of the same names as the source's (the restore
    // would fail half way on them): refused before anything is copied.
    r.an.sql("tsdb", "CREATE TYPE mood AS ENUM ('calm', 'busy')");
    r.an.sql("tsdb", "CREATE VIEW notes_seen AS SELECT 1 AS one");
    target.sql("postgres", "CREATE DATABASE typed");
    target.sql("typed", "CREATE EXTENSION timescaledb");
    target.sql("typed", "CREATE TYPE mood AS ENUM ('x')");
    target.sql("typed", "CREATE VIEW notes_seen AS SELECT 2 AS two");
    let (code, out) = migrate(&r.path, &to(&target, "typed"), &["--yes"]);
    refused(&out, code, "public.notes_seen, type public.mood");
    assert_eq!(
        target.sql("typed", "SELECT to_regnamespace('tsmn_migrate') IS NULL"),
        ["t"],
        "nothing of the migration on the target"
    );
    r.an.sql("tsdb", "DROP VIEW notes_seen; DROP TYPE mood");

    without_timescaledb(&r);
    lacking_space(&r);
    data_node_down(&r, &target, &before);
}

/// A server whose PostgreSQL has no TimescaleDB at all: this machine's
/// PostgreSQL copied without its TimescaleDB files (PostgreSQL finds its
/// share and library directories relative to its programs).
fn without_timescaledb(r: &Running) {
    let tree = support::temp_dir();
    let bin = support::pg_bin();
    let (Some(share), Some(lib)) = (
        Some(bin.sharedir()),
        bin.bindir.parent().map(|p| p.join("lib")),
    ) else {
        return;
    };
    // /usr/lib/postgresql/15/bin and /usr/share/postgresql/15, or any
    // layout: each copied to the same path under the tree.
    let mut dirs = vec![bin.bindir.clone(), share.clone()];
    if lib.is_dir() {
        dirs.push(lib.clone());
    }
    for d in &dirs {
        let to = tree.path().join(d.strip_prefix("/").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        let ok = std::process::Command::new("cp")
            .arg("-a")
            .arg(d)
            .arg(&to)
            .status()
            .unwrap()
            .success();
        assert!(ok, "cp -a {}", d.display());
    }
    let rm = |p: &Path| {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with("timescaledb") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    };
    rm(&tree
        .path()
        .join(share.strip_prefix("/").unwrap())
        .join("extension"));
    rm(&tree.path().join(lib.strip_prefix("/").unwrap()));
    let bare_bin =
        tsmn::sandbox::PgBin::at(&tree.path().join(bin.bindir.strip_prefix("/").unwrap()))
            .expect("the copied programs");
    assert!(
        !bare_bin.has_extension("timescaledb"),
        "{:?}",
        bare_bin.sharedir()
    );
    let bare = TestCluster::start_with(
        tsmn::sandbox::ClusterSpec {
            name: "bare".into(),
            ..Default::default()
        },
        &bare_bin,
        None,
    );
    assert_eq!(
        bare.sql(
            "postgres",
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
        ),
        ["0"]
    );
    let (code, out) = migrate(&r.path, &to(&bare, "single"), &["--yes"]);
    refused(
        &out,
        code,
        "has no TimescaleDB available (pg_available_extensions lacks timescaledb)",
    );
    assert!(
        out.contains("install TimescaleDB 2.13.1 (or later)"),
        "{out}"
    );
    assert!(!databases(&bare).contains(&"single".to_string()));
}

/// A target whose data directory is on a filesystem with less room than
/// the source's data (a tmpfs of the server's size plus 4 MB).
fn lacking_space(r: &Running) {
    if tsmn::os::euid() != 0 {
        skipped(
            "refuses_bad_input_before_copying_and_resumes_after_a_data_node_returns (lacking space)",
            "needs root, to mount a tmpfs",
        );
        return;
    }
    let template = tsmn::sandbox::template::ensure_template(support::pg_bin(), server_user())
        .expect("template");
    let du = std::process::Command::new("du")
        .args(["-sk"])
        .arg(&template)
        .output()
        .unwrap();
    let kb: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let disk = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={}k,mode=0755", kb + 4096),
            "tsmn-small",
        ])
        .arg(disk.path())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        skipped(
            "refuses_bad_input_before_copying_and_resumes_after_a_data_node_returns (lacking space)",
            "cannot mount a tmpfs here",
        );
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(disk.path());
    let small = TestCluster::start_with(
        tsmn::sandbox::ClusterSpec {
            name: "small".into(),
            ..Default::default()
        },
        support::pg_bin(),
        Some(disk.path()),
    );
    let (code, out) = migrate(&r.path, &to(&small, "single"), &["--yes"]);
    refused(&out, code, "free under");
    assert!(
        out.contains("the data takes") && out.contains("free space on the target"),
        "{out}"
    );
    assert!(!databases(&small).contains(&"single".to_string()), "{out}");
    drop(small);
}

/// A data node down: refused before the copy; down in the middle of the
/// copy (the target's copies held by a lock this test holds while dn2
/// stops): the run stops naming it, nothing half copied; back up, the
/// same command finishes.
fn data_node_down(r: &Running, target: &TestCluster, before: &[String]) {
    r.dn2.cluster.stop(false).expect("stop dn2");
    let (code, out) = migrate(&r.path, &to(target, "single"), &["--yes"]);
    assert_eq!(code, Some(1), "{out}");
    eprintln!(
        "{}",
        out.lines()
            .skip_while(|l| !l.starts_with("error"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.contains("data node dn2 cannot be reached")
            && out.contains("nothing was copied")
            && out.contains("fix: bring dn2 back"),
        "{out}"
    );
    assert!(!databases(target).contains(&"single".to_string()), "{out}");
    r.dn2.cluster.start().expect("start dn2");

    target.sql("postgres", "CREATE DATABASE single");
    target.sql("single", "CREATE EXTENSION timescaledb");
    let dest = to(target, "single");
    let hold = Holder::take(
        target,
        "single",
        "LOCK TABLE _timescaledb_catalog.chunk IN EXCLUSIVE MODE",
    );
    let run = Run::start(&r.path, &dest, &["--yes"]);
    let waiting = poll(Duration::from_secs(60), || {
        tsmn_waiting(target, "single", &hold)
    })
    .expect("tsmn's copies reach the target");
    assert!(waiting.starts_with("COPY"), "{waiting}");
    r.dn2.cluster.stop(false).expect("stop dn2");
    hold.release();
    let (code, out) = run.finish();
    assert_eq!(code, Some(1), "{out}");
    eprintln!(
        "{}",
        out.lines()
            .skip_while(|l| !l.starts_with("error"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.contains("the copy stopped:")
            && out.contains("dn2")
            && out.contains("fix: correct the cause and run tsmn migrate again"),
        "{out}"
    );
    let parts = chunks_by_table(&r.an, &TABLES, &["notes"]);
    let all: usize = parts.iter().map(|(_, i)| i.len()).sum();
    let done = nothing_half_copied(target, "single", &parts, "dn2 went down");
    assert!(done < all, "{done} of {all}: {out}");
    r.dn2.cluster.start().expect("start dn2");
    let (code, out) = migrate(&r.path, &dest, &["--yes"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already copied by an earlier run"), "{out}");
    let after: Vec<String> = TABLES.iter().map(|t| tally(target, "single", t)).collect();
    assert_eq!(after, before, "{out}");
}
