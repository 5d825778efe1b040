//! `crm catalog …` against a real sync server, as an admin and an agent
//! would type it: a plugin packed and signed with `crm plugin`, published
//! force-installed, installed and run by the agent's `crm sync`; blocked
//! (the runtime refuses it), removed (its data kept, `crm plugin kept`
//! saves it); `crm plugin list --json` says what the catalog says of each
//! plugin; bad input is one line naming what is wrong, and an agent's
//! change is refused.

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

fn fails(c: &mut Command) -> String {
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

fn listed(dir: &Path, id: &str) -> Value {
    let list: Value =
        serde_json::from_str(&ok(crm(dir).args(["plugin", "list", "--json"]))).expect("json");
    list.as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == id))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn an_admin_runs_the_catalog_from_the_command_line_and_devices_follow() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Acme",
            &[
                ("boss@acme.test", Role::Admin, None),
                ("sam@acme.test", Role::Agent, None),
            ],
        )
        .expect("tenant");
    let tmp = tempfile::tempdir().expect("tmp");
    let (boss, sam) = (tmp.path().join("boss"), tmp.path().join("sam"));
    for (d, email) in [(&boss, "boss@acme.test"), (&sam, "sam@acme.test")] {
        ok(crm(d).args(["init", "--key-store", "passphrase"]));
        ok(crm(d).args(["login", &server.url(), "--email", email]));
    }

    // A plugin, packed and signed with the admin's key.
    let src = tmp.path().join("greeter");
    let key = tmp.path().join("acme");
    ok(crm(&boss).args(["plugin", "new"]).arg(&src));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(src.join("manifest.json")).expect("manifest"))
            .expect("json");
    let id = manifest["id"].as_str().expect("id").to_string();
    ok(crm(&boss).args(["plugin", "keygen", "-o"]).arg(&key));
    let pkg = tmp.path().join("greeter.zip");
    ok(crm(&boss)
        .args(["plugin", "pack"])
        .arg(&src)
        .arg("--key")
        .arg(key.with_extension("key"))
        .arg("-o")
        .arg(&pkg));

    // Refused until the tenant trusts the key; then published.
    let err = fails(
        crm(&boss)
            .args(["catalog", "publish"])
            .arg(&pkg)
            .args(["--mode", "force_installed"]),
    );
    assert!(err.contains("trusts no publisher"), "{err}");
    ok(crm(&boss)
        .args(["catalog", "trust"])
        .arg(key.with_extension("pub"))
        .args(["--name", "Acme IT"]));
    let err = fails(
        crm(&boss)
            .args(["catalog", "publish"])
            .arg(&pkg)
            .args(["--mode", "sometimes"]),
    );
    assert!(err.contains("use one of allowed, force_installed"), "{err}");
    let out = ok(crm(&boss).args(["catalog", "publish"]).arg(&pkg).args([
        "--mode",
        "force_installed",
        "--grant",
        "contacts:read",
    ]));
    assert!(out.contains(&format!("published {id} 0.1.0")), "{out}");

    // The agent's device installs, enables and runs it at its next sync.
    let out = ok(crm(&sam).arg("sync"));
    assert!(
        out.contains(&format!("catalog: installed {id} 0.1.0")),
        "{out}"
    );
    let p = listed(&sam, &id);
    assert_eq!(
        (&p["enabled"], &p["runs"]),
        (&Value::from(true), &Value::from(true)),
        "{p}"
    );
    assert_eq!(p["catalog"]["mode"], "force_installed");
    assert_eq!(
        p["catalog_says"],
        "Installed by your agency for everyone it is for"
    );
    ok(crm(&sam).args(["plugin", "run", &id, "hello"]));

    // An agent cannot change the catalog; bad input names what is wrong.
    let err = fails(crm(&sam).args(["catalog", "set", &id, "--mode", "allowed"]));
    assert!(err.contains("admin"), "{err}");
    let err = fails(crm(&boss).args(["catalog", "set", "nope.plugin", "--mode", "blocked"]));
    assert!(err.contains("not in the catalog"), "{err}");
    let err = fails(crm(&boss).args(["catalog", "set", &id, "--version", "9.9.9"]));
    assert!(err.contains("was never published"), "{err}");
    let err = fails(crm(&boss).args(["catalog", "set", &id, "--setting", "colour=red"]));
    assert!(err.contains("settings.colour"), "{err}");
    let err = fails(crm(&boss).args(["catalog", "local-plugins", "anyone"]));
    assert!(err.contains("everyone, admins, no_one"), "{err}");

    // A script with permissions on the live profile is an admin's to run.
    let script = tmp.path().join("peek.rhai");
    std::fs::write(&script, "contacts::count()").expect("script");
    let err = fails(
        crm(&sam)
            .args(["script", "run"])
            .arg(&script)
            .args(["--grant", "contacts:read"]),
    );
    assert!(err.contains("only an admin"), "{err}");
    ok(crm(&boss)
        .args(["script", "run"])
        .arg(&script)
        .args(["--grant", "contacts:read"]));

    // Blocked: stopped at the next sync, and refused by the runtime.
    ok(crm(&boss).args([
        "catalog",
        "set",
        &id,
        "--mode",
        "blocked",
        "--reason",
        "sends too much",
    ]));
    let out = ok(crm(&sam).arg("sync"));
    assert!(out.contains(&format!("catalog: stopped {id}")), "{out}");
    let p = listed(&sam, &id);
    assert_eq!(p["runs"], false, "{p}");
    assert!(
        p["stopped_by_catalog"]
            .as_str()
            .is_some_and(|w| w.contains("sends too much")),
        "{p}"
    );
    let err = fails(crm(&sam).args(["plugin", "run", &id, "hello"]));
    assert!(err.contains("blocked"), "{err}");

    let err = fails(crm(&sam).args(["catalog", "install", &id]));
    assert!(
        err.contains("sends too much"),
        "a blocked plugin is not installed: {err}"
    );
    let err = fails(crm(&sam).args(["catalog", "install", "nope.plugin"]));
    assert!(err.contains("not in your agency's catalog"), "{err}");

    // Removed: uninstalled, its data kept and saved on request.
    ok(crm(&boss).args(["catalog", "set", &id, "--mode", "removed"]));
    let out = ok(crm(&sam).arg("sync"));
    assert!(out.contains(&format!("catalog: removed {id}")), "{out}");
    assert_eq!(listed(&sam, &id), Value::Null);
    let out = ok(crm(&sam).args(["plugin", "kept"]));
    assert!(out.contains(&id), "{out}");
    let saved = tmp.path().join("kept.json");
    ok(crm(&sam).args(["plugin", "kept", &id, "--out"]).arg(&saved));
    let kept: Value = serde_json::from_slice(&std::fs::read(&saved).expect("saved")).expect("json");
    assert!(kept.get("storage").is_some(), "{kept}");

    // The list, the audit, withdrawing trust.
    let cat: Value =
        serde_json::from_str(&ok(crm(&boss).args(["catalog", "list", "--json"]))).expect("json");
    assert_eq!(cat["plugins"][0]["mode"], "removed");
    let audit = ok(crm(&boss).args(["catalog", "audit"]));
    assert_eq!(
        audit.lines().filter(|l| l.contains("policy_set")).count(),
        2,
        "{audit}"
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
    let prefix = &public.trim()[..12];
    let out = ok(crm(&boss).args(["catalog", "distrust", prefix]));
    assert!(out.contains("no longer trusts Acme IT"), "{out}");
    let err = fails(crm(&boss).args(["catalog", "distrust", prefix]));
    assert!(
        err.contains("trusts no publisher whose key starts with"),
        "{err}"
    );
}
