use super::*;

fn node(name: &str, role: NodeRole, up: bool) -> NodeStatus {
    NodeStatus {
        name: name.into(),
        role,
        address: "127.0.0.1:5432".into(),
        up,
        state: if up { NodeState::Up } else { NodeState::Down },
        error: (!up).then(|| "Connection refused (os error 111)".to_string()),
        sqlstate: None,
        server: up.then(|| ServerStatus {
            database_bytes: Some(1),
            ..ServerStatus::default()
        }),
    }
}

fn cluster() -> Snapshot {
    Snapshot {
        database: "tsdb".into(),
        nodes: vec![
            node("an", NodeRole::Access, true),
            node("dn1", NodeRole::Data, true),
            node("dn2", NodeRole::Data, true),
        ],
        ..Snapshot::default()
    }
}

#[test]
fn a_node_that_refuses_tsmn_runs_and_one_waited_for_is_a_warning() {
    let mut s = cluster();
    s.nodes[1] = node("dn1", NodeRole::Data, false);
    s.nodes[1].state = NodeState::Refused;
    s.nodes[1].sqlstate = Some("28P01".into());
    s.nodes[1].error = Some("password authentication failed for user \"postgres\"".into());
    let p = problems(&s, &Limits::default());
    assert_eq!(p[0].code, "password_failed", "{p:?}");
    assert_eq!(p[0].severity, Severity::Blocker);
    assert!(
        p[0].what.contains("runs but refuses tsmn's session"),
        "{p:?}"
    );
    let text = render::text(&s, &p, None);
    assert!(
        text.contains("2 of 3 node(s) up, 1 refuse(s) tsmn's session"),
        "{text}"
    );
    assert!(text.contains("REFUSED"), "{text}");
    // The message is in the problems, never in a cell of the table.
    let table_row = text
        .lines()
        .find(|l| l.contains("dn1") && l.contains("REFUSED"));
    assert!(
        !table_row.unwrap_or_default().contains("password"),
        "{text}"
    );

    s.nodes[1] = node("dn1", NodeRole::Data, true);
    s.nodes[1].up = false;
    s.nodes[1].state = NodeState::Waiting;
    s.nodes[1].error = Some("no answer yet: asked 1.0 s ago".into());
    let p = problems(&s, &Limits::default());
    assert_eq!(
        (p[0].code, p[0].severity),
        ("timeout", Severity::Warning),
        "{p:?}"
    );
    let text = render::text(&s, &p, None);
    assert!(text.contains("WAITING"), "{text}");
}

#[test]
fn a_node_down_is_a_blocker_with_the_code_check_gives_its_error() {
    let mut s = cluster();
    assert!(all_up(&s));
    assert!(problems(&s, &Limits::default()).is_empty());
    s.nodes[2] = node("dn2", NodeRole::Data, false);
    let p = problems(&s, &Limits::default());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].code, p[0].node.as_str()), ("refused", "dn2"));
    assert_eq!(p[0].severity, Severity::Blocker);
    assert!(!all_up(&s));
}

#[test]
fn prepared_transactions_count_from_the_limit_on() {
    let mut s = cluster();
    if let Some(sv) = s.nodes[1].server.as_mut() {
        sv.prepared = vec![
            Prepared {
                gid: "ts-young".into(),
                database: "tsdb".into(),
                age_seconds: 5,
                ..Default::default()
            },
            Prepared {
                gid: "ts-old".into(),
                database: "tsdb".into(),
                age_seconds: 90,
                ..Default::default()
            },
            Prepared {
                gid: "app-old".into(),
                database: "tsdb".into(),
                age_seconds: 90,
                ..Default::default()
            },
        ];
    }
    let p = problems(&s, &Limits::default());
    let codes: Vec<&str> = p.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        ["prepared_transactions_left", "prepared_transactions_other"],
        "{p:?}"
    );
    assert!(p[0].what.starts_with("1 two-phase"), "{}", p[0].what);
    assert!(
        p[0].what
            .contains("prepared in tsdb (the oldest 90 s old: ts-old)"),
        "{}",
        p[0].what
    );
    assert!(p[1].what.contains("(app-old in tsdb)"), "{}", p[1].what);
    // tsmn's own write pause on the access node: a note while young (a
    // move under way), check's blocker once past the limit.
    let pause = |age_seconds| Prepared {
        gid: format!("{}1", crate::timescale::WRITE_PAUSE_PREFIX),
        database: "tsdb".into(),
        age_seconds,
        locks: Some("public.metrics".into()),
        run_held: true,
    };
    if let Some(sv) = s.nodes[0].server.as_mut() {
        sv.prepared = vec![pause(4)];
    }
    let p = problems(&s, &Limits::default());
    let held = p.iter().find(|p| p.node == "an").expect("the pause: {p:?}");
    assert_eq!(
        (held.code, held.severity),
        ("write_pause_held", Severity::Note)
    );
    assert!(
        held.what
            .contains("writes to public.metrics wait, the longest for 4 s so far (tsmn_drain_1)"),
        "{}",
        held.what
    );
    // No tsmn run holds its lock: a killed run left it, at any age.
    if let Some(sv) = s.nodes[0].server.as_mut() {
        sv.prepared = vec![Prepared {
            run_held: false,
            ..pause(4)
        }];
    }
    let p = problems(&s, &Limits::default());
    let left = p.iter().find(|p| p.node == "an").expect("the pause: {p:?}");
    assert_eq!(
        (left.code, left.severity),
        ("write_pause_left", Severity::Blocker)
    );
    if let Some(sv) = s.nodes[0].server.as_mut() {
        sv.prepared = vec![pause(4), pause(600)];
    }
    let p = problems(&s, &Limits::default());
    let codes: Vec<(&str, Severity)> = p
        .iter()
        .filter(|p| p.node == "an")
        .map(|p| (p.code, p.severity))
        .collect();
    assert_eq!(
        codes,
        [
            ("write_pause_left", Severity::Blocker),
            ("write_pause_held", Severity::Note)
        ]
    );
    if let Some(sv) = s.nodes[0].server.as_mut() {
        sv.prepared.clear();
    }
    let none = Limits {
        prepared_age: Duration::from_secs(0),
        ..Limits::default()
    };
    assert!(problems(&s, &none)[0].what.starts_with("2 two-phase"));
    // A warning: everything is still up.
    assert!(all_up(&s));
}

#[test]
fn a_link_down_gets_the_access_node_code_and_an_untested_one_does_not_fail() {
    let mut s = cluster();
    s.links = vec![
        LinkStatus {
            from: "an".into(),
            to: "dn1".into(),
            up: Some(false),
            rtt_ms: None,
            error: Some(
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused".into(),
            ),
            tested_seconds_ago: None,
        },
        LinkStatus {
            from: "an".into(),
            to: "dn2".into(),
            up: None,
            rtt_ms: None,
            error: Some("dblink cannot be used".into()),
            tested_seconds_ago: None,
        },
    ];
    let p = problems(&s, &Limits::default());
    let codes: Vec<&str> = p.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["access_node_refused", "access_side_not_tested"]);
    assert!(!all_up(&s));
    s.links.remove(0);
    assert!(all_up(&s));
}

#[test]
fn rates_are_the_counters_change_per_second_over_nodes_that_answered_twice() {
    let mut a = cluster();
    a.hypertables = vec![HypertableStatus {
        name: "public.metrics".into(),
        replication_factor: 1,
        ..HypertableStatus::default()
    }];
    let mut b = a.clone();
    a.taken_at = 1.0;
    b.taken_at = 3.0;
    let set = |s: &mut Snapshot, i: usize, rows: i64, bytes: i64| {
        if let Some(sv) = s.nodes[i].server.as_mut() {
            sv.counters = vec![Counters {
                hypertable: "public.metrics".into(),
                chunks: 1,
                rows_inserted: rows,
                bytes,
            }];
        }
    };
    set(&mut a, 1, 100, 8192);
    set(&mut b, 1, 300, 16384);
    set(&mut a, 2, 10, 0);
    b.nodes[2] = node("dn2", NodeRole::Data, false);
    let r = rates(&a, &b);
    assert_eq!(r.len(), 1);
    assert!((r[0].rows_per_second - 100.0).abs() < 1e-9, "{r:?}");
    assert!((r[0].bytes_per_second - 4096.0).abs() < 1e-9, "{r:?}");
    // Per data node: dn1's own; dn2 did not answer the second time.
    let on: Vec<&str> = r[0]
        .data_nodes
        .iter()
        .map(|n| n.data_node.as_str())
        .collect();
    assert_eq!(on, ["dn1"], "{r:?}");
    b.hypertables[0].placement = vec![
        Placement {
            data_node: "dn1".into(),
            chunks: 1,
        },
        Placement {
            data_node: "dn2".into(),
            chunks: 1,
        },
    ];
    let text = render::text(&b, &[], Some(&r));
    let table = text.split("HYPERTABLE").nth(1).unwrap_or_default();
    let row = |dn: &str| {
        table
            .lines()
            .find(|l| l.contains(dn))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };
    assert!(row("dn1").ends_with("100     4.0 kB"), "{text}");
    assert!(row("dn2").ends_with("-       -"), "{text}");
    assert!(
        rates(&b, &a).is_empty(),
        "time going backwards gives no rate"
    );
}

#[test]
fn the_json_names_its_schema_and_carries_the_codes() {
    let mut s = cluster();
    s.nodes[2] = node("dn2", NodeRole::Data, false);
    let p = problems(&s, &Limits::default());
    let doc = json::document(&s, &p, None);
    assert_eq!(doc["schema"], "tsmn-status/1");
    assert_eq!(doc["nodes"][2]["up"], false);
    assert_eq!(doc["nodes"][2]["state"], "down");
    assert_eq!(doc["nodes"][1]["up"], true);
    assert_eq!(doc["nodes"][1]["state"], "up");
    s.nodes[2].state = NodeState::Refused;
    assert_eq!(json::document(&s, &p, None)["nodes"][2]["state"], "refused");
    s.nodes[2].state = NodeState::Down;
    assert_eq!(doc["findings"][0]["code"], "refused");
    assert_eq!(doc["findings"][0]["severity"], "blocker");
    let text = render::text(&s, &p, None);
    assert!(text.contains("BLOCKER dn2 [refused]"), "{text}");
    assert!(text.contains("2 of 3 node(s) up"), "{text}");
}

#[test]
fn certificates_warn_under_the_limit_and_past_their_end_with_checks_codes() {
    let mut s = cluster();
    let cert = |days_left, not_yet_valid| CertificateStatus {
        what: "server certificate".into(),
        path: "/d/server.crt".into(),
        days_left,
        not_yet_valid,
    };
    if let Some(sv) = s.nodes[1].server.as_mut() {
        sv.certificates = vec![
            cert(400, false),
            cert(29, false),
            cert(-2, false),
            cert(9, true),
        ];
    }
    let p = problems(&s, &Limits::default());
    let codes: Vec<&str> = p.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        [
            "certificate_expiring",
            "certificate_expired",
            "certificate_not_yet_valid"
        ]
    );
    assert_eq!(
        p[0].what,
        "the server certificate /d/server.crt expires in 29 day(s)"
    );
    assert!(p.iter().all(|p| p.severity == Severity::Warning));
    let near = Limits {
        certificate_days: 10,
        ..Limits::default()
    };
    assert_eq!(problems(&s, &near).len(), 2, "29 days is no longer near");
    assert!(all_up(&s));
}

#[test]
fn free_space_under_a_tenth_is_a_warning_and_unknown_is_none() {
    let mut s = cluster();
    let disk = |free: i64| Disk {
        data_directory: "/d".into(),
        total_bytes: 1000 * 1024,
        free_bytes: free * 1024,
    };
    if let Some(sv) = s.nodes[1].server.as_mut() {
        sv.disk = Some(disk(100));
    }
    if let Some(sv) = s.nodes[2].server.as_mut() {
        sv.disk = Some(disk(99));
    }
    let p = problems(&s, &Limits::default());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].code, p[0].node.as_str()), ("disk_space_low", "dn2"));
    assert_eq!(
        p[0].what,
        "99.0 kB free of 1000.0 kB under /d (less than 10%)"
    );
    let text = render::text(&s, &p, None);
    assert!(text.contains("100.0 kB of 1000.0 kB"), "{text}");
    assert!(
        text.contains("unknown"),
        "the access node's is unknown: {text}"
    );
}

#[test]
fn a_failed_job_says_its_last_error() {
    let mut s = cluster();
    s.failed_jobs = vec![FailedJob {
        job_id: 1000,
        proc_name: "boom".into(),
        total_failures: 3,
        last_error: Some("division by zero".into()),
        ..FailedJob::default()
    }];
    let p = problems(&s, &Limits::default());
    assert_eq!(p[0].code, "job_failed");
    assert_eq!(
        p[0].what,
        "job 1000 (boom) failed on its last run: division by zero (3 failure(s) in all; next run not scheduled)"
    );
}

#[test]
fn tsmns_jobs_and_the_engines_misrecord_get_checks_codes() {
    let mut s = cluster();
    let job = |id: i64, name: &str, error: &str| FailedJob {
        job_id: id,
        proc_name: name.into(),
        total_failures: 1,
        last_error: Some(error.into()),
        ..FailedJob::default()
    };
    s.failed_jobs = vec![
        job(
            1000,
            "tsmn_heal_data_nodes",
            "not healed: dn2 did not answer",
        ),
        job(
            1001,
            "tsmn_analyze_distributed_hypertables",
            crate::maintenance::MISRECORDED,
        ),
    ];
    let p = problems(&s, &Limits::default());
    assert_eq!(
        (p[0].code, p[0].severity),
        ("maintenance_job_failed", crate::findings::Severity::Warning)
    );
    assert_eq!(
        (p[1].code, p[1].severity),
        ("job_outcome_misrecorded", crate::findings::Severity::Note)
    );
    assert!(
        p[1].what.starts_with("job 1001 (tsmn_analyze_distributed_hypertables) completed its last run, recorded as failed: cannot drop portal"),
        "{}",
        p[1].what
    );
}

#[test]
fn a_link_between_data_nodes_down_is_checks_warning_on_the_node_it_starts_from() {
    let mut s = cluster();
    s.links = vec![LinkStatus {
        from: "dn1".into(),
        to: "dn2".into(),
        up: Some(false),
        rtt_ms: None,
        error: Some(
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused".into(),
        ),
        tested_seconds_ago: None,
    }];
    let p = problems(&s, &Limits::default());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        (p[0].code, p[0].node.as_str(), p[0].severity),
        ("data_node_link_fails", "dn1", Severity::Warning)
    );
    assert!(
        p[0].what
            .starts_with("dn1 cannot log in to dn2 as the engine's chunk copy does (refused): "),
        "{}",
        p[0].what
    );
    assert!(!all_up(&s));
}

#[test]
fn a_data_node_that_answered_and_holds_no_chunk_of_a_hypertable_shows_0_b_and_one_down_shows_unknown(
) {
    let mut s = cluster();
    s.nodes[2] = node("dn2", NodeRole::Data, false);
    s.nodes.push(node("dn3", NodeRole::Data, true));
    if let Some(sv) = s.nodes[1].server.as_mut() {
        sv.counters = vec![Counters {
            hypertable: "public.metrics".into(),
            chunks: 2,
            bytes: 2048,
            ..Counters::default()
        }];
    }
    s.hypertables = vec![HypertableStatus {
        name: "public.metrics".into(),
        replication_factor: 1,
        placement: ["dn1", "dn2", "dn3"]
            .iter()
            .zip([2, 1, 0])
            .map(|(n, c)| Placement {
                data_node: n.to_string(),
                chunks: c,
            })
            .collect(),
        under_replicated: 0,
    }];
    let text = super::render::text(&s, &[], None);
    let rows: Vec<String> = text
        .lines()
        .skip_while(|l| !l.contains("HYPERTABLE"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    for want in ["dn1 2 2.0 kB", "dn2 1 ?", "dn3 0 0 B"] {
        assert!(rows.iter().any(|r| r.ends_with(want)), "{want}: {text}");
    }
}
