//! Plugins from the `crm` CLI as an author and an admin use them: a new
//! plugin from a template, its tests, settings, hooks after an ordinary
//! change, actions, schedules, health, uninstall with an export.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", "plugin cli tests")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run crm")
}

fn ok(c: &mut Command) -> (String, String) {
    let o = run(c);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(o.status.success(), "crm failed: {err}\n{out}");
    (out, err)
}

fn fails(c: &mut Command) -> String {
    let o = run(c);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "expected one line, got {err:?}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
    err
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn an_author_and_an_admin_take_a_template_plugin_through_its_life() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    let plug = tmp.path().join("scores");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));

    // Author: a new plugin from a template, checked and tested.
    let (list, _) = ok(crm(&dir).args(["plugin", "templates"]));
    assert!(list.contains("lead-scoring") && list.contains("duplicate-finder"));
    ok(crm(&dir).args(["plugin", "new", &s(&plug), "--template", "lead-scoring"]));
    let (out, _) = ok(crm(&dir).args(["plugin", "test", &s(&plug)]));
    assert!(out.contains("4 tests of local.scores passed"), "{out}");
    let e = fails(crm(&dir).args(["plugin", "new", &s(&plug)]));
    assert!(e.contains("already exists"), "{e}");

    // Admin: install (developer mode for a folder), configure, enable.
    ok(crm(&dir).args(["plugin", "install", &s(&plug), "--dev"]));
    let (form, _) = ok(crm(&dir).args(["plugin", "configure", "local.scores"]));
    assert!(form.contains("hot_tag = \"hot\" (default)"), "{form}");
    let e = fails(crm(&dir).args(["plugin", "configure", "local.scores", "colour=blue"]));
    assert!(e.contains("colour") && e.contains("no such setting"), "{e}");
    ok(crm(&dir).args(["plugin", "configure", "local.scores", "hot_tag=vip"]));
    ok(crm(&dir).args(["plugin", "enable", "local.scores", "--grant-all"]));

    // An ordinary change runs the plugin's hook afterwards.
    let (id, _) = ok(crm(&dir).args([
        "contacts",
        "add",
        "--first-name",
        "Ann",
        "--email",
        "ann@example.com",
        "--tag",
        "vip",
    ]));
    let id = id.trim().to_string();
    let (show, _) = ok(crm(&dir).args(["contacts", "show", &id, "--json"]));
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["contact"]["custom"]["lead_score"], "35", "{show}");
    let (audit, _) = ok(crm(&dir).args(["audit", &id]));
    assert!(audit.contains("local.scores"), "{audit}");

    // An action, from the CLI, prints the script's value as JSON.
    ok(crm(&dir).args(["contacts", "add", "--first-name", "Bob"]));
    let (out, _) = ok(crm(&dir).args(["plugin", "run", "local.scores", "score_all"]));
    assert_eq!(out.trim(), r#"{"done":true,"scored":2}"#);
    let e = fails(crm(&dir).args(["plugin", "run", "local.scores", "score_one"]));
    assert!(e.contains("--record"), "{e}");

    // Health: two hooks (Ann, Bob) and the action.
    let (stats, _) = ok(crm(&dir).args(["plugin", "stats"]));
    assert!(
        stats.contains("local.scores  enabled  runs 3  errors 0"),
        "{stats}"
    );
    let (json, _) = ok(crm(&dir).args(["plugin", "stats", "local.scores", "--json"]));
    let h: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(h[0]["runs"], 3);

    // Schedules: none due for this plugin; tick says so.
    let (tick, _) = ok(crm(&dir).args(["plugin", "tick"]));
    assert!(tick.contains("ran 0 schedule(s)"), "{tick}");

    // Uninstall with an export of its data; the file is private.
    let export = tmp.path().join("scores-data.json");
    ok(crm(&dir).args([
        "plugin",
        "uninstall",
        "local.scores",
        "--export",
        &s(&export),
    ]));
    let data: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(data["plugin"], "local.scores");
    assert_eq!(data["settings"]["hot_tag"], "vip");
    assert_eq!(data["custom_fields"][0]["name"], "lead_score");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
    let (list, _) = ok(crm(&dir).args(["plugin", "list"]));
    assert!(list.contains("no plugins installed"));
    // The scores stay: they are the user's data.
    let (show, _) = ok(crm(&dir).args(["contacts", "show", &id, "--json"]));
    assert!(show.contains("lead_score"));
}

#[test]
fn a_failing_hook_warns_but_never_fails_the_change() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    let plug = tmp.path().join("broken");
    std::fs::create_dir(&plug).unwrap();
    std::fs::write(
        plug.join("manifest.json"),
        r#"{"id": "acme.broken", "name": "Broken", "version": "1.0.0", "api_version": "^1", "author": "A",
            "hooks": [{"event": "contact.created", "function": "on_created"}]}"#,
    )
    .unwrap();
    std::fs::write(plug.join("main.rhai"), "fn on_created(e) { loop {} }").unwrap();
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    ok(crm(&dir).args(["plugin", "install", &s(&plug), "--dev"]));
    ok(crm(&dir).args(["plugin", "enable", "acme.broken", "--grant-all"]));
    let (id, err) = ok(crm(&dir).args(["contacts", "add", "--first-name", "Cy"]));
    assert!(!id.trim().is_empty());
    assert!(
        err.contains("warning: plugin acme.broken (hook:contact.created) failed: limit error"),
        "{err}"
    );
    let (count, _) = ok(crm(&dir).args(["contacts", "count"]));
    assert_eq!(count.trim(), "1");
    // A plugin test that fails exits 1 with one line.
    std::fs::create_dir(plug.join("tests")).unwrap();
    std::fs::write(
        plug.join("tests/t.rhai"),
        "fn test_fails() { test::assert(false, \"nope\"); }",
    )
    .unwrap();
    let e = fails(crm(&dir).args(["plugin", "test", &s(&plug)]));
    assert!(e.contains("1 of 1 tests of acme.broken failed"), "{e}");
    // The reference is printed from the registered functions.
    let (md, _) = ok(crm(&dir).args(["plugin", "reference"]));
    assert!(md.contains("### `contacts::get(id: &str) -> Map`"));
    // And as data, for the editor: the same functions, with permissions.
    let (json, _) = ok(crm(&dir).args(["plugin", "reference", "--json"]));
    let r: serde_json::Value = serde_json::from_str(&json).expect("json");
    let contacts = r["modules"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["name"] == "contacts"))
        .expect("contacts module");
    let get = contacts["functions"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["name"] == "get"))
        .expect("contacts::get");
    assert_eq!(get["permission"], "contacts:read");
    assert_eq!(get["params"][0]["name"], "id");
}

#[test]
fn ctrl_c_stops_an_import_cleanly() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    let csv = tmp.path().join("big.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        writeln!(f, "First Name,Email").unwrap();
        for i in 0..400_000 {
            writeln!(f, "P{i},p{i}@example.com").unwrap();
        }
    }
    let child = crm(&dir)
        .args(["import", "contacts", &s(&csv), "--batch-size", "500"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some batches are committed, then Ctrl-C.
    let start = std::time::Instant::now();
    loop {
        let (n, _) = ok(crm(&dir).args(["contacts", "count"]));
        if n.trim().parse::<u64>().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no batch committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cancel"), "{err}");
    let (n, _) = ok(crm(&dir).args(["contacts", "count"]));
    let n: u64 = n.trim().parse().unwrap();
    assert!(
        n > 0 && n < 400_000 && n.is_multiple_of(500),
        "whole batches only: {n}"
    );
}
