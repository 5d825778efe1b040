//! `crm plugin wizard` and `crm plugin dry-run` from the terminal: a wizard
//! model becomes a plugin folder; a dry run prints what would change and
//! changes nothing; bad input is one clear line naming the field.

use std::path::Path;
use std::process::{Command, Stdio};

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", "correct horse battery staple")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null());
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().expect("run crm");
    assert!(
        o.status.success(),
        "crm failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).expect("utf8")
}

const SPEC: &str = r#"{"version": 1, "name": "Web lead follow-up",
  "trigger": {"kind": "contact_created"},
  "conditions": [{"field": "source", "op": "is", "value": "web"}],
  "actions": [{"kind": "add_tag", "tag": "web-lead"}]}"#;

#[test]
fn a_wizard_model_becomes_a_plugin_and_its_dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));
    for (name, source) in [("Ann", "web"), ("Bob", "phone")] {
        ok(crm(&dir).args([
            "contacts",
            "add",
            "--first-name",
            name,
            "--set",
            &format!("source={source}"),
        ]));
    }
    let spec = tmp.path().join("spec.json");
    std::fs::write(&spec, SPEC).expect("spec");
    let out = tmp.path().join("web-lead");
    let made = ok(crm(&dir)
        .args(["plugin", "wizard"])
        .arg(&spec)
        .arg("-o")
        .arg(&out));
    assert!(
        made.contains("it will ask for: contacts:read, contacts:write"),
        "{made}"
    );
    assert!(out.join("wizard.json").exists() && out.join("main.rhai").exists());
    ok(crm(&dir).args(["plugin", "install", "--dev"]).arg(&out));

    let state = |dir: &Path| {
        (
            ok(crm(dir).args(["contacts", "list", "--json"])),
            ok(crm(dir).args(["sync", "status"])),
        )
    };
    let before = state(&dir);
    let json = ok(crm(&dir).args([
        "plugin",
        "dry-run",
        "studio.web-lead-follow-up",
        "--event",
        "contact.created",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(report["would_change"], 1);
    assert_eq!(report["skipped"], 1);
    let skipped = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["outcome"] == "skipped")
        .expect("a skipped record");
    assert!(skipped["reason"]
        .as_str()
        .is_some_and(|r| r.contains("\"phone\"")));
    let text = ok(crm(&dir).args([
        "plugin",
        "dry-run",
        "studio.web-lead-follow-up",
        "--event",
        "contact.created",
    ]));
    assert!(text.contains("would change 1 of 2 contacts"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(
        state(&dir),
        before,
        "no contact changed, nothing queued for sync"
    );
}

#[test]
fn a_bad_model_is_one_line_naming_the_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let spec = tmp.path().join("spec.json");
    std::fs::write(&spec, SPEC.replace(r#""tag": "web-lead""#, r#""tag": """#)).expect("spec");
    let o = crm(&tmp.path().join("p"))
        .args(["plugin", "wizard"])
        .arg(&spec)
        .arg("-o")
        .arg(tmp.path().join("out"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("actions[0].tag"), "{err}");
    assert!(!tmp.path().join("out").exists(), "nothing written");
}
