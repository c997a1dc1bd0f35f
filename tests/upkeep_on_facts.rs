//! The maintenance jobs' and drift's findings on hand-made facts: the
//! states the real-server tests (tests/maintenance.rs, tests/drift.rs)
//! cannot make or do not reach: a type missing on a data node (in a schema
//! of its own), a type tsmn does not write, an extension missing, a data
//! node not attached to the hypertable, facts that could not be read, and
//! the jobs against what the plan asks.

use tsmn::drift::{FunctionObject, HypertableSettings, ObjectFacts, TypeObject};
use tsmn::facts::*;
use tsmn::findings::{findings, Finding, Fix, Severity};
use tsmn::maintenance::{Job, JobFacts, MaintenanceFacts, MISRECORDED};
use tsmn::plan::{parse_plan, Plan};

fn plan() -> Plan {
    parse_plan(
        "[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n[[data_nodes]]\nname = \"dn2\"\nhost = \"10.0.0.12\"\n[maintenance]\njobs = true\n",
        "p",
    )
    .unwrap()
}

fn node(name: &str, role: NodeRole, db: DatabaseFacts) -> NodeFacts {
    NodeFacts {
        name: name.into(),
        role,
        address: "x".into(),
        connection: Connection::Connected { tls: false },
        server: Some(ServerFacts {
            database: Some(db),
            ..Default::default()
        }),
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    }
}

/// A running cluster: `metrics` on dn1 only; the access node's objects,
/// its jobs, and each data node's objects as given.
fn cluster(an: ObjectFacts, jobs: MaintenanceFacts, dn1: Option<ObjectFacts>) -> Facts {
    let db = |objects| DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        objects,
        ..Default::default()
    };
    let mut a = db(Some(an));
    a.data_nodes = vec!["dn1".into(), "dn2".into()];
    a.distributed_hypertables = vec![DistributedHypertable {
        schema: "public".into(),
        table: "metrics".into(),
        data_nodes: vec!["dn1".into()],
        replication_factor: 1,
    }];
    a.maintenance = jobs;
    Facts {
        nodes: vec![
            node("an", NodeRole::Access, a),
            node("dn1", NodeRole::Data, db(dn1)),
            node("dn2", NodeRole::Data, db(Some(ObjectFacts::default()))),
        ],
    }
}

fn ours() -> ObjectFacts {
    ObjectFacts {
        hypertables: vec![HypertableSettings {
            schema: "public".into(),
            table: "metrics".into(),
            ..Default::default()
        }],
        types: vec![
            TypeObject {
                schema: "app".into(),
                name: "mood".into(),
                kind: "enum".into(),
                definition: "'sad', 'ok'".into(),
                labels: vec!["sad".into(), "ok".into()],
                used_by: vec!["public.metrics".into()],
                ..Default::default()
            },
            TypeObject {
                schema: "public".into(),
                name: "blob".into(),
                kind: "base".into(),
                used_by: vec!["public.metrics".into()],
                ..Default::default()
            },
            TypeObject {
                schema: "public".into(),
                name: "citext".into(),
                kind: "base".into(),
                extension: Some("citext".into()),
                used_by: vec!["public.metrics".into()],
                ..Default::default()
            },
        ],
        functions: vec![FunctionObject {
            schema: "public".into(),
            name: "site".into(),
            definition_md5: "abc".into(),
            create: Some("CREATE OR REPLACE FUNCTION public.site() ...".into()),
            used_by: vec!["public.other".into()],
            ..Default::default()
        }],
        extensions: vec![("citext".into(), "1.6".into())],
    }
}

fn jobs_ok() -> MaintenanceFacts {
    let v = Some("2.13.1");
    MaintenanceFacts {
        read: true,
        procedures: Job::ALL
            .iter()
            .map(|j| (j.procedure().to_string(), j.body_md5(v)))
            .collect(),
        jobs: vec![
            JobFacts {
                job_id: 1000,
                procedure: Job::Heal.procedure().into(),
                every_seconds: 300,
                scheduled: true,
                ..Default::default()
            },
            JobFacts {
                job_id: 1001,
                procedure: Job::Analyze.procedure().into(),
                every_seconds: 43200,
                scheduled: true,
                ..Default::default()
            },
        ],
    }
}

fn on<'f>(found: &'f [Finding], node: &str, code: &str) -> Vec<&'f Finding> {
    found
        .iter()
        .filter(|f| f.node == node && f.code == code)
        .collect()
}

fn sql(f: &Finding) -> &str {
    match f.remedy.first() {
        Fix::Sql {
            node,
            database,
            sql,
            ..
        } => {
            assert_eq!((node.as_str(), database.as_str()), ("an", "tsdb"), "{f:?}");
            sql
        }
        other => panic!("not SQL: {other:?}"),
    }
}

#[test]
fn what_a_data_node_lacks_is_created_from_the_access_node() {
    let found = findings(
        &plan(),
        &cluster(ours(), jobs_ok(), Some(ObjectFacts::default())),
    );
    let t = on(&found, "dn1", "type_missing_on_data_node");
    assert_eq!(t.len(), 2, "{found:#?}");
    assert_eq!(
        sql(t[0]),
        "CALL distributed_exec($tsmn$CREATE SCHEMA IF NOT EXISTS \"app\"$tsmn$, node_list => '{\"dn1\"}'); \
         CALL distributed_exec($tsmn$CREATE TYPE \"app\".\"mood\" AS ENUM ('sad', 'ok')$tsmn$, node_list => '{\"dn1\"}')"
    );
    assert!(
        matches!(t[1].remedy, Fix::Manual { .. }) && t[1].what.contains("public.blob"),
        "a base type is not written by tsmn: {:?}",
        t[1]
    );
    let e = on(&found, "dn1", "extension_missing_on_data_node");
    assert_eq!(
        sql(e[0]),
        "CALL distributed_exec($tsmn$CREATE EXTENSION IF NOT EXISTS \"citext\" VERSION '1.6'$tsmn$, node_list => '{\"dn1\"}')"
    );
    assert!(e[0].severity == Severity::Warning);
    // The function serves a hypertable dn1 does not hold; dn2 holds none.
    assert!(on(&found, "dn1", "function_missing_on_data_node").is_empty());
    assert!(
        found
            .iter()
            .all(|f| f.node != "dn2" || !f.code.contains("on_data_node")),
        "{found:#?}"
    );
}

#[test]
fn objects_not_read_are_not_reported_missing() {
    let found = findings(&plan(), &cluster(ours(), jobs_ok(), None));
    assert!(
        found.iter().all(|f| !f.code.ends_with("_on_data_node")),
        "{found:#?}"
    );
    let mut unread = jobs_ok();
    unread.read = false;
    unread.jobs.clear();
    let found = findings(&plan(), &cluster(ours(), unread, None));
    assert!(
        found.iter().all(|f| !f.code.starts_with("maintenance_")),
        "{found:#?}"
    );
}

#[test]
fn the_jobs_against_the_plan() {
    let objects = || Some(ObjectFacts::default());
    let quiet = |found: &[Finding]| {
        found
            .iter()
            .filter(|f| f.code.starts_with("maintenance_") || f.code == "job_outcome_misrecorded")
            .map(|f| f.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        quiet(&findings(&plan(), &cluster(ours(), jobs_ok(), objects()))),
        Vec::<&str>::new()
    );

    // Deleted: the procedure is tsmn's, so add_job is the fix; without
    // the procedure, apply.
    let mut gone = jobs_ok();
    gone.jobs.remove(1);
    let found = findings(&plan(), &cluster(ours(), gone.clone(), objects()));
    let f = on(&found, "an", "maintenance_job_missing");
    assert_eq!(
        sql(f[0]),
        "SELECT add_job('public.tsmn_analyze_distributed_hypertables', interval '43200 seconds')"
    );
    assert!(f[0].fix.ends_with("(tsmn apply does this)"), "{:?}", f[0]);
    gone.procedures.clear();
    let found = findings(&plan(), &cluster(ours(), gone, objects()));
    assert!(matches!(
        on(&found, "an", "maintenance_job_missing")[0].remedy,
        Fix::Apply { .. }
    ));

    // Another schedule: alter_job puts it back.
    let mut slow = jobs_ok();
    slow.jobs[0].every_seconds = 3600;
    let found = findings(&plan(), &cluster(ours(), slow, objects()));
    let f = on(&found, "an", "maintenance_job_differs");
    assert!(
        f[0].what
            .contains("it runs every 60 min, the plan says 5 minutes"),
        "{:?}",
        f[0]
    );
    assert_eq!(
        sql(f[0]),
        "SELECT alter_job(1000, schedule_interval => interval '300 seconds', scheduled => true)"
    );

    // Failing: reported even when the plan no longer asks for the jobs;
    // the engine's misrecord of a completed run is a note.
    let mut failing = jobs_ok();
    failing.jobs[0].last_run_status = Some("Failed".into());
    failing.jobs[0].last_error = Some("not healed: dn2 did not answer".into());
    failing.jobs[1].last_run_status = Some("Failed".into());
    failing.jobs[1].last_error = Some(MISRECORDED.into());
    let mut not_asked = plan();
    not_asked.maintenance.jobs = false;
    let found = findings(&not_asked, &cluster(ours(), failing, objects()));
    assert_eq!(
        quiet(&found),
        ["maintenance_job_failed", "job_outcome_misrecorded"]
    );
    let f = on(&found, "an", "maintenance_job_failed");
    assert_eq!(sql(f[0]), "SELECT alter_job(1000, next_start => now())");
    let n = on(&found, "an", "job_outcome_misrecorded");
    assert_eq!(n[0].severity, Severity::Note);
    assert!(n[0].what.contains("job 1001"), "{:?}", n[0]);

    // Not asked and absent: nothing.
    let mut none = jobs_ok();
    none.jobs.clear();
    assert_eq!(
        quiet(&findings(&not_asked, &cluster(ours(), none, objects()))),
        Vec::<&str>::new()
    );
}
