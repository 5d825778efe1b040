//! Two `crm` profiles converging through a real sync server over a real
//! PostgreSQL: login, offline edits, concurrent field edits, deletes, the
//! server going away and coming back, `crm sync status`.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crm_pg_testkit::TestPg;
use crm_sync_server::auth::Role;
use crm_sync_server::local::Running;
use crm_sync_server::{admin, db, Limits};
use serde_json::Value;

#[path = "support/secret_service.rs"]
mod secret_service;
use secret_service::SecretService;

const PASS: &str = "correct horse battery";
const ACCOUNT_PW: &str = "account password 1";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        .env("CRM_SYNC_PASSWORD", ACCOUNT_PW)
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
    serde_json::from_str(&ok(c)).expect("json output")
}

fn contacts(dir: &Path) -> Vec<Value> {
    json(crm(dir).args(["contacts", "list", "--json"]))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn by_name<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|c| c["display_name"] == name)
}

struct Server {
    pg: TestPg,
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let pg = TestPg::start().expect("postgres");
        pg.create_database("crm", "crm_owner", "crm_app")
            .expect("database");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let running = rt.block_on(async {
            let owner = db::connect(&pg.url("crm_owner", "crm"), 2)
                .await
                .expect("owner");
            db::migrate(&owner).await.expect("migrate");
            let t = admin::create_tenant(&owner, "Acme").await.expect("tenant");
            for email in ["ann@acme.test", "bob@acme.test"] {
                admin::add_user(&owner, t, email, ACCOUNT_PW, Role::Admin, None)
                    .await
                    .expect("user");
            }
            admin::add_user(&owner, t, "cal@acme.test", ACCOUNT_PW, Role::Agent, None)
                .await
                .expect("agent");
            let pool = db::connect(&pg.url("crm_app", "crm"), 8)
                .await
                .expect("pool");
            crm_sync_server::local::spawn(pool, Limits::default(), 0)
                .await
                .expect("serve")
        });
        let port = running.addr.port();
        Server {
            pg,
            rt,
            running: Some(running),
            port,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }

    fn restart(&mut self) {
        let pool = self.rt.block_on(async {
            db::connect(&self.pg.url("crm_app", "crm"), 8)
                .await
                .expect("pool")
        });
        let port = self.port;
        self.running = Some(
            self.rt
                .block_on(crm_sync_server::local::spawn(pool, Limits::default(), port))
                .expect("serve again"),
        );
    }
}

#[test]
fn two_profiles_converge_through_the_server_and_survive_it_going_away() {
    let mut server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        ok(crm(d).args(["init", "--key-store", "passphrase"]));
    }
    // Made before the first login: pushed once signed in.
    ok(crm(&a).args([
        "contacts",
        "add",
        "--first-name",
        "Ann",
        "--last-name",
        "Lee",
        "--email",
        "ann.lee@example.com",
    ]));
    ok(crm(&a).args(["login", &server.url(), "--email", "ann@acme.test"]));
    ok(crm(&b).args(["login", &server.url(), "--email", "bob@acme.test"]));
    ok(crm(&a).arg("sync"));
    ok(crm(&b).arg("sync"));
    let on_b = contacts(&b);
    let ann = by_name(&on_b, "Ann Lee").expect("b has ann").clone();
    let id = ann["id"].as_str().expect("id").to_string();
    let status = json(crm(&b).args(["sync", "status", "--json"]));
    assert_eq!(
        status["pending"], 0,
        "pulled rows do not re-enter the outbox: {status}"
    );
    assert!(status["last_success"].is_string());
    let audit = ok(crm(&b).args(["audit", &id]));
    assert!(
        audit.contains("sync") && audit.contains("(ann@acme.test on "),
        "pulled changes are audited as sync, naming who made them: {audit}"
    );

    // Concurrent edits of different fields both survive.
    ok(crm(&a).args(["contacts", "edit", &id, "--set", "city=Leeds"]));
    ok(crm(&b).args(["contacts", "edit", &id, "--set", "stage=client"]));
    for d in [&a, &b, &a] {
        ok(crm(d).arg("sync"));
    }
    for d in [&a, &b] {
        let list = contacts(d);
        let c = by_name(&list, "Ann Lee").expect("ann");
        assert_eq!(c["city"], "Leeds", "{c}");
        assert_eq!(c["stage"], "client", "{c}");
    }

    // The server goes away: local work goes on, sync fails clearly, the
    // op stays pending, and is delivered once the server is back.
    server.stop();
    ok(crm(&a).args([
        "contacts",
        "add",
        "--first-name",
        "Offline",
        "--last-name",
        "Made",
    ]));
    let o = run(crm(&a).arg("sync"));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("unreachable"),
        "{err}"
    );
    let status = json(crm(&a).args(["sync", "status", "--json"]));
    assert!(status["pending"].as_i64().unwrap_or(0) >= 1, "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable")),
        "{status}"
    );
    server.restart();
    ok(crm(&a).arg("sync"));
    let status = json(crm(&a).args(["sync", "status", "--json"]));
    assert_eq!(status["pending"], 0, "{status}");
    assert!(status["last_error"].is_null(), "{status}");

    // A delete on b reaches a.
    ok(crm(&b).arg("sync"));
    assert!(by_name(&contacts(&b), "Offline Made").is_some());
    ok(crm(&b).args(["contacts", "delete", &id]));
    ok(crm(&b).arg("sync"));
    ok(crm(&a).arg("sync"));
    assert!(
        by_name(&contacts(&a), "Ann Lee").is_none(),
        "the delete arrived"
    );
    let names = |d: &Path| {
        let mut v: Vec<String> = contacts(d)
            .iter()
            .map(|c| c["display_name"].as_str().unwrap_or("").to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), names(&b));
}

/// An import creates its contacts in bulk (shared audit entries and ops
/// after the first few); each still reaches the server as an op of its
/// own: the other device gets every contact with its fields, the outbox
/// empties, and syncing again sends nothing twice.
#[test]
fn an_imported_file_reaches_the_other_device_row_for_row() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        ok(crm(d).args(["init", "--key-store", "passphrase"]));
    }
    let rows = 4_200;
    let mut text = String::from("First Name,Last Name,Email,City\n");
    for i in 0..rows {
        text.push_str(&format!("P{i},Row,p{i}@example.com,Town {}\n", i % 7));
    }
    let csv = tmp.path().join("people.csv");
    std::fs::write(&csv, text).expect("csv");
    ok(crm(&a).args(["import", "contacts"]).arg(&csv));
    ok(crm(&a).args(["login", &server.url(), "--email", "ann@acme.test"]));
    ok(crm(&b).args(["login", &server.url(), "--email", "bob@acme.test"]));
    let status = json(crm(&a).args(["sync", "status", "--json"]));
    assert_eq!(status["pending"], rows, "{status}");
    ok(crm(&a).arg("sync"));
    let status = json(crm(&a).args(["sync", "status", "--json"]));
    assert_eq!(status["pending"], 0, "{status}");
    ok(crm(&b).arg("sync"));
    let all = |d: &Path| -> Vec<Value> {
        json(crm(d).args(["contacts", "list", "--json", "--limit", "100000"]))
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let on_b = all(&b);
    assert_eq!(on_b.len(), rows as usize);
    for i in [0, 15, 16, 17, 2_000, 4_111, 4_112, 4_113, rows - 1] {
        let c = by_name(&on_b, &format!("P{i} Row")).unwrap_or_else(|| panic!("P{i} on b"));
        assert_eq!(c["city"], format!("Town {}", i % 7), "{c}");
        assert_eq!(c["emails"][0], format!("p{i}@example.com"), "{c}");
    }
    ok(crm(&a).arg("sync"));
    ok(crm(&b).arg("sync"));
    assert_eq!(all(&b).len(), rows as usize, "nothing arrived twice");
    assert_eq!(all(&a).len(), rows as usize);
}

#[test]
fn sync_before_login_and_a_wrong_password_fail_with_one_clear_line() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    ok(crm(&a).args(["init", "--key-store", "passphrase"]));
    let o = run(crm(&a).arg("sync"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("crm login"));
    let o = run(crm(&a).env("CRM_SYNC_PASSWORD", "wrong password").args([
        "login",
        &server.url(),
        "--email",
        "ann@acme.test",
    ]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("wrong email or password"), "{err}");
}

#[test]
fn an_agent_cannot_change_what_plugins_may_do_on_their_device() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let cal = tmp.path().join("cal");
    ok(crm(&cal).args(["init", "--key-store", "passphrase"]));
    ok(crm(&cal).args(["login", &server.url(), "--email", "cal@acme.test"]));
    let ca = tmp.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .expect("ca");
    for args in [
        vec!["settings", "plugin-network", "allow"],
        vec!["settings", "plugin-limit", "max_writes", "100000000"],
        vec!["settings", "plugin-ca", ca.to_str().expect("path")],
    ] {
        let o = run(crm(&cal).args(&args));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?} succeeded: {err}");
        assert!(err.contains("only an admin"), "{args:?}: {err}");
    }
    // An admin of the same agency may, on their own device.
    let ann = tmp.path().join("ann");
    ok(crm(&ann).args(["init", "--key-store", "passphrase"]));
    ok(crm(&ann).args(["login", &server.url(), "--email", "ann@acme.test"]));
    ok(crm(&ann).args(["settings", "plugin-network", "allow"]));
}

#[test]
fn a_keyring_profile_keeps_its_device_token_in_the_secret_service_and_nowhere_on_disk() {
    let server = Server::start();
    let ss = SecretService::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("k");
    // The profile's key and the device token both go to the Secret Service
    // of this private session; no passphrase anywhere.
    ok(ss
        .attach(&mut crm(&dir))
        .args(["init", "--key-store", "keyring"]));
    ok(ss.attach(&mut crm(&dir)).args([
        "contacts",
        "add",
        "--first-name",
        "Kay",
        "--email",
        "kay@acme.test",
    ]));
    ok(ss
        .attach(&mut crm(&dir))
        .args(["login", &server.url(), "--email", "ann@acme.test"]));

    // The token is the Secret Service's, under the profile's keyring user.
    let token = ss.secret_of(crm_core::sync::TOKEN_KEYRING_SERVICE, &dir);
    let token = token.as_str();
    assert!(
        token.len() >= 32,
        "expected the device token in the Secret Service, got {token:?}"
    );
    // Not in any file of the profile (the database is encrypted anyway;
    // the token must not be in the profile file or a log either).
    for entry in std::fs::read_dir(&dir).expect("profile folder") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let bytes = std::fs::read(&path).expect("read");
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "the device token is written in {}",
                path.display()
            );
        }
    }

    // Sync reads the token back from the Secret Service: the contact made
    // before signing in reaches the server.
    ok(ss.attach(&mut crm(&dir)).arg("sync"));
    let status = json(ss.attach(&mut crm(&dir)).args(["sync", "status", "--json"]));
    assert_eq!(status["pending"], 0, "{status}");
    assert!(status["last_success"].is_string(), "{status}");
    let other = tmp.path().join("other");
    ok(crm(&other).args(["init", "--key-store", "passphrase"]));
    ok(crm(&other).args(["login", &server.url(), "--email", "bob@acme.test"]));
    ok(crm(&other).arg("sync"));
    assert!(
        by_name(&contacts(&other), "Kay").is_some(),
        "the keyring profile's contact reached the other device"
    );

    // With the Secret Service gone nothing is read from anywhere else: the
    // profile (whose key is there too) says the keyring is missing.
    drop(ss);
    let o = run(crm(&dir).arg("sync"));
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("keyring"), "{e}");
}

/// `crm sync --watch` stays connected and prints what arrives: a contact
/// added on another device shows up in its output by name within moments,
/// with nobody running `crm sync` on the watching profile; and a contact
/// added on the watching profile by another `crm` command is pushed by it.
#[test]
fn sync_watch_prints_what_arrives_and_pushes_what_is_queued() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;

    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        ok(crm(d).args(["init", "--key-store", "passphrase"]));
    }
    ok(crm(&a).args(["login", &server.url(), "--email", "ann@acme.test"]));
    ok(crm(&b).args(["login", &server.url(), "--email", "bob@acme.test"]));
    let mut watch = crm(&a)
        .args(["sync", "--watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("crm sync --watch");
    let (lines, heard) = mpsc::channel();
    let out = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |needle: &str| -> Vec<String> {
        let mut seen = Vec::new();
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
            match heard.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("`crm sync --watch` never printed {needle:?}; it printed {seen:?}");
    };
    wait_for("watching");

    ok(crm(&b).args([
        "contacts",
        "add",
        "--first-name",
        "Zoe",
        "--last-name",
        "Far",
    ]));
    ok(crm(&b).arg("sync"));
    let printed = wait_for("Zoe Far");
    assert!(
        printed.iter().any(|l| l.contains("pulled 1")),
        "{printed:?}"
    );

    // Queued on the watching profile by another command: pushed at the
    // next keep-alive (within 15 s), then B has it.
    ok(crm(&a).args([
        "contacts",
        "add",
        "--first-name",
        "Al",
        "--last-name",
        "Near",
    ]));
    wait_for("pushed 1");
    let _ = watch.kill();
    let _ = watch.wait();
    ok(crm(&b).arg("sync"));
    assert!(by_name(&contacts(&b), "Al Near").is_some());
}

/// A change the server refuses is listed by `crm sync set-aside` with the
/// server's reason and its values; `crm sync retry` sends it again once
/// the cause is put right, `crm sync discard` gives it up for good.
#[test]
fn refused_changes_are_listed_sent_again_or_given_up_from_the_cli() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let (cal, ann) = (tmp.path().join("cal"), tmp.path().join("ann"));
    for (dir, email) in [(&cal, "cal@acme.test"), (&ann, "ann@acme.test")] {
        ok(crm(dir).args(["init", "--key-store", "passphrase"]));
        ok(crm(dir).args(["login", &server.url(), "--email", email]));
    }
    ok(crm(&cal).args(["contacts", "add", "--first-name", "Dora"]));
    ok(crm(&cal).arg("sync"));
    ok(crm(&ann).arg("sync"));
    let id = by_name(&contacts(&ann), "Dora").expect("ann has dora")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let give = |owner: &str| {
        ok(crm(&ann).args(["contacts", "edit", &id, "--set", &format!("owner={owner}")]));
        ok(crm(&ann).arg("sync"));
    };

    // Given to Bob; Cal edits her before hearing of it.
    give("bob@acme.test");
    ok(crm(&cal).args(["contacts", "edit", &id, "--set", "city=York"]));
    ok(crm(&cal).arg("sync"));
    let listed = json(crm(&cal).args(["sync", "set-aside", "--json"]));
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["row_id"], id.as_str());
    assert_eq!(listed[0]["fields"]["city"], "York");
    let op = listed[0]["op_id"].as_str().expect("op id").to_string();
    let text = ok(crm(&cal).args(["sync", "set-aside"]));
    assert!(
        text.contains(&op) && text.contains("refused:") && text.contains("city: York"),
        "{text}"
    );

    // Back to Cal: sent again, it lands.
    give("cal@acme.test");
    ok(crm(&cal).arg("sync"));
    let said = ok(crm(&cal).args(["sync", "retry", &op]));
    assert!(said.contains("sent again"), "{said}");
    ok(crm(&cal).arg("sync"));
    assert!(json(crm(&cal).args(["sync", "set-aside", "--json"]))
        .as_array()
        .is_some_and(|l| l.is_empty()));
    ok(crm(&ann).arg("sync"));
    assert_eq!(
        by_name(&contacts(&ann), "Dora").expect("dora")["city"],
        "York"
    );

    // Refused again, then given up: gone, nothing sent, and said plainly
    // when named again.
    give("bob@acme.test");
    ok(crm(&cal).args(["contacts", "edit", &id, "--set", "city=Hull"]));
    ok(crm(&cal).arg("sync"));
    let op = json(crm(&cal).args(["sync", "set-aside", "--json"]))[0]["op_id"]
        .as_str()
        .expect("op id")
        .to_string();
    ok(crm(&cal).args(["sync", "discard", &op]));
    let status = json(crm(&cal).args(["sync", "status", "--json"]));
    assert_eq!(
        (status["quarantined"].as_i64(), status["pending"].as_i64()),
        (Some(0), Some(0))
    );
    let again = run(crm(&cal).args(["sync", "discard", &op]));
    assert!(!again.status.success());
    let bad = run(crm(&cal).args(["sync", "retry", "not-an-id"]));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("crm sync set-aside"));
}
