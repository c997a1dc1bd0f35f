//! The benchmarks' loopback delay proxy (support/proxy.rs) on a real
//! server: each round trip through it costs at least twice its delay, and
//! it counts the turns of the conversation.

// This test uses the Unix socket half; the benchmark uses the rest.
#[allow(dead_code)]
#[path = "support/proxy.rs"]
mod proxy;
mod support;

use std::time::{Duration, Instant};
use support::*;

/// A proxy with `delay` each way in front of `c`'s Unix socket, and a
/// superuser session through it (on the returned runtime).
struct Proxied {
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    proxy: proxy::Proxy,
    client: tokio_postgres::Client,
}

fn proxied(c: &TestCluster, delay: Duration) -> Proxied {
    let dir = own_dir();
    let port = c.cluster.port;
    let sock = format!(".s.PGSQL.{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt
        .block_on(proxy::unix(
            &dir.path().join(&sock),
            proxy::Target::Unix(c.cluster.data_dir().join(&sock)),
            delay,
        ))
        .unwrap();
    let client = rt.block_on(async {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host_path(dir.path())
            .port(port)
            .user("postgres")
            .dbname("postgres");
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    });
    Proxied {
        _dir: dir,
        rt,
        proxy,
        client,
    }
}

#[test]
fn the_proxy_delays_each_way_and_counts_round_trips() {
    let c = TestCluster::named("px");
    let delay = Duration::from_millis(25);
    let Proxied {
        rt,
        proxy: p,
        client,
        _dir,
    } = proxied(&c, delay);
    rt.block_on(async {
        let before = p.turns().len();
        let start = Instant::now();
        for _ in 0..3 {
            let r = client.simple_query("SELECT 1").await.unwrap();
            assert!(!r.is_empty());
        }
        let took = start.elapsed();
        assert!(took >= delay * 6, "3 round trips took {took:?}");
        assert_eq!(p.turns().len() - before, 3, "one turn per query");
        assert_eq!(p.connections(), 1);
    });
}

/// A file write costs three round trips, however many statements it sends
/// (pipelined): the first queries together, the content, then the end of
/// the COPY with the write and its read-back. A changed file gets its
/// backup within the same three.
#[test]
fn a_file_write_takes_three_round_trips() {
    let c = TestCluster::named("pxw");
    // Long enough that the pipelined messages of a turn all leave before
    // any answer comes back, on a busy machine too.
    let Proxied {
        rt,
        proxy: p,
        client,
        _dir,
    } = proxied(&c, Duration::from_millis(30));
    let path = c.cluster.data_dir().join("tsmn-proxy-test.conf");
    let target = path.display().to_string();
    rt.block_on(async {
        for (content, stamp) in [
            ("first\n", "20261201000000"),
            ("second\n", "20261201000001"),
        ] {
            let before = p.turns().len();
            let w =
                tsmn::run::files::write(&client, &target, 0o600, content.as_bytes(), false, stamp)
                    .await
                    .unwrap();
            assert!(
                matches!(w, tsmn::run::files::Written::Changed { .. }),
                "{w:?}"
            );
            assert_eq!(p.turns().len() - before, 3, "round trips for {content:?}");
            assert_eq!(read(&path), content);
        }
    });
    let backup = c
        .cluster
        .data_dir()
        .join("tsmn-proxy-test.conf.tsmn-20261201000001.bak");
    assert_eq!(
        read(&backup),
        "first\n",
        "the second write backed the first up"
    );
}
