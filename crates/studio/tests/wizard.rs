//! The wizard's plugins, run for real: every trigger, condition operator and
//! action kind generates Rhai that compiles in the sandbox and does what the
//! model says, against a throwaway encrypted profile.

crm_plugins::counting_allocator!();

use std::path::Path;
use std::sync::{Arc, Mutex};

use crm_core::{ContactDraft, DbKey, Store};
use crm_plugins::lifecycle;
use crm_plugins::runtime::Runtime;
use crm_plugins::{Context, Limits, Rehearsal, RunOutput, Sandbox, Services};
use crm_studio::wizard::{self, catalog, ActionSpec, Automation, Condition, Match, Op, Trigger};
use serde_json::{json, Value};

fn profile(dir: &Path) -> Arc<Mutex<Store>> {
    let s = Store::open_path(&dir.join("t.db"), Some(&DbKey::random()), true).expect("store");
    Arc::new(Mutex::new(s))
}

fn model(trigger: Trigger, conditions: Vec<Condition>, actions: Vec<ActionSpec>) -> Automation {
    Automation {
        version: 1,
        name: "Test automation".into(),
        id: None,
        trigger,
        match_: Match::All,
        conditions,
        actions,
        made: None,
    }
}

fn cond(field: &str, op: Op, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

fn tag(t: &str) -> ActionSpec {
    ActionSpec::AddTag { tag: t.into() }
}

fn contact(store: &Arc<Mutex<Store>>, fields: &[(&str, &str)]) -> String {
    let mut d = ContactDraft::default();
    for (k, v) in fields {
        d.set(k, v).expect("field");
    }
    let c = store
        .lock()
        .expect("store")
        .create_contact(&d)
        .expect("create");
    c.id.to_string()
}

/// A contact as scripts see it (the plugin contract's names).
fn seen(store: &Arc<Mutex<Store>>, id: &str) -> Value {
    let s = store.lock().expect("store");
    let c = s.contact(uuid(id)).expect("contact");
    let d = crm_plugins::contract::to_script(&c).expect("contract");
    rhai::serde::from_dynamic(&d).expect("json")
}

fn uuid(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id).expect("uuid")
}

fn tags(store: &Arc<Mutex<Store>>, id: &str) -> Vec<String> {
    seen(store, id)["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Run a generated plugin's function directly in the sandbox, with exactly
/// the permissions its manifest asks for.
fn call(
    store: &Arc<Mutex<Store>>,
    m: &Automation,
    function: &str,
    args: Vec<rhai::Dynamic>,
    rehearsal: Option<Rehearsal>,
) -> Result<RunOutput, crm_plugins::ScriptError> {
    let g = wizard::build(m).expect("builds");
    let sandbox = Sandbox::new(Limits::default());
    let ctx = Context {
        grants: g.permissions.iter().cloned().collect(),
        store: Some(store.clone()),
        plugin_id: Some(g.id.clone()),
        settings: Default::default(),
        services: Services {
            rehearsal,
            ..Default::default()
        },
    };
    sandbox.call(&g.script, function, args, ctx)
}

/// Press a wizard button on a contact; the run's value.
fn press(store: &Arc<Mutex<Store>>, m: &Automation, id: &str) -> Value {
    call(store, m, "on_button", vec![id.to_string().into()], None)
        .expect("runs")
        .value
}

fn button() -> Trigger {
    Trigger::Button {
        on: "contact".into(),
        label: "Go".into(),
    }
}

fn every_trigger() -> Vec<Trigger> {
    vec![
        Trigger::ContactCreated,
        Trigger::ContactImported,
        Trigger::ContactUpdated,
        Trigger::ContactStageChanged {
            stage: "client".into(),
        },
        Trigger::PolicyCreated,
        Trigger::PolicyRenewalDue { days: 30 },
        Trigger::InstalmentOverdue { days: 7 },
        Trigger::TaskOverdue,
        Trigger::Schedule {
            every: "weekday".into(),
            at: "08:30".into(),
        },
        Trigger::Button {
            on: "contact".into(),
            label: "Go".into(),
        },
        Trigger::Button {
            on: "policy".into(),
            label: "Go".into(),
        },
    ]
}

#[test]
fn every_trigger_becomes_a_plugin_that_compiles_and_whose_manifest_parses() {
    let listed: Vec<&str> = catalog::TRIGGERS.iter().map(|t| t.kind).collect();
    for t in every_trigger() {
        let kind = serde_json::to_value(&t).expect("json")["kind"]
            .as_str()
            .expect("kind")
            .to_string();
        assert!(listed.contains(&kind.as_str()), "{kind} is offered");
        let m = model(t, vec![], vec![tag("x")]);
        let g = wizard::build(&m).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let manifest = crm_plugins::Manifest::parse(&g.manifest).expect("manifest");
        // Exactly what it needs: reading, and writing the contact for a tag.
        assert!(manifest.permissions.contains(&"contacts:write".to_string()));
        assert!(!manifest.permissions.iter().any(|p| p.starts_with("net:")));
        assert!(!manifest.permissions.contains(&"tasks:write".to_string()));
        // The model goes with it, and reads back the same, with the
        // digests of the files made from it.
        let back = wizard::parse(&g.wizard).expect("model");
        assert_eq!(
            Automation {
                made: None,
                ..back.clone()
            },
            m
        );
        let made = back.made.expect("digests");
        assert_eq!(made.script, wizard::model::digest(g.script.as_bytes()));
    }
}

#[test]
fn each_condition_operator_passes_and_fails_as_the_model_says() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let id = contact(
        &store,
        &[
            ("first_name", "Ann"),
            ("source", "Web"),
            ("stage", "prospect"),
            ("tags", "VIP; renewals"),
            ("date_of_birth", "1980-05-17"),
            ("custom.score", "42"),
        ],
    );
    // (field, op, value, holds?)
    let cases: Vec<(&str, Op, Value, bool)> = vec![
        ("source", Op::Is, json!("web"), true),
        ("source", Op::Is, json!("phone"), false),
        ("source", Op::IsNot, json!("phone"), true),
        ("source", Op::IsNot, json!("WEB"), false),
        ("source", Op::Contains, json!("e"), true),
        ("source", Op::Contains, json!("x"), false),
        ("city", Op::IsEmpty, Value::Null, true),
        ("source", Op::IsEmpty, Value::Null, false),
        ("source", Op::IsNotEmpty, Value::Null, true),
        ("city", Op::IsNotEmpty, Value::Null, false),
        ("custom.score", Op::Eq, json!(42), true),
        ("custom.score", Op::Eq, json!("41"), false),
        ("custom.score", Op::Lt, json!(50), true),
        ("custom.score", Op::Lt, json!(42), false),
        ("custom.score", Op::Gt, json!(41.5), true),
        ("custom.score", Op::Gt, json!(42), false),
        ("custom.score", Op::Between, json!([40, 42]), true),
        ("custom.score", Op::Between, json!([43, 50]), false),
        ("custom.missing", Op::Gt, json!(0), false),
        ("date_of_birth", Op::Before, json!("1990-01-01"), true),
        ("date_of_birth", Op::Before, json!("1980-05-17"), false),
        ("date_of_birth", Op::After, json!("1980-05-16"), true),
        ("date_of_birth", Op::After, json!("2000-01-01"), false),
        ("date_of_birth", Op::WithinLastDays, json!(36500), true),
        ("date_of_birth", Op::WithinLastDays, json!(10), false),
        ("date_of_birth", Op::WithinNextDays, json!(3650), false),
        ("tags", Op::Has, json!("vip"), true),
        ("tags", Op::Has, json!("hot"), false),
        ("tags", Op::IsEmpty, Value::Null, false),
        ("emails", Op::IsEmpty, Value::Null, true),
        ("stage", Op::IsOneOf, json!(["prospect", "client"]), true),
        ("stage", Op::IsOneOf, json!(["lapsed"]), false),
        ("stage", Op::Is, json!("prospect"), true),
    ];
    for (i, (field, op, value, holds)) in cases.into_iter().enumerate() {
        let mark = format!("hit-{i}");
        let m = model(
            button(),
            vec![cond(field, op, value.clone())],
            vec![tag(&mark)],
        );
        let out = press(&store, &m, &id);
        let tagged = tags(&store, &id).contains(&mark);
        assert_eq!(
            tagged, holds,
            "{field} {op:?} {value}: expected {holds}, got {out}"
        );
        if !holds {
            // The skipped record says which condition and what it saw.
            let why = out["skipped"].as_str().unwrap_or_default();
            assert!(why.contains("needed:"), "{field} {op:?}: {why}");
        }
    }
}

#[test]
fn any_of_holds_when_one_row_does_and_names_every_failure_when_none_does() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let id = contact(&store, &[("first_name", "Bo"), ("source", "phone")]);
    let mut m = model(
        button(),
        vec![
            cond("source", Op::Is, json!("web")),
            cond("source", Op::Is, json!("phone")),
        ],
        vec![tag("any")],
    );
    m.match_ = Match::Any;
    press(&store, &m, &id);
    assert!(tags(&store, &id).contains(&"any".to_string()));
    m.conditions[1] = cond("source", Op::Is, json!("referral"));
    m.actions = vec![tag("never")];
    let out = press(&store, &m, &id);
    let why = out["skipped"].as_str().expect("skipped");
    assert!(
        why.contains("\"web\"") && why.contains("\"referral\""),
        "{why}"
    );
    assert!(!tags(&store, &id).contains(&"never".to_string()));
}

#[test]
fn each_action_does_what_it_says_and_asks_only_for_what_it_needs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let id = contact(
        &store,
        &[
            ("first_name", "Cy"),
            ("owner", "sam"),
            ("tags", "old; keep"),
            ("stage", "prospect"),
        ],
    );
    let cases: Vec<(ActionSpec, &str)> = vec![
        (
            ActionSpec::SetField {
                field: "source".into(),
                value: "Studio for {first_name}".into(),
            },
            "contacts:write",
        ),
        (
            ActionSpec::SetField {
                field: "custom.segment".into(),
                value: "gold".into(),
            },
            "contacts:write",
        ),
        (tag("new"), "contacts:write"),
        (
            ActionSpec::RemoveTag { tag: "OLD".into() },
            "contacts:write",
        ),
        (
            ActionSpec::MoveStage {
                stage: "client".into(),
            },
            "contacts:write",
        ),
        (
            ActionSpec::CreateTask {
                title: "Call {first_name} back".into(),
                due_in_days: 1,
                for_owner: true,
            },
            "tasks:write",
        ),
        (
            ActionSpec::LogNote {
                text: "Seen by the Studio: {first_name}".into(),
            },
            "activities:write",
        ),
        (
            ActionSpec::Notify {
                message: "Hello {first_name}".into(),
                level: "success".into(),
            },
            "ui:notify",
        ),
        (
            ActionSpec::AiChoose {
                field: "custom.temperature".into(),
                labels: vec!["hot".into(), "cold".into()],
                question: "How warm is this lead?".into(),
            },
            "ai:use",
        ),
        (
            ActionSpec::PostJson {
                url: "https://hooks.example.com/crm?token=1".into(),
            },
            "net:https://hooks.example.com",
        ),
    ];
    let rehearse = Some(Rehearsal { include_ai: false });
    for (action, permission) in cases {
        let m = model(button(), vec![], vec![action.clone()]);
        let g = wizard::build(&m).expect("builds");
        assert!(
            g.permissions.contains(&permission.to_string()),
            "{action:?} asks for {permission}: {:?}",
            g.permissions
        );
        let out = call(&store, &m, "on_button", vec![id.clone().into()], rehearse).expect("runs");
        let c = seen(&store, &id);
        match &action {
            ActionSpec::SetField { field, .. } if field == "source" => {
                assert_eq!(c["source"], json!("Studio for Cy"))
            }
            ActionSpec::SetField { .. } => assert_eq!(c["custom"]["segment"], json!("gold")),
            ActionSpec::AddTag { .. } => {
                assert_eq!(tags(&store, &id), vec!["old", "keep", "new"])
            }
            ActionSpec::RemoveTag { .. } => assert_eq!(tags(&store, &id), vec!["keep", "new"]),
            ActionSpec::MoveStage { .. } => assert_eq!(c["stage"], json!("client")),
            ActionSpec::CreateTask { .. } => {
                let s = store.lock().expect("store");
                let today = chrono::Local::now().date_naive();
                let tasks = s
                    .list_tasks(crm_core::TaskFilter::All, today, 10)
                    .expect("tasks")
                    .rows;
                assert_eq!(tasks.len(), 1);
                assert_eq!(tasks[0].title, "Call Cy back");
                assert_eq!(tasks[0].assignee.as_deref(), Some("sam"));
                let tomorrow = (today + chrono::Duration::days(1)).to_string();
                assert_eq!(tasks[0].due_date.as_deref(), Some(tomorrow.as_str()));
                assert_eq!(tasks[0].contact_id, Some(uuid(&id)));
            }
            ActionSpec::LogNote { .. } => {
                let s = store.lock().expect("store");
                let timeline = s.timeline(uuid(&id), 10).expect("timeline").rows;
                assert!(timeline.iter().any(|a| a.body == "Seen by the Studio: Cy"));
            }
            ActionSpec::Notify { .. } => {
                assert_eq!(out.notifications.len(), 1);
                assert_eq!(out.notifications[0].message, "Hello Cy");
                assert_eq!(out.notifications[0].level, "success");
            }
            ActionSpec::AiChoose { .. } => {
                // Rehearsed without the AI: the question is recorded, the
                // first label stands in.
                assert_eq!(c["custom"]["temperature"], json!("hot"));
                assert_eq!(out.requests.len(), 1);
                assert_eq!(out.requests[0].method, "AI");
                assert!(out.requests[0]
                    .body
                    .as_deref()
                    .is_some_and(|b| b.contains("How warm") && b.contains("Cy")));
            }
            ActionSpec::PostJson { .. } => {
                assert_eq!(out.requests.len(), 1);
                assert_eq!(out.requests[0].method, "POST");
                // The query (tokens live there) is not shown.
                assert_eq!(out.requests[0].url, "https://hooks.example.com/crm");
                let body: Value =
                    serde_json::from_str(out.requests[0].body.as_deref().expect("body"))
                        .expect("json");
                assert_eq!(body["contact"]["first_name"], json!("Cy"));
            }
        }
    }
}

#[test]
fn typed_values_stay_text_and_never_become_code() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let id = contact(&store, &[("first_name", "Di")]);
    let nasty = "\"); contacts::delete(record.id); (\"\n// `${x}` \\ \u{7}";
    let m = model(
        button(),
        vec![cond("source", Op::IsNot, json!(nasty))],
        vec![ActionSpec::SetField {
            field: "source".into(),
            value: nasty.into(),
        }],
    );
    press(&store, &m, &id);
    let c = seen(&store, &id);
    assert_eq!(c["first_name"], json!("Di"), "the contact is still there");
    let source = c["source"].as_str().expect("source");
    assert!(source.contains("contacts::delete(record.id)"), "{source:?}");
}

#[test]
fn hook_triggers_run_on_the_events_they_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let rt = Runtime::new(store.clone(), Limits::default()).expect("runtime");
    let install = |m: &Automation| {
        let g = wizard::build(m).expect("builds");
        let dir = tmp.path().join(&g.id);
        wizard::write_folder(&g, &dir).expect("written");
        let mut s = store.lock().expect("store");
        lifecycle::install(&mut s, &dir, true).expect("installs");
        lifecycle::enable(&mut s, &g.id, None).expect("enables");
    };
    let mut created = model(
        Trigger::ContactCreated,
        vec![cond("source", Op::Is, json!("web"))],
        vec![tag("created")],
    );
    created.name = "On created".into();
    install(&created);
    let mut staged = model(
        Trigger::ContactStageChanged {
            stage: "client".into(),
        },
        vec![],
        vec![tag("became-client")],
    );
    staged.name = "On client".into();
    install(&staged);

    let web = contact(&store, &[("first_name", "Web"), ("source", "web")]);
    let phone = contact(&store, &[("first_name", "Phone"), ("source", "phone")]);
    rt.dispatch_pending().expect("dispatch");
    assert!(tags(&store, &web).contains(&"created".to_string()));
    assert!(!tags(&store, &phone).contains(&"created".to_string()));
    assert!(!tags(&store, &web).contains(&"became-client".to_string()));

    store
        .lock()
        .expect("store")
        .update_contact(uuid(&phone), &[("stage".into(), "client".into())])
        .expect("update");
    rt.dispatch_pending().expect("dispatch");
    assert!(tags(&store, &phone).contains(&"became-client".to_string()));
    assert!(!tags(&store, &web).contains(&"became-client".to_string()));
}

#[test]
fn daily_triggers_act_once_per_record() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = profile(tmp.path());
    let rt = Runtime::new(store.clone(), Limits::default()).expect("runtime");
    let holder = contact(&store, &[("first_name", "Holder")]);
    let today = chrono::Local::now().date_naive();
    let soon = (today + chrono::Duration::days(10)).to_string();
    let started = (today - chrono::Duration::days(100)).to_string();
    let policy = {
        let mut s = store.lock().expect("store");
        let p = s
            .create_policy(&crm_core::PolicyDraft {
                contact_id: Some(uuid(&holder)),
                policy_number: "P-1".into(),
                carrier: "Aviva".into(),
                line_of_business: "home".into(),
                premium: "25.00".into(),
                currency: None,
                frequency: Some("monthly".into()),
                effective: started,
                expiry: Some(soon),
                status: None,
            })
            .expect("policy");
        s.schedule_premiums(p.id).expect("schedule");
        p.id.to_string()
    };
    let task_contact = contact(&store, &[("first_name", "Tasked")]);
    {
        let mut s = store.lock().expect("store");
        s.create_task(&crm_core::TaskDraft {
            title: "Late".into(),
            due: Some((today - chrono::Duration::days(2)).to_string()),
            contact_id: Some(uuid(&task_contact)),
            ..Default::default()
        })
        .expect("task");
    }
    let cases = [
        (
            Trigger::PolicyRenewalDue { days: 30 },
            holder.clone(),
            "renewal",
        ),
        (
            Trigger::InstalmentOverdue { days: 7 },
            holder.clone(),
            "arrears",
        ),
        (Trigger::TaskOverdue, task_contact.clone(), "overdue-task"),
    ];
    for (trigger, who, label) in cases {
        let mut m = model(
            trigger,
            vec![],
            vec![ActionSpec::LogNote {
                text: format!("{label} for {{first_name}}"),
            }],
        );
        m.name = label.into();
        let g = wizard::build(&m).expect("builds");
        let dir = tmp.path().join(&g.id);
        wizard::write_folder(&g, &dir).expect("written");
        {
            let mut s = store.lock().expect("store");
            lifecycle::install(&mut s, &dir, true).expect("installs");
            lifecycle::enable(&mut s, &g.id, None).expect("enables");
        }
        let notes = || {
            store
                .lock()
                .expect("store")
                .timeline(uuid(&who), 50)
                .expect("timeline")
                .rows
                .iter()
                .filter(|a| a.body.starts_with(label))
                .count()
        };
        rt.run_action(&g.id, "run_now", None)
            .expect("runs")
            .into_output()
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(notes(), 1, "{label}: acted once");
        rt.run_action(&g.id, "run_now", None).expect("runs again");
        assert_eq!(notes(), 1, "{label}: not twice for the same record");
    }
    let _ = policy;
}

#[test]
fn a_bad_model_is_refused_naming_each_field() {
    let bad = r#"{"version": 1, "name": "", "trigger": {"kind": "policy_renewal_due", "days": -3},
        "conditions": [{"field": "nope", "op": "is", "value": "x"},
                       {"field": "contact.tags", "op": "lt", "value": 3},
                       {"field": "contact.custom.n", "op": "between", "value": [5, 1]}],
        "actions": [{"kind": "post_json", "url": "http://insecure.example.com"},
                    {"kind": "move_stage", "stage": "vip"}]}"#;
    let m = wizard::parse(bad).expect("the shape is fine");
    let problems = wizard::problems(&m);
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    for f in [
        "name",
        "trigger.days",
        "conditions[0].field",
        "conditions[1].op",
        "conditions[2].value",
        "actions[0].url",
        "actions[1].stage",
    ] {
        assert!(fields.contains(&f), "{f} is named: {problems:?}");
    }
    assert!(matches!(
        wizard::build(&m),
        Err(wizard::WizardError::Invalid(_))
    ));
    // A shape error names where.
    let err = wizard::parse(
        r#"{"version": 1, "name": "x", "trigger": {"kind": "when_pigs_fly"}, "actions": []}"#,
    )
    .expect_err("refused");
    assert!(err.to_string().starts_with("trigger"), "{err}");
    let err = wizard::parse(r#"{"version": 1, "name": "x", "trigger": {"kind": "contact_created"}, "actions": [{"kind": "add_tag"}]}"#)
        .expect_err("refused");
    assert!(err.to_string().contains("actions[0]"), "{err}");
}

#[test]
fn a_plugin_stays_wizard_made_across_generator_changes_until_its_files_are_edited() {
    use crm_studio::wizard::{made_by_wizard, model::digest};
    let m = model(
        Trigger::ContactCreated,
        vec![],
        vec![ActionSpec::AddTag { tag: "x".into() }],
    );
    let g = wizard::build(&m).expect("built");
    let files = |script: &str, wizard: &str| {
        let mut f = std::collections::BTreeMap::new();
        f.insert("main.rhai".to_string(), script.as_bytes().to_vec());
        f.insert("manifest.json".to_string(), g.manifest.as_bytes().to_vec());
        f.insert("wizard.json".to_string(), wizard.as_bytes().to_vec());
        f
    };
    assert!(made_by_wizard(&files(&g.script, &g.wizard)).is_some());
    let edited = format!("{}// mine\n", g.script);
    assert!(
        made_by_wizard(&files(&edited, &g.wizard)).is_none(),
        "edited by hand: a code plugin"
    );
    // What an older generator wrote, with the digest it kept: still the
    // wizard's, though today's generator writes something else.
    let older = g
        .script
        .replace("Made with the Studio wizard", "Made by the wizard");
    assert_ne!(older, g.script);
    let mut kept: Value = serde_json::from_str(&g.wizard).expect("json");
    kept["made"]["script"] = Value::from(digest(older.as_bytes()));
    assert!(made_by_wizard(&files(&older, &kept.to_string())).is_some());
    // A model from before digests were kept counts only when the files are
    // exactly today's output.
    let mut legacy: Value = serde_json::from_str(&g.wizard).expect("json");
    legacy.as_object_mut().expect("object").remove("made");
    assert!(made_by_wizard(&files(&g.script, &legacy.to_string())).is_some());
    assert!(made_by_wizard(&files(&older, &legacy.to_string())).is_none());
}
