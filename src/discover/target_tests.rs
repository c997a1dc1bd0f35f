use super::*;
use crate::plan::dsn::NoLibpq;

fn parse(given: &str, su: Option<&str>, db: Option<&str>) -> Result<Target, String> {
    parse_target(given, su, db, &NoLibpq)
}

#[test]
fn every_form_an_operator_types() {
    let t = parse("10.0.0.10", None, None).unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("10.0.0.10", 5432, "postgres")
    );
    let t = parse("db1.example.com:6432", Some("admin"), Some("metrics")).unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("db1.example.com", 6432, "admin")
    );
    assert_eq!(t.database.as_deref(), Some("metrics"));
    let t = parse("[::1]:6000", None, None).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("::1", 6000));
    assert_eq!(t.shown(), "[::1]:6000");
    let t = parse("/var/run/postgresql:5433", None, None).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("/var/run/postgresql", 5433));
    let t = parse("postgresql://ops@10.0.0.10:6432/tsdb", None, None).unwrap();
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("10.0.0.10", 6432, "ops")
    );
    assert_eq!(t.database.as_deref(), Some("tsdb"));
    let t = parse("host=10.0.0.10 port=6432 dbname=tsdb", None, None).unwrap();
    assert_eq!((t.host.as_str(), t.port), ("10.0.0.10", 6432));
}

#[test]
fn the_connection_keys_are_kept_for_the_connection() {
    let t = parse(
        "host=db1 hostaddr=10.0.0.1 sslmode=verify-full sslrootcert=/ca.crt sslcert=/c.crt sslkey=/c.key passfile=/pgpass connect_timeout=0 application_name=me fallback_application_name=fb options='-c x=1' keepalives=0 target_session_attrs=read-write",
        None,
        None,
    )
    .unwrap();
    let c = &t.conn;
    assert_eq!(t.host, "db1");
    assert_eq!(c.hostaddr.as_deref(), Some("10.0.0.1"));
    assert_eq!(
        (
            c.credentials.sslmode.as_str(),
            c.credentials.sslrootcert.as_str(),
            c.credentials.sslcert.as_str(),
            c.credentials.sslkey.as_str(),
            c.credentials.passfile.as_str()
        ),
        ("verify-full", "/ca.crt", "/c.crt", "/c.key", "/pgpass")
    );
    assert_eq!(c.connect_timeout.as_deref(), Some("0"));
    assert_eq!(c.application_name.as_deref(), Some("me"));
    assert_eq!(c.fallback_application_name.as_deref(), Some("fb"));
    assert_eq!(c.options.as_deref(), Some("-c x=1"));
    assert_eq!(c.ignored.len(), 2, "{:?}", c.ignored);
    assert!(
        c.ignored[0].starts_with("keepalives is ignored: "),
        "{:?}",
        c.ignored
    );
    assert!(c.ignored[1].starts_with("target_session_attrs is ignored: "));
}

#[test]
fn bad_input_says_why() {
    let e = parse("postgresql://ops:secret@10.0.0.10/tsdb", None, None).unwrap_err();
    assert!(
        e.contains("holds a password") && e.contains("PGPASSWORD"),
        "{e}"
    );
    assert!(!e.contains("secret"), "never echoed: {e}");
    let e = parse("host=h password='a secret' sslmode=nope", None, None).unwrap_err();
    assert!(!e.contains("a secret"), "never echoed: {e}");
    let e = parse("host=h sslmode=nope", None, None).unwrap_err();
    assert!(e.contains("`nope`"), "{e}");
    let e = parse("10.0.0.10:notaport", None, None).unwrap_err();
    assert!(e.contains("HOST[:PORT]"), "{e}");
    let e = parse("host=a,b port=1", None, None).unwrap_err();
    assert!(e.contains("several hosts"), "{e}");
    let e = parse("host=a sslkey_typo=1", None, None).unwrap_err();
    assert!(e.contains("`sslkey_typo`"), "{e}");
    let e = parse("host=a requirepeer=postgres", None, None).unwrap_err();
    assert!(e.contains("requirepeer"), "{e}");
    let e = parse("service=x", None, None).unwrap_err();
    assert!(e.contains("pure plan parser"), "{e}");
}
