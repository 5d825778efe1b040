//! Care compliance through a real sync server, as an office would use it.
//! Staff records reach only the devices that may show them: a carer's
//! device receives only their own record, a manager's their team down the
//! line, an insurance agent's none at all, and a record leaves a device
//! when the person stops managing it. A policy drafted and submitted by one
//! admin is approved on another admin's device, published, assigned to a
//! team and signed on each carer's own device; the admin then sees 100%.
//! A change the server refuses is kept on the device that made it.

use std::collections::HashMap;
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

fn names(dir: &Path) -> Vec<String> {
    json(crm(dir).args(["staff", "list", "--json"]))
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn sync(dir: &Path) -> Output {
    let o = run(crm(dir).arg("sync"));
    assert!(
        o.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

#[test]
fn staff_records_reach_only_who_may_see_them_and_a_policy_goes_round_the_office() {
    let server = Throwaway::start().expect("server");
    server
        .tenant(
            "Sunrise Care",
            &[
                ("boss@sunrise.test", Role::Admin, None),
                ("kim@sunrise.test", Role::Admin, None),
                ("mo@sunrise.test", Role::Agent, Some("north")),
                ("cat@sunrise.test", Role::Agent, Some("north")),
                ("sam@sunrise.test", Role::Agent, Some("south")),
                ("ann@sunrise.test", Role::Agent, Some("north")),
            ],
        )
        .expect("tenant");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = |who: &str| tmp.path().join(who);
    for who in ["boss", "kim", "mo", "cat", "sam", "ann"] {
        ok(crm(&dir(who)).args(["init", "--key-store", "passphrase"]));
        ok(crm(&dir(who)).args([
            "login",
            &server.url(),
            "--email",
            &format!("{who}@sunrise.test"),
        ]));
    }
    let boss = dir("boss");
    let users: HashMap<String, String> = json(crm(&boss).args(["admin", "users", "--json"]))
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap_or_default().to_string(),
                u["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let user = |who: &str| users[&format!("{who}@sunrise.test")].clone();

    // The admin keeps the records.
    ok(crm(&boss).args([
        "staff",
        "add",
        "--name",
        "Mo Manager",
        "--role",
        "manager",
        "--team",
        "north",
        "--start",
        "2024-01-08",
        "--user",
        &user("mo"),
    ]));
    ok(crm(&boss).args([
        "staff",
        "add",
        "--name",
        "Cat Carer",
        "--role",
        "carer",
        "--team",
        "north",
        "--start",
        "2025-01-06",
        "--manager",
        "Mo Manager",
        "--user",
        &user("cat"),
    ]));
    ok(crm(&boss).args([
        "staff",
        "add",
        "--name",
        "Sam South",
        "--role",
        "carer",
        "--team",
        "south",
        "--start",
        "2025-02-03",
        "--user",
        &user("sam"),
    ]));
    ok(crm(&boss).args([
        "training",
        "record",
        "Cat Carer",
        "fire-safety",
        "--achieved",
        "2024-06-01",
    ]));
    ok(crm(&boss).args([
        "staff",
        "check",
        "Cat Carer",
        "dbs",
        "--set",
        "level=enhanced",
        "--set",
        "certificate_number=001234567890",
        "--set",
        "issue_date=2025-01-02",
    ]));
    // A scanned passport over two chunks: it travels in three.
    let mut scan = b"%PDF-1.4\n".to_vec();
    scan.extend((0..(2 << 20) + 777).map(|i| (i % 251) as u8));
    let scan_path = tmp.path().join("passport.pdf");
    std::fs::write(&scan_path, &scan).expect("write");
    let kept = ok(crm(&boss)
        .args(["staff", "evidence", "Cat Carer", "identity"])
        .arg(&scan_path));
    let evidence_id = kept.split_whitespace().last().expect("id").to_string();
    let md = tmp.path().join("safeguarding.md");
    std::fs::write(
        &md,
        "# Safeguarding adults policy\n\nReport any concern to the manager on duty the same day.\n",
    )
    .expect("write");
    let added = ok(crm(&boss)
        .args(["docs", "add", "--draft", "--audience", "team:north"])
        .arg(&md));
    let doc = added
        .split("(document ")
        .nth(1)
        .expect("id")
        .trim_end()
        .trim_end_matches(')')
        .to_string();
    ok(crm(&boss).args([
        "compliance",
        "policy",
        "add",
        &doc,
        "--owner",
        "Registered manager",
        "--statement",
        "S3",
    ]));
    ok(crm(&boss).args(["compliance", "submit", &doc]));
    sync(&boss);

    // Everyone syncs: each device holds what its user may see.
    for who in ["kim", "mo", "cat", "sam", "ann"] {
        sync(&dir(who));
    }
    assert_eq!(
        names(&dir("kim")),
        vec!["Cat Carer", "Mo Manager", "Sam South"]
    );
    assert_eq!(
        names(&dir("mo")),
        vec!["Cat Carer", "Mo Manager"],
        "a manager sees their team, not south"
    );
    assert_eq!(
        names(&dir("cat")),
        vec!["Cat Carer"],
        "a carer sees only their own record"
    );
    assert_eq!(names(&dir("sam")), vec!["Sam South"]);
    assert!(
        names(&dir("ann")).is_empty(),
        "an agent with no staff record sees none"
    );
    let ann_policies = json(crm(&dir("ann")).args(["compliance", "policies", "--json"]));
    assert_eq!(ann_policies.as_array().map(Vec::len), Some(0));
    // The carer's device has the scan of their passport, whole.
    let back = tmp.path().join("back.pdf");
    ok(crm(&dir("cat"))
        .args(["staff", "evidence-get", &evidence_id, "-o"])
        .arg(&back));
    assert_eq!(std::fs::read(&back).expect("read"), scan);
    let o = run(crm(&dir("sam"))
        .args(["staff", "evidence-get", &evidence_id, "-o"])
        .arg(tmp.path().join("no.pdf")));
    assert!(
        !o.status.success(),
        "another carer's device has no such file"
    );
    // The carer's own matrix row shows the lapsed certificate.
    let m =
        json(crm(&dir("cat")).args(["training", "matrix", "--json", "--course", "fire-safety"]));
    assert_eq!(m["rows"][0]["cells"][0]["standing"], "expired");
    assert_eq!(m["rows"].as_array().map(Vec::len), Some(1));

    // The draft went to the other admin only, never to staff of its team.
    for who in ["cat", "ann"] {
        let docs = json(crm(&dir(who)).args(["docs", "list", "--json"]));
        assert_eq!(docs.as_array().map(Vec::len), Some(0), "{who}: {docs}");
    }

    // The second admin approves on their own device; the first publishes.
    let p = json(crm(&dir("kim")).args(["compliance", "policies", "--json"]));
    assert_eq!(p[0]["approval"], "awaiting_approval", "{p}");
    assert_eq!(p[0]["statements"], serde_json::json!(["S3"]), "{p}");
    ok(crm(&dir("kim")).args(["compliance", "approve", &doc]));
    sync(&dir("kim"));
    sync(&boss);
    // The statements it evidences came back with the approval.
    let p = json(crm(&boss).args(["compliance", "policies", "--json"]));
    assert_eq!(
        (&p[0]["approval"], &p[0]["statements"]),
        (&serde_json::json!("approved"), &serde_json::json!(["S3"])),
        "{p}"
    );
    ok(crm(&boss).args(["compliance", "publish", &doc]));
    ok(crm(&boss).args([
        "compliance",
        "assign",
        &doc,
        "--to",
        "team:north",
        "--due",
        "2099-01-31",
    ]));
    sync(&boss);

    // Each carer signs on their own device (no server needed to sign).
    for who in ["mo", "cat"] {
        sync(&dir(who));
        let mine = json(crm(&dir(who)).args(["compliance", "mine", "--json"]));
        assert_eq!(mine.as_array().map(Vec::len), Some(1), "{who}: {mine}");
        ok(crm(&dir(who)).args(["compliance", "sign", &doc]));
        sync(&dir(who));
    }
    sync(&dir("sam"));
    assert_eq!(
        json(crm(&dir("sam")).args(["compliance", "mine", "--json"]))
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    sync(&boss);
    let st = json(crm(&boss).args(["compliance", "status", &doc, "--json"]));
    assert_eq!(
        (st["done"].as_u64(), st["percent"].as_f64()),
        (Some(2), Some(100.0)),
        "{st}"
    );

    // A second version: it waits as a draft, travels to the other admin
    // (never to staff), is approved there, published here, and asks again.
    std::fs::write(
        &md,
        "# Safeguarding adults policy\n\nReport any concern to the manager on duty within the hour.\n",
    )
    .expect("write");
    ok(crm(&boss)
        .args(["docs", "add", "--note", "report within the hour"])
        .arg(&md));
    ok(crm(&boss).args(["compliance", "submit", &doc]));
    sync(&boss);
    sync(&dir("kim"));
    let p = json(crm(&dir("kim")).args(["compliance", "policies", "--json"]));
    assert_eq!(
        (
            &p[0]["approval"],
            &p[0]["readable_version"],
            &p[0]["live_version"]
        ),
        (
            &serde_json::json!("awaiting_approval"),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "the waiting version reached the other admin: {p}"
    );
    sync(&dir("cat"));
    let cat_docs = json(crm(&dir("cat")).args(["docs", "list", "--json"]));
    assert_eq!(
        (&cat_docs[0]["live_version"], &cat_docs[0]["latest_version"]),
        (&serde_json::json!(1), &serde_json::json!(1)),
        "the waiting version never reaches staff: {cat_docs}"
    );
    ok(crm(&dir("kim")).args(["compliance", "approve", &doc]));
    sync(&dir("kim"));
    sync(&boss);
    ok(crm(&boss).args(["compliance", "publish", &doc]));
    sync(&boss);
    let st = json(crm(&boss).args(["compliance", "status", &doc, "--json"]));
    assert_eq!(
        (st["version"].as_i64(), st["done"].as_u64()),
        (Some(2), Some(0)),
        "a major version asks everyone again: {st}"
    );
    sync(&dir("kim"));
    let p = json(crm(&dir("kim")).args(["compliance", "policies", "--json"]));
    assert_eq!(
        (&p[0]["approval"], &p[0]["live_version"]),
        (&serde_json::json!("published"), &serde_json::json!(2)),
        "{p}"
    );

    // A manager records training offline while the admin moves the carer
    // away from them: the server refuses it, the manager's device keeps it,
    // and the carer's record leaves that device.
    ok(crm(&dir("mo")).args([
        "training",
        "record",
        "Cat Carer",
        "moving-handling",
        "--achieved",
        "2026-01-05",
    ]));
    ok(crm(&boss).args(["staff", "edit", "Cat Carer", "--manager", ""]));
    sync(&boss);
    let o = sync(&dir("mo"));
    let said = String::from_utf8_lossy(&o.stderr);
    assert!(
        said.contains("kept on this device") && said.contains("manager"),
        "{said}"
    );
    assert_eq!(
        names(&dir("mo")),
        vec!["Mo Manager"],
        "Cat left the manager's device"
    );
    sync(&boss);
    // Where Cat stands on `course`, as the admin's device sees it.
    let cat_on = |course: &str| {
        json(crm(&boss).args([
            "training", "matrix", "--json", "--course", course, "--filter", "Cat",
        ]))["rows"][0]["cells"][0]["standing"]
            .clone()
    };
    assert_eq!(
        cat_on("moving-handling"),
        "missing",
        "the refused record did not reach the server"
    );

    // Set aside on the manager's device: listed with the server's reason,
    // counted in the status.
    let mo = dir("mo");
    let set_aside = |d: &Path| json(crm(d).args(["sync", "set-aside", "--json"]));
    let listed = set_aside(&mo);
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let op = listed[0]["op_id"].as_str().expect("op id").to_string();
    assert!(op.starts_with("compliance:training:"), "{op}");
    assert!(
        listed[0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("manager"),
        "{listed:?}"
    );
    assert_eq!(listed[0]["fields"]["course_id"], "moving-handling");
    let text = ok(crm(&mo).args(["sync", "set-aside"]));
    assert!(text.contains(&op) && text.contains("refused:"), "{text}");
    let status = json(crm(&mo).args(["sync", "status", "--json"]));
    assert_eq!(status["quarantined"], 1, "{status}");

    // Cat is back under Mo: sent again, the record lands.
    ok(crm(&boss).args(["staff", "edit", "Cat Carer", "--manager", "Mo Manager"]));
    sync(&boss);
    sync(&mo);
    let said = ok(crm(&mo).args(["sync", "retry", &op]));
    assert!(said.contains("sent again"), "{said}");
    sync(&mo);
    assert_eq!(set_aside(&mo), serde_json::json!([]));
    sync(&boss);
    assert_ne!(
        cat_on("moving-handling"),
        "missing",
        "the record sent again reached the server"
    );

    // Refused again and given up: gone from the device, never sent, and
    // said plainly when named again.
    ok(crm(&mo).args([
        "training",
        "record",
        "Cat Carer",
        "food-hygiene",
        "--achieved",
        "2026-02-02",
    ]));
    ok(crm(&boss).args(["staff", "edit", "Cat Carer", "--manager", ""]));
    sync(&boss);
    sync(&mo);
    let op = set_aside(&mo)[0]["op_id"]
        .as_str()
        .expect("op id")
        .to_string();
    ok(crm(&mo).args(["sync", "discard", &op]));
    let status = json(crm(&mo).args(["sync", "status", "--json"]));
    assert_eq!(
        (status["quarantined"].as_i64(), status["pending"].as_i64()),
        (Some(0), Some(0)),
        "{status}"
    );
    sync(&mo);
    assert_eq!(set_aside(&mo), serde_json::json!([]));
    let again = run(crm(&mo).args(["sync", "discard", &op]));
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("crm sync set-aside"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    sync(&boss);
    assert_eq!(
        cat_on("food-hygiene"),
        "missing",
        "the record given up never reached the server"
    );
}
