//! Loopback TCP proxies in front of the demo server, misconfigured the way real ones are.

use crate::tap::RequestInfo;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// A proxy that cuts a connection after `idle` without a byte in either direction, like
/// nginx's `proxy_read_timeout` or a load balancer's idle timeout.
pub(crate) async fn idle_cut(
    backend: SocketAddr,
    idle: Duration,
    tasks: &mut JoinSet<()>,
) -> io::Result<SocketAddr> {
    serve(tasks, move |client| async move {
        if let Ok(upstream) = TcpStream::connect(backend).await {
            pipe_until_idle(client, upstream, idle).await;
        }
    })
    .await
}

/// Listens on a loopback port and runs `handle` for each accepted connection, in `tasks`.
async fn serve<F, Fut>(tasks: &mut JoinSet<()>, handle: F) -> io::Result<SocketAddr>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tasks.spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                Ok((client, _)) = listener.accept() => {
                    conns.spawn(handle(client));
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(addr)
}

async fn pipe_until_idle(client: TcpStream, upstream: TcpStream, idle: Duration) {
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let (mut cbuf, mut ubuf) = (vec![0u8; 8192], vec![0u8; 8192]);
    let mut deadline = Instant::now() + idle;
    loop {
        tokio::select! {
            n = cr.read(&mut cbuf) => match n {
                Ok(n) if n > 0 && uw.write_all(&cbuf[..n]).await.is_ok() => deadline = Instant::now() + idle,
                _ => break,
            },
            n = ur.read(&mut ubuf) => match n {
                Ok(n) if n > 0 && cw.write_all(&ubuf[..n]).await.is_ok() => deadline = Instant::now() + idle,
                _ => break,
            },
            // Both sides just see their TCP connection end: no close frame from anyone.
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
}

/// A proxy that forwards requests without `Upgrade` (HTTP/1.0 style, `Connection: close`),
/// as nginx does without `proxy_http_version 1.1` and the Upgrade headers.
pub(crate) async fn strip_upgrade(
    backend: SocketAddr,
    tasks: &mut JoinSet<()>,
) -> io::Result<SocketAddr> {
    serve(tasks, move |client| async move {
        let _ = forward_stripped(client, backend).await;
    })
    .await
}

async fn forward_stripped(mut client: TcpStream, backend: SocketAddr) -> io::Result<()> {
    let Ok(Ok((req, rest))) =
        tokio::time::timeout(Duration::from_secs(5), RequestInfo::read_from(&mut client)).await
    else {
        return Ok(());
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("upgrade") && !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(backend).await?;
    upstream.write_all(head.as_bytes()).await?;
    upstream.write_all(&rest).await?;
    tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::copy_bidirectional(&mut client, &mut upstream),
    )
    .await
    .ok();
    Ok(())
}
