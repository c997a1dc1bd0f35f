//! `tsmn migrate` moves roles, memberships and grants (TimescaleDB tier):
//! a login role that reads a table through its own grant and a
//! distributed hypertable through a group role's, and owns a table, logs
//! in to the target after the migration and reads both, and is refused
//! the table it was never granted. Passwords come only with
//! `--with-role-passwords` (the stored verifier, and a real password
//! login with it), and never show in tsmn's output or log. A role the
//! target already has is made to match the source's (attributes, settings,
//! memberships, its password when asked), the preflight saying how. A job owned by
//! a role is owned by it on the target too.

mod support;

use support::migrate::{migrate, to};
use support::{metrics, psql, timescaledb_tier, Running, TestCluster};

const SECRET: &str = "r3ad-Secret!pw";

fn source() -> Running {
    let r = Running::applied(&[]);
    // Roles are the server's: on every node (a grant on a distributed
    // hypertable goes to the data nodes too).
    for n in [&r.an, &r.dn1, &r.dn2] {
        n.sql(
            "postgres",
            &format!(
                "CREATE ROLE app NOLOGIN; CREATE ROLE reader LOGIN PASSWORD '{SECRET}' CONNECTION LIMIT 5; GRANT app TO reader"
            ),
        );
    }
    metrics(&r.an, "2024-01-01", "2024-01-05");
    for s in [
        "CREATE TABLE notes (id serial PRIMARY KEY, body text)",
        "INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 50) i",
        "GRANT SELECT ON notes TO reader",
        "GRANT SELECT ON metrics TO app",
        "CREATE TABLE hidden (x int)",
        "CREATE TABLE owned (x int)",
        "ALTER TABLE owned OWNER TO app",
        // A job owned by reader (it runs as reader, a job owner must log in).
        "CREATE FUNCTION tick(job int, config jsonb) RETURNS void LANGUAGE sql AS 'SELECT'",
        "SET ROLE reader; SELECT add_job('tick', '1 hour', scheduled => false)",
    ] {
        r.an.sql("tsdb", s);
    }
    r
}

/// `sql` on `c`'s database `db` as `user` over the Unix socket (trust):
/// (ok, output).
fn as_user(c: &TestCluster, db: &str, user: &str, sql: &str) -> (bool, String) {
    let (ok, out, err) = psql(
        &format!(
            "host={} port={} user={user} dbname={db}",
            c.cluster.socket_dir().display(),
            c.cluster.port
        ),
        sql,
        &[],
    );
    (ok, format!("{out}{err}"))
}

#[test]
fn roles_memberships_and_grants_come_passwords_only_when_asked() {
    if !timescaledb_tier("roles_memberships_and_grants_come_passwords_only_when_asked") {
        return;
    }
    let r = source();
    let rows = r.an.sql("tsdb", "SELECT count(*) FROM metrics");

    // Without --with-role-passwords.
    let target = TestCluster::named("target");
    let (code, out) = migrate(&r.path, &to(&target, "single"), &["--check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("roles: 2 to create on the target (app, reader)")
            && out.contains("passwords not copied"),
        "{out}"
    );
    let (code, out) = migrate(&r.path, &to(&target, "single"), &["--yes"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("roles: 2 created on the target (app, reader)"),
        "{out}"
    );
    assert_eq!(
        target.sql(
            "postgres",
            "SELECT string_agg(rolname || ' ' || rolcanlogin || ' ' || rolconnlimit || ' ' || (rolpassword IS NULL), ', ' ORDER BY rolname) \
             FROM pg_authid WHERE rolname IN ('app', 'reader')"
        ),
        ["app false -1 true, reader true 5 true"],
        "roles with their attributes, no password"
    );
    assert_eq!(
        target.sql("postgres", "SELECT pg_has_role('reader', 'app', 'MEMBER')"),
        ["t"]
    );
    // reader logs in to the target and reads what it was granted.
    assert_eq!(
        as_user(&target, "single", "reader", "SELECT count(*) FROM notes"),
        (true, "50".into())
    );
    assert_eq!(
        as_user(&target, "single", "reader", "SELECT count(*) FROM metrics"),
        (true, rows.join("")),
        "through app's grant"
    );
    let (ok, why) = as_user(&target, "single", "reader", "SELECT count(*) FROM hidden");
    assert!(!ok && why.contains("permission denied"), "{why}");
    assert_eq!(
        target.sql(
            "single",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'owned'"
        ),
        ["app"]
    );
    // The job keeps its owner (not the target's superuser who made it).
    let owner = "SELECT owner FROM timescaledb_information.jobs WHERE proc_name = 'tick'";
    assert_eq!(r.an.sql("tsdb", owner), ["reader"]);
    assert_eq!(target.sql("single", owner), ["reader"]);

    let (out, verifier) = with_passwords_where_reader_is(&r);

    // Neither the password nor its verifier in what tsmn printed or logged.
    let log = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tsmn-tests.log"),
    )
    .unwrap_or_default();
    for text in [&out, &log] {
        support::assert_no_secret(text, SECRET, "tsmn's output or log");
        support::assert_no_secret(text, &verifier, "tsmn's output or log");
    }
}

/// With --with-role-passwords, into another server that already has
/// reader, otherwise: the verifier comes, and a password login with it
/// works; reader is made to match the source's. tsmn's output and the
/// verifier.
fn with_passwords_where_reader_is(r: &Running) -> (String, String) {
    // The verifier comes,
    // and a password login with it works.
    // That server already has reader, otherwise: it is made to match the
    // source's (the preflight says how), its password too.
    let other = TestCluster::named("target2");
    other.sql(
        "postgres",
        "CREATE ROLE reader NOLOGIN CONNECTION LIMIT 1; ALTER ROLE reader SET work_mem = '1MB'",
    );
    let (code, out) = migrate(&r.path, &to(&other, "single"), &["--check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("roles: 1 to create on the target (app)")
            && out.contains(
                "role reader will change to match the source: LOGIN, connection limit 1 -> 5, reset work_mem, member of app"
            ),
        "{out}"
    );
    // A target that logs every statement: the verifiers stay out of its log.
    other.sql("postgres", "ALTER SYSTEM SET log_statement = 'all'");
    other.sql("postgres", "SELECT pg_reload_conf()");
    let (code, out) = migrate(
        &r.path,
        &to(&other, "single"),
        &["--yes", "--with-role-passwords"],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 password(s) copied"), "{out}");
    let log = std::fs::read_to_string(other.cluster.log_file()).expect("the target's log");
    assert!(
        log.contains("LOG:  statement: "),
        "the target logged statements"
    );
    assert!(
        !log.contains("SCRAM-SHA-256$"),
        "a verifier in the target's log"
    );
    assert!(
        out.contains("changed to match the source: role reader: LOGIN, connection limit 1 -> 5, reset work_mem, member of app"),
        "{out}"
    );
    assert_eq!(
        other.sql(
            "postgres",
            "SELECT rolcanlogin || ' ' || rolconnlimit || ' ' || pg_has_role('reader', 'app', 'MEMBER') || ' ' \
             || (SELECT count(*) FROM pg_db_role_setting s WHERE s.setrole = a.oid) FROM pg_authid a WHERE rolname = 'reader'"
        ),
        ["true 5 true 0"],
        "reader as on the source"
    );
    let verifier = r.an.sql(
        "postgres",
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'reader'",
    );
    assert!(verifier[0].starts_with("SCRAM-SHA-256$"), "{verifier:?}");
    assert_eq!(
        other.sql(
            "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'reader'"
        ),
        verifier
    );
    support::set_hba(
        &other,
        &[
            "local all all trust",
            "host all reader 127.0.0.1/32 scram-sha-256",
        ],
    );
    let info = format!(
        "host=127.0.0.1 port={} user=reader dbname=single",
        other.cluster.port
    );
    let (ok, got, err) = psql(
        &info,
        "SELECT count(*) FROM notes",
        &[("PGPASSWORD", SECRET)],
    );
    assert!(ok && got == "50", "{got}{err}");
    let (ok, _, err) = psql(&info, "SELECT 1", &[("PGPASSWORD", "wrong")]);
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );

    (out, verifier[0].clone())
}
