//! The documents library through a real sync server, as people would use
//! it: an admin adds documents for everyone, for team north and for team
//! south (one over 2 MiB, so it travels in chunks) and a draft; `crm sync`
//! sends the published ones. An agent of team north receives exactly what
//! is for them: the south-only document never reaches their device, and
//! search and ask never return it; the server refuses them its file too.
//! Retiring a document removes it and its passages from the agent's
//! device at their next sync; widening an audience brings one in,
//! narrowing it or moving the person to another team takes it away.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crm_sync_server::auth::Role;
use crm_sync_testkit::{Throwaway, PASSWORD};
use serde_json::Value;

const PASS: &str = "correct horse battery";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        .env("CRM_SYNC_PASSWORD", PASSWORD)
        .env_remove("CRM_SYNC_NEW_PASSWORD")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> String {
    let o = run(c);
    assert!(
        o.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(c: &mut Command) -> Value {
    serde_json::from_str(&ok(c)).expect("json")
}

/// Add one file, returning its document id.
fn add(dir: &Path, file: &Path, extra: &[&str]) -> String {
    let out = ok(crm(dir)
        .args(["docs", "add"])
        .arg(file)
        .args(extra)
        .arg("--json"));
    let added: Value = serde_json::from_str(out.lines().next().unwrap_or("")).expect("json line");
    added["document_id"]
        .as_str()
        .unwrap_or_else(|| panic!("not added: {added}"))
        .to_string()
}

fn titles(dir: &Path) -> Vec<String> {
    let mut t: Vec<String> = json(crm(dir).args(["docs", "list", "--json"]))
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["title"].as_str().unwrap_or_default().to_string())
        .collect();
    t.sort();
    t
}

fn search_docs(dir: &Path, q: &str) -> Vec<String> {
    json(crm(dir).args(["docs", "search", q, "--json"]))
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn documents_reach_exactly_their_audience_and_leave_when_retired() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme Care",
            &[
                ("boss@acme.test", Role::Admin, None),
                ("nina@acme.test", Role::Agent, Some("north")),
                ("sam@acme.test", Role::Agent, Some("south")),
            ],
        )
        .expect("tenant");
    let tmp = tempfile::tempdir().expect("tmp");
    let (boss, nina, sam) = (
        tmp.path().join("boss"),
        tmp.path().join("nina"),
        tmp.path().join("sam"),
    );
    for (d, email) in [
        (&boss, "boss@acme.test"),
        (&nina, "nina@acme.test"),
        (&sam, "sam@acme.test"),
    ] {
        ok(crm(d).args(["init", "--key-store", "passphrase"]));
        ok(crm(d).args(["login", &server.url(), "--email", email]));
    }

    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).expect("dir");
    let write = |name: &str, text: &str| {
        let p = files.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let everyone = write(
        "fire-safety.md",
        "# Fire safety\n\nThe assembly point is the car park by the gatehouse. Count everyone out.\n",
    );
    let north = write(
        "north-rota.md",
        "# North rota\n\nNorth office staff cover the Harrogate quokka visits on Tuesdays.\n",
    );
    let south = write(
        "south-keys.md",
        "# South key safe\n\nThe south office key safe code is kept by the manager; wombat rounds start at six.\n",
    );
    // Over two chunks of text: travels in three.
    let mut big = String::from("# Moving and handling manual\n\n");
    let mut i = 0;
    while big.len() < (2 << 20) + 4096 {
        big.push_str(&format!(
            "Section {i}. Use the hoist with two carers and check the sling for wear before each transfer.\n\n"
        ));
        i += 1;
    }
    big.push_str("The pangolin checklist closes the manual.\n");
    let manual = write("moving-handling.md", &big);
    let draft = write(
        "draft-policy.md",
        "# Draft policy\n\nThe narwhal procedure is not agreed yet.\n",
    );

    let everyone_id = add(&boss, &everyone, &[]);
    let north_id = add(&boss, &north, &["--audience", "team:north"]);
    let south_id = add(&boss, &south, &["--audience", "team:south"]);
    add(&boss, &manual, &["--audience", "role:agent"]);
    add(&boss, &draft, &["--draft"]);
    let out = ok(crm(&boss).arg("sync"));
    assert!(out.contains("documents: sent 4"), "{out}");
    // Nothing new: nothing sent again.
    let out = ok(crm(&boss).arg("sync"));
    assert!(!out.contains("documents:"), "{out}");

    // Team north: everyone's, north's and the agents' manual; never south's.
    let out = ok(crm(&nina).arg("sync"));
    assert!(
        out.contains("documents: sent 0, received 3, removed 0"),
        "{out}"
    );
    assert_eq!(
        titles(&nina),
        ["Fire safety", "Moving and handling manual", "North rota"]
    );
    assert_eq!(search_docs(&nina, "quokka"), ["North rota"]);
    assert_eq!(
        search_docs(&nina, "pangolin checklist"),
        ["Moving and handling manual"]
    );
    assert!(search_docs(&nina, "wombat key safe")
        .iter()
        .all(|t| t != "South key safe"));
    let asked = json(crm(&nina).args(["docs", "ask", "when do wombat rounds start?", "--json"]));
    assert!(!asked.to_string().contains("South key safe"), "{asked}");
    assert!(!asked["answer"].to_string().contains("key safe"), "{asked}");
    // The file travelled whole.
    let versions = json(
        crm(&nina)
            .args(["docs", "versions"])
            .arg(&north_id)
            .arg("--json"),
    );
    assert_eq!(versions[0]["version"], 1, "{versions}");
    // No text of it in any file of the profile.
    for entry in walk(&nina) {
        let bytes = std::fs::read(&entry).expect("read");
        assert!(
            !bytes.windows(6).any(|w| w == b"quokka"),
            "{} holds passage text",
            entry.display()
        );
    }

    // Team south sees theirs and not north's.
    ok(crm(&sam).arg("sync"));
    assert_eq!(
        titles(&sam),
        [
            "Fire safety",
            "Moving and handling manual",
            "South key safe"
        ]
    );

    // The server refuses north's agent the south file even when asked
    // directly: to them it does not exist.
    let conn = crm_sync_client::Connection::new(&server.url(), Default::default()).expect("conn");
    let login = conn
        .login("nina@acme.test", PASSWORD, uuid::Uuid::now_v7(), "probe")
        .expect("login");
    let listed = conn.documents(&login.token, None, None).expect("documents");
    assert!(listed.documents.iter().all(|d| d.id != south_id));
    let boss_view = {
        let b = conn
            .login("boss@acme.test", PASSWORD, uuid::Uuid::now_v7(), "probe")
            .expect("login");
        conn.documents(&b.token, None, None).expect("documents")
    };
    let south_entry = boss_view
        .documents
        .iter()
        .find(|d| d.id == south_id)
        .expect("south on the server");
    let refused = conn
        .document_chunk(&login.token, &south_id, &south_entry.sha256, 0)
        .expect_err("refused");
    assert!(
        refused.to_string().contains("404") || refused.to_string().contains("no document"),
        "{refused}"
    );
    // An agent cannot publish.
    let err = conn
        .put_document(&login.token, south_entry)
        .expect_err("agents do not publish");
    assert!(err.to_string().contains("admin"), "{err}");

    // Retired: gone from north's device, passages and all, at its next sync.
    ok(crm(&boss).args(["docs", "retire", &north_id]));
    let out = ok(crm(&boss).arg("sync"));
    assert!(out.contains("documents: sent 1"), "{out}");
    let out = ok(crm(&nina).arg("sync"));
    assert!(out.contains("removed 1"), "{out}");
    assert_eq!(titles(&nina), ["Fire safety", "Moving and handling manual"]);
    assert!(search_docs(&nina, "quokka").is_empty());
    let gone = run(crm(&nina).args(["docs", "versions"]).arg(&north_id));
    assert!(!gone.status.success());

    // South's document opened to north too: it arrives.
    ok(crm(&boss).args([
        "docs",
        "audience",
        &south_id,
        "--audience",
        "team:south",
        "--audience",
        "team:north",
    ]));
    ok(crm(&boss).arg("sync"));
    ok(crm(&nina).arg("sync"));
    assert_eq!(search_docs(&nina, "wombat"), ["South key safe"]);
    // Taken out of the audience again: it leaves at the next sync.
    ok(crm(&boss).args(["docs", "audience", &south_id, "--audience", "team:south"]));
    ok(crm(&boss).arg("sync"));
    let out = ok(crm(&nina).arg("sync"));
    assert!(out.contains("removed 1"), "{out}");
    assert!(search_docs(&nina, "wombat").is_empty());
    // Nina moves to team south: south's documents come, and she searches
    // them as south (the team the server names is recorded).
    ok(crm(&boss).args(["admin", "set", "nina@acme.test", "--team", "south"]));
    ok(crm(&nina).arg("sync"));
    assert_eq!(
        titles(&nina),
        [
            "Fire safety",
            "Moving and handling manual",
            "South key safe"
        ]
    );
    assert_eq!(search_docs(&nina, "wombat"), ["South key safe"]);
    // The admin keeps every document, the retired one too.
    let all = titles(&boss);
    assert!(all.contains(&"North rota".to_string()) && all.contains(&"Draft policy".to_string()));
    let _ = everyone_id;
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A proxy in front of the server that can drop the connection of any
/// request for chunk 1 of a file, counting the chunk requests it sees.
struct Flaky {
    url: String,
    drop_chunk_1: std::sync::Arc<std::sync::atomic::AtomicBool>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

fn flaky_proxy(upstream: std::net::SocketAddr) -> Flaky {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let drop_chunk_1 = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (flag, log) = (drop_chunk_1.clone(), seen.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let (flag, log) = (flag.clone(), log.clone());
            std::thread::spawn(move || {
                // One request per connection: read its head and body.
                let mut buf = Vec::new();
                let mut byte = [0u8; 1];
                while !buf.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    buf.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("").to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                if client.read_exact(&mut body).is_err() {
                    return;
                }
                let chunk = path.contains("/files/") && path.starts_with("/v1/documents/");
                if chunk {
                    log.lock().expect("log").push(path.clone());
                    if path.ends_with("/1") && flag.load(Ordering::SeqCst) {
                        return; // the link drops
                    }
                }
                let head: String = head
                    .lines()
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection:") && !l.is_empty())
                    .map(|l| format!("{l}\r\n"))
                    .collect();
                let Ok(mut up) = std::net::TcpStream::connect(upstream) else {
                    return;
                };
                let _ = up.write_all(format!("{head}connection: close\r\n\r\n").as_bytes());
                let _ = up.write_all(&body);
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                let _ = client.write_all(&answer);
            });
        }
    });
    Flaky {
        url,
        drop_chunk_1,
        seen,
    }
}

#[test]
fn a_download_cut_off_resumes_at_the_chunk_it_lost() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme Care",
            &[
                ("boss@acme.test", Role::Admin, None),
                ("nina@acme.test", Role::Agent, Some("north")),
            ],
        )
        .expect("tenant");
    let proxy = flaky_proxy(server.addr());
    let tmp = tempfile::tempdir().expect("tmp");
    let (boss, nina) = (tmp.path().join("boss"), tmp.path().join("nina"));
    ok(crm(&boss).args(["init", "--key-store", "passphrase"]));
    ok(crm(&boss).args(["login", &server.url(), "--email", "boss@acme.test"]));
    ok(crm(&nina).args(["init", "--key-store", "passphrase"]));
    ok(crm(&nina).args(["login", &proxy.url, "--email", "nina@acme.test"]));

    let mut big = String::from("# Moving and handling manual\n\n");
    let mut i = 0;
    while big.len() < (2 << 20) + 4096 {
        big.push_str(&format!(
            "Section {i}. Check the sling for wear before each transfer.\n\n"
        ));
        i += 1;
    }
    big.push_str("The pangolin checklist closes the manual.\n");
    let file = tmp.path().join("moving-handling.md");
    std::fs::write(&file, &big).expect("write");
    add(&boss, &file, &[]);
    ok(crm(&boss).arg("sync"));

    // The link drops at chunk 1: the sync fails, chunk 0 is kept.
    let cut = run(crm(&nina).arg("sync"));
    assert!(!cut.status.success(), "{cut:?}");
    assert!(titles(&nina).is_empty());
    let before = proxy.seen.lock().expect("seen").clone();
    assert_eq!(
        before.iter().filter(|p| p.ends_with("/0")).count(),
        1,
        "{before:?}"
    );

    // Back: only chunks 1 and 2 are fetched, and the manual is searchable.
    proxy
        .drop_chunk_1
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let out = ok(crm(&nina).arg("sync"));
    assert!(out.contains("received 1"), "{out}");
    let seen = proxy.seen.lock().expect("seen").clone();
    let after = &seen[before.len()..];
    assert!(
        after.iter().all(|p| !p.ends_with("/0")),
        "chunk 0 fetched again: {after:?}"
    );
    assert_eq!(
        after.iter().filter(|p| p.ends_with("/2")).count(),
        1,
        "{after:?}"
    );
    assert_eq!(
        search_docs(&nina, "pangolin checklist"),
        ["Moving and handling manual"]
    );
}
