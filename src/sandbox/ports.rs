//! Free TCP ports on 127.0.0.1.

/// `n` distinct ports that were free a moment ago. All listeners are held
/// until every port is chosen, so one call never returns the same port twice.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}
