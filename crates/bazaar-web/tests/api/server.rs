//! The server's transport limits over real sockets: idle and slow clients are cut off, and
//! connections past the cap are answered 503 instead of starving everyone.

use crate::TestApp;
use bazaar_web::app::server::{Limits, harden, serve};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Serves the test app on a free loopback port with `limits`; its address.
async fn start(t: &TestApp, limits: Limits) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = harden(t.app.clone(), limits);
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    addr
}

/// Reads until the peer closes or `wait` passes; what was read and whether it closed.
async fn read_until_closed(s: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into(), false),
        }
    }
}

#[tokio::test]
async fn idle_and_slow_clients_are_cut_off_and_the_cap_answers_503() {
    let t = TestApp::spawn().await;
    let limits = Limits {
        max_connections: 3,
        header_read: Duration::from_millis(500),
        body_idle: Duration::from_millis(500),
        request: Duration::from_secs(2),
    };
    let addr = start(&t, limits).await;
    // A connection that never sends a byte is closed after the header-read timeout.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(closed, "an idle connection was kept open");
    // One that sends a request and then idles on keep-alive, likewise.
    let mut kept = TcpStream::connect(addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("write");
    let (text, closed) = read_until_closed(&mut kept, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle kept-alive connection was kept open");
    // A body sent a byte now and then is cut off by the request timeout (408).
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(
        b"POST /api/v1/sessions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
    )
    .await
    .expect("write");
    let started = std::time::Instant::now();
    let mut answer = String::new();
    for _ in 0..12 {
        if slow.write_all(b" ").await.is_err() {
            break;
        }
        let (text, closed) = read_until_closed(&mut slow, Duration::from_millis(300)).await;
        answer.push_str(&text);
        if closed || !text.is_empty() {
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // Past the cap: 503 at once, and the server still answers once they are gone.
    let mut held = vec![];
    for _ in 0..3 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await
            .expect("write");
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(addr).await.expect("connect");
    let (text, _) = read_until_closed(&mut extra, Duration::from_secs(2)).await;
    assert!(text.starts_with("HTTP/1.1 503"), "{text:?}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut again = TcpStream::connect(addr).await.expect("connect");
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let (text, _) = read_until_closed(&mut again, Duration::from_secs(3)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
}
