//! What the engine shows beats what tsmn predicts: check's verdict on each
//! link from the access node agrees with what the access node itself does
//! (psql on the access node running dblink, independent of tsmn), on
//! pg_hba.conf rules tsmn's reading of the file cannot settle alone.

mod support;

use std::time::Duration;
use support::*;
use tsmn::findings::Severity;

const LOCAL: &str = "local all all trust";

/// check's blockers about dn1's admission of the access node.
fn admission_blockers(plan: &tsmn::plan::Plan) -> Vec<String> {
    let (_, found) = check(plan, Duration::from_secs(5));
    found
        .iter()
        .filter(|f| f.severity == Severity::Blocker && f.node == "dn1")
        .filter(|f| f.code.starts_with("hba_") || f.code.starts_with("access_node_"))
        .map(|f| format!("{}: {}", f.code, f.what))
        .collect()
}

/// One pg_hba.conf state of dn1 (with `setup` run on dn1 first): the
/// engine's answer and check's must agree.
fn agree(rules: &[&str], setup: &str) -> (bool, Vec<String>) {
    let (an, dn, _work, path) = trust_pair();
    if !setup.is_empty() {
        dn.sql("postgres", setup);
    }
    set_hba(&dn, &[&[LOCAL], rules].concat());
    let plan = tsmn::plan::load_plan(&path).unwrap();
    let engine = an_reaches(&an, dn.cluster.port, "postgres", "");
    let blockers = admission_blockers(&plan);
    assert_eq!(
        engine.is_ok(),
        blockers.is_empty(),
        "rules {rules:?}: the access node {} but check says {blockers:#?}",
        match &engine {
            Ok(()) => "gets in".to_string(),
            Err(e) => format!("is refused ({e})"),
        }
    );
    (engine.is_ok(), blockers)
}

/// A group rule the superuser is a member of admits the access node: no
/// blocker (before: hba_no_rule, exit 1, though the link worked).
#[test]
fn a_group_rule_with_the_grant_admits_and_check_agrees() {
    let (ok, _) = agree(
        &["host all +tsmn_group 127.0.0.1/32 trust"],
        "CREATE ROLE tsmn_group; GRANT tsmn_group TO postgres",
    );
    assert!(ok, "the engine admits a member");
}

/// The same rule without the grant: the engine refuses, and check says so
/// with a blocker (from the access node's own answer).
#[test]
fn a_group_rule_without_the_grant_refuses_and_check_agrees() {
    let (ok, blockers) = agree(
        &["host all +tsmn_group 127.0.0.1/32 trust"],
        "CREATE ROLE tsmn_group",
    );
    assert!(!ok);
    assert!(
        blockers
            .iter()
            .any(|b| b.contains("no_hba_entry") || b.contains("hba_no_rule")),
        "{blockers:#?}"
    );
}

/// A host name: only the data node's resolver can say what `localhost`
/// means; the access node's answer decides.
#[test]
fn a_host_name_rule_is_judged_by_the_engine() {
    agree(&["host all postgres localhost trust"], "");
}

/// samehost and a quoted "all" (a role named all, not the keyword): the
/// engine decides both.
#[test]
fn samehost_and_quoted_keywords_are_judged_by_the_engine() {
    agree(&["host all postgres samehost trust"], "");
    agree(&["host all \"all\" 127.0.0.1/32 trust"], "");
}

/// A rule for the cluster database only, on a node not yet added: tsmn
/// creates that database on the node itself and add_data_node (`bootstrap
/// => false`) connects only there, so nothing stands in the way (before:
/// a blocker asking for a rule for the bootstrap database `postgres`),
/// and apply adds the node with the rule as it is.
#[test]
fn a_rule_for_the_cluster_database_only_is_enough_to_add_a_node() {
    if !timescaledb_tier("a_rule_for_the_cluster_database_only_is_enough_to_add_a_node") {
        return;
    }
    let (an, dn, _work, path) = trust_pair();
    set_hba(&dn, &[LOCAL, "host tsdb postgres 127.0.0.1/32 trust"]);
    let plan = tsmn::plan::load_plan(&path).unwrap();
    assert!(an_reaches(&an, dn.cluster.port, "postgres", "").is_err());
    assert_eq!(admission_blockers(&plan), Vec::<String>::new());
    let (code, out) = apply_file(&path, &[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        an.sql(
            "tsdb",
            "SELECT _timescaledb_functions.ping_data_node('dn1')"
        ),
        ["t"]
    );
}

/// Trust mode, and a data node's rule that asks for a password matches
/// the access node first: the refusal is the data node's rule, not a
/// missing passfile (in trust mode the access node has none to write).
/// The fix check prints, applied as written (tsmn apply), lets the access
/// node in, by the engine's own answer.
#[test]
fn in_trust_mode_a_rule_asking_for_a_password_is_the_data_node_s_to_change() {
    let (an, dn, _work, path) = trust_pair();
    dn.sql("postgres", "CREATE ROLE grp; GRANT grp TO postgres");
    set_hba(
        &dn,
        &[
            LOCAL,
            "host all +grp 127.0.0.1/32 scram-sha-256",
            "host all all 127.0.0.1/32 trust",
        ],
    );
    let plan = tsmn::plan::load_plan(&path).unwrap();
    assert!(an_reaches(&an, dn.cluster.port, "postgres", "").is_err());
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = found
        .iter()
        .find(|f| f.severity == Severity::Blocker && f.code == "access_node_no_password")
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(f.node, "dn1", "{f:?}");
    assert!(!f.fix.contains("passfile"), "{f:?}");
    assert!(f.fix.starts_with("run tsmn apply"), "{f:?}");
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{out}");
    an_reaches(&an, dn.cluster.port, "postgres", "")
        .unwrap_or_else(|e| panic!("the fix as written let the access node in: {e}"));
}

/// A rule that admits the bootstrap database while a host-name rule
/// rejects the cluster database: only the data node can tell what
/// `localhost` means, so check asks the access node for the cluster
/// database. Before, that one was judged by the model alone ("unknown",
/// so nothing said) and add_data_node would have failed on it.
#[test]
fn a_refusal_of_the_cluster_database_alone_is_found_by_the_engine() {
    let (an, dn, _work, path) = trust_pair();
    set_hba(
        &dn,
        &[
            LOCAL,
            "host postgres postgres 127.0.0.1/32 trust",
            "host tsdb postgres localhost reject",
        ],
    );
    let plan = tsmn::plan::load_plan(&path).unwrap();
    assert!(an_reaches(&an, dn.cluster.port, "postgres", "").is_ok());
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = found
        .iter()
        .find(|f| f.node == "dn1" && f.code.starts_with("access_node_"))
        .unwrap_or_else(|| panic!("no finding for the refused cluster database: {found:#?}"));
    assert_eq!(f.severity, Severity::Blocker, "{f:?}");
    assert!(f.what.contains("tsdb"), "{f:?}");
    assert!(
        f.why.contains("rejects") || f.what.contains("rejects"),
        "{f:?}"
    );
}

/// Password mode and a data node that trusts the access node for both
/// databases: the link works, so no blocker (before: hba_wrong_method,
/// "asks for trust", from the model's reading of the cluster database).
/// Found by the differential generator (seed 29).
#[test]
fn a_trusting_rule_in_password_mode_is_no_blocker() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], tsmn::plan::AuthMode::Password),
    );
    set_hba(
        &dn,
        &[
            LOCAL,
            "host postgres,tsdb all 127.0.0.1 255.255.255.255 trust",
        ],
    );
    let plan = tsmn::plan::load_plan(&path).unwrap();
    assert!(an_reaches(&an, dn.cluster.port, "postgres", "").is_ok());
    assert_eq!(admission_blockers(&plan), Vec::<String>::new());
}

/// A pg_hba.conf outside the data directory that the server's OS user
/// cannot write (root's, as packages lay it out under /etc): check warns
/// with the directory to fix, preview shows the step blocked, apply
/// writes nothing there and stops with the same words. Once the fix is
/// carried out as written (the directory and file given to the server's
/// user), the warning is gone and apply writes the block.
#[test]
fn an_hba_file_the_server_cannot_write_is_found_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    if tsmn::os::euid() != 0 {
        skipped(
            "an_hba_file_the_server_cannot_write_is_found_before_the_run",
            "needs root, to own the file as another user than the server's",
        );
        return;
    }
    let etc = tempfile::tempdir().unwrap();
    std::fs::set_permissions(etc.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let hba = etc.path().join("pg_hba.conf");
    std::fs::write(&hba, format!("{LOCAL}\n")).unwrap();
    std::fs::set_permissions(&hba, std::fs::Permissions::from_mode(0o644)).unwrap();
    let an = TestCluster::named("an");
    let dn = TestCluster::start(tsmn::sandbox::ClusterSpec {
        name: "dn1".into(),
        settings: vec![("hba_file".into(), hba.display().to_string())],
        hba: None,
        files: vec![],
    });
    std::os::unix::fs::chown(etc.path(), Some(0), Some(0)).unwrap();
    std::os::unix::fs::chown(&hba, Some(0), Some(0)).unwrap();
    let work = temp_dir();
    let path = write_plan(
        work.path(),
        &plan_for(&an.cluster, &[&dn.cluster], tsmn::plan::AuthMode::Trust),
    );
    let plan = tsmn::plan::load_plan(&path).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "file_not_writable");
    assert!(f.what.contains(&hba.display().to_string()), "{f:?}");
    let run = tsmn()
        .args(["preview", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout).to_string();
    assert_eq!(run.status.code(), Some(0), "{out}");
    assert!(
        out.contains("[blocked: the server's OS user cannot write"),
        "{out}"
    );
    let before = read(&hba);
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("cannot write"), "{out}");
    assert!(
        !out.contains("umask"),
        "no shell program in the message: {out}"
    );
    assert_eq!(read(&hba), before, "nothing written");

    // Both the file and its directory are named at once, and the fix as
    // written (both to the server's user) clears it in one go.
    assert!(
        f.fix
            .contains(&format!("{} and {}", hba.display(), etc.path().display())),
        "{f:?}"
    );
    server_user().chown(etc.path()).unwrap();
    server_user().chown(&hba).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "dn1", "file_not_writable"),
        "{found:#?}"
    );
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{out}");
    an_reaches(&an, dn.cluster.port, "postgres", "")
        .unwrap_or_else(|e| panic!("the block admits the access node: {e}"));
}

/// A passfile whose directory cannot be made (its nearest existing parent
/// is root's): check names that parent, not the directory still missing,
/// and preview shows the passfile step blocked.
#[test]
fn a_passfile_whose_directory_cannot_be_made_is_found_before_the_run() {
    use std::os::unix::fs::PermissionsExt;
    if tsmn::os::euid() != 0 {
        skipped(
            "a_passfile_whose_directory_cannot_be_made_is_found_before_the_run",
            "needs root, to own a directory as another user than the server's",
        );
        return;
    }
    let root_owned = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root_owned.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let passfile = root_owned.path().join("tsmn/cluster.pgpass");
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let mut plan = plan_for(&an.cluster, &[&dn.cluster], tsmn::plan::AuthMode::Password);
    plan.auth
        .password
        .get_or_insert_with(Default::default)
        .passfile = passfile.display().to_string();
    let path = write_plan(work.path(), &plan);
    let plan = tsmn::plan::load_plan(&path).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "an", "file_not_writable");
    assert!(
        f.what.contains(&format!(
            "it cannot write in {}",
            root_owned.path().display()
        )),
        "the blocking directory is the one that exists: {f:?}"
    );
    let run = tsmn()
        .args(["preview", "--plan"])
        .arg(&path)
        .env("TSMN_ROLE_PW_POSTGRES", "a-role-password")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        out.contains(&format!(
            "({} not writable for it)",
            root_owned.path().display()
        )),
        "{out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A broken line in a pg_hba.conf the server refused to load, and above it
/// (also on disk, not in force) a rule that rejects the access node: the
/// fix does not stop at the broken line, it names the reject rule the
/// reload would put in force too. Before: "remove line 2", which, applied
/// as written, cut the access node off.
#[test]
fn the_fix_of_a_broken_line_names_what_the_reload_would_bring_in() {
    let (an, dn, _work, path) = trust_pair();
    set_hba(&dn, &[LOCAL, "host all all 127.0.0.1/32 trust"]);
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    std::fs::write(
        &hba,
        format!("{LOCAL}\nhost all all 127.0.0.1/32 reject\nhost all postgres 127.0.0.1/32 bogusmethod\n"),
    )
    .unwrap();
    reload(&dn);
    assert!(
        an_reaches(&an, dn.cluster.port, "postgres", "").is_ok(),
        "the old rules are in force"
    );
    let plan = tsmn::plan::load_plan(&path).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "hba_error");
    assert!(
        f.fix.contains("line 2: host all all 127.0.0.1/32 reject")
            && f.fix.contains("change that too"),
        "{f:?}"
    );
    // Carried out as it says (both lines mended), the access node gets in.
    std::fs::write(&hba, format!("{LOCAL}\nhost all all 127.0.0.1/32 trust\n")).unwrap();
    reload(&dn);
    an_reaches(&an, dn.cluster.port, "postgres", "").unwrap();
}

/// Certificate mode, and a rule above tsmn's block that lets the access
/// node in without TLS by trust: check finds it (the access node's own
/// login without a certificate got in) and names the line; removed as the
/// fix says, the data node refuses such a login, by the engine's answer.
/// Before: check said nothing and apply's verify step failed with no fix.
#[test]
fn a_rule_that_defeats_certificates_is_found_by_check() {
    let an = TestCluster::named("an");
    let dn = TestCluster::named("dn1");
    let work = temp_dir();
    let plan = plan_for(
        &an.cluster,
        &[&dn.cluster],
        tsmn::plan::AuthMode::Certificate,
    );
    let path = write_plan(work.path(), &plan);
    let (code, out) = apply_file(&path, &["--phases", "settings,auth"], &[]);
    assert_eq!(code, Some(0), "{out}");
    let hba = dn.cluster.data_dir().join("pg_hba.conf");
    let applied = read(&hba);
    hba_first(&dn, "hostnossl all all 127.0.0.1/32 trust");
    let plan = tsmn::plan::load_plan(&path).unwrap();
    let (_, found) = check(&plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "mode_not_enforced");
    assert_eq!(f.severity, Severity::Blocker, "{f:?}");
    assert!(
        f.fix.contains("line 1") && f.fix.contains("hostnossl all all 127.0.0.1/32 trust"),
        "{f:?}"
    );
    std::fs::write(&hba, &applied).unwrap();
    reload(&dn);
    let (_, found) = check(&plan, Duration::from_secs(5));
    assert!(
        !has_finding(&found, "dn1", "mode_not_enforced"),
        "{found:#?}"
    );
    let bare = format!(
        "host=127.0.0.1 port={} dbname=tsdb user=postgres sslmode=disable passfile=/nonexistent connect_timeout=5",
        dn.cluster.port
    );
    assert!(
        an_connects(&an, &bare).is_err(),
        "refused without a certificate"
    );
}

/// A role of the plan made NOLOGIN on one data node by hand: apply gives
/// LOGIN back (before: "already done", the role existed) and the access
/// node reaches the node as it again.
#[test]
fn apply_gives_a_role_its_login_back() {
    if !timescaledb_tier("apply_gives_a_role_its_login_back") {
        return;
    }
    let r = Running::applied(&["app_reader"]);
    r.dn1.sql("postgres", "ALTER ROLE app_reader NOLOGIN");
    let (_, found) = check(&r.plan, Duration::from_secs(5));
    let f = finding(&found, "dn1", "access_node_cannot_login");
    assert!(f.fix.contains("ALTER ROLE \"app_reader\" LOGIN"), "{f:?}");
    let (code, out) = apply_file(&r.path, &[], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        r.dn1.sql(
            "postgres",
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_reader'"
        ),
        ["t"]
    );
    assert_eq!(
        r.an.sql(
            "tsdb",
            "SET ROLE app_reader; SELECT _timescaledb_functions.ping_data_node('dn1')"
        ),
        ["t"]
    );
}
