//! The steps of a lost data node's replacement and of replication repair,
//! built on hand-made facts (no server): what the real-server tests
//! (tests/lost_replace.rs) do not reach: the order of the steps, the gate
//! of password mode (the copies refused when asked for; a lost node
//! removed without them when not), and every refusal of --give-up-chunks.

use tsmn::facts::*;
use tsmn::plan::{parse_plan, Plan};
use tsmn::steps::{build, Action, Inputs, Step, StepState};

/// an, dn1 and dn3 (dn2, lost, is out of the plan).
fn plan(mode: &str) -> Plan {
    parse_plan(
        &format!("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n[[data_nodes]]\nname = \"dn3\"\nhost = \"10.0.0.13\"\n[auth]\nmode = \"{mode}\"\n"),
        "p",
    )
    .unwrap()
}

fn node(name: &str, role: NodeRole, db: Option<DatabaseFacts>) -> NodeFacts {
    NodeFacts {
        name: name.into(),
        role,
        address: "x".into(),
        connection: Connection::Connected { tls: false },
        server: Some(ServerFacts {
            database: db,
            timescaledb_available: vec!["2.13.1".into()],
            ..Default::default()
        }),
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    }
}

fn place(chunk: &str, nodes: &[&str]) -> ChunkPlace {
    ChunkPlace {
        hypertable: "public.r2".into(),
        hypertable_name: ("public".into(), "r2".into()),
        chunk: format!("_timescaledb_internal.{chunk}"),
        data_nodes: nodes.iter().map(|n| n.to_string()).collect(),
        range: Some((
            "2026-01-01 00:00:00+00".into(),
            "2026-01-08 00:00:00+00".into(),
        )),
        rows: Some(672),
        ..Default::default()
    }
}

/// r2 (factor 2) on dn1 and dn2, whose chunks `places` are; dn2 does not
/// answer the access node.
fn facts(places: Vec<ChunkPlace>) -> Facts {
    let member = |n: &str, answers| Member {
        name: n.into(),
        host: "10.0.0.1".into(),
        port: 5432,
        answers,
        ..Default::default()
    };
    let db = DatabaseFacts {
        name: "tsdb".into(),
        timescaledb: Some("2.13.1".into()),
        data_nodes: vec!["dn1".into(), "dn2".into()],
        members: vec![member("dn1", None), member("dn2", Some(false))],
        distributed_hypertables: vec![DistributedHypertable {
            schema: "public".into(),
            table: "r2".into(),
            data_nodes: vec!["dn1".into(), "dn2".into()],
            replication_factor: 2,
        }],
        chunk_places: places,
        ..Default::default()
    };
    Facts {
        nodes: vec![
            node("an", NodeRole::Access, Some(db)),
            node("dn1", NodeRole::Data, None),
            node("dn3", NodeRole::Data, None),
        ],
    }
}

fn steps(plan: &Plan, facts: &Facts, repair: bool, give_up: &[String]) -> Vec<Step> {
    build(
        plan,
        Inputs {
            facts: Some(facts),
            remove_data_nodes: true,
            repair_replication: repair,
            give_up,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn with_drain_a_lost_node_is_no_source_nothing_is_asked_of_it() {
    let f = facts(vec![place("_dist_hyper_1_3_chunk", &["dn2"])]);
    let given = ["_dist_hyper_1_3_chunk".to_string()];
    let s = build(
        &plan("trust"),
        Inputs {
            facts: Some(&f),
            remove_data_nodes: true,
            drain: true,
            give_up: &given,
            ..Default::default()
        },
    )
    .unwrap();
    // Only the pg_hba.conf step names it (skipped when it cannot be
    // reached); the restart gate does not wait for it.
    let on_dn2: Vec<&str> = s
        .iter()
        .filter(|s| s.node == "dn2")
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(on_dn2, ["dn2/cluster/hba-removed"]);
    match &s[at(&s, "an/cluster/restart-gate")].action {
        Action::RestartGate { nodes } => assert!(!nodes.contains(&"dn2".to_string()), "{nodes:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s[at(&s, "an/cluster/remove-dn2")].state, StepState::Todo);
    assert!(
        !ids(&s).iter().any(|id| id.contains("/move-")),
        "{:#?}",
        ids(&s)
    );
}

fn at(steps: &[Step], id: &str) -> usize {
    steps
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}: {:#?}", ids(steps)))
}

fn ids(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.id.as_str()).collect()
}

fn blocked(s: &Step) -> &str {
    match &s.state {
        StepState::Blocked { why } => why,
        other => panic!("{} is {other:?}", s.id),
    }
}

#[test]
fn a_lost_node_is_marked_its_copies_made_again_on_the_new_node_then_it_is_deleted() {
    let f = facts(vec![
        place("_dist_hyper_1_1_chunk", &["dn2", "dn1"]),
        place("_dist_hyper_1_2_chunk", &["dn1", "dn2"]),
    ]);
    let s = steps(&plan("trust"), &f, false, &[]);
    let order = [
        "an/cluster/attach-dn3",
        "an/cluster/unavailable-dn2",
        "an/cluster/repair-resume",
        "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3",
        "an/cluster/copy-_timescaledb_internal._dist_hyper_1_2_chunk-to-dn3",
        "an/cluster/remove-dn2",
    ];
    let found: Vec<usize> = order.iter().map(|id| at(&s, id)).collect();
    assert!(found.windows(2).all(|w| w[0] < w[1]), "{:#?}", ids(&s));
    let copy = &s[found[3]];
    assert_eq!(copy.state, StepState::Todo);
    match &copy.action {
        Action::MoveChunk(m) => {
            assert!(m.keep_source);
            assert_eq!((m.source.as_str(), m.destination.as_str()), ("dn1", "dn3"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s[found[5]].state, StepState::Todo);
    // The copy's settings on the data nodes of the plan (restarts).
    let settings = &s[at(&s, "dn3/settings/settings")];
    assert!(
        format!("{:?}", settings.action).contains("\"logical\""),
        "{settings:#?}"
    );
}

#[test]
fn in_password_mode_the_copies_wait_for_the_links_between_data_nodes() {
    let mut f = facts(vec![place("_dist_hyper_1_1_chunk", &["dn1", "dn2"])]);
    // The access node's data directory unknown: its paths, which the
    // engine names to the data nodes, cannot be given them. Not asked for,
    // the lost node goes without copies; asked for, they are blocked.
    let s = steps(&plan("password"), &f, false, &[]);
    assert!(
        !ids(&s).iter().any(|id| id.contains("/copy-")),
        "{:#?}",
        ids(&s)
    );
    assert_eq!(s[at(&s, "an/cluster/remove-dn2")].state, StepState::Todo);
    let copy = "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3";
    let s = steps(&plan("password"), &f, true, &[]);
    let why = blocked(&s[at(&s, copy)]);
    assert!(
        why.contains("the data nodes cannot be given the links the engine's chunk copy uses")
            && why.contains("data directory is unknown"),
        "{why}"
    );
    // Known: each data node of the plan gets the passfile the engine's
    // copy names, and the copies run (asked for or not).
    let an = f.nodes[0].server.as_mut().unwrap();
    an.settings.insert(
        "data_directory".into(),
        Setting {
            value: "/var/lib/postgresql/15/main".into(),
            source: "override".into(),
            pending_restart: false,
        },
    );
    for asked in [false, true] {
        let s = steps(&plan("password"), &f, asked, &[]);
        assert_eq!(s[at(&s, copy)].state, StepState::Todo, "asked: {asked}");
        for dn in ["dn1", "dn3"] {
            at(&s, &format!("{dn}/auth/link-passfile"));
        }
    }
}

#[test]
fn only_copies_on_a_lost_node_are_given_up_by_name_or_the_removal_is_refused() {
    let f = facts(vec![
        place("_dist_hyper_1_1_chunk", &["dn1", "dn2"]),
        place("_dist_hyper_1_3_chunk", &["dn2"]),
        place("_dist_hyper_1_4_chunk", &["dn2"]),
    ]);
    let p = plan("trust");
    let none = steps(&p, &f, false, &[]);
    let why = blocked(&none[at(&none, "an/cluster/remove-dn2")]);
    assert!(
        why.contains("_timescaledb_internal._dist_hyper_1_3_chunk of public.r2 [2026-01-01 00:00:00+00, 2026-01-08 00:00:00+00), about 672 rows")
            && why.ends_with("--give-up-chunks _dist_hyper_1_3_chunk,_dist_hyper_1_4_chunk"),
        "{why}"
    );
    // One named: the other still refuses; the count is of every only copy,
    // and the fix names them all, so that it can replace the option given.
    let one = ["_timescaledb_internal._dist_hyper_1_3_chunk".to_string()];
    let s = steps(&p, &f, false, &one);
    let why = blocked(&s[at(&s, "an/cluster/remove-dn2")]);
    assert!(
        why.contains("holds the only copy of 2 chunk(s), 1 of them not named in --give-up-chunks: _timescaledb_internal._dist_hyper_1_4_chunk of")
            && why.ends_with("--give-up-chunks _dist_hyper_1_3_chunk,_dist_hyper_1_4_chunk"),
        "{why}"
    );
    // A name that is no such chunk (one with another copy, one unknown).
    for wrong in ["_dist_hyper_1_1_chunk", "nonesuch"] {
        let given = vec![
            "_dist_hyper_1_3_chunk".to_string(),
            "_dist_hyper_1_4_chunk".to_string(),
            wrong.to_string(),
        ];
        let s = steps(&p, &f, false, &given);
        assert!(
            blocked(&s[at(&s, "an/cluster/remove-dn2")])
                .starts_with(&format!("--give-up-chunks names {wrong} that is no chunk")),
            "{wrong}"
        );
    }
    // Both named: a step each, titled with what is lost, before the
    // removal, which then runs.
    let both = [
        "_dist_hyper_1_3_chunk".to_string(),
        "_dist_hyper_1_4_chunk".to_string(),
    ];
    let s = steps(&p, &f, false, &both);
    let give = at(
        &s,
        "an/cluster/give-up-_timescaledb_internal._dist_hyper_1_3_chunk",
    );
    assert_eq!(
        s[give].title,
        "Give up _timescaledb_internal._dist_hyper_1_3_chunk of public.r2 [2026-01-01 00:00:00+00, 2026-01-08 00:00:00+00), about 672 rows (its only copy was on lost dn2: LOST)"
    );
    assert!(give < at(&s, "an/cluster/remove-dn2"));
    assert_eq!(s[at(&s, "an/cluster/remove-dn2")].state, StepState::Todo);
    // The chunk with another copy is copied to dn3 meanwhile.
    at(
        &s,
        "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3",
    );
}

/// r2 compresses on the access node; `dn3` has `dn3_compresses` for it.
fn with_compression(f: &mut Facts, dn3_compresses: bool) {
    let settings = |on: bool| tsmn::drift::HypertableSettings {
        schema: "public".into(),
        table: "r2".into(),
        compression_enabled: on,
        segmentby: if on {
            vec!["device".into()]
        } else {
            Vec::new()
        },
        orderby: if on {
            vec!["time DESC NULLS FIRST".into()]
        } else {
            Vec::new()
        },
    };
    let objects = |on: bool| tsmn::drift::ObjectFacts {
        hypertables: vec![settings(on)],
        ..Default::default()
    };
    for n in &mut f.nodes {
        let Some(sv) = n.server.as_mut() else {
            continue;
        };
        let db = sv.database.get_or_insert_with(|| DatabaseFacts {
            name: "tsdb".into(),
            timescaledb: Some("2.13.1".into()),
            ..Default::default()
        });
        db.objects = Some(objects(n.name != "dn3" || dn3_compresses));
    }
}

/// A copy to a data node that lacks the compression settings of a
/// hypertable that compresses would fail in the engine (attach_data_node
/// does not carry them, timescaledb #6041): refused before anything
/// changes, with check's fix; with the settings there it goes ahead, and
/// so it does to a data node this run attaches (which gives them).
#[test]
fn a_copy_to_a_data_node_without_the_compression_settings_is_refused_with_the_fix() {
    let mut f = facts(vec![place("_dist_hyper_1_1_chunk", &["dn1", "dn2"])]);
    with_compression(&mut f, false);
    let copy_id = "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3";
    let s = steps(&plan("trust"), &f, false, &[]);
    assert_eq!(
        s[at(&s, copy_id)].state,
        StepState::Todo,
        "attached by this run"
    );
    // dn3 attached to r2 by hand, without the settings.
    if let Some(db) = f.nodes[0].server.as_mut().and_then(|s| s.database.as_mut()) {
        db.distributed_hypertables[0].data_nodes.push("dn3".into());
        db.data_nodes.push("dn3".into());
        db.members.push(Member {
            name: "dn3".into(),
            host: "10.0.0.13".into(),
            port: 5432,
            ..Default::default()
        });
    }
    let s = steps(&plan("trust"), &f, false, &[]);
    let copy = &s[at(
        &s,
        "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3",
    )];
    let why = blocked(copy);
    assert!(
        why.starts_with("dn3 lacks public.r2's compression settings")
            && why.contains("CALL distributed_exec($tsmn$ALTER TABLE \"public\".\"r2\" SET (timescaledb.compress"),
        "{why}"
    );
    with_compression(&mut f, true);
    let s = steps(&plan("trust"), &f, false, &[]);
    let copy = &s[at(
        &s,
        "an/cluster/copy-_timescaledb_internal._dist_hyper_1_1_chunk-to-dn3",
    )];
    assert_eq!(copy.state, StepState::Todo);
}
