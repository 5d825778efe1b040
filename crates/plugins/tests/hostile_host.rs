//! Hostile scripts against the host API: SSRF attempts, network hangs,
//! storage quota, write caps, permission bypasses, floods. Each case
//! asserts the error kind and the elapsed time, and that the process and
//! the store survive (integrity check, nothing half-written).

crm_plugins::counting_allocator!();

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_plugins::ai::AiConfig;
use crm_plugins::testing::OpenAiStub;
use crm_plugins::{Context, ErrorKind, Limits, Sandbox, Services};

fn limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(1500),
        request_timeout: Duration::from_millis(800),
        max_writes: 50,
        max_rows_read: 100,
        storage_quota: 4096,
        max_requests: 3,
        max_response: 64 << 10,
        ..Default::default()
    }
}

fn store(dir: &std::path::Path) -> Arc<Mutex<Store>> {
    let mut s = Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("hostile host tests".into())),
    )
    .unwrap();
    for i in 0..5 {
        let mut d = crm_core::ContactDraft::default();
        d.set("first_name", &format!("C{i}")).unwrap();
        d.set("email", &format!("c{i}@example.com")).unwrap();
        s.create_contact(&d).unwrap();
    }
    Arc::new(Mutex::new(s))
}

fn ctx(store: &Arc<Mutex<Store>>, grants: &[&str], services: Services) -> Context {
    Context {
        grants: grants.iter().map(|g| g.to_string()).collect(),
        store: Some(store.clone()),
        plugin_id: Some("acme.hostile".into()),
        settings: Default::default(),
        services,
    }
}

struct Case {
    name: &'static str,
    src: &'static str,
    grants: &'static [&'static str],
    kind: ErrorKind,
}

fn run_cases(sb: &Sandbox, store: &Arc<Mutex<Store>>, services: &Services, cases: &[Case]) {
    let before = store.lock().unwrap().count_contacts().unwrap();
    let outbox = store.lock().unwrap().outbox_len().unwrap();
    for c in cases {
        let start = Instant::now();
        let r = sb.run(c.src, ctx(store, c.grants, services.clone()));
        let took = start.elapsed();
        let err = match r {
            Ok(v) => panic!("{}: should fail, gave {:?}", c.name, v.value),
            Err(e) => e,
        };
        assert_eq!(err.kind, c.kind, "{}: {err}", c.name);
        assert!(
            took < sb.limits().timeout + Duration::from_secs(1),
            "{} took {took:?}",
            c.name
        );
        // The store survives, whole, and nothing was half-written.
        let s = store.lock().unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok", "{}", c.name);
        assert_eq!(s.count_contacts().unwrap(), before, "{}", c.name);
        assert_eq!(s.outbox_len().unwrap(), outbox, "{}", c.name);
    }
    // And the sandbox still runs an honest script.
    let ok = sb
        .run(
            "contacts::count()",
            ctx(store, &["contacts:read"], services.clone()),
        )
        .unwrap();
    assert_eq!(ok.value, serde_json::json!(before));
}

const NET_ALL: &[&str] = &[
    "net:https://127.0.0.1",
    "net:https://localhost",
    "net:https://10.0.0.1",
    "net:https://169.254.169.254",
    "net:https://[::1]",
    "net:https://0.0.0.0",
    "net:https://192.168.1.1",
    "net:https://[::ffff:127.0.0.1]",
    "net:https://100.64.0.1",
    "net:https://172.16.0.1",
    "net:https://[fe80::1]",
    "net:https://[fd00::1]",
    "net:https://example.com",
];

#[test]
fn ssrf_attempts_are_refused_before_any_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    use ErrorKind::*;
    let cases = [
        Case {
            name: "loopback literal",
            src: r#"http::get("https://127.0.0.1/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "localhost by name",
            src: r#"http::get("https://localhost/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "private 10/8",
            src: r#"http::get("https://10.0.0.1/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "cloud metadata",
            src: r#"http::get("https://169.254.169.254/latest/meta-data")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "ipv6 loopback",
            src: r#"http::get("https://[::1]/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "unspecified",
            src: r#"http::get("https://0.0.0.0/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "private 192.168",
            src: r#"http::get("https://192.168.1.1/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "v4-mapped v6 loopback",
            src: r#"http::get("https://[::ffff:127.0.0.1]/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "carrier-grade NAT",
            src: r#"http::get("https://100.64.0.1/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "private 172.16",
            src: r#"http::get("https://172.16.0.1/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "ipv6 link-local",
            src: r#"http::get("https://[fe80::1]/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "ipv6 unique local",
            src: r#"http::get("https://[fd00::1]/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "decimal loopback",
            src: r#"http::get("https://2130706433/")"#,
            grants: &["net:https://127.0.0.1"],
            kind: Permission,
        },
        Case {
            name: "plain http",
            src: r#"http::get("http://example.com/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "file scheme",
            src: r#"http::get("file:///etc/passwd")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "undeclared origin",
            src: r#"http::get("https://evil.example/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "other port than declared",
            src: r#"http::get("https://example.com:8443/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "credentials in URL",
            src: r#"http::get("https://user:pw@example.com/")"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "post to undeclared origin",
            src: r#"http::post("https://evil.example/", #{a: 1})"#,
            grants: NET_ALL,
            kind: Permission,
        },
        Case {
            name: "no net grant at all",
            src: r#"http::get("https://example.com/")"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "not a URL",
            src: r#"http::get("::nonsense::")"#,
            grants: NET_ALL,
            kind: Runtime,
        },
    ];
    run_cases(&sb, &store, &Services::default(), &cases);
}

#[test]
fn network_hangs_are_cut_at_the_request_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    // A server that accepts and never answers (allowed: an admin opened
    // private networks for this case).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming() {
            held.push(c);
        }
    });
    let services = Services {
        allow_private_network: true,
        extra_root_pem: None,
        rehearsal: None,
        ai: Some(AiConfig {
            endpoint: format!("http://127.0.0.1:{port}/v1"),
            model: "m".into(),
            api_key: None,
        }),
    };
    let src: &'static str =
        Box::leak(format!("http::get(\"https://127.0.0.1:{port}/\")").into_boxed_str());
    let grant: &'static str = Box::leak(format!("net:https://127.0.0.1:{port}").into_boxed_str());
    let grants: &'static [&'static str] = Box::leak(vec![grant].into_boxed_slice());
    let loop_src: &'static str = Box::leak(
        "loop { try { http::get(\"http://refused.example/\"); } catch {} }"
            .to_string()
            .into_boxed_str(),
    );
    let cases = [
        Case {
            name: "silent https server",
            src,
            grants,
            kind: ErrorKind::Timeout,
        },
        Case {
            name: "silent AI endpoint",
            src: r#"ai::complete("hi")"#,
            grants: &["ai:use"],
            kind: ErrorKind::Timeout,
        },
        // Swallowing refusals in a loop still runs into the request cap,
        // and a cap cannot be caught.
        Case {
            name: "request flood",
            src: loop_src,
            grants,
            kind: ErrorKind::Limit,
        },
    ];
    let start = Instant::now();
    run_cases(&sb, &store, &services, &cases);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn storage_quota_write_caps_and_read_caps_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    use ErrorKind::*;
    let cases = [
        Case {
            name: "one value over quota",
            src: r#"let v = "x"; v.pad(5000, "x"); storage::set("k", v)"#,
            grants: &["storage"],
            kind: Limit,
        },
        Case {
            name: "many values over quota",
            src: r#"let v = "y"; v.pad(100, "y"); for i in 0..100 { storage::set(`k${i}`, v); }"#,
            grants: &["storage"],
            kind: Limit,
        },
        Case {
            name: "storage without grant",
            src: r#"storage::set("k", 1)"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "empty storage key",
            src: r#"storage::set("", 1)"#,
            grants: &["storage"],
            kind: Runtime,
        },
        Case {
            name: "write cap in one batch",
            src: r#"let ids = contacts::list("", 5); let b = []; for i in 0..60 { b.push(#{id: ids[i % 5].id, "custom.n": i}); } contacts::update_many(b)"#,
            grants: &["contacts:read", "contacts:write"],
            kind: Limit,
        },
        Case {
            name: "write without grant",
            src: r#"contacts::create(#{first_name: "X"})"#,
            grants: &["contacts:read"],
            kind: Permission,
        },
        Case {
            name: "task write without grant",
            src: r#"tasks::create(#{title: "X"})"#,
            grants: &["tasks:read"],
            kind: Permission,
        },
        Case {
            name: "activity write without grant",
            src: r#"activities::log("0190a0a0-0000-7000-8000-000000000000", "note", "x")"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "invalid write is refused whole",
            src: r#"let ids = contacts::list("", 5); contacts::update_many([#{id: ids[0].id, first_name: "Ok"}, #{id: ids[1].id, email: "not an email"}])"#,
            grants: &["contacts:read", "contacts:write"],
            kind: Runtime,
        },
        Case {
            name: "custom field name too long (fast path)",
            src: r#"let ids = contacts::list("", 1); contacts::update_many([#{id: ids[0].id, "custom.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": 1}])"#,
            grants: &["contacts:read", "contacts:write"],
            kind: Runtime,
        },
        Case {
            name: "read cap",
            src: r#"for i in 0..100 { contacts::list("", 100); }"#,
            grants: &["contacts:read"],
            kind: Limit,
        },
        Case {
            name: "policies without grant",
            src: r#"policies::list("")"#,
            grants: &["contacts:read"],
            kind: Permission,
        },
        Case {
            name: "payments without grant",
            src: r#"payments::arrears()"#,
            grants: &["policies:read"],
            kind: Permission,
        },
        Case {
            name: "notify without grant",
            src: r#"ui::notify("info", "hi")"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "ai without grant",
            src: r#"ai::complete("hi")"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "ai not configured",
            src: r#"ai::complete("hi")"#,
            grants: &["ai:use"],
            kind: Runtime,
        },
        Case {
            name: "ai prompt too large",
            src: r#"let p = "p"; p.pad(40000, "p"); ai::complete(p)"#,
            grants: &["ai:use"],
            kind: Limit,
        },
        Case {
            name: "bypass through a function pointer",
            src: r#"let f = Fn("contacts::count"); f.call()"#,
            grants: &[],
            kind: Runtime,
        },
        Case {
            name: "bypass through call()",
            src: r#"call("contacts::count")"#,
            grants: &[],
            kind: Runtime,
        },
        Case {
            name: "bypass through a closure",
            src: r#"let f = || contacts::count(); f.call()"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "bypass through curry",
            src: r#"fn g(x) { contacts::get(x) } let f = Fn("g").curry("id"); f.call()"#,
            grants: &[],
            kind: Permission,
        },
        Case {
            name: "forged id",
            src: r#"contacts::get("../../etc/passwd")"#,
            grants: &["contacts:read"],
            kind: Runtime,
        },
        Case {
            name: "not a date",
            src: r#"dates::days_between("yesterday", "2024-01-01")"#,
            grants: &[],
            kind: Runtime,
        },
        Case {
            name: "bad date",
            src: r#"dates::parse("31/02/2024")"#,
            grants: &[],
            kind: Runtime,
        },
    ];
    run_cases(&sb, &store, &Services::default(), &cases);
    // One write at a time: each is whole, and the cap stops the run at the
    // cap exactly, even when the script catches the refusal.
    let before = store.lock().unwrap().count_contacts().unwrap();
    for (i, src) in [
        r#"for i in 0..100 { contacts::create(#{first_name: `W${i}`}); }"#,
        r#"loop { try { contacts::create(#{first_name: "Z"}); } catch {} }"#,
    ]
    .iter()
    .enumerate()
    {
        let start = Instant::now();
        let err = sb
            .run(src, ctx(&store, &["contacts:write"], Services::default()))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Limit, "{src}: {err}");
        assert!(err.message.contains("write cap"), "{err}");
        assert!(start.elapsed() < Duration::from_millis(2500));
        let s = store.lock().unwrap();
        assert_eq!(s.count_contacts().unwrap(), before + 50 * (i as i64 + 1));
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
    // Storage stayed within its quota, and a failed batch wrote nothing.
    let s = store.lock().unwrap();
    assert!(s.plugin_storage_usage("acme.hostile").unwrap() <= 4096);
    for c in s.list_contacts(&Default::default()).unwrap() {
        assert!(!c.custom.contains_key("n"), "a refused batch wrote {c:?}");
        assert_ne!(c.first_name.as_deref(), Some("Ok"));
    }
}

#[test]
fn floods_of_notifications_and_logs_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    let out = sb
        .run(
            r#"let x = "x"; x.pad(5000, "x"); for i in 0..10000 { ui::notify("info", x); log::info("y"); } 1"#,
            ctx(&store, &["ui:notify"], Services::default()),
        )
        .unwrap();
    assert!(out.notifications.len() <= 200);
    assert!(out.logs.len() <= 200);
    assert!(out.notifications.iter().all(|n| n.message.len() <= 2_010));
}

#[test]
fn the_ai_client_speaks_the_openai_protocol() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    let stub = OpenAiStub::start().unwrap();
    let services = Services {
        allow_private_network: false,
        extra_root_pem: None,
        rehearsal: None,
        ai: Some(AiConfig {
            endpoint: stub.endpoint.clone(),
            model: "test-model".into(),
            api_key: Some("sk-test-123".into()),
        }),
    };
    stub.set_reply("Hot");
    let out = sb
        .run(
            r#"ai::classify("Director, wants a quote today", ["hot", "cold"])"#,
            ctx(&store, &["ai:use"], services.clone()),
        )
        .unwrap();
    assert_eq!(out.value, serde_json::json!("hot"));
    assert_eq!(
        stub.prompts(),
        vec!["Director, wants a quote today".to_string()]
    );
    assert_eq!(
        stub.auth_headers(),
        vec![Some("Bearer sk-test-123".to_string())]
    );
    // A failing endpoint is a runtime error naming the status.
    stub.set_status(500);
    let err = sb
        .run(r#"ai::complete("x")"#, ctx(&store, &["ai:use"], services))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Runtime);
    assert!(err.message.contains("500"), "{err}");
    // The key is never printed.
    let cfg = AiConfig {
        endpoint: "https://x".into(),
        model: "m".into(),
        api_key: Some("sk-secret".into()),
    };
    assert!(!format!("{cfg:?}").contains("sk-secret"));
}

#[test]
fn restricted_ranges_are_recognised() {
    use crm_plugins::net::is_restricted;
    for ip in [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.1.1",
        "0.0.0.0",
        "100.64.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
    ] {
        assert!(is_restricted(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
        assert!(!is_restricted(ip.parse().unwrap()), "{ip}");
    }
}

/// A local HTTPS server with its own certificate authority: `/ok` answers
/// JSON, `/redirect` a 302 to elsewhere, `/trickle` sends its headers at
/// once and then its body a byte every 100 ms (each read is quick, the whole
/// is slow), `/stall` sends headers and then nothing; anything else is 2 MB.
fn tls_server() -> (u16, String) {
    use std::io::{Read, Write};
    // The tenant's CA, and the server's certificate it signed.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let pem = ca.pem();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req).to_string();
                if head.starts_with("GET /trickle") || head.starts_with("GET /stall") {
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n"
                    );
                    let _ = tls.flush();
                    for _ in 0..1000 {
                        std::thread::sleep(Duration::from_millis(100));
                        if head.starts_with("GET /trickle")
                            && tls.write_all(b"x").and_then(|_| tls.flush()).is_err()
                        {
                            return; // the client gave up: good
                        }
                    }
                    return;
                }
                let (status, extra, body) = if head.starts_with("GET /ok") {
                    (
                        "200 OK",
                        "content-type: application/json\r\n",
                        r#"{"rate": 4.5}"#.to_string(),
                    )
                } else if head.starts_with("GET /redirect") {
                    (
                        "302 Found",
                        "location: https://evil.example/\r\n",
                        String::new(),
                    )
                } else {
                    ("200 OK", "", "x".repeat(2 << 20))
                };
                let _ = write!(
                    tls,
                    "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
            });
        }
    });
    (port, pem)
}

#[test]
fn https_to_a_declared_origin_works_and_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let sb = Sandbox::new(limits());
    let (port, pem) = tls_server();
    let grant = format!("net:https://127.0.0.1:{port}");
    let on_prem = Services {
        allow_private_network: true,
        extra_root_pem: Some(pem),
        rehearsal: None,
        ai: None,
    };
    let get = |path: &str, services: &Services| {
        sb.run(
            &format!("http::get(\"https://127.0.0.1:{port}{path}\")"),
            ctx(&store, &[grant.as_str()], services.clone()),
        )
    };
    // The declared origin, trusted through the tenant's own CA.
    let out = get("/ok", &on_prem).unwrap();
    assert_eq!(out.value["status"], 200);
    assert_eq!(out.value["json"]["rate"], 4.5);
    // Redirects are not followed: the script sees the 302.
    let out = get("/redirect", &on_prem).unwrap();
    assert_eq!(out.value["status"], 302);
    // Oversized answers are cut off with a limit error.
    let err = get("/big", &on_prem).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Limit, "{err}");
    // A body trickled a byte at a time (every read succeeds quickly) and a
    // body that never comes both end at the request's deadline (800 ms),
    // not after the 100 s the server would take; the sandbox goes on.
    for slow in ["/trickle", "/stall"] {
        let started = Instant::now();
        let err = get(slow, &on_prem).unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.kind, ErrorKind::Timeout, "{slow}: {err}");
        assert!(err.message.contains("did not arrive within"), "{err}");
        assert!(
            took < Duration::from_millis(1400),
            "{slow} held the script for {took:?}"
        );
        assert!(
            took >= Duration::from_millis(700),
            "{slow} gave up early, after {took:?}: {err}"
        );
    }
    let out = get("/ok", &on_prem).unwrap();
    assert_eq!(out.value["status"], 200, "the sandbox still works");
    // Without the CA the certificate is not trusted.
    let untrusted = Services {
        extra_root_pem: None,
        rehearsal: None,
        ..on_prem.clone()
    };
    let err = get("/ok", &untrusted).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Runtime, "{err}");
    assert!(
        err.message.contains("certificate"),
        "the reason is named: {err}"
    );
    // And without the admin's private-network switch, not even tried.
    let err = get("/ok", &Services::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Permission, "{err}");
}
