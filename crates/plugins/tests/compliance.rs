//! The `staff`, `training` and `compliance` host modules and the compliance
//! reminders' hook events, on a real encrypted profile: each function is
//! refused without its grant; a plugin sees what its user may (an admin
//! everyone, a carer their own record) and no secret number; the
//! reminders reach the plugins hooked to them with their payload.

crm_plugins::counting_allocator!();

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crm_compliance::{checks, reminders, staff, training};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_plugins::lifecycle;
use crm_plugins::runtime::Runtime;
use crm_plugins::{ErrorKind, Limits, Manifest, ScriptError};
use serde_json::{json, Map, Value};

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("compliance plugin tests".into())),
    )
    .unwrap()
}

/// Every host function of the three modules, one script function each.
const SCRIPT: &str = r#"
fn list_staff() { staff::list() }
fn list_team(team) { staff::list(#{ team: team }) }
fn get_staff(id) { staff::get(id) }
fn me() { staff::me() }
fn checklist(id) { staff::checklist(id) }
fn supervisions(id) { staff::supervisions(id) }
fn set_dbs(id) {
    staff::set_check(id, "dbs", "verified", #{ level: "enhanced", certificate_number: "009876543210", issue_date: "2025-02-01" }, "")
}
fn supervise(id) { staff::record_supervision(id, "supervision", "2025-06-02", "Mo Manager", "went well") }
fn courses() { training::courses() }
fn records(id) { training::records(id) }
fn matrix() { training::matrix() }
fn row(id) { training::row(id) }
fn expiring(days) { training::expiring(days) }
fn record_training(id) { training::record(#{ staff_id: id, course: "Fire safety", achieved: "2025-06-01" }) }
fn policies() { compliance::policies() }
fn dashboard() { compliance::dashboard() }
fn everything(id) {
    #{ list: staff::list(), one: staff::get(id), checks: staff::checklist(id), rows: training::matrix() }
}
fn on_event(e) { e }
"#;

/// A plugin folder asking for `permissions` and hooking `events`.
fn plugin(dir: &Path, id: &str, permissions: &[&str], events: &[&str]) -> PathBuf {
    let d = dir.join(id);
    std::fs::create_dir_all(&d).unwrap();
    let hooks: Vec<Value> = events
        .iter()
        .map(|e| json!({"event": e, "function": "on_event"}))
        .collect();
    let manifest = json!({
        "id": id, "name": id, "version": "1.0.0", "api_version": "^1.3", "author": "A",
        "permissions": permissions, "hooks": hooks,
    });
    std::fs::write(d.join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(d.join("main.rhai"), SCRIPT).unwrap();
    d
}

fn install_enable(s: &mut Store, dir: &Path) -> Manifest {
    let m = lifecycle::install(s, dir, true).unwrap();
    lifecycle::enable(s, &m.id, None).unwrap();
    m
}

/// Call `f` of plugin `id` as a run of it would (its grants, its user).
fn call(rt: &Runtime, id: &str, f: &str, args: Vec<rhai::Dynamic>) -> Result<Value, ScriptError> {
    let (ctx, src) = rt.context_for(id).unwrap();
    rt.sandbox().call(&src, f, args, ctx).map(|o| o.value)
}

fn arg(s: &str) -> Vec<rhai::Dynamic> {
    vec![rhai::Dynamic::from(s.to_string())]
}

fn names(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect()
}

fn person(
    s: &mut Store,
    name: &str,
    team: &str,
    manager: Option<&str>,
    user: Option<&str>,
) -> staff::Staff {
    staff::create(
        s,
        &staff::StaffDraft {
            name: name.into(),
            role: "carer".into(),
            team: Some(team.into()),
            manager_id: manager.map(Into::into),
            start_date: "2025-01-06".into(),
            user_id: user.map(Into::into),
            supervision_weeks: Some(8),
            ..Default::default()
        },
    )
    .unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn every_function_is_refused_without_its_permission() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let ann = person(&mut s, "Ann Carer", "north", None, None);
    // Reads everything but staff and training; then reads both but writes neither.
    install_enable(
        &mut s,
        &plugin(tmp.path(), "t.none", &["tasks:read", "contacts:read"], &[]),
    );
    let readers = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.readers",
            &["staff:read", "training:read"],
            &[],
        ),
    );
    let rt = Runtime::new(Arc::new(Mutex::new(s)), Limits::default()).unwrap();
    let cases: &[(&str, &str, Vec<rhai::Dynamic>, &str)] = &[
        ("t.none", "list_staff", vec![], "staff:read"),
        ("t.none", "list_team", arg("north"), "staff:read"),
        ("t.none", "get_staff", arg(&ann.id), "staff:read"),
        ("t.none", "me", vec![], "staff:read"),
        ("t.none", "checklist", arg(&ann.id), "staff:read"),
        ("t.none", "supervisions", arg(&ann.id), "staff:read"),
        ("t.none", "policies", vec![], "staff:read"),
        ("t.none", "dashboard", vec![], "staff:read"),
        ("t.none", "courses", vec![], "training:read"),
        ("t.none", "records", arg(&ann.id), "training:read"),
        ("t.none", "matrix", vec![], "training:read"),
        ("t.none", "row", arg(&ann.id), "training:read"),
        (
            "t.none",
            "expiring",
            vec![rhai::Dynamic::from_int(30)],
            "training:read",
        ),
        ("t.none", "record_training", arg(&ann.id), "training:write"),
        (
            "t.readers",
            "record_training",
            arg(&ann.id),
            "training:write",
        ),
        ("t.readers", "set_dbs", arg(&ann.id), "staff:write"),
        ("t.readers", "supervise", arg(&ann.id), "staff:write"),
    ];
    for (id, f, args, perm) in cases {
        let e = call(&rt, id, f, args.clone()).expect_err(f);
        assert_eq!(e.kind, ErrorKind::Permission, "{id} {f}: {e}");
        assert!(
            e.message.contains(&format!("needs the permission {perm}")),
            "{id} {f}: {}",
            e.message
        );
    }
    // Nothing was written by the refused calls; the readers read.
    let s = rt.store().lock().unwrap();
    assert!(training::records(&s, &ann.id).unwrap().is_empty());
    assert_eq!(
        checks::checklist(&s, &ann.id, crm_compliance::dates::today()).unwrap()[1].status,
        "missing"
    );
    drop(s);
    let listed = call(&rt, &readers.id, "list_staff", vec![]).unwrap();
    assert_eq!(names(&listed), vec!["Ann Carer"]);
}

#[test]
fn an_admins_plugin_sees_everyone_and_a_carers_only_the_carer() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let (mgr_user, carer_user) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mgr = person(
        &mut s,
        "Mo Manager",
        "north",
        None,
        Some(&mgr_user.to_string()),
    );
    let carer = person(
        &mut s,
        "Cat Carer",
        "north",
        Some(&mgr.id),
        Some(&carer_user.to_string()),
    );
    let other = person(&mut s, "Ola Other", "north", Some(&mgr.id), None);
    let south = person(&mut s, "Sue South", "south", None, None);
    let today = crm_compliance::dates::today();
    for who in [&carer, &south] {
        training::record(
            &mut s,
            &training::RecordDraft {
                staff_id: who.id.clone(),
                course: "fire-safety".into(),
                achieved: crm_compliance::dates::text(today - chrono::Duration::days(350)),
                ..Default::default()
            },
            None,
            today,
        )
        .unwrap();
    }
    let p = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.viewer",
            &["staff:read", "training:read"],
            &[],
        ),
    );
    let shared = Arc::new(Mutex::new(s));
    let rt = Runtime::new(shared.clone(), Limits::default()).unwrap();

    // The profile's owner (an admin): everyone.
    let all = call(&rt, &p.id, "list_staff", vec![]).unwrap();
    assert_eq!(
        names(&all),
        vec!["Cat Carer", "Mo Manager", "Ola Other", "Sue South"]
    );
    assert_eq!(
        names(&call(&rt, &p.id, "list_team", arg("south")).unwrap()),
        vec!["Sue South"]
    );
    assert_eq!(
        call(&rt, &p.id, "matrix", vec![])
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let due = call(&rt, &p.id, "expiring", vec![rhai::Dynamic::from_int(30)]).unwrap();
    let due: Vec<&str> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(due, vec!["Cat Carer", "Sue South"]);
    assert_eq!(
        call(&rt, &p.id, "get_staff", arg(&south.id)).unwrap()["team"],
        "south"
    );
    assert_eq!(call(&rt, &p.id, "me", vec![]).unwrap(), Value::Null);

    // Signed in as the carer (an agent of the agency, linked to Cat's
    // record): the same plugin acts for Cat and sees Cat only.
    shared
        .lock()
        .unwrap()
        .bind_to_server(
            "https://crm.example",
            "cat@example.com",
            uuid::Uuid::new_v4(),
            carer_user,
            "agent",
        )
        .unwrap();
    let mine = call(&rt, &p.id, "list_staff", vec![]).unwrap();
    assert_eq!(names(&mine), vec!["Cat Carer"]);
    assert_eq!(call(&rt, &p.id, "me", vec![]).unwrap()["id"], carer.id);
    for hidden in [&south.id, &mgr.id, &other.id] {
        let e = call(&rt, &p.id, "get_staff", arg(hidden)).unwrap_err();
        assert!(e.message.contains("no staff member"), "{}", e.message);
        let e = call(&rt, &p.id, "checklist", arg(hidden)).unwrap_err();
        assert!(e.message.contains("no staff member"), "{}", e.message);
        let e = call(&rt, &p.id, "records", arg(hidden)).unwrap_err();
        assert!(e.message.contains("no staff member"), "{}", e.message);
    }
    let rows = call(&rt, &p.id, "matrix", vec![]).unwrap();
    assert_eq!(names(&rows), vec!["Cat Carer"]);
    let due = call(&rt, &p.id, "expiring", vec![rhai::Dynamic::from_int(30)]).unwrap();
    assert_eq!(due.as_array().unwrap().len(), 1);
    assert_eq!(due[0]["staff_id"], carer.id);
    let row = call(&rt, &p.id, "row", arg(&carer.id)).unwrap();
    let fire = row["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["course_id"] == "fire-safety")
        .unwrap();
    assert_eq!(fire["standing"], "due_soon");
}

#[test]
fn a_managers_plugin_sees_their_people_and_records_for_them_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let mgr_user = uuid::Uuid::new_v4();
    let mgr = person(
        &mut s,
        "Mo Manager",
        "north",
        None,
        Some(&mgr_user.to_string()),
    );
    let carer = person(&mut s, "Cat Carer", "north", Some(&mgr.id), None);
    let south = person(&mut s, "Sue South", "south", None, None);
    let p = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.writer",
            &[
                "staff:read",
                "staff:write",
                "training:read",
                "training:write",
            ],
            &[],
        ),
    );
    s.bind_to_server(
        "https://crm.example",
        "mo@example.com",
        uuid::Uuid::new_v4(),
        mgr_user,
        "agent",
    )
    .unwrap();
    let rt = Runtime::new(Arc::new(Mutex::new(s)), Limits::default()).unwrap();
    assert_eq!(
        names(&call(&rt, &p.id, "list_staff", vec![]).unwrap()),
        vec!["Cat Carer", "Mo Manager"]
    );
    // Training for their carer, in the plugin's name.
    let r = call(&rt, &p.id, "record_training", arg(&carer.id)).unwrap();
    assert_eq!(
        (r["course_id"].as_str(), r["expires"].as_str()),
        (Some("fire-safety"), Some("2026-06-01"))
    );
    let met = call(&rt, &p.id, "supervise", arg(&carer.id)).unwrap();
    assert_eq!(
        (met["kind"].as_str(), met["date"].as_str()),
        (Some("supervision"), Some("2025-06-02"))
    );
    let sched = call(&rt, &p.id, "supervisions", arg(&carer.id)).unwrap();
    assert_eq!(sched[0]["last"], "2025-06-02");
    // Not for themselves, nor for someone they do not manage.
    let e = call(&rt, &p.id, "record_training", arg(&mgr.id)).unwrap_err();
    assert!(
        e.message.contains("only an admin or this person's manager"),
        "{}",
        e.message
    );
    let e = call(&rt, &p.id, "record_training", arg(&south.id)).unwrap_err();
    assert!(e.message.contains("no staff member"), "{}", e.message);
    let s = rt.store().lock().unwrap();
    assert_eq!(training::records(&s, &carer.id).unwrap().len(), 1);
    assert!(training::records(&s, &mgr.id).unwrap().is_empty());
}

#[test]
fn no_secret_number_reaches_a_script() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let ann = person(&mut s, "Ann Carer", "north", None, None);
    checks::set(
        &mut s,
        &ann.id,
        "dbs",
        "verified",
        &obj(json!({"level": "enhanced", "certificate_number": "001234567890", "issue_date": "2025-01-02", "recheck_months": 36})),
        Some("seen the original"),
    )
    .unwrap();
    checks::set(
        &mut s,
        &ann.id,
        "right_to_work",
        "verified",
        &obj(json!({"document_type": "share code", "document_number": "W7K-93Q-QZ2", "checked_on": "2025-01-03"})),
        None,
    )
    .unwrap();
    let p = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.nosy",
            &["staff:read", "staff:write", "training:read"],
            &[],
        ),
    );
    let rt = Runtime::new(Arc::new(Mutex::new(s)), Limits::default()).unwrap();
    let seen = call(&rt, &p.id, "everything", arg(&ann.id)).unwrap();
    let text = seen.to_string();
    for secret in ["001234567890", "W7K-93Q-QZ2", "7890"] {
        assert!(
            !text.contains(secret),
            "{secret} reached the script: {text}"
        );
    }
    let dbs = seen["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "dbs")
        .unwrap();
    assert_eq!(dbs["details"]["certificate_number"], "(recorded)");
    assert_eq!(dbs["details"]["level"], "enhanced");
    assert_eq!(dbs["expires"], "2028-01-02");
    assert_eq!(dbs["note"], "seen the original");
    let rtw = seen["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "right_to_work")
        .unwrap();
    assert_eq!(rtw["details"]["document_number"], "(recorded)");
    assert_eq!(rtw["details"]["document_type"], "share code");
    // What a script writes it does not read back either.
    let set = call(&rt, &p.id, "set_dbs", arg(&ann.id)).unwrap();
    assert!(!set.to_string().contains("009876543210"), "{set}");
    assert_eq!(set["details"]["certificate_number"], "(recorded)");
    // It was written, in full, for the record.
    let s = rt.store().lock().unwrap();
    let stored = checks::checklist(&s, &ann.id, crm_compliance::dates::today()).unwrap();
    assert_eq!(stored[1].details["certificate_number"], "009876543210");
}

#[test]
fn reads_count_against_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    for i in 0..6 {
        person(&mut s, &format!("Person {i}"), "north", None, None);
    }
    let p = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.greedy",
            &["staff:read", "training:read"],
            &[],
        ),
    );
    let limits = Limits {
        max_rows_read: 5,
        ..Limits::default()
    };
    let rt = Runtime::new(Arc::new(Mutex::new(s)), limits).unwrap();
    let e = call(&rt, &p.id, "list_staff", vec![]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(
        e.message.contains("read cap: the list of staff"),
        "{}",
        e.message
    );
    let e = call(&rt, &p.id, "matrix", vec![]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    // Within the cap, it reads.
    assert_eq!(
        call(&rt, &p.id, "list_team", arg("nobody")).unwrap(),
        json!([])
    );
}

#[test]
fn reminders_reach_the_plugins_hooked_to_them_with_their_payload() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let cat = person(&mut s, "Cat Carer", "north", None, None);
    let today = crm_compliance::dates::today();
    training::record(
        &mut s,
        &training::RecordDraft {
            staff_id: cat.id.clone(),
            course: "fire-safety".into(),
            achieved: crm_compliance::dates::text(today - chrono::Duration::days(300)),
            expires: Some(crm_compliance::dates::text(
                today + chrono::Duration::days(20),
            )),
            ..Default::default()
        },
        None,
        today,
    )
    .unwrap();
    let all = install_enable(
        &mut s,
        &plugin(
            tmp.path(),
            "t.all",
            &[],
            &[
                "training.expiring",
                "document.review_due",
                "acknowledgement.due",
                "acknowledgement.overdue",
            ],
        ),
    );
    let reviews = install_enable(
        &mut s,
        &plugin(tmp.path(), "t.reviews", &[], &["document.review_due"]),
    );
    let changes = install_enable(
        &mut s,
        &plugin(tmp.path(), "t.changes", &[], &["contact.created"]),
    );
    let off = install_enable(
        &mut s,
        &plugin(tmp.path(), "t.off", &[], &["training.expiring"]),
    );
    lifecycle::disable(&mut s, &off.id).unwrap();
    let mut made = reminders::run(&mut s, today).unwrap();
    let fire: Vec<&reminders::Reminder> = made
        .iter()
        .filter(|r| r.kind == "training.expiring" && r.course_id.as_deref() == Some("fire-safety"))
        .collect();
    assert_eq!(fire.len(), 1, "{made:?}");
    let training_task = fire[0].task_id.clone();
    // The other kinds need a published policy: made as the crate makes them.
    made.retain(|r| r.task_id == training_task);
    for (kind, staff_id) in [
        ("document.review_due", None),
        ("acknowledgement.overdue", Some(cat.id.clone())),
    ] {
        made.push(reminders::Reminder {
            kind,
            staff_id,
            doc_id: Some("doc-7".into()),
            course_id: None,
            date: "2026-01-31".into(),
            key: format!("{kind}:doc-7"),
            title: format!("{kind} title"),
            due: "2026-01-24".into(),
            task_id: uuid::Uuid::now_v7().to_string(),
        });
    }
    let rt = Runtime::new(Arc::new(Mutex::new(s)), Limits::default()).unwrap();
    let reports = rt.dispatch_reminders(&made).unwrap();
    let ran: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r.plugin_id.as_str(), r.trigger.as_str()))
        .collect();
    assert_eq!(
        ran,
        vec![
            ("t.all", "hook:training.expiring"),
            ("t.all", "hook:document.review_due"),
            ("t.reviews", "hook:document.review_due"),
            ("t.all", "hook:acknowledgement.overdue"),
        ]
    );
    let payload = |i: usize| reports[i].result.as_ref().unwrap().value.clone();
    assert_eq!(
        payload(0),
        json!({
            "name": "training.expiring", "staff_id": cat.id, "doc_id": null,
            "course_id": "fire-safety", "date": crm_compliance::dates::text(today + chrono::Duration::days(20)),
            "title": "Renew Fire safety for Cat Carer", "due": crm_compliance::dates::text(today + chrono::Duration::days(20)),
            "task_id": training_task, "key": made[0].key,
        })
    );
    assert_eq!(payload(1)["doc_id"], "doc-7");
    assert_eq!(payload(1)["staff_id"], Value::Null);
    assert_eq!(payload(3)["name"], "acknowledgement.overdue");
    assert_eq!(payload(3)["staff_id"], cat.id);
    // Each run is recorded against the reminder's task.
    let s = rt.store().lock().unwrap();
    let runs = s.plugin_runs(&all.id, 10).unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs
        .iter()
        .all(|r| r.ok && r.record.as_deref().is_some_and(|x| x.starts_with("tasks:"))));
    assert!(s.plugin_runs(&changes.id, 10).unwrap().is_empty());
    assert!(s.plugin_runs(&off.id, 10).unwrap().is_empty());
    assert_eq!(s.plugin_runs(&reviews.id, 10).unwrap().len(), 1);
}

#[test]
fn the_new_permissions_and_events_are_known_and_others_still_refused() {
    let base = |perms: Value, event: &str| {
        json!({"id": "t.m", "name": "M", "version": "1.0.0", "api_version": "^1.3", "author": "A",
               "permissions": perms, "hooks": [{"event": event, "function": "f"}]})
        .to_string()
    };
    for event in [
        "training.expiring",
        "document.review_due",
        "acknowledgement.due",
        "acknowledgement.overdue",
    ] {
        let m = Manifest::parse(&base(
            json!([
                "staff:read",
                "staff:write",
                "training:read",
                "training:write"
            ]),
            event,
        ));
        assert!(m.is_ok(), "{event}: {m:?}");
    }
    for bad in ["staff:delete", "training:admin", "compliance:read", "staff"] {
        let errs = Manifest::parse(&base(json!([bad]), "training.expiring")).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.path == "permissions[0]" && e.reason.contains("unknown permission")),
            "{bad}: {errs:?}"
        );
    }
    let errs = Manifest::parse(&base(json!([]), "training.expired")).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.path == "hooks[0].event" && e.reason.contains("unknown event")),
        "{errs:?}"
    );
    assert!(
        crm_plugins::manifest::describe_permission("training:write").contains("Record training")
    );
    assert!(!crm_plugins::manifest::describe_permission("staff:read").contains("unknown"));
}
