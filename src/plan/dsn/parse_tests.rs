use super::*;

fn pairs(text: &str) -> Vec<(String, String)> {
    Conninfo::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .iter()
        .map(|(k, v)| (k.name.to_string(), v.to_string()))
        .collect()
}

fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn key_value_pairs_with_quotes_and_escapes() {
    assert_eq!(
        pairs("host=db1 port = 6432\tdbname='my db' user=a\\ b application_name='it\\'s \\\\ x'"),
        kv(&[
            ("host", "db1"),
            ("port", "6432"),
            ("dbname", "my db"),
            ("user", "a b"),
            ("application_name", "it's \\ x"),
        ])
    );
    assert_eq!(pairs("  "), kv(&[]));
    assert_eq!(pairs("sslrootcert=''"), kv(&[("sslrootcert", "")]));
    // The last of a repeated key wins; requiressl becomes sslmode.
    assert_eq!(
        pairs("host=a host=b requiressl=1"),
        kv(&[("host", "b"), ("sslmode", "require")])
    );
}

#[test]
fn every_key_of_libpq_is_known() {
    for k in crate::plan::dsn::keys::KEYS.iter() {
        let text = format!("{}=x", k.name);
        assert!(Conninfo::parse(&text).is_ok(), "{text}");
    }
    let text = "host=h hostaddr=10.0.0.1 port=1 dbname=d user=u passfile=/p \
        channel_binding=prefer connect_timeout=3 client_encoding=UTF8 options='-c x=1' \
        application_name=a fallback_application_name=f keepalives=1 keepalives_idle=1 \
        keepalives_interval=1 keepalives_count=1 tcp_user_timeout=1 replication=0 \
        gssencmode=disable sslmode=verify-full sslcompression=0 sslcert=/c sslkey=/k \
        sslrootcert=/r sslcrl=/l sslcrldir=/d sslsni=1 requirepeer=postgres \
        ssl_min_protocol_version=TLSv1.2 ssl_max_protocol_version=TLSv1.3 krbsrvname=k \
        gsslib=gssapi service=s target_session_attrs=read-write";
    assert_eq!(
        pairs(text).len(),
        34,
        "libpq 15's 36 keys, all but password and sslpassword"
    );
}

#[test]
fn errors_name_the_key_and_never_a_value() {
    let e = Conninfo::parse("host=h sslmod=require").unwrap_err();
    assert!(e.contains("`sslmod`"), "{e}");
    let e = Conninfo::parse("host").unwrap_err();
    assert!(e.contains("missing `=` after `host`"), "{e}");
    let e = Conninfo::parse("password='s3cret").unwrap_err();
    assert!(e.contains("password") && !e.contains("s3cret"), "{e}");
    let e = Conninfo::parse("postgresql://h/db?sslmod=x").unwrap_err();
    assert!(e.contains("`sslmod`"), "{e}");
    let e = Conninfo::parse("postgresql://u:pa%zzss@h").unwrap_err();
    assert!(e.contains("password") && !e.contains("pa%zz"), "{e}");
    assert!(Conninfo::parse("postgresql://h?a").is_err());
    assert!(Conninfo::parse("postgresql://h?host=a=b").is_err());
    assert!(Conninfo::parse("postgresql://[::1").is_err());
    assert!(Conninfo::parse("postgresql://[]:5432").is_err());
    assert!(Conninfo::parse("postgresql://h/db%00").is_err());
}

#[test]
fn uris_with_credentials_hosts_ports_and_parameters() {
    assert_eq!(
        pairs("postgresql://al%40ce:p%3Aw@db1.example.com:6432/my%20db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.crt&application_name=x+y"),
        kv(&[
            ("user", "al@ce"),
            ("password", "p:w"),
            ("host", "db1.example.com"),
            ("port", "6432"),
            ("dbname", "my db"),
            ("sslmode", "verify-full"),
            ("sslrootcert", "/etc/ca.crt"),
            ("application_name", "x+y"),
        ])
    );
    assert_eq!(
        pairs("postgres://[fe80::1]:5433,db2,[::1]/d"),
        kv(&[
            ("host", "fe80::1,db2,::1"),
            ("port", "5433,,"),
            ("dbname", "d")
        ])
    );
    assert_eq!(pairs("postgresql://"), kv(&[]));
    assert_eq!(pairs("postgresql:///tsdb"), kv(&[("dbname", "tsdb")]));
    assert_eq!(
        pairs("postgresql://%2Fvar%2Frun%2Fpostgresql:5433"),
        kv(&[("host", "/var/run/postgresql"), ("port", "5433")])
    );
    assert_eq!(
        pairs("postgresql://h?ssl=true&host=%2Ftmp"),
        kv(&[("host", "/tmp"), ("sslmode", "require")])
    );
    assert_eq!(
        pairs("postgresql://ops@h"),
        kv(&[("user", "ops"), ("host", "h")])
    );
}

#[test]
fn hosts_ports_and_services() {
    let c = Conninfo::parse("host=/run/pg,db1, port=5433,,1").unwrap();
    assert_eq!(
        c.hosts(),
        vec![
            ConnHost::Socket("/run/pg".into()),
            ConnHost::Tcp("db1".into())
        ]
    );
    assert_eq!(c.ports(), Ok(vec![5433, 5432, 1]));
    let e = Conninfo::parse("port=99999").unwrap().ports().unwrap_err();
    assert!(e.contains("99999"), "{e}");
    let service = Conninfo::parse("host=s port=1 sslmode=require").unwrap();
    let c = Conninfo::parse("service=x port=2").unwrap().over(&service);
    assert_eq!(
        (c.get("host"), c.get("port"), c.get("sslmode")),
        (Some("s"), Some("2"), Some("require"))
    );
    assert!(!c.has_password());
}
