//! Failed logins are limited per email and per client address; the address
//! is the connection's peer unless proxies are trusted; old failures expire
//! and are deleted.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{http_login, login_body, Env, PASSWORD};
use crm_sync_server::auth::Role;
use crm_sync_server::{app, AppState, Limits};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WINDOW: Duration = Duration::from_secs(3);

fn limits() -> Limits {
    Limits {
        login_failures_per_email: 3,
        login_failures_per_address: 5,
        login_window: WINDOW,
        ..Limits::default()
    }
}

async fn login_from(
    app: &axum::Router,
    peer: &str,
    forwarded: Option<&str>,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = forwarded
        .map(|f| vec![("x-forwarded-for", f)])
        .unwrap_or_default();
    Env::call_app(
        app,
        peer,
        &headers,
        Method::POST,
        "/v1/login",
        None,
        login_body(email, password),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_across_many_emails_from_one_address_are_limited_and_expire() {
    let env = Env::with_limits(limits()).await;
    let t = env.tenant("Acme").await;
    env.user(t, "real@acme.test", Role::Agent, None).await;
    let attacker = "198.51.100.7:50000";

    // Five wrong passwords, each for another email (one real, the rest
    // unknown): each email stays under its own limit of three.
    for i in 0..5 {
        let email = if i == 0 {
            "real@acme.test".to_string()
        } else {
            format!("guess{i}@acme.test")
        };
        let (s, v) = login_from(&env.app, attacker, None, &email, "wrong password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{i}: {v}");
    }
    // The address is now refused, even with the right password for a real
    // account, and an X-Forwarded-For header changes nothing when no proxy
    // is trusted.
    let (s, v) = login_from(&env.app, attacker, None, "real@acme.test", PASSWORD).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("address")),
        "{v}"
    );
    let (s, v) = login_from(
        &env.app,
        attacker,
        Some("203.0.113.1"),
        "other@acme.test",
        "x",
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged header does not help: {v}"
    );
    // Another address is not affected (nor is the account).
    let (s, v) = login_from(
        &env.app,
        "198.51.100.8:50000",
        None,
        "real@acme.test",
        PASSWORD,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // An IPv6 client is counted by its /64: other addresses in it share the
    // count, the next /64 does not.
    for i in 0..5 {
        let peer = format!("[2001:db8:1:2::{i}]:50000");
        let (s, _) = login_from(&env.app, &peer, None, &format!("v6-{i}@acme.test"), "x").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_from(
        &env.app,
        "[2001:db8:1:2:ffff::9]:1",
        None,
        "real@acme.test",
        PASSWORD,
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let (s, _) = login_from(
        &env.app,
        "[2001:db8:1:3::9]:1",
        None,
        "real@acme.test",
        PASSWORD,
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // After the window the failures no longer count, and the next login
    // deletes them.
    assert!(env.count("SELECT count(*) FROM login_failures").await >= 10);
    tokio::time::sleep(WINDOW + Duration::from_millis(500)).await;
    let (s, v) = login_from(&env.app, attacker, None, "real@acme.test", PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        env.count("SELECT count(*) FROM login_failures").await,
        0,
        "expired failures are deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_trusted_proxies_the_client_is_the_address_the_proxy_saw() {
    let env = Env::with_limits(limits()).await;
    let t = env.tenant("Acme").await;
    env.user(t, "real@acme.test", Role::Agent, None).await;
    let behind_proxy = app(AppState::new(
        env.pool.clone(),
        Limits {
            trusted_proxies: 1,
            ..limits()
        },
    ));
    let proxy = "10.0.0.9:40000";
    for i in 0..5 {
        // The client made up the first entry; our proxy appended the second.
        let (s, _) = login_from(
            &behind_proxy,
            proxy,
            Some(&format!("192.0.2.{i}, 203.0.113.50")),
            &format!("guess{i}@acme.test"),
            "x",
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = login_from(
        &behind_proxy,
        proxy,
        Some("203.0.113.50"),
        "real@acme.test",
        PASSWORD,
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    // Another client behind the same proxy is a different address.
    let (s, v) = login_from(
        &behind_proxy,
        proxy,
        Some("203.0.113.51"),
        "real@acme.test",
        PASSWORD,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Over a real socket the address is the connection's: two loopback
/// addresses are counted apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_socket_the_peer_address_is_counted() {
    let env = Env::with_limits(limits()).await;
    let t = env.tenant("Acme").await;
    env.user(t, "real@acme.test", Role::Agent, None).await;
    let server = crm_sync_server::local::spawn(env.pool.clone(), limits(), 0)
        .await
        .expect("serve");
    async fn post(server: std::net::SocketAddr, from: &str, email: &str, password: &str) -> u16 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{from}:0").parse().expect("addr"))
            .expect("bind");
        let mut stream = socket.connect(server).await.expect("connect");
        let body = login_body(email, password).unwrap_or_default();
        let head = format!(
            "POST /v1/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(&body).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }
    for i in 0..5 {
        let code = post(server.addr, "127.0.0.1", &format!("g{i}@acme.test"), "x").await;
        assert_eq!(code, 401);
    }
    assert_eq!(
        post(server.addr, "127.0.0.1", "real@acme.test", PASSWORD).await,
        429
    );
    assert_eq!(
        post(server.addr, "127.0.0.2", "real@acme.test", PASSWORD).await,
        200
    );
    server.stop().await;
}

/// Counts of the answers to `n` logins sent at once.
async fn at_once(
    server: std::net::SocketAddr,
    from: &str,
    n: usize,
    email: impl Fn(usize) -> String,
) -> std::collections::BTreeMap<u16, usize> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (from, email) = (from.to_string(), email(i));
        tasks.spawn(async move {
            http_login(&from, server, &email, "wrong password")
                .await
                .status
        });
    }
    let mut counts = std::collections::BTreeMap::new();
    while let Some(status) = tasks.join_next().await {
        *counts.entry(status.expect("task")).or_insert(0) += 1;
    }
    counts
}

/// The attack run's case: 40 wrong passwords for one email at once were all
/// checked (the count was read before any failure was recorded). Each
/// attempt is now counted before its check, one at a time per email and
/// per address, so at most the limit are checked and the rest refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_stop_at_the_limit_per_email_and_per_address() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "real@acme.test", Role::Agent, None).await;
    let limits = Limits {
        login_failures_per_email: 10,
        login_failures_per_address: 10,
        // Enough places that the bound on password checks turns none away:
        // this is about the failure limit alone.
        password_checks: 64,
        ..Limits::default()
    };
    let server = crm_sync_server::local::spawn(env.pool.clone(), limits, 0)
        .await
        .expect("serve");

    // One email, 40 at once (from one address: its limit is the same 10).
    let counts = at_once(server.addr, "127.0.0.1", 40, |_| "real@acme.test".into()).await;
    assert_eq!(counts.values().sum::<usize>(), 40, "{counts:?}");
    let checked = counts.get(&401).copied().unwrap_or(0);
    assert!((1..=10).contains(&checked), "{counts:?}");
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0),
        40 - checked,
        "{counts:?}"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM login_failures").await,
        checked as i64,
        "every checked attempt is one failure, no refused one is"
    );

    // One address, 40 emails at once.
    let counts = at_once(server.addr, "127.0.0.2", 40, |i| {
        format!("guess{i}@acme.test")
    })
    .await;
    let checked = counts.get(&401).copied().unwrap_or(0);
    assert!((1..=10).contains(&checked), "{counts:?}");
    assert_eq!(
        counts.get(&429).copied().unwrap_or(0),
        40 - checked,
        "{counts:?}"
    );

    // A right password from another address after the email's limit: still
    // refused (the email's limit), and from a fresh address for a fresh
    // account it works and leaves no failure behind.
    let a = http_login("127.0.0.3", server.addr, "real@acme.test", PASSWORD).await;
    assert_eq!(a.status, 429, "{a:?}");
    env.user(t, "other@acme.test", Role::Agent, None).await;
    let before = env.count("SELECT count(*) FROM login_failures").await;
    let a = http_login("127.0.0.3", server.addr, "other@acme.test", PASSWORD).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        env.count("SELECT count(*) FROM login_failures").await,
        before,
        "a right password takes its attempt back"
    );
    server.stop().await;
}
