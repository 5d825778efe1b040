//! The two compliance templates on a small care office, from the `crm`
//! CLI: `crm compliance remind` makes its reminders and fires each at the
//! plugins hooked to it (`training.expiring`, `document.review_due`,
//! `acknowledgement.due`), which make their own tasks once; a plugin
//! without `staff:read` hooked to the same events is refused, and the
//! reminders are made all the same.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Duration;
use crm_compliance::{dates, policies, readsign, staff, training};
use crm_core::{Actor, FixedPassphrase, Store};
use serde_json::Value;

const PASS: &str = "compliance plugins";

fn crm(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("CRM_DATA_DIR", dir)
        .env("CRM_PASSPHRASE", PASS)
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

fn s(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_string()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, &FixedPassphrase(zeroize::Zeroizing::new(PASS.into()))).expect("open")
}

fn tasks(dir: &Path) -> Vec<Value> {
    let (out, _) = ok(crm(dir).args(["tasks", "list", "--json"]));
    serde_json::from_str::<Value>(&out)
        .expect("json")
        .as_array()
        .expect("a list")
        .clone()
}

fn titled<'a>(tasks: &'a [Value], start: &str) -> Vec<&'a Value> {
    tasks
        .iter()
        .filter(|t| t["title"].as_str().is_some_and(|x| x.starts_with(start)))
        .collect()
}

#[test]
fn the_compliance_templates_act_on_the_reminders_of_a_small_office() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("profile");
    ok(crm(&dir).args(["init", "--key-store", "passphrase"]));

    // The two templates, checked by their own tests, installed and enabled;
    // and a plugin hooked to the same events without staff:read.
    let training_dir = tmp.path().join("training");
    let review_dir = tmp.path().join("reviews");
    for (d, template) in [
        (&training_dir, "training-expiry"),
        (&review_dir, "policy-review"),
    ] {
        ok(crm(&dir).args(["plugin", "new", &s(d), "--template", template]));
        let (out, _) = ok(crm(&dir).args(["plugin", "test", &s(d)]));
        assert!(out.contains("passed"), "{out}");
        ok(crm(&dir).args(["plugin", "install", &s(d), "--dev"]));
    }
    let blind = tmp.path().join("blind");
    std::fs::create_dir_all(&blind).unwrap();
    std::fs::write(
        blind.join("manifest.json"),
        r#"{"id": "acme.blind", "name": "Blind", "version": "1.0.0", "api_version": "^1.3", "author": "A",
            "permissions": ["tasks:read"],
            "hooks": [{"event": "training.expiring", "function": "peek"}]}"#,
    )
    .unwrap();
    std::fs::write(
        blind.join("main.rhai"),
        "fn peek(r) { staff::get(r.staff_id) }\n",
    )
    .unwrap();
    ok(crm(&dir).args(["plugin", "install", &s(&blind), "--dev"]));
    for id in ["local.training", "local.reviews", "acme.blind"] {
        ok(crm(&dir).args(["plugin", "enable", id, "--grant-all"]));
    }
    ok(crm(&dir).args(["plugin", "configure", "local.reviews", "reviewer=rm-1"]));

    // The office: a manager, two carers in the north, one in the south.
    let md = tmp.path().join("safeguarding.md");
    std::fs::write(
        &md,
        "# Safeguarding adults policy\n\nReport any concern to the manager on duty the same day.\n",
    )
    .unwrap();
    let (added, _) = ok(crm(&dir).args(["docs", "add", "--draft"]).arg(&md));
    let doc = added
        .split("(document ")
        .nth(1)
        .expect("the document's id")
        .trim_end()
        .trim_end_matches(')')
        .to_string();
    ok(crm(&dir).args([
        "compliance",
        "policy",
        "add",
        &doc,
        "--owner",
        "Registered manager",
        "--review-months",
        "1",
        "--statement",
        "S3",
    ]));
    let today = dates::today();
    let lapses = today + Duration::days(25);
    let (cat, sam) = {
        let mut st = open(&dir);
        let person = |st: &mut Store, name: &str, team: &str, mgr: Option<&str>, user: &str| {
            staff::create(
                st,
                &staff::StaffDraft {
                    name: name.into(),
                    role: "carer".into(),
                    team: Some(team.into()),
                    manager_id: mgr.map(Into::into),
                    start_date: "2025-01-06".into(),
                    user_id: Some(user.into()),
                    ..Default::default()
                },
            )
            .expect("staff")
        };
        let mo = person(&mut st, "Mo Manager", "north", None, "mo-1");
        let cat = person(&mut st, "Cat Carer", "north", Some(&mo.id), "cat-1");
        person(&mut st, "Dee Carer", "north", Some(&mo.id), "dee-1");
        let sam = person(&mut st, "Sam South", "south", None, "sam-1");
        for (who, course) in [(&cat, "fire-safety"), (&sam, "moving-handling")] {
            training::record(
                &mut st,
                &training::RecordDraft {
                    staff_id: who.id.clone(),
                    course: course.into(),
                    achieved: dates::text(today - Duration::days(340)),
                    expires: Some(dates::text(lapses)),
                    ..Default::default()
                },
                None,
                today,
            )
            .expect("training");
        }
        // Approved by a second admin, published: its next review is a
        // month away, so it is due for review; the north must sign it.
        let admin = |u: &str| Actor::User { user: u.into() };
        st.with_actor(admin("admin-a"), |st| policies::submit(st, &doc, today))
            .expect("submit");
        st.with_actor(admin("admin-b"), |st| policies::approve(st, &doc, today))
            .expect("approve");
        policies::publish(&mut st, &doc, false, today).expect("publish");
        readsign::assign(
            &mut st,
            &doc,
            "team:north",
            &dates::text(today + Duration::days(3)),
            today,
        )
        .expect("assign");
        (cat, sam)
    };

    // The reminders, and the plugins' work on them.
    let (out, err) = ok(crm(&dir).args(["compliance", "remind"]));
    assert!(out.contains("Renew Fire safety for Cat Carer"), "{out}");
    assert!(
        out.contains("Review the policy Safeguarding adults policy"),
        "{out}"
    );
    assert!(
        out.contains("Read and sign: Safeguarding adults policy"),
        "{out}"
    );
    assert!(out.contains("6 reminder(s) made"), "{out}");
    assert!(
        err.contains("Fire safety for Cat Carer lapses on")
            && err.contains("Moving and handling for Sam South lapses on")
            && err.contains("Safeguarding adults policy is due for review on"),
        "{err}"
    );
    // The plugin without staff:read was refused, twice (one reminder each),
    // the usual permission error; the command still succeeded.
    assert_eq!(
        err.matches("warning: plugin acme.blind (hook:training.expiring) failed: permission error: this script needs the permission staff:read")
            .count(),
        2,
        "{err}"
    );
    let all = tasks(&dir);
    let booked = titled(&all, "Book ");
    assert_eq!(booked.len(), 2, "{all:?}");
    let cat_task = booked
        .iter()
        .find(|t| t["title"].as_str().unwrap().contains("Cat Carer"))
        .expect("Cat's refresher");
    assert_eq!(
        cat_task["title"],
        format!(
            "Book Fire safety refresher for Cat Carer (lapses {})",
            dates::text(lapses)
        )
    );
    assert_eq!(cat_task["assignee"], "mo-1", "Cat's manager books it");
    assert_eq!(
        cat_task["due_date"],
        dates::text(lapses - Duration::days(14))
    );
    let sam_task = booked
        .iter()
        .find(|t| t["title"].as_str().unwrap().contains("Sam South"))
        .expect("Sam's refresher");
    assert_eq!(sam_task["assignee"], "sam-1", "nobody manages Sam");
    let prep = titled(&all, "Prepare the review of Safeguarding adults policy");
    assert_eq!(prep.len(), 1, "{all:?}");
    assert_eq!(prep[0]["assignee"], "rm-1");
    let notes = prep[0]["notes"].as_str().expect("notes");
    assert!(
        notes.contains("Owner: Registered manager.")
            && notes.contains("quality statements S3")
            && notes.contains("Read and signed by 0 of 3"),
        "{notes}"
    );
    // Nothing twice: no new reminder, and the plugins' keys hold.
    let (out, _) = ok(crm(&dir).args(["compliance", "remind"]));
    assert!(out.contains("0 reminder(s) made"), "{out}");
    assert_eq!(tasks(&dir).len(), all.len());

    // Each hook ran once per reminder, as its plugin, for the tasks made.
    let st = open(&dir);
    let runs = st.plugin_runs("local.training", 50).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs
        .iter()
        .all(|r| r.ok && r.trigger == "hook:training.expiring"));
    let runs = st.plugin_runs("local.reviews", 50).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].ok, "{:?}", runs[0].message);
    let runs = st.plugin_runs("acme.blind", 50).unwrap();
    assert!(runs
        .iter()
        .all(|r| r.error_kind.as_deref() == Some("permission")));
    assert!(!cat.id.is_empty() && !sam.id.is_empty());
}
