//! Many logins at once cannot make the server hold many Argon2 buffers:
//! password checks run at most `password_checks` at a time, the rest are
//! answered 503 with `Retry-After` at once, and memory stays flat.
//!
//! Alone in its test binary: it measures this process's peak memory.

mod common;

use std::time::{Duration, Instant};

use common::{http, http_login, Env, PASSWORD};
use crm_sync_server::auth::Role;
use crm_sync_server::Limits;

/// A field of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_logins_at_once_run_at_most_the_bound_of_password_checks_in_flat_memory() {
    let env = Env::start().await;
    let t = env.tenant("Acme").await;
    env.user(t, "real@acme.test", Role::Agent, None).await;
    const BOUND: usize = 2;
    let limits = Limits {
        password_checks: BOUND,
        // The failure limits are not what this is about.
        login_failures_per_email: 100_000,
        login_failures_per_address: 100_000,
        ..Limits::default()
    };
    let server = crm_sync_server::local::spawn(env.pool.clone(), limits, 0)
        .await
        .expect("serve");
    // Warm: a login and an unknown email (the decoy hash is made once).
    assert_eq!(
        http_login("127.0.0.1", server.addr, "real@acme.test", PASSWORD)
            .await
            .status,
        200
    );
    http_login("127.0.0.1", server.addr, "nobody@acme.test", "x").await;

    // The peak from here on (Linux: "5" resets the peak to the current size).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let base = status_kib(if reset { "VmHWM" } else { "VmRSS" }).unwrap_or(0);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        tasks.spawn(async move {
            // Half for the real account, half for unknown emails: both cost
            // a check.
            let email = if i % 2 == 0 {
                "real@acme.test".to_string()
            } else {
                format!("nobody{i}@acme.test")
            };
            let started = Instant::now();
            let a = http_login("127.0.0.1", server.addr, &email, "wrong password").await;
            (a, started.elapsed())
        });
    }
    let (mut checked, mut busy, mut slowest) = (0, 0, Duration::ZERO);
    while let Some(done) = tasks.join_next().await {
        let (a, took) = done.expect("task");
        slowest = slowest.max(took);
        match a.status {
            401 => checked += 1,
            503 => {
                busy += 1;
                assert_eq!(a.code(), Some("busy"), "{a:?}");
                assert_eq!(a.header("retry-after"), Some("1"), "{a:?}");
                assert!(
                    a.body["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("try again")),
                    "{a:?}"
                );
            }
            _ => panic!("unexpected answer {a:?}"),
        }
    }
    let grown_mib = status_kib("VmHWM").unwrap_or(0).saturating_sub(base) / 1024;
    let peak = server.password_checks().peak();
    eprintln!(
        "200 logins at once: {checked} checked, {busy} answered 503, slowest {slowest:?}, \
         at most {peak} checks at once, peak memory +{grown_mib} MiB"
    );
    assert_eq!(checked + busy, 200);
    assert!(checked >= 1 && busy >= 1, "{checked} checked, {busy} busy");
    assert!(
        (1..=BOUND).contains(&peak),
        "{peak} checks ran at once; the bound is {BOUND}"
    );
    assert!(
        slowest < Duration::from_secs(10),
        "every login is answered quickly: the slowest took {slowest:?}"
    );
    // Two checks of 19 MiB each, their buffers kept for the next: 200
    // checks at once held about 3.7 GiB.
    assert!(
        grown_mib < 100,
        "memory grew by {grown_mib} MiB under 200 logins at once"
    );

    // The server still serves, and a normal login works.
    assert_eq!(
        http(server.addr, "GET", "/health", None, None).await.status,
        200
    );
    let a = http_login("127.0.0.1", server.addr, "real@acme.test", PASSWORD).await;
    assert_eq!(a.status, 200, "{a:?}");
    server.stop().await;
}
