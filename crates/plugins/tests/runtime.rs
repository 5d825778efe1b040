//! The runtime over a real encrypted store: hooks from committed changes,
//! loop protection, schedules and their missed-run policy, health and the
//! circuit breaker, settings, custom fields, uninstall.

crm_plugins::counting_allocator!();

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{Duration as Days, TimeZone, Utc};
use crm_core::{FixedPassphrase, KeyStoreChoice, Store};
use crm_plugins::lifecycle::{self, LifecycleError};
use crm_plugins::runtime::{self, Runtime};
use crm_plugins::{ErrorKind, Limits, Manifest};

fn store(dir: &Path) -> Store {
    Store::create(
        &dir.join("profile"),
        KeyStoreChoice::Passphrase,
        &FixedPassphrase(zeroize::Zeroizing::new("runtime tests".into())),
    )
    .unwrap()
}

/// A plugin folder from a manifest body (without id/version boilerplate) and a script.
fn plugin(dir: &Path, id: &str, body: &str, script: &str) -> PathBuf {
    let d = dir.join(id);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("manifest.json"),
        format!(
            r#"{{"id": "{id}", "name": "T", "version": "1.0.0", "api_version": "^1", "author": "A", {body}}}"#
        ),
    )
    .unwrap();
    std::fs::write(d.join("main.rhai"), script).unwrap();
    d
}

fn install_enable(s: &mut Store, dir: &Path) -> Manifest {
    let m = lifecycle::install(s, dir, true).unwrap();
    lifecycle::enable(s, &m.id, None).unwrap();
    m
}

fn contact(s: &mut Store, name: &str) -> crm_core::Contact {
    let mut d = crm_core::ContactDraft::default();
    d.set("first_name", name).unwrap();
    s.create_contact(&d).unwrap()
}

#[test]
fn hooks_run_after_commit_in_the_plugins_name_and_never_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    // A tags every new or changed contact; B reacts to A's change.
    let a = plugin(
        tmp.path(),
        "acme.tagger",
        r#""permissions": ["contacts:read", "contacts:write"],
           "hooks": [{"event": "contact.created", "function": "tag"}, {"event": "contact.updated", "function": "tag"}]"#,
        r#"fn tag(e) { let c = contacts::get(e.row_id); contacts::update(c.id, #{"custom.n": `${parse_int(c.custom.n ?? "0") + 1}`}); }"#,
    );
    let b = plugin(
        tmp.path(),
        "acme.echo",
        r#""permissions": ["contacts:read", "contacts:write"],
           "hooks": [{"event": "contact.updated", "function": "echo"}]"#,
        r#"fn echo(e) { let c = contacts::get(e.row_id); contacts::update(c.id, #{"custom.echo": `${parse_int(c.custom.echo ?? "0") + 1}`}); }"#,
    );
    install_enable(&mut s, &a);
    install_enable(&mut s, &b);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    let ann = contact(&mut store.lock().unwrap(), "Ann");
    // Nothing ran inside the commit; it runs on dispatch.
    assert!(store
        .lock()
        .unwrap()
        .contact(ann.id)
        .unwrap()
        .custom
        .is_empty());
    let reports = rt.dispatch_pending().unwrap();
    assert!(reports.iter().all(|r| r.result.is_ok()), "{reports:?}");
    let c = store.lock().unwrap().contact(ann.id).unwrap();
    // A ran once for the creation, B and A then reacted to each other until
    // the chain was cut: bounded, not endless, and A never re-ran on its
    // own change.
    let n: i64 = c.custom["n"].parse().unwrap();
    let echo: i64 = c.custom["echo"].parse().unwrap();
    assert!((1..=3).contains(&n), "n = {n}");
    assert!((1..=3).contains(&echo), "echo = {echo}");
    assert!(rt.dispatch_pending().unwrap().is_empty());
    // The write is audited in the plugin's name.
    let audit = store.lock().unwrap().audit_for(ann.id).unwrap();
    assert!(audit
        .iter()
        .any(|e| e.actor["kind"] == "plugin" && e.actor["plugin"] == "acme.tagger"));
    // Disabled: hooks stop at once.
    lifecycle::disable(&mut store.lock().unwrap(), "acme.tagger").unwrap();
    lifecycle::disable(&mut store.lock().unwrap(), "acme.echo").unwrap();
    let bob = contact(&mut store.lock().unwrap(), "Bob");
    assert!(rt.dispatch_pending().unwrap().is_empty());
    assert!(store
        .lock()
        .unwrap()
        .contact(bob.id)
        .unwrap()
        .custom
        .is_empty());
}

#[test]
fn repeated_failures_trip_the_breaker_and_health_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let d = plugin(
        tmp.path(),
        "acme.flaky",
        r#""actions": [{"id": "ok", "label": "Ok", "target": "global", "function": "ok"},
                       {"id": "boom", "label": "Boom", "target": "global", "function": "boom"}]"#,
        "fn ok() { 1 } fn boom() { throw \"boom\"; }",
    );
    install_enable(&mut s, &d);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    for _ in 0..3 {
        rt.run_action("acme.flaky", "ok", None)
            .unwrap()
            .into_output()
            .unwrap();
    }
    for i in 0..runtime::DEFAULT_BREAKER {
        let r = rt.run_action("acme.flaky", "boom", None).unwrap();
        assert_eq!(r.result.as_ref().unwrap_err().kind, ErrorKind::Runtime);
        assert_eq!(r.disabled.is_some(), i + 1 == runtime::DEFAULT_BREAKER);
    }
    let h = rt.health("acme.flaky").unwrap();
    assert!(!h.enabled);
    assert!(h
        .disabled_reason
        .as_deref()
        .unwrap()
        .contains("circuit breaker"));
    assert_eq!(
        (h.runs, h.errors),
        (3 + runtime::DEFAULT_BREAKER, runtime::DEFAULT_BREAKER)
    );
    assert!(h.p95_ms >= h.p50_ms && h.p50_ms > 0.0);
    assert!(h.last_error.unwrap().contains("boom"));
    match rt.run_action("acme.flaky", "ok", None) {
        Err(LifecycleError::Refused(m)) => assert!(m.contains("circuit breaker"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let audit = store.lock().unwrap().plugin_audit("acme.flaky").unwrap();
    assert!(audit.iter().any(|(a, _)| a == "disabled_by_breaker"));
    // Enabling again clears the reason.
    lifecycle::enable(&mut store.lock().unwrap(), "acme.flaky", None).unwrap();
    assert!(rt.health("acme.flaky").unwrap().disabled_reason.is_none());
}

#[test]
fn schedules_catch_up_once_after_missed_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let d = plugin(
        tmp.path(),
        "acme.daily",
        r#""permissions": ["storage"],
           "schedules": [{"id": "morning", "cron": "0 8 * * *", "function": "tick"}]"#,
        r#"fn tick() { let n = storage::get("n") ?? 0; storage::set("n", n + 1); n + 1 }"#,
    );
    install_enable(&mut s, &d);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    let runs = |s: &Arc<Mutex<Store>>| -> i64 {
        s.lock()
            .unwrap()
            .plugin_storage_get("acme.daily", "n")
            .unwrap()
            .map(|v| v.parse().unwrap())
            .unwrap_or(0)
    };
    let day1 = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap();
    // First sight: counting starts, nothing runs.
    assert!(rt.run_due(day1).unwrap().is_empty());
    // Before 08:00: not due. After: runs once; again at once: not due.
    assert!(rt.run_due(day1 + Days::minutes(30)).unwrap().is_empty());
    assert_eq!(rt.run_due(day1 + Days::hours(2)).unwrap().len(), 1);
    assert!(rt.run_due(day1 + Days::hours(3)).unwrap().is_empty());
    assert_eq!(runs(&store), 1);
    // The app was closed for a week: one catch-up run, not seven.
    let later = day1 + Days::days(8);
    assert_eq!(rt.run_due(later).unwrap().len(), 1);
    assert!(rt.run_due(later + Days::minutes(1)).unwrap().is_empty());
    assert_eq!(runs(&store), 2);
    let next = rt.next_runs(later).unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].next.unwrap() > later);
    // A disabled plugin's schedule does not run.
    lifecycle::disable(&mut store.lock().unwrap(), "acme.daily").unwrap();
    assert!(rt.run_due(later + Days::days(2)).unwrap().is_empty());
}

#[test]
fn settings_custom_fields_and_uninstall_with_export() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let body = r#""permissions": ["storage"],
        "settings": [{"key": "api_token", "label": "Token", "type": "secret", "required": true},
                     {"key": "limit", "label": "Limit", "type": "integer", "default": 5},
                     {"key": "mode", "label": "Mode", "type": "string", "choices": ["fast", "slow"]}],
        "custom_fields": [{"entity": "contact", "name": "score", "label": "Score", "type": "integer"}],
        "actions": [{"id": "show", "label": "Show", "target": "global", "function": "show"}]"#;
    let d = plugin(
        tmp.path(),
        "acme.conf",
        body,
        r#"fn show() { storage::set("seen", true); [settings::get("limit"), settings::get("mode"), settings::get("api_token")] }"#,
    );
    let m = lifecycle::install(&mut s, &d, true).unwrap();
    // A required setting must be filled in before enabling.
    match lifecycle::enable(&mut s, "acme.conf", None) {
        Err(LifecycleError::Refused(msg)) => assert!(msg.contains("api_token"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Bad values are refused with the key named; nothing is stored.
    let bad = runtime::validate_settings(
        &m,
        &[
            ("limit".into(), "lots".into()),
            ("mode".into(), "medium".into()),
            ("nope".into(), "1".into()),
        ],
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(bad.len(), 4, "{bad:?}");
    assert!(bad[0].starts_with("limit") && bad[0].contains("whole number"));
    assert!(bad[1].starts_with("mode") && bad[2].starts_with("nope"));
    assert!(bad[3].starts_with("api_token: is required"));
    let good = runtime::validate_settings(
        &m,
        &[
            ("api_token".into(), "s3cret".into()),
            ("mode".into(), "fast".into()),
        ],
        &Default::default(),
    )
    .unwrap();
    s.set_plugin_settings("acme.conf", &good, &runtime::secret_keys(&m))
        .unwrap();
    lifecycle::enable(&mut s, "acme.conf", None).unwrap();
    // The secret is not in the audit trail.
    let audit = s.plugin_audit("acme.conf").unwrap();
    assert!(
        audit.iter().all(|(_, c)| !c.contains("s3cret")),
        "{audit:?}"
    );
    // Custom fields: recorded with a checksum, idempotent.
    let defs = s.custom_field_defs().unwrap();
    assert_eq!(defs.len(), 1);
    assert_eq!(defs[0].checksum.len(), 64);
    let again = lifecycle::apply_custom_fields(&mut s, &m).unwrap();
    assert_eq!(again[0].1, crm_core::FieldApplied::Unchanged);
    // Another plugin may not take the same field.
    let other = plugin(
        tmp.path(),
        "acme.other",
        r#""custom_fields": [{"entity": "contact", "name": "score", "label": "Mine", "type": "string"}]"#,
        "fn f() {}",
    );
    lifecycle::install(&mut s, &other, true).unwrap();
    let err = lifecycle::enable(&mut s, "acme.other", None).unwrap_err();
    assert!(
        err.to_string()
            .contains("already defined by plugin acme.conf"),
        "{err}"
    );
    // Settings reach the script, defaults filled in.
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    let out = rt
        .run_action("acme.conf", "show", None)
        .unwrap()
        .into_output()
        .unwrap();
    assert_eq!(out.value, serde_json::json!([5, "fast", "s3cret"]));
    // Export before uninstall: storage and settings, never the secret.
    let mut s = store.lock().unwrap();
    let export = s
        .plugin_data_export("acme.conf", &runtime::secret_keys(&m))
        .unwrap();
    assert_eq!(export["storage"]["seen"], serde_json::json!(true));
    assert_eq!(export["settings"]["mode"], "fast");
    assert!(!export.to_string().contains("s3cret"));
    lifecycle::uninstall(&mut s, "acme.conf").unwrap();
    assert!(s.plugin_storage_list("acme.conf").unwrap().is_empty());
    assert!(s.plugin_settings("acme.conf").unwrap().is_empty());
    assert!(s.custom_field_defs().unwrap().is_empty());
}

#[test]
fn dependency_cycles_are_refused_and_widgets_are_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let base = plugin(
        tmp.path(),
        "acme.base",
        r#""permissions": ["contacts:read"],
           "ui": {"widgets": [{"id": "count", "title": "Contacts", "kind": "stat", "function": "count"},
                              {"id": "bad", "title": "Bad", "kind": "stat", "function": "bad"}],
                  "record_panels": [{"id": "name", "title": "Name", "kind": "list", "function": "name"}]}"#,
        r#"fn count() { #{ value: contacts::count() } } fn bad() { "<script>alert(1)</script>" } fn name(id) { #{ items: [contacts::get(id).display_name] } }"#,
    );
    install_enable(&mut s, &base);
    let top = tmp.path().join("top");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::write(
        top.join("manifest.json"),
        r#"{"id": "acme.top", "name": "T", "version": "1.0.0", "api_version": "^1", "author": "A", "dependencies": {"acme.base": "^1"}}"#,
    )
    .unwrap();
    std::fs::write(top.join("main.rhai"), "fn f() {}").unwrap();
    lifecycle::install(&mut s, &top, true).unwrap();
    // acme.base 2.0.0 depending on acme.top would close a circle.
    let base2 = tmp.path().join("base2");
    std::fs::create_dir_all(&base2).unwrap();
    std::fs::write(
        base2.join("manifest.json"),
        r#"{"id": "acme.base", "name": "T", "version": "2.0.0", "api_version": "^1", "author": "A", "dependencies": {"acme.top": "^1"}}"#,
    )
    .unwrap();
    std::fs::write(base2.join("main.rhai"), "fn f() {}").unwrap();
    let err = lifecycle::install(&mut s, &base2, true)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("dependency cycle: acme.base → acme.top → acme.base"),
        "{err}"
    );
    assert_eq!(s.plugin("acme.base").unwrap().version, "1.0.0");

    let ann = contact(&mut s, "Ann");
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store, Limits::default()).unwrap();
    let items = rt.ui_items().unwrap();
    assert_eq!(items.len(), 3);
    let w = rt.render_ui("acme.base", "count", None).unwrap();
    assert_eq!(
        w,
        serde_json::json!({"value": 1, "kind": "stat", "title": "Contacts"})
    );
    // Markup is not a widget: refused, never rendered.
    let err = rt
        .render_ui("acme.base", "bad", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a map"), "{err}");
    let p = rt
        .render_ui("acme.base", "name", Some(&ann.id.to_string()))
        .unwrap();
    assert_eq!(p["items"][0], "Ann");
    assert!(rt.render_ui("acme.base", "name", None).is_err());
}

#[test]
fn limits_are_configurable_per_tenant() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    assert_eq!(Limits::for_profile(&s).unwrap(), Limits::default());
    s.set_setting("plugins.limit.max_writes", Some("3"))
        .unwrap();
    s.set_setting("plugins.limit.timeout_ms", Some("250"))
        .unwrap();
    let l = Limits::for_profile(&s).unwrap();
    assert_eq!(l.max_writes, 3);
    assert_eq!(l.timeout, std::time::Duration::from_millis(250));
    let d = plugin(
        tmp.path(),
        "acme.many",
        r#""permissions": ["contacts:write"],
           "actions": [{"id": "go", "label": "Go", "target": "global", "function": "make_many"}]"#,
        r#"fn make_many() { for i in 0..10 { contacts::create(#{first_name: `N${i}`}); } }"#,
    );
    install_enable(&mut s, &d);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), l).unwrap();
    let r = rt.run_action("acme.many", "go", None).unwrap();
    let e = r.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert_eq!(store.lock().unwrap().count_contacts().unwrap(), 3);
    store
        .lock()
        .unwrap()
        .set_setting("plugins.limit.max_writes", Some("lots"))
        .unwrap();
    let e = Limits::for_profile(&store.lock().unwrap()).unwrap_err();
    assert!(e.contains("plugins.limit.max_writes"), "{e}");
}

#[test]
fn hook_dispatch_reports_progress_and_can_be_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let d = plugin(
        tmp.path(),
        "acme.count",
        r#""permissions": ["storage"],
           "hooks": [{"event": "contact.created", "function": "seen"}]"#,
        r#"fn seen(e) { storage::set("n", (storage::get("n") ?? 0) + 1); }"#,
    );
    install_enable(&mut s, &d);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    for i in 0..5 {
        contact(&mut store.lock().unwrap(), &format!("C{i}"));
    }
    let mut seen = Vec::new();
    let reports = rt
        .dispatch_pending_with(&mut |done, total| {
            seen.push((done, total));
            done < 2
        })
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(seen, vec![(0, 5), (1, 5), (2, 5)]);
    // The rest were dropped, not left to run later.
    assert!(rt.dispatch_pending().unwrap().is_empty());
    let n = store
        .lock()
        .unwrap()
        .plugin_storage_get("acme.count", "n")
        .unwrap();
    assert_eq!(n.as_deref(), Some("2"));
    // Verified once, then from the cache; distrust is still seen at once
    // (developer installs have no signer, so removing the plugin's
    // enablement is the check here).
    lifecycle::disable(&mut store.lock().unwrap(), "acme.count").unwrap();
    contact(&mut store.lock().unwrap(), "Late");
    assert!(rt.dispatch_pending().unwrap().is_empty());
}

#[test]
fn only_the_same_publisher_may_upgrade_a_plugin() {
    use crm_plugins::package::{generate_key, pack};
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let (a, b) = (generate_key(), generate_key());
    for (k, n) in [(&a, "A"), (&b, "B")] {
        s.trust_publisher(&hex::encode(k.verifying_key().as_bytes()), n)
            .unwrap();
    }
    let write = |version: &str| {
        let d = tmp.path().join(format!("p-{version}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("manifest.json"),
            format!(r#"{{"id": "acme.x", "name": "X", "version": "{version}", "api_version": "^1", "author": "A"}}"#),
        )
        .unwrap();
        std::fs::write(d.join("main.rhai"), "fn f() {}").unwrap();
        d
    };
    let v1 = tmp.path().join("v1.zip");
    std::fs::write(&v1, pack(&write("1.0.0"), &a).unwrap()).unwrap();
    lifecycle::install(&mut s, &v1, false).unwrap();
    // Another trusted publisher's newer version: refused.
    let v2b = tmp.path().join("v2b.zip");
    std::fs::write(&v2b, pack(&write("2.0.0"), &b).unwrap()).unwrap();
    let err = lifecycle::install(&mut s, &v2b, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("its own publisher"), "{err}");
    // An unsigned build of it: refused too.
    let err = lifecycle::install(&mut s, &write("3.0.0"), true)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsigned"), "{err}");
    // The publisher's own upgrade: fine.
    let v2a = tmp.path().join("v2a.zip");
    std::fs::write(&v2a, pack(&write("2.0.0"), &a).unwrap()).unwrap();
    lifecycle::install(&mut s, &v2a, false).unwrap();
    assert_eq!(s.plugin("acme.x").unwrap().version, "2.0.0");
}

#[test]
fn reactions_between_plugins_are_cut_when_they_fan_out() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = store(tmp.path());
    let maker = plugin(
        tmp.path(),
        "acme.maker",
        r#""permissions": ["contacts:write"],
           "hooks": [{"event": "contact.created", "function": "make"}]"#,
        r#"fn make(e) { for i in 0..1100 { contacts::create(#{first_name: `M${i}`}); } }"#,
    );
    let counter = plugin(
        tmp.path(),
        "acme.counter",
        r#""permissions": ["storage"],
           "hooks": [{"event": "contact.created", "function": "seen"}]"#,
        r#"fn seen(e) { storage::set("n", (storage::get("n") ?? 0) + 1); }"#,
    );
    install_enable(&mut s, &maker);
    install_enable(&mut s, &counter);
    let store = Arc::new(Mutex::new(s));
    let rt = Runtime::new(store.clone(), Limits::default()).unwrap();
    contact(&mut store.lock().unwrap(), "Seed");
    let reports = rt.dispatch_pending().unwrap();
    // The person's change reached both; the maker's 1,100 creations would
    // have set off 1,100 runs of the counter: cut, and nothing left queued.
    assert_eq!(reports.len(), 2, "{reports:?}");
    let n = store
        .lock()
        .unwrap()
        .plugin_storage_get("acme.counter", "n")
        .unwrap();
    assert_eq!(n.as_deref(), Some("1"));
    assert!(rt.dispatch_pending().unwrap().is_empty());
}
