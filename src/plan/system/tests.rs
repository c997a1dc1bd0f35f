use super::*;
use crate::plan::dsn::{one, Ctx};
use crate::plan::{Node, Problem};

fn node(dsn: &str) -> Node {
    Node {
        name: "dn1".into(),
        host: String::new(),
        port: 5432,
        connect_host: None,
        connect_port: None,
        dsn: Some(dsn.into()),
        service: None,
        hypertables: None,
    }
}

fn ctx(host_given: bool, port_given: bool) -> Ctx<'static> {
    Ctx {
        path: "data_nodes[0]",
        superuser: "postgres",
        database: "tsdb",
        host_given,
        port_given,
        connect_host_given: false,
    }
}

fn run(n: &mut Node, c: &Ctx<'_>) -> Vec<Problem> {
    let mut out = Vec::new();
    one(n, c, &System, &mut out);
    out
}

#[test]
fn uris_and_key_value_strings_give_host_and_port() {
    for dsn in [
        "postgresql://db1.example.com:6432/tsdb",
        "host=db1.example.com port=6432 dbname=postgres",
        "host=db1.example.com port=6432 sslmode=verify-full sslrootcert=/ca.crt",
    ] {
        let mut n = node(dsn);
        assert!(run(&mut n, &ctx(false, false)).is_empty(), "{dsn}");
        assert_eq!(
            (n.host.as_str(), n.port),
            ("db1.example.com", 6432),
            "{dsn}"
        );
    }
    let mut n = node("postgresql://[fe80::1]:5433");
    assert!(run(&mut n, &ctx(false, false)).is_empty());
    assert_eq!(n.host, "fe80::1");
    // hostaddr: where tsmn connects; host stays the node's name.
    let mut n = node("host=db1 hostaddr=10.0.0.1");
    assert!(run(&mut n, &ctx(false, false)).is_empty());
    assert_eq!(
        (n.host.as_str(), n.connect_host.as_deref()),
        ("db1", Some("10.0.0.1"))
    );
    let mut n = node("hostaddr=10.0.0.1");
    assert!(run(&mut n, &ctx(false, false)).is_empty());
    assert_eq!((n.host.as_str(), n.connect_host), ("10.0.0.1", None));
}

#[test]
fn what_tsmn_cannot_use_is_named() {
    let mut n = node("postgresql://alice:s3cret@db1/other?sslcrl=/crl.pem");
    let p = run(&mut n, &ctx(false, false));
    let all = format!("{p:?}");
    assert!(!all.contains("s3cret"), "{all}");
    for needle in [
        "holds a password",
        "user alice",
        "database other",
        "sslcrl=/crl.pem",
        "revocation",
    ] {
        assert!(all.contains(needle), "{needle}: {all}");
    }
    let mut n = node("host=db1 port=6432");
    n.host = "db2".into();
    n.port = 5432;
    let p = run(&mut n, &ctx(true, true));
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].path.ends_with(".host") && p[1].path.ends_with(".port"));
    let mut n = node("port=6432");
    assert!(run(&mut n, &ctx(false, false))[0]
        .problem
        .contains("no host"));
    let mut n = node("host=/var/run/postgresql port=5433");
    let p = run(&mut n, &ctx(false, false));
    assert!(p[0].problem.contains("Unix socket"), "{p:?}");
    assert_eq!(n.connect_host.as_deref(), Some("/var/run/postgresql"));
    let mut n = node("host=a,b");
    assert!(format!("{:?}", run(&mut n, &ctx(false, false))).contains("several hosts"));
    let mut n = node("host=a gssencmode=require");
    assert!(format!("{:?}", run(&mut n, &ctx(false, false))).contains("GSSAPI"));
}

#[test]
fn service_sections() {
    let text = "# c\n[a]\nhost=h1\nport = 1\n[b]\nhost=h2\n";
    assert_eq!(
        section(text, "a"),
        Some(vec![
            (3, "host".into(), "h1".into()),
            (4, "port".into(), "1".into())
        ])
    );
    assert_eq!(section(text, "b").map(|s| s.len()), Some(1));
    assert_eq!(section(text, "c"), None);
}
