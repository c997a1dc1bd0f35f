//! The differential generator: seeded states of one data node (its
//! pg_hba.conf, its roles, its TLS; the access node's passfile and the
//! plan's mode and addresses), on real servers. For each state the access
//! node's own answer (dblink inside the access node, with TimescaleDB's
//! options, to the cluster database, where the engine's links go) is set
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
    fn word(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len())]
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
    match an_connects(&b.an, &info) {
        Err(e) if !e.contains(&format!("database \"{db}\" does not exist")) => Some(e),
        _ => None,
    }
}

/// One state: the engine's outcome, and None when check agrees with it,
/// else what differs.
fn run_state(b: &Bench, s: &State) -> (String, Option<String>) {
    let dn = b.arrange(s);
    let mut plan = plan_for(&b.an.cluster, &[&dn.cluster], s.mode);
    plan.data_nodes[0].host = s.host.to_string();
    plan.access_node_addresses = s.access_node_addresses.clone();
    // The cluster database: where add_data_node (`bootstrap => false`,
    // tsmn makes the database itself) and the cluster's links connect.
    let engine_says = engine(b, s, dn, "tsdb");
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
    let outcomes = sweep("differential", first, count, |seed| {
        run_state(&bench, &generate(seed))
    });
    // A generator whose states all end alike would compare nothing.
    assert!(
        count < 20 || outcomes.len() >= 3,
        "the states were not varied enough: {outcomes:?}"
    );
    drop(bench.work);
}

/// Run `count` states from seed `first`: print each disagreement with its
/// seed and a closing line (read by benches/differential.sh), then fail
/// if there was one. The engine's outcomes, counted.
fn sweep(
    family: &str,
    first: u64,
    count: u64,
    mut run: impl FnMut(u64) -> (String, Option<String>),
) -> std::collections::BTreeMap<String, usize> {
    let started = Instant::now();
    let mut disagreements = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for seed in first..first + count {
        let (outcome, differs) = run(seed);
        *outcomes.entry(outcome).or_default() += 1;
        if let Some(d) = differs {
            eprintln!("DISAGREEMENT {d}\n");
            disagreements.push(seed);
        }
    }
    eprintln!(
        "{family}: {count} states from seed {first}, {} disagreement(s) {disagreements:?}, {:.1} s; the engine's outcomes: {outcomes:?}",
        disagreements.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        disagreements.is_empty(),
        "check disagreed with the engine on seeds {disagreements:?} (details above)"
    );
    outcomes
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

// ---------------------------------------------------------------------
// Member states: a running password-mode cluster (TimescaleDB tier), dn1
// changed under it: its rules for each role, the role `app` dropped, made
// NOLOGIN, given another password or an md5 verifier, the access node's
// passfile line for it removed or wrong. Each role's link is asked of the
// engine (ping_data_node as that role, and dblink for its error) and set
// beside check's verdict for that role.

const APP_PW: &str = "app:pw\\1";

/// One generated member state.
#[derive(Debug, Clone)]
struct MemberState {
    seed: u64,
    rules: Vec<String>,
    app: &'static str,
    passfile: &'static str,
}

fn generate_member(seed: u64) -> MemberState {
    let mut r = Rng(seed ^ 0x6d65_6d62);
    let mut rules = Vec::new();
    for _ in 0..r.below(3) {
        let user = *r.pick(&["app", "postgres", "all", "+grp", "\"app\""]);
        let database = *r.pick(&["tsdb", "all", "postgres", "sameuser"]);
        let address = *r.pick(&["127.0.0.1/32", "samehost", "localhost", "10.0.0.0/8"]);
        let method = *r.pick(&["reject", "trust", "md5", "password", "scram-sha-256"]);
        rules.push(format!("host {database} {user} {address} {method}"));
    }
    MemberState {
        seed,
        rules,
        app: r.word(&[
            "as set up",
            "as set up",
            "dropped",
            "nologin",
            "another password",
            "md5 verifier",
            "in grp",
        ]),
        passfile: r.word(&[
            "as written",
            "as written",
            "app line removed",
            "app line wrong",
        ]),
    }
}

/// The running cluster the member states change, and what puts it back.
struct Member {
    an: TestCluster,
    dn: TestCluster,
    plan: tsmn::plan::Plan,
    hba: String,
    passfile: String,
    _work: tempfile::TempDir,
}

impl Member {
    fn new() -> Member {
        let an = TestCluster::named("an");
        let dn = TestCluster::named("dn1");
        let work = temp_dir();
        let mut plan = plan_for(&an.cluster, &[&dn.cluster], AuthMode::Password);
        plan.auth.roles.push("app".into());
        let path = write_plan(work.path(), &plan);
        let (code, out) = apply_file(
            &path,
            &[],
            &[
                ("TSMN_ROLE_PW_POSTGRES", "su-internal"),
                ("TSMN_ROLE_PW_APP", APP_PW),
            ],
        );
        assert_eq!(code, Some(0), "{out}");
        an.sql("tsdb", "GRANT USAGE ON FOREIGN SERVER dn1 TO app");
        let hba = read(&dn.cluster.data_dir().join("pg_hba.conf"));
        let passfile = read(&an.cluster.data_dir().join("passfile"));
        Member {
            an,
            dn,
            plan,
            hba,
            passfile,
            _work: work,
        }
    }

    fn arrange(&self, s: &MemberState) {
        let dn = &self.dn;
        dn.sql(
            "postgres",
            &format!(
                "DROP ROLE IF EXISTS grp; CREATE ROLE grp; \
                 DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app; END IF; END $$; \
                 SET password_encryption = 'scram-sha-256'; ALTER ROLE app LOGIN PASSWORD '{}'",
                APP_PW.replace('\'', "''")
            ),
        );
        match s.app {
            "dropped" => {
                dn.sql(
                    "tsdb",
                    "REASSIGN OWNED BY app TO postgres; DROP OWNED BY app",
                );
                dn.sql("postgres", "DROP ROLE app");
            }
            "nologin" => drop(dn.sql("postgres", "ALTER ROLE app NOLOGIN")),
            "another password" => drop(dn.sql("postgres", "ALTER ROLE app PASSWORD 'another'")),
            "md5 verifier" => drop(dn.sql(
                "postgres",
                &format!(
                    "SET password_encryption = 'md5'; ALTER ROLE app PASSWORD '{}'",
                    APP_PW.replace('\'', "''")
                ),
            )),
            "in grp" => drop(dn.sql("postgres", "GRANT grp TO app")),
            _ => {}
        }
        // The rules go first, above tsmn's block.
        let mut text: String = s.rules.iter().map(|r| format!("{r}\n")).collect();
        text.insert_str(0, "local all all trust\n");
        text.push_str(&self.hba);
        std::fs::write(dn.cluster.data_dir().join("pg_hba.conf"), text).unwrap();
        reload(dn);
        let passfile: String = self
            .passfile
            .lines()
            .filter_map(|l| {
                let app = l.split(':').nth(3) == Some("app");
                match (s.passfile, app) {
                    ("app line removed", true) => None,
                    ("app line wrong", true) => Some(format!(
                        "{}:wrong",
                        l.rsplit_once(':').map_or(l, |(head, _)| head)
                    )),
                    _ => Some(l.to_string()),
                }
            })
            .map(|l| l + "\n")
            .collect();
        let path = self.an.cluster.data_dir().join("passfile");
        std::fs::write(&path, passfile).unwrap();
    }

    /// The engine, for one role: None when ping_data_node says true, else
    /// the access node's own libpq error (dblink with the same options).
    fn engine(&self, role: &str) -> Option<String> {
        let ping = self.an.sql(
            "tsdb",
            &format!("SET ROLE {role}; SELECT _timescaledb_functions.ping_data_node('dn1')"),
        );
        if ping == ["t"] {
            return None;
        }
        let passfile = self.an.cluster.data_dir().join("passfile");
        let info = format!(
            "host=127.0.0.1 port={} dbname=tsdb user={role} connect_timeout=5 passfile={}",
            self.dn.cluster.port,
            passfile.display()
        );
        let e = an_connects(&self.an, &info).err().unwrap_or_default();
        Some(format!("ping_data_node false; {e}"))
    }
}

/// check's refusals of `role`'s link to dn1.
fn member_refusals<'f>(found: &'f [Finding], role: &str) -> Vec<&'f Finding> {
    let as_role = format!(" as {role} ");
    refusals(found)
        .into_iter()
        .filter(|f| f.what.contains(&as_role) || (role == "postgres" && f.code.starts_with("hba_")))
        .collect()
}

fn run_member_state(m: &Member, s: &MemberState) -> (String, Option<String>) {
    m.arrange(s);
    let (_, found) = check(&m.plan, Duration::from_secs(5));
    let mut outcomes = Vec::new();
    let mut differs = Vec::new();
    for role in ["postgres", "app"] {
        let engine_says = m.engine(role);
        let refused = member_refusals(&found, role);
        outcomes.push(match &engine_says {
            None => format!("{role} admitted"),
            Some(e) => format!("{role} refused: {:?}", engine_class(e, AuthMode::Password)),
        });
        match (&engine_says, refused.first()) {
            (None, None) => {}
            (Some(e), None) => differs.push(format!(
                "{role}: the engine refuses ({e}) but check finds nothing"
            )),
            (None, Some(_)) => differs.push(format!(
                "{role}: the engine admits but check says {refused:#?}"
            )),
            (Some(e), Some(_)) => {
                let want = engine_class(e, AuthMode::Password);
                let fits = refused.iter().any(|f| {
                    let got = check_class(f, AuthMode::Password);
                    got == want || (want == Class::Password && got == Class::Role)
                });
                if !fits {
                    differs.push(format!(
                        "{role}: the engine's cause is {want:?} ({e}) and check's is {refused:#?}"
                    ));
                }
            }
        }
    }
    let differs = (!differs.is_empty()).then(|| {
        format!(
            "member seed {}: {}\nstate: {s:#?}",
            s.seed,
            differs.join("\n")
        )
    });
    (outcomes.join(", "), differs)
}

/// The member states of a running cluster (TimescaleDB tier).
#[test]
fn check_agrees_with_the_engine_on_a_running_cluster() {
    if !timescaledb_tier("check_agrees_with_the_engine_on_a_running_cluster") {
        return;
    }
    let first = from_env("TSMN_DIFF_SEED", 1);
    let count = from_env("TSMN_DIFF_MEMBER_STATES", 16);
    let member = Member::new();
    sweep("differential (running cluster)", first, count, |seed| {
        run_member_state(&member, &generate_member(seed))
    });
}
