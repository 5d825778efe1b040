//! `crm admin …` and `crm account password` against a real sync server: an
//! admin invites someone, who signs in with the one-time password, is made
//! to choose their own, and then syncs; reset, disable and the lists.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crm_pg_testkit::TestPg;
use crm_sync_server::auth::Role;
use crm_sync_server::local::Running;
use crm_sync_server::{admin, db, Limits};
use serde_json::Value;

const PASS: &str = "correct horse battery";
const ACCOUNT_PW: &str = "account password 1";

fn crm(dir: &Path, password: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
        .env("CRM_SYNC_PASSWORD", password)
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

fn fails(c: &mut Command) -> String {
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// The one-time password in `crm admin invite`'s or `reset-password`'s output.
fn one_time(out: &str) -> String {
    out.lines()
        .skip_while(|l| !l.contains("one-time password"))
        .nth(1)
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| panic!("no one-time password in {out}"))
}

struct Server {
    _pg: TestPg,
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
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
            admin::add_user(&owner, t, "boss@acme.test", ACCOUNT_PW, Role::Admin, None)
                .await
                .expect("admin");
            let pool = db::connect(&pg.url("crm_app", "crm"), 8)
                .await
                .expect("pool");
            crm_sync_server::local::spawn(pool, Limits::default(), 0)
                .await
                .expect("serve")
        });
        Server {
            _pg: pg,
            rt,
            running: Some(running),
        }
    }

    fn url(&self) -> String {
        let port = self.running.as_ref().map(|r| r.addr.port()).unwrap_or(0);
        format!("http://127.0.0.1:{port}")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

#[test]
fn an_invited_agent_signs_in_once_chooses_a_password_and_syncs() {
    let server = Server::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let (boss, new, other) = (
        tmp.path().join("boss"),
        tmp.path().join("new"),
        tmp.path().join("other"),
    );
    for d in [&boss, &new, &other] {
        ok(crm(d, ACCOUNT_PW).args(["init", "--key-store", "passphrase"]));
    }
    ok(crm(&boss, ACCOUNT_PW).args(["login", &server.url(), "--email", "boss@acme.test"]));
    let out = ok(crm(&boss, ACCOUNT_PW).args([
        "admin",
        "invite",
        "new@acme.test",
        "--role",
        "agent",
        "--team",
        "north",
    ]));
    assert!(out.contains("privately"), "{out}");
    let otp = one_time(&out);
    assert!(otp.len() >= 16, "{out}");

    // Signed in with it, but told to choose a password, and sync refuses.
    let err = fails(crm(&new, &otp).args(["login", &server.url(), "--email", "new@acme.test"]));
    assert!(err.contains("crm account password"), "{err}");
    let err = fails(crm(&new, &otp).arg("sync"));
    assert!(err.contains("password_change_required"), "{err}");
    assert!(err.contains("crm account password"), "the remedy: {err}");
    // A second sign-in with it is refused.
    let err = fails(crm(&other, &otp).args(["login", &server.url(), "--email", "new@acme.test"]));
    assert!(err.contains("wrong email or password"), "{err}");

    ok(crm(&new, &otp)
        .env("CRM_SYNC_NEW_PASSWORD", "my own password")
        .args(["account", "password"]));
    ok(crm(&new, "my own password").arg("sync"));
    ok(crm(&other, "my own password").args(["login", &server.url(), "--email", "new@acme.test"]));

    let users: Value = serde_json::from_str(&ok(
        crm(&boss, ACCOUNT_PW).args(["admin", "users", "--json"])
    ))
    .expect("json");
    let u = users
        .as_array()
        .and_then(|a| a.iter().find(|u| u["email"] == "new@acme.test"))
        .cloned()
        .expect("listed");
    assert_eq!(
        (&u["team"], &u["one_time_password_pending"]),
        (&Value::from("north"), &Value::from(false))
    );
    assert_eq!(u["devices"], 2);

    // A reset: old devices signed out; `crm login` asks for a new password
    // at once when it can (CRM_SYNC_NEW_PASSWORD here).
    let out = ok(crm(&boss, ACCOUNT_PW).args(["admin", "reset-password", "new@acme.test"]));
    let otp = one_time(&out);
    let err = fails(crm(&new, "my own password").arg("sync"));
    assert!(err.contains("sign in again"), "{err}");
    let out = ok(crm(&new, &otp)
        .env("CRM_SYNC_NEW_PASSWORD", "another password")
        .args(["login", &server.url(), "--email", "new@acme.test"]));
    assert!(
        out.contains("one-time password") && out.contains("password is changed"),
        "{out}"
    );
    ok(crm(&new, "another password").arg("sync"));

    // Disabled: refused at once, with the remedy; enabled: syncs again.
    ok(crm(&boss, ACCOUNT_PW).args(["admin", "set", "new@acme.test", "--disable"]));
    let err = fails(crm(&new, "another password").arg("sync"));
    assert!(
        err.contains("account_disabled") && err.contains("enable"),
        "{err}"
    );
    ok(crm(&boss, ACCOUNT_PW).args(["admin", "set", "new@acme.test", "--enable"]));
    ok(crm(&new, "another password").arg("sync"));
    // The last admin stays.
    let err =
        fails(crm(&boss, ACCOUNT_PW).args(["admin", "set", "boss@acme.test", "--role", "agent"]));
    assert!(err.contains("last_admin"), "{err}");
    // An agent cannot.
    let err = fails(crm(&new, "another password").args(["admin", "users"]));
    assert!(err.contains("admin_only"), "{err}");

    let devices: Value = serde_json::from_str(&ok(
        crm(&boss, ACCOUNT_PW).args(["admin", "devices", "--json"])
    ))
    .expect("json");
    let other_device = devices
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|d| d["user_email"] == "new@acme.test" && d["revoked"] == false)
        })
        .and_then(|d| d["id"].as_str())
        .expect("a device")
        .to_string();
    ok(crm(&boss, ACCOUNT_PW).args(["admin", "revoke", &other_device]));
    let audit = ok(crm(&boss, ACCOUNT_PW).args(["admin", "audit"]));
    for action in [
        "invited",
        "password_reset",
        "disabled",
        "enabled",
        "device_revoked",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    assert!(!audit.contains(&otp), "no password in the audit");
    let health = ok(crm(&boss, ACCOUNT_PW).args(["admin", "health"]));
    assert!(health.contains("no device has reported"), "{health}");
}
