//! The links' files and rules as apply builds them.

use crate::facts::*;
use crate::plan::{parse_plan, Plan};
use crate::steps::{build, Action, Content, Inputs, ServerPath, Step, StepState};

fn plan(extra: &str) -> Plan {
    parse_plan(
        &format!("[access_node]\nname = \"an\"\nhost = \"10.0.0.10\"\n[[data_nodes]]\nname = \"dn1\"\nhost = \"10.0.0.11\"\n[[data_nodes]]\nname = \"dn2\"\nhost = \"10.0.0.12\"\n[auth]\nmode = \"password\"\nroles = [\"ops\"]\n{extra}"),
        "p",
    )
    .unwrap()
}

fn facts(an_settings: &[(&str, &str)]) -> Facts {
    let node = |name: &str, role, settings: &[(&str, &str)]| NodeFacts {
        name: name.into(),
        role,
        address: "x".into(),
        connection: Connection::Connected { tls: false },
        server: Some(ServerFacts {
            superuser: true,
            ..ServerFacts::with_settings(settings)
        }),
        access_probes: AccessProbes::NotApplicable,
        cluster_reach: Vec::new(),
    };
    Facts {
        nodes: vec![
            node("an", NodeRole::Access, an_settings),
            node("dn1", NodeRole::Data, &[("data_directory", "/dn1")]),
            node("dn2", NodeRole::Data, &[("data_directory", "/dn2")]),
        ],
    }
}

fn steps(p: &Plan, f: &Facts) -> Vec<Step> {
    build(
        p,
        Inputs {
            facts: Some(f),
            ..Default::default()
        },
    )
    .unwrap()
}

fn on<'s>(steps: &'s [Step], id: &str) -> &'s Step {
    steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

#[test]
fn each_data_node_gets_the_access_nodes_passfile_path_with_only_the_other_nodes_lines() {
    let p = plan("data_node_links = true\n");
    let f = facts(&[("data_directory", "/srv/an/")]);
    let all = steps(&p, &f);
    let s = on(&all, "dn1/auth/link-passfile");
    let Action::File {
        path,
        mode,
        content,
    } = &s.action
    else {
        panic!("{s:?}")
    };
    assert_eq!(path, &ServerPath::Absolute("/srv/an/passfile".into()));
    assert_eq!(*mode, 0o600);
    let Content::Text { text } = content else {
        panic!()
    };
    // Only the move role's line, only for the other data node.
    assert!(
        text.masked()
            .ends_with("\n10.0.0.12:5432:*:postgres:<password of postgres>\n"),
        "{}",
        text.masked()
    );
    assert!(!text.masked().contains("10.0.0.11") && !text.masked().contains(":ops:"));
    assert!(
        s.precheck.is_some(),
        "skipped where it is the access node's own file"
    );
    // The other data nodes are admitted for the cluster database.
    let Action::HbaBlock { lines } = &on(&all, "dn1/auth/hba").action else {
        panic!()
    };
    assert!(
        lines.contains(&"host tsdb postgres 10.0.0.12/32 scram-sha-256".to_string()),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("10.0.0.11")), "{lines:?}");

    // A relative timescaledb.passfile (the access node's own) is found in the data node's own
    // data directory (the worker's working directory).
    let rel = facts(&[
        ("data_directory", "/srv/an"),
        ("timescaledb.passfile", "conf/pass"),
    ]);
    let all = steps(&p, &rel);
    let Action::File { path, .. } = &on(&all, "dn2/auth/link-passfile").action else {
        panic!()
    };
    assert_eq!(path, &ServerPath::DataDir("conf/pass".into()));
    assert!(on(&all, "dn2/auth/link-passfile").precheck.is_none());

    // Without the access node's data directory: blocked, saying why.
    let blind = steps(&p, &facts(&[]));
    assert!(matches!(&on(&blind, "dn1/auth/link-passfile").state,
        StepState::Blocked { why } if why.contains("data directory is unknown")));
}

#[test]
fn links_only_when_asked_and_none_when_turned_off() {
    let f = facts(&[("data_directory", "/srv/an")]);
    let none = steps(&plan(""), &f);
    assert!(!none.iter().any(|s| s.id.contains("link")));
    let off = plan("data_node_links = false\n");
    let ctx = crate::steps::Ctx {
        copies_chunks: false,
        plan: &off,
        inputs: Inputs {
            facts: Some(&f),
            ..Default::default()
        },
    };
    assert!(super::gate(&ctx).is_some_and(|w| w.contains("data_node_links = false")));
    let on_ = plan("data_node_links = true\n");
    let ctx = crate::steps::Ctx {
        copies_chunks: false,
        plan: &on_,
        inputs: Inputs {
            facts: Some(&f),
            ..Default::default()
        },
    };
    assert_eq!(super::gate(&ctx), None);
}

#[test]
fn a_rotation_of_the_superuser_writes_the_passfile_again_where_a_link_works() {
    let mut f = facts(&[("data_directory", "/srv/an")]);
    let works = |to: &str, error: Option<&str>| Reach {
        role: "postgres".into(),
        data_node: to.into(),
        error: error.map(str::to_string),
    };
    for n in &mut f.nodes {
        if let Some(s) = n.server.as_mut() {
            s.peer_links = match n.name.as_str() {
                "dn1" => vec![works("dn2", None)],
                "dn2" => vec![works("dn1", Some("fe_sendauth: no password supplied"))],
                _ => Vec::new(),
            };
        }
    }
    let rotate = ["postgres".to_string()];
    let with = |p: &Plan, rotate: &[String]| {
        build(
            p,
            Inputs {
                facts: Some(&f),
                rotate,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let ids = |steps: Vec<Step>| -> Vec<String> {
        steps
            .into_iter()
            .filter(|s| s.id.contains("/auth/link-"))
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(with(&plan(""), &rotate)), ["dn1/auth/link-passfile"]);
    // Not rotating the superuser, or the links turned off: none.
    assert!(ids(with(&plan(""), &["ops".to_string()])).is_empty());
    assert!(ids(with(&plan("data_node_links = false\n"), &rotate)).is_empty());
}
