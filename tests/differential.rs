//! The differential generator: seeded states of one data node (its
//! pg_hba.conf, its roles, its TLS; the access node's passfile and the
//! plan's mode and addresses), on real servers. For each state the access
//! node's own answer (dblink inside the access node, with TimescaleDB's
//! options, to the bootstrap database and to the cluster database) is set
//! beside `tsmn check`'s verdict on that link and the class of the cause
//! it names. A disagreement is a link check calls admitted that the engine
//! refuses, or the other way round, or both refuse for causes of different
//! classes.
//!
//! `cargo test` runs `TSMN_DIFF_STATES` states (default 24) from
//! `TSMN_DIFF_SEED` (default 1); `benches/differential.sh` runs 300 and
//! prints each disagreement with the seed that reproduces it.

mod support;

use std::time::{Duration, Instant};
use support::*;
use tsmn::findings::{Finding, Severity};
use tsmn::plan::AuthMode;

/// A small, seeded generator (splitmix64): the same seed, the same state.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The superuser's password on the data node when the state sets one,
/// and its passfile spelling (`:` and `\` escaped).
const PASSWORD: &str = "r:ght\\pw";
const PASSWORD_IN_FILE: &str = "r\\:ght\\\\pw";

/// One generated state.
#[derive(Debug, Clone)]
struct State {
    seed: u64,
    mode: AuthMode,
    /// The data node has ssl = on (its own certificate).
    tls: bool,
    /// How the plan names the data node (what the access node connects to).
    host: &'static str,
    access_node_addresses: Vec<String>,
    rules: Vec<String>,
    setup: Vec<String>,
    passfile: Option<String>,
}

fn rule(r: &mut Rng, tls: bool) -> String {
    let kind = *r.pick(&["host", "host", "host", "hostssl", "hostnossl"]);
    let database = *r.pick(&[
        "all",
        "all",
        "postgres",
        "tsdb",
        "postgres,tsdb",
        "sameuser",
        "samerole",
        "\"all\"",
        "template1",
        "@dbs",
    ]);
    let user = *r.pick(&[
        "all",
        "all",
        "postgres",
        "\"postgres\"",
        "+grp",
        "app,postgres",
        "\"all\"",
        "app",
        "@users",
        "\"sameuser\"",
    ]);
    let address = *r.pick(&[
        "127.0.0.1/32",
        "127.0.0.1/32",
        "127.0.0.1 255.255.255.255",
        "127.0.0.0/8",
        "127.0.0.2/32",
        "samehost",
        "samenet",
        "localhost",
        "::1/128",
        "10.0.0.0/8",
        "0.0.0.0/0",
    ]);
    // cert is only accepted on hostssl lines of a server with TLS.
    let methods: &[&str] = if kind == "hostssl" && tls {
        &[
            "trust",
            "trust",
            "reject",
            "md5",
            "scram-sha-256",
            "password",
            "cert",
        ]
    } else {
        &[
            "trust",
            "trust",
            "reject",
            "md5",
            "scram-sha-256",
            "password",
        ]
    };
    format!("{kind} {database} {user} {address} {}", r.pick(methods))
}

fn generate(seed: u64) -> State {
    let mut r = Rng(seed);
    let mode = *r.pick(&[AuthMode::Trust, AuthMode::Trust, AuthMode::Password]);
    let tls = r.chance(35);
    let host = *r.pick(&["127.0.0.1", "127.0.0.1", "localhost"]);
    let access_node_addresses = match r.below(4) {
        0 => vec![],
        1 => vec!["127.0.0.0/8".into()],
        _ => vec!["127.0.0.1".into()],
    };
    let mut rules: Vec<String> = (0..1 + r.below(3)).map(|_| rule(&mut r, tls)).collect();
    if r.chance(55) {
        let fallback = *r.pick(&["trust", "scram-sha-256", "scram-sha-256", "md5", "reject"]);
        rules.push(format!("host all all 127.0.0.1/32 {fallback}"));
    }
    let mut setup = Vec::new();
    match r.below(3) {
        0 => {}
        1 => setup.push("CREATE ROLE grp".to_string()),
        _ => setup.push("CREATE ROLE grp; GRANT grp TO postgres".to_string()),
    }
    if r.chance(30) {
        setup.push("CREATE ROLE app LOGIN".into());
    }
    match r.below(4) {
        0 => {}
        1 => setup.push("SET password_encryption = 'md5'".into()),
        _ => {}
    }
    let password = match r.below(4) {
        0 => None,
        1 => Some("another"),
        _ => Some(PASSWORD),
    };
    if let Some(p) = password {
        setup.push(format!(
            "ALTER ROLE postgres PASSWORD '{}'",
            p.replace('\'', "''")
        ));
    }
    // The access node's passfile, in one of the layouts libpq reads.
    let passfile = match (mode, r.below(7)) {
        (AuthMode::Trust, 0..=3) => None,
        (_, 0) => None,
        (_, 1) => Some(format!("*:*:*:postgres:{PASSWORD_IN_FILE}\n")),
        (_, 2) => Some(format!("{host}:PORT:*:postgres:{PASSWORD_IN_FILE}\n")),
        (_, 3) => Some(format!(
            "{host}:1:*:postgres:wrong\n{host}:PORT:postgres:postgres:{PASSWORD_IN_FILE}\n{host}:PORT:tsdb:postgres:{PASSWORD_IN_FILE}\n"
        )),
        (_, 4) => Some("*:*:*:postgres:wrong\n".to_string()),
        (_, 5) => Some(format!("# a comment\n*:PORT:*:*:{PASSWORD_IN_FILE}\n")),
        _ => Some(format!("otherhost:*:*:postgres:{PASSWORD_IN_FILE}\n")),
    };
    State {
        seed,
        mode,
        tls,
        host,
        access_node_addresses,
        rules,
        setup,
        passfile,
    }
}

/// Who has to change what: the classes a cause falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The data node's pg_hba.conf (no rule, reject, or a method the
    /// mode does not provide).
    Hba,
    /// The password or the access node's passfile (password mode).
    Password,
    /// The role on the data node (missing, not allowed to log in).
    Role,
    Tls,
    Other,
}

/// The class of the engine's own error, in the plan's mode: in trust mode
/// a password asked for comes from a data node's rule.
fn engine_class(error: &str, mode: AuthMode) -> Class {
    let asks_password = error.contains("password authentication failed")
        || error.contains("no password supplied")
        || error.contains("password is required");
    if error.contains("no pg_hba.conf entry") || error.contains("pg_hba.conf rejects") {
        Class::Hba
    } else if asks_password {
        if mode == AuthMode::Password {
            Class::Password
        } else {
            Class::Hba
        }
    } else if error.contains("does not exist") || error.contains("not permitted to log in") {
        Class::Role
    } else if error.contains("SSL") || error.contains("certificate") {
        Class::Tls
    } else {
        Class::Other
    }
}

/// The class of a check finding's cause, read from its code.
fn check_class(f: &Finding, mode: AuthMode) -> Class {
    let code = f.code.trim_start_matches("access_node_");
    match code {
        "hba_no_rule" | "hba_shadowed" | "hba_wrong_method" | "no_hba_entry" | "hba_rejects" => {
            Class::Hba
        }
        "no_password" | "password_failed" if mode == AuthMode::Password => Class::Password,
        "no_password" | "password_failed" => Class::Hba,
        "role_missing" | "cannot_login" => Class::Role,
        c if c.contains("cert") || c.contains("ssl") || c == "client_key" => Class::Tls,
        _ => Class::Other,
    }
}

/// The findings that say the access node's link to dn1 is refused: filed
/// under dn1, or under the access node when the fix is its own (its
/// passfile, its client certificates).
fn refusals(found: &[Finding]) -> Vec<&Finding> {
    found
        .iter()
        .filter(|f| matches!(f.severity, Severity::Blocker | Severity::Warning))
        .filter(|f| {
            (f.node == "dn1"
                && matches!(f.code, "hba_no_rule" | "hba_shadowed" | "hba_wrong_method"))
                || (matches!(f.node.as_str(), "dn1" | "an") && f.code.starts_with("access_node_"))
        })
        .collect()
}

/// The servers the states run on: one access node, a data node without
/// TLS and one with it (a state picks one; the plan names it dn1).
struct Bench {
    an: TestCluster,
    plain: TestCluster,
    tls: TestCluster,
    _ca: TestCa,
    work: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let ca = TestCa::new("differential CA");
        let local = ["local all all trust"];
        Bench {
            an: TestCluster::named("an"),
            plain: TestCluster::named("dn1"),
            tls: TestCluster::start(tls_spec(
                "dn1",
                ca.server("dn1", "DNS:localhost,IP:127.0.0.1"),
                &local,
            )),
            _ca: ca,
            work: temp_dir(),
        }
    }

    /// Put the state in place: every role and file it touches is reset
    /// first, so states do not leak into each other.
    fn arrange(&self, s: &State) -> &TestCluster {
        let dn = if s.tls { &self.tls } else { &self.plain };
        dn.sql(
            "postgres",
            "DROP ROLE IF EXISTS app; DROP ROLE IF EXISTS grp; ALTER ROLE postgres PASSWORD NULL",
        );
        if !s.setup.is_empty() {
            dn.sql("postgres", &s.setup.join("; "));
        }
        let data = dn.cluster.data_dir();
        std::fs::write(data.join("dbs"), "postgres tsdb\n").unwrap();
        std::fs::write(data.join("users"), "postgres\n").unwrap();
        let mut lines = vec!["local all all trust".to_string()];
        lines.extend(s.rules.iter().cloned());
        set_hba(dn, &lines);
        let passfile = self.an.cluster.data_dir().join("passfile");
        match &s.passfile {
            Some(text) => {
                std::fs::write(
                    &passfile,
                    text.replace("PORT", &dn.cluster.port.to_string()),
                )
                .unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600))
                    .unwrap();
                server_user().chown(&passfile).unwrap();
            }
            None => {
                let _ = std::fs::remove_file(&passfile);
            }
        }
        dn
    }
}

/// The access node's own answer for `db` on `dn`: None admitted, else its
/// error. A database that does not exist yet was still admitted (the
/// server checks pg_hba.conf and the password before the database).
fn engine(b: &Bench, s: &State, dn: &TestCluster, db: &str) -> Option<String> {
    let passfile = b.an.cluster.data_dir().join("passfile");
    let info = format!(
        "host={} port={} dbname={db} user=postgres connect_timeout=5 passfile={}",
        s.host,
        dn.cluster.port,
        passfile.display()
    );
    let sql = format!(
        "CREATE FUNCTION pg_temp.l(text, text) RETURNS SETOF record AS '$libdir/dblink', 'dblink_record' LANGUAGE C STRICT; \
         SELECT x FROM pg_temp.l('{}', 'SELECT 1') AS t(x int)",
        info.replace('\'', "''")
    );
    let conninfo = format!(
        "host={} port={} user=postgres dbname=postgres",
        b.an.cluster.socket_dir().display(),
        b.an.cluster.port
    );
    let (ok, out, err) = psql(&conninfo, &sql, &[]);
    let text = format!("{out}{err}");
    if (ok && out.lines().last() == Some("1"))
        || text.contains(&format!("database \"{db}\" does not exist"))
    {
        None
    } else {
        Some(text)
    }
}

/// One state: the engine's outcome, and None when check agrees with it,
/// else what differs.
fn run_state(b: &Bench, s: &State) -> (String, Option<String>) {
    let dn = b.arrange(s);
    let mut plan = plan_for(&b.an.cluster, &[&dn.cluster], s.mode);
    plan.data_nodes[0].host = s.host.to_string();
    plan.access_node_addresses = s.access_node_addresses.clone();
    let engine_says = engine(b, s, dn, "postgres").or_else(|| engine(b, s, dn, "tsdb"));
    let (_, found) = check(&plan, Duration::from_secs(5));
    let refused = refusals(&found);
    let differs = match (&engine_says, refused.first()) {
        (None, None) => None,
        (Some(e), None) => Some(format!("the engine refuses ({e}) but check finds nothing")),
        (None, Some(_)) => Some(format!("the engine admits but check says {refused:#?}")),
        (Some(e), Some(_)) => {
            let want = engine_class(e, s.mode);
            // PostgreSQL answers a missing role under a password method as
            // a failed password (it does not tell who exists): check's
            // more precise "role" stands for it.
            let fits = |f: &&&Finding| {
                let got = check_class(f, s.mode);
                got == want || (want == Class::Password && got == Class::Role)
            };
            (!refused.iter().any(|f| fits(&f))).then(|| {
                format!("both refuse, but the engine's cause is {want:?} ({e}) and check's is {refused:#?}")
            })
        }
    };
    let outcome = match &engine_says {
        None => "admitted".to_string(),
        Some(e) => format!("refused: {:?}", engine_class(e, s.mode)),
    };
    (
        outcome,
        differs.map(|d| format!("seed {}: {d}\nstate: {s:#?}", s.seed)),
    )
}

fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A few dozen seeded states in every `cargo test`; the benchmark runs
/// hundreds. Every disagreement is printed with its seed, then the test
/// fails if there was one.
#[test]
fn check_agrees_with_the_engine_on_generated_states() {
    let first = from_env("TSMN_DIFF_SEED", 1);
    let count = from_env("TSMN_DIFF_STATES", 24);
    let bench = Bench::new();
    let started = Instant::now();
    let mut disagreements = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for seed in first..first + count {
        let (outcome, differs) = run_state(&bench, &generate(seed));
        *outcomes.entry(outcome).or_default() += 1;
        if let Some(d) = differs {
            eprintln!("DISAGREEMENT {d}\n");
            disagreements.push(seed);
        }
    }
    eprintln!(
        "differential: {count} states from seed {first}, {} disagreement(s) {disagreements:?}, {:.1} s; the engine's outcomes: {outcomes:?}",
        disagreements.len(),
        started.elapsed().as_secs_f64()
    );
    // A generator whose states all end alike would compare nothing.
    assert!(
        count < 20 || outcomes.len() >= 3,
        "the states were not varied enough: {outcomes:?}"
    );
    drop(bench.work);
    assert!(
        disagreements.is_empty(),
        "check disagreed with the engine on seeds {disagreements:?} (details above)"
    );
}

/// The generator is seeded: a seed gives its state again, and the states
/// differ (a generator stuck on one state would test nothing).
#[test]
fn the_generator_is_seeded_and_varied() {
    let a = format!("{:?}", generate(7));
    assert_eq!(a, format!("{:?}", generate(7)));
    let distinct: std::collections::BTreeSet<String> = (0..50)
        .map(|s| format!("{:?}", generate(s).rules))
        .collect();
    assert!(distinct.len() > 40, "{}", distinct.len());
}
