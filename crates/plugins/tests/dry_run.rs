//! Dry runs over a real encrypted profile: what they report is what a real
//! run does, and afterwards the profile is exactly what it was (every
//! table, audit log and outbox included) with no request sent.

crm_plugins::counting_allocator!();

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crm_core::{ContactDraft, DbKey, Store};
use crm_plugins::dry_run::{self, DryRunOptions, DryTarget, Outcome, Records};
use crm_plugins::lifecycle;
use crm_plugins::runtime::Runtime;
use crm_plugins::{Limits, Sandbox};

fn store(dir: &Path) -> Store {
    Store::open_path(&dir.join("t.db"), Some(&DbKey::random()), true).expect("store")
}

fn plugin(dir: &Path, id: &str, body: &str, script: &str) -> PathBuf {
    let d = dir.join(id);
    std::fs::create_dir_all(&d).expect("dir");
    std::fs::write(
        d.join("manifest.json"),
        format!(
            r#"{{"id": "{id}", "name": "T", "version": "1.0.0", "api_version": "^1", "author": "A", {body}}}"#
        ),
    )
    .expect("manifest");
    std::fs::write(d.join("main.rhai"), script).expect("script");
    d
}

/// A local server that counts the connections made to it.
fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut c) = conn {
                let mut buf = [0u8; 512];
                let _ = c.read(&mut buf);
            }
        }
    });
    (port, hits)
}

const LEAD_SCRIPT: &str = r#"
fn on_created(event) {
    let c = contacts::get(event.row_id);
    if c.source != "web" { return #{ skipped: `source is ${c.source}` }; }
    let tags = c.tags;
    tags.push("web-lead");
    contacts::update(c.id, #{ tags: tags });
    tasks::create(#{ title: `Call ${c.first_name}`, contact_id: c.id });
    storage::set(`seen:${c.id}`, true);
    ui::notify("info", `lead ${c.first_name}`);
    http::post(URL, #{ id: c.id });
}
"#;

fn lead_plugin(dir: &Path, port: u16) -> PathBuf {
    let url = format!("https://127.0.0.1:{port}/hook");
    plugin(
        dir,
        "acme.leads",
        &format!(
            r#""permissions": ["contacts:read", "contacts:write", "tasks:write", "storage", "ui:notify", "net:https://127.0.0.1:{port}"],
               "hooks": [{{"event": "contact.created", "function": "on_created"}}]"#
        ),
        &LEAD_SCRIPT.replace("URL", &format!("{url:?}")),
    )
}

fn add_contacts(s: &mut Store, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut d = ContactDraft::default();
            d.set("first_name", &format!("P{i}")).expect("name");
            d.set("source", if i % 4 == 0 { "web" } else { "phone" })
                .expect("source");
            s.create_contact(&d).expect("create").id.to_string()
        })
        .collect()
}

#[test]
fn a_dry_run_over_a_thousand_contacts_changes_nothing_and_sends_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = store(tmp.path());
    let ids = add_contacts(&mut s, 1_000);
    let (port, hits) = counting_server();
    let dir = lead_plugin(tmp.path(), port);
    lifecycle::install(&mut s, &dir, true).expect("install");
    // Not enabled: a dry run comes before enabling.
    let before = s.content_digest().expect("digest");
    let sandbox = Arc::new(Sandbox::new(Limits::default()));
    let mut calls = 0;
    let report = dry_run::dry_run(
        &s,
        sandbox.clone(),
        "acme.leads",
        &DryTarget::Event {
            event: "contact.created".into(),
            records: Records::All,
        },
        DryRunOptions::default(),
        &mut |_, total| {
            calls += 1;
            assert_eq!(total, 1_000);
            true
        },
    )
    .expect("dry run");
    assert!(calls > 1_000, "progress is reported per record");
    assert_eq!(
        s.content_digest().expect("digest"),
        before,
        "nothing changed"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request was sent");
    assert!(!s.plugin("acme.leads").expect("plugin").enabled);

    assert_eq!(report.total, 1_000);
    assert_eq!(report.considered, 1_000);
    assert_eq!(report.would_change, 250);
    assert_eq!(report.skipped, 750);
    assert_eq!(report.failed, 0);
    let first_web = report
        .results
        .iter()
        .find(|r| r.record.as_deref() == Some(ids[0].as_str()))
        .expect("the first web lead is shown");
    assert_eq!(first_web.outcome, Outcome::Changed);
    let own = first_web
        .changes
        .iter()
        .find(|c| c.table == "contacts")
        .expect("its own change");
    assert_eq!(own.action, "updated");
    assert_eq!(own.changes["tags"], serde_json::json!([[], ["web-lead"]]));
    let task = first_web
        .changes
        .iter()
        .find(|c| c.table == "tasks")
        .expect("the task it would make");
    assert_eq!(task.action, "created");
    assert_eq!(task.changes["title"], serde_json::json!("Call P0"));
    assert_eq!(first_web.requests.len(), 1);
    assert_eq!(first_web.requests[0].method, "POST");
    assert_eq!(first_web.notifications[0].message, "lead P0");
    let skipped = report
        .results
        .iter()
        .find(|r| r.record.as_deref() == Some(ids[1].as_str()))
        .expect("a skipped record is shown");
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert_eq!(skipped.reason.as_deref(), Some("source is phone"));

    // What it reported is what a real run does.
    lifecycle::enable(&mut s, "acme.leads", None).expect("enable");
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::with_sandbox(store.clone(), sandbox).expect("runtime");
    let web = crm_core::parse_id("contact", &ids[4]).expect("id");
    let e = crm_core::ChangeEvent {
        name: "contact.created".into(),
        table: crm_core::Table::Contacts,
        row_id: web,
        action: crm_core::store::Action::Created,
        actor: crm_core::Actor::User {
            user: "local".into(),
        },
        fields: vec![],
    };
    // The real run sends for real: to a server that is no HTTPS server, so
    // it fails after writing; the writes are what the dry run showed.
    let _ = rt.run_hooks("acme.leads", &e).expect("runs");
    let c = store.lock().expect("store").contact(web).expect("contact");
    assert_eq!(c.tags, vec!["web-lead".to_string()]);
}

#[test]
fn a_run_that_loops_or_fails_is_reported_and_nothing_is_disabled() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = store(tmp.path());
    let ids = add_contacts(&mut s, 3);
    let dir = plugin(
        tmp.path(),
        "acme.bad",
        r#""permissions": ["contacts:read"],
           "actions": [{"id": "spin", "label": "Spin", "target": "contact", "function": "spin"},
                       {"id": "boom", "label": "Boom", "target": "contact", "function": "boom"}]"#,
        "fn spin(id) { loop { } }\nfn boom(id) {\n    throw \"no luck\";\n}\n",
    );
    lifecycle::install(&mut s, &dir, true).expect("install");
    lifecycle::enable(&mut s, "acme.bad", None).expect("enable");
    let before = s.content_digest().expect("digest");
    let sandbox = Arc::new(Sandbox::new(Limits {
        max_operations: 50_000,
        ..Limits::default()
    }));
    for action in ["spin", "boom"] {
        let report = dry_run::dry_run(
            &s,
            sandbox.clone(),
            "acme.bad",
            &DryTarget::Action {
                action: action.into(),
                records: Records::Ids(vec![ids[0].clone()]),
            },
            DryRunOptions::default(),
            &mut |_, _| true,
        )
        .expect("a report");
        assert_eq!(report.failed, 1, "{action}");
        let why = report.results[0].reason.as_deref().unwrap_or_default();
        let expected = if action == "spin" { "limit" } else { "no luck" };
        assert!(why.contains(expected), "{action}: {why}");
    }
    assert_eq!(s.content_digest().expect("digest"), before);
    assert!(
        s.plugin("acme.bad").expect("plugin").enabled,
        "not disabled"
    );
    // Unknown actions and events are refused, naming what there is.
    let err = dry_run::dry_run(
        &s,
        sandbox,
        "acme.bad",
        &DryTarget::Event {
            event: "contact.created".into(),
            records: Records::All,
        },
        DryRunOptions::default(),
        &mut |_, _| true,
    )
    .expect_err("refused");
    assert!(err.to_string().contains("does not listen"), "{err}");
}

#[test]
fn cancelling_stops_early_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut s = store(tmp.path());
    add_contacts(&mut s, 20);
    let (port, _) = counting_server();
    let dir = lead_plugin(tmp.path(), port);
    lifecycle::install(&mut s, &dir, true).expect("install");
    let report = dry_run::dry_run(
        &s,
        Arc::new(Sandbox::new(Limits::default())),
        "acme.leads",
        &DryTarget::Event {
            event: "contact.created".into(),
            records: Records::All,
        },
        DryRunOptions::default(),
        &mut |done, _| done < 5,
    )
    .expect("report");
    assert!(report.cancelled);
    assert_eq!(report.considered, 5);
}
