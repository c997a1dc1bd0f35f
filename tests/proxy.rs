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

#[test]
fn the_proxy_delays_each_way_and_counts_round_trips() {
    let c = TestCluster::named("px");
    let dir = own_dir();
    let port = c.cluster.port;
    let sock = format!(".s.PGSQL.{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let delay = Duration::from_millis(25);
    let p = rt
        .block_on(proxy::unix(
            &dir.path().join(&sock),
            proxy::Target::Unix(c.cluster.data_dir().join(&sock)),
            delay,
        ))
        .unwrap();
    rt.block_on(async {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host_path(dir.path())
            .port(port)
            .user("postgres")
            .dbname("postgres");
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
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
