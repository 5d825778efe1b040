//! Clients that send slowly or stall cannot hold the server's connections:
//! heads and bodies time out, connections are capped, `/health` stays
//! answerable. Over real sockets against `local::spawn` (which serves as
//! the binary does).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{http, http_login, parse_answer, Env, PASSWORD};
use crm_sync_server::auth::Role;
use crm_sync_server::local::Running;
use crm_sync_server::serve::RESERVE;
use crm_sync_server::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
const CAP: usize = 20;
/// Timers fire a little late on a busy machine.
const SLACK: Duration = Duration::from_millis(1500);

async fn start() -> (Env, Running) {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "a@acme.test", Role::Admin, None).await;
    let limits = Limits {
        header_timeout: HEADER_TIMEOUT,
        body_timeout: BODY_TIMEOUT,
        max_connections: CAP,
        ..Limits::default()
    };
    let server = crm_sync_server::local::spawn(env.pool.clone(), limits, 0)
        .await
        .expect("serve");
    (env, server)
}

/// Read until the server closes the connection (or `limit` passes): what
/// it sent, and when it closed (`None`: still open at `limit`).
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, Some(started.elapsed())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, None),
        }
    }
}

async fn stalled(server: SocketAddr, sent: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(server).await.expect("connect");
    s.write_all(sent).await.expect("write");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_stalling_in_the_head_or_idle_are_disconnected_within_the_header_timeout() {
    let (_env, server) = start().await;
    let cases: [(&str, &[u8]); 3] = [
        ("half a request line", b"POST /v1/lo"),
        (
            "half the headers",
            b"POST /v1/login HTTP/1.1\r\nHost: test\r\nContent-Le",
        ),
        ("nothing at all", b""),
    ];
    for (what, sent) in cases {
        let mut s = stalled(server.addr, sent).await;
        let (_, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
        let closed = closed.unwrap_or_else(|| panic!("{what}: still open after 10 s"));
        assert!(
            closed < HEADER_TIMEOUT + SLACK,
            "{what}: closed after {closed:?}"
        );
    }
    // Headers trickled a byte at a time, never idle long: the header
    // timeout is a deadline for the whole head, not for each byte.
    let mut s = stalled(server.addr, b"POST /v1/login HTTP/1.1\r\n").await;
    let started = Instant::now();
    let trickle = b"Host: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in trickle {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.write_all(&[*byte]).await.is_err() {
            break;
        }
    }
    let (_, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "a trickled head is still open after 10 s");
    assert!(
        started.elapsed() < HEADER_TIMEOUT + SLACK,
        "trickled head: closed after {:?}",
        started.elapsed()
    );
    // A kept-alive connection idle after its request goes the same way.
    let mut s = stalled(server.addr, b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n").await;
    let (got, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    let closed = closed.expect("idle connection still open after 10 s");
    assert!(
        closed < HEADER_TIMEOUT + SLACK,
        "idle: closed after {closed:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_body_stalls_or_trickles_is_answered_408_within_the_body_timeout() {
    let (env, server) = start().await;
    let login = http_login("127.0.0.1", server.addr, "a@acme.test", PASSWORD).await;
    assert_eq!(login.status, 200, "{login:?}");
    let token = login.body["token"].as_str().expect("token").to_string();
    let head = format!(
        "POST /v1/push HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"ops\": ["
    );
    // Stalls after a few bytes.
    let mut s = stalled(server.addr, head.as_bytes()).await;
    let (got, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    let a = parse_answer(&got);
    assert_eq!((a.status, a.code()), (408, Some("body_timeout")), "{a:?}");
    assert!(
        a.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not arrive within 2 s")),
        "{a:?}"
    );
    let closed = closed.expect("still open after 10 s");
    assert!(closed < BODY_TIMEOUT + SLACK, "closed after {closed:?}");

    // Trickles a byte every 200 ms: never idle long, still a total deadline.
    let mut s = stalled(server.addr, head.as_bytes()).await;
    let started = Instant::now();
    let trickle = async {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if s.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(BODY_TIMEOUT + Duration::from_millis(300), trickle).await;
    let (got, closed) = until_closed(&mut s, Duration::from_secs(10)).await;
    let a = parse_answer(&got);
    assert_eq!((a.status, a.code()), (408, Some("body_timeout")), "{a:?}");
    assert!(closed.is_some(), "still open");
    assert!(
        started.elapsed() < BODY_TIMEOUT + SLACK,
        "answered after {:?}",
        started.elapsed()
    );
    let tenant =
        uuid::Uuid::parse_str(login.body["tenant_id"].as_str().expect("tenant")).expect("uuid");
    assert_eq!(env.rows_of(tenant).await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_stalled_connections_than_the_cap_leave_health_answered_and_the_server_serving() {
    let (_env, server) = start().await;
    let half = b"GET /health HTTP/1.1\r\nHost: te";
    // Fill the cap with stalled connections.
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(stalled(server.addr, half).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // /health is still answered at once (a reserve connection); anything
    // else there is told to come back.
    let started = Instant::now();
    let h = http(server.addr, "GET", "/health", None, None).await;
    assert_eq!(h.status, 200, "{h:?}");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let a = http_login("127.0.0.1", server.addr, "a@acme.test", PASSWORD).await;
    assert_eq!((a.status, a.code()), (503, Some("busy")), "{a:?}");
    assert_eq!(a.header("retry-after"), Some("1"), "{a:?}");

    // Many more: beyond the cap and the reserve they are closed at once.
    let extra = 3 * CAP;
    let mut more = Vec::new();
    for _ in 0..extra {
        more.push(stalled(server.addr, half).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut shut_at_once = 0;
    for s in more.iter_mut() {
        if let (_, Some(_)) = until_closed(s, Duration::from_millis(10)).await {
            shut_at_once += 1;
        }
    }
    assert!(
        shut_at_once >= extra - RESERVE,
        "{shut_at_once} of {extra} connections past the cap were closed at once"
    );

    // The stalled ones all time out; then everything is served again.
    for s in held.iter_mut().chain(more.iter_mut()) {
        let (_, closed) = until_closed(s, HEADER_TIMEOUT + SLACK).await;
        assert!(
            closed.is_some(),
            "a stalled connection outlived the header timeout"
        );
    }
    assert_eq!(
        http(server.addr, "GET", "/health", None, None).await.status,
        200
    );
    let a = http_login("127.0.0.1", server.addr, "a@acme.test", PASSWORD).await;
    assert_eq!(a.status, 200, "{a:?}");
    server.stop().await;
}
