//! A loopback proxy that holds every chunk of bytes for a fixed time in each
//! direction, so that servers on this machine behave as if they were a
//! network away (20 ms each way: a 40 ms round trip). It listens on
//! 127.0.0.1 (TCP) or on a Unix socket and forwards to a node's real
//! address; no traffic leaves the machine.
//!
//! It also counts round trips: each time a client starts sending again
//! after the server has answered, one more turn of the conversation began.
//! Used by `benches/remote.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Where the proxy forwards to.
#[derive(Clone, Debug)]
pub enum Target {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

/// One running proxy. Dropping it does not stop it: it lives as long as
/// the runtime that started it.
pub struct Proxy {
    /// The TCP port it listens on (0 for a Unix socket proxy).
    pub port: u16,
    /// When each turn began (see the module comment).
    turns: Arc<Mutex<Vec<Instant>>>,
    connections: Arc<AtomicUsize>,
}

impl Proxy {
    /// The instants at which the clients' turns began.
    pub fn turns(&self) -> Vec<Instant> {
        self.turns.lock().unwrap().clone()
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
    pub fn reset(&self) {
        self.turns.lock().unwrap().clear();
        self.connections.store(0, Ordering::Relaxed);
    }
}

/// Listen on 127.0.0.1 (a free port) and forward to `target`.
pub async fn tcp(target: Target, delay: Duration) -> std::io::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (proxy, shared) = new(port);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let _ = client.set_nodelay(true);
            spawn_pair(client, target.clone(), delay, shared.clone());
        }
    });
    Ok(proxy)
}

/// Listen on the Unix socket `path` and forward to `target`.
pub async fn unix(path: &Path, target: Target, delay: Duration) -> std::io::Result<Proxy> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let (proxy, shared) = new(0);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            spawn_pair(client, target.clone(), delay, shared.clone());
        }
    });
    Ok(proxy)
}

#[derive(Clone)]
struct Shared {
    turns: Arc<Mutex<Vec<Instant>>>,
    connections: Arc<AtomicUsize>,
}

fn new(port: u16) -> (Proxy, Shared) {
    let shared = Shared {
        turns: Arc::new(Mutex::new(Vec::new())),
        connections: Arc::new(AtomicUsize::new(0)),
    };
    let proxy = Proxy {
        port,
        turns: shared.turns.clone(),
        connections: shared.connections.clone(),
    };
    (proxy, shared)
}

fn spawn_pair<C>(client: C, target: Target, delay: Duration, shared: Shared)
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    tokio::spawn(async move {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        match target {
            Target::Tcp(a) => {
                if let Ok(server) = TcpStream::connect(a).await {
                    let _ = server.set_nodelay(true);
                    pump_both(client, server, delay, shared).await;
                }
            }
            Target::Unix(p) => {
                if let Ok(server) = UnixStream::connect(p).await {
                    pump_both(client, server, delay, shared).await;
                }
            }
        }
    });
}

/// Who sent last on one connection: 0 nobody yet, 1 the client, 2 the server.
const CLIENT: u8 = 1;
const SERVER: u8 = 2;

async fn pump_both<C, S>(client: C, server: S, delay: Duration, shared: Shared)
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let last = Arc::new(AtomicU8::new(0));
    let (cr, cw) = tokio::io::split(client);
    let (sr, sw) = tokio::io::split(server);
    let up = pump(cr, sw, delay, CLIENT, last.clone(), Some(shared.turns));
    let down = pump(sr, cw, delay, SERVER, last, None);
    let _ = tokio::join!(up, down);
}

/// Copy `from` to `to`, each chunk `delay` after it was read, in order.
async fn pump<R, W>(
    mut from: R,
    mut to: W,
    delay: Duration,
    me: u8,
    last: Arc<AtomicU8>,
    turns: Option<Arc<Mutex<Vec<Instant>>>>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, bytes)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let before = last.swap(me, Ordering::Relaxed);
        if let Some(t) = &turns {
            if before != me {
                t.lock().unwrap().push(Instant::now());
            }
        }
        if tx
            .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
