//! `contacts::update_many` of custom fields is written on a thread of its
//! own while the script goes on. These tests hold it to what a script saw
//! before: every later call reads what was written, a batch that cannot be
//! written is the call's own (catchable) error with nothing written, and a
//! write that fails after the call returned fails the invocation, with
//! nothing of the batch written.

crm_plugins::counting_allocator!();

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crm_core::{Actor, FixedPassphrase, KeyStoreChoice, Store};
use crm_plugins::{Context, ErrorKind, Limits, Sandbox};

const PASS: &str = "background write tests";

fn pass() -> FixedPassphrase {
    FixedPassphrase(zeroize::Zeroizing::new(PASS.into()))
}

/// A profile with `n` contacts.
fn store(dir: &std::path::Path, n: usize) -> Arc<Mutex<Store>> {
    let mut s = Store::create(&dir.join("profile"), KeyStoreChoice::Passphrase, &pass())
        .expect("create the profile");
    for i in 0..n {
        let mut d = crm_core::ContactDraft::default();
        d.set("first_name", &format!("C{i}")).expect("name");
        d.set("email", &format!("c{i}@example.com")).expect("email");
        s.create_contact(&d).expect("contact");
    }
    Arc::new(Mutex::new(s))
}

fn ctx(store: &Arc<Mutex<Store>>) -> Context {
    Context {
        grants: ["contacts:read", "contacts:write"]
            .iter()
            .map(|g| g.to_string())
            .collect(),
        store: Some(store.clone()),
        plugin_id: Some("acme.background".into()),
        ..Default::default()
    }
}

fn sandbox() -> Sandbox {
    Sandbox::new(Limits {
        timeout: Duration::from_secs(60),
        ..Default::default()
    })
}

/// How many contacts carry `custom.score == value`.
fn scored(store: &Arc<Mutex<Store>>, value: &str) -> usize {
    let s = store.lock().expect("store");
    s.scan_contacts(None, 10_000)
        .expect("scan")
        .iter()
        .filter(|c| c.custom.get("score").map(String::as_str) == Some(value))
        .count()
}

#[test]
fn every_call_after_a_background_batch_reads_what_it_wrote() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store(dir.path(), 60);
    let outbox = store.lock().expect("store").outbox_len().expect("outbox");
    // The first 40 are written in the background (a batch long enough),
    // then read back at once: a scan past them (which the reader
    // connection answers), a scan over them, a single get, and a second
    // batch over the same contacts.
    let src = r#"
        let page = contacts::scan("", 100);
        let changes = [];
        for i in 0..40 { changes.push(#{ id: page[i].id, "custom.score": "7" }); }
        let n = contacts::update_many(changes);
        let rest = contacts::scan(page[39].id, 100);
        let again = contacts::scan("", 100);
        let seen = 0;
        for c in again { if c.custom.score == "7" { seen += 1; } }
        let one = contacts::get(page[0].id).custom.score;
        let untouched = 0;
        for c in rest { if c.custom.score == () { untouched += 1; } }
        let second = [];
        for i in 0..40 { second.push(#{ id: page[i].id, "custom.score": "8" }); }
        contacts::update_many(second);
        let last = contacts::get(page[39].id).custom.score;
        #{ n: n, rest: rest.len(), untouched: untouched, seen: seen, one: one, last: last }
    "#;
    let out = sandbox().run(src, ctx(&store)).expect("the script runs");
    assert_eq!(
        out.value,
        serde_json::json!({"n": 40, "rest": 20, "untouched": 20, "seen": 40, "one": "7", "last": "8"})
    );
    assert_eq!(out.writes, 80);
    // Everything is committed when the run returns: both batches, each
    // contact once per batch in the outbox.
    assert_eq!(scored(&store, "8"), 40);
    let s = store.lock().expect("store");
    assert_eq!(s.outbox_len().expect("outbox"), outbox + 80);
}

#[test]
fn a_batch_that_cannot_be_written_is_refused_by_the_call_with_nothing_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store(dir.path(), 40);
    let too_long = "x".repeat(crm_core::contacts::MAX_FIELD_LEN + 1);
    for (what, bad_item, expect) in [
        (
            "an unknown contact",
            r#"#{ id: "0190a0a0-0000-7000-8000-000000000000", "custom.score": "7" }"#.to_string(),
            "no contact with id",
        ),
        (
            "a value too long",
            format!(r#"#{{ id: page[5].id, "custom.score": "{too_long}" }}"#),
            "longer than",
        ),
    ] {
        let src = format!(
            r#"
            let page = contacts::scan("", 100);
            let changes = [];
            for i in 0..39 {{ changes.push(#{{ id: page[i].id, "custom.score": "7" }}); }}
            changes.push({bad_item});
            let caught = "";
            try {{ contacts::update_many(changes); }} catch (e) {{ caught = `${{e}}`; }}
            caught
        "#
        );
        let out = sandbox().run(&src, ctx(&store)).expect("the script runs");
        let caught = out.value.as_str().unwrap_or_default().to_string();
        assert!(
            caught.contains(expect),
            "{what}: the call itself should fail, caught {caught:?}"
        );
        assert_eq!(scored(&store, "7"), 0, "{what}: nothing may be written");
    }
}

#[test]
fn a_background_write_that_fails_fails_the_invocation_with_nothing_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store(dir.path(), 40);
    // Another connection holds the database's write lock (it has written
    // and not committed): the background write waits its busy timeout and
    // fails, after `update_many` has returned.
    let mut other = Store::open(&dir.path().join("profile"), &pass()).expect("second store");
    let victim = other.scan_contacts(None, 1).expect("scan")[0].id;
    let mut tx = other
        .write(Actor::User {
            user: "blocker".into(),
        })
        .expect("write");
    tx.set_contact_custom(victim, &[("held".into(), Some("yes".into()))])
        .expect("take the write lock");
    let src = r#"
        let page = contacts::scan("", 100);
        let changes = [];
        for c in page { changes.push(#{ id: c.id, "custom.score": "7" }); }
        let n = contacts::update_many(changes);
        // The script goes on; its end waits for the write.
        n
    "#;
    let err = sandbox()
        .run(src, ctx(&store))
        .expect_err("the failed write fails the run");
    drop(tx);
    assert_eq!(err.kind, ErrorKind::Runtime, "{err}");
    assert!(
        err.message.contains("written after the call returned")
            && err.message.contains("nothing of that batch was written"),
        "{err}"
    );
    assert_eq!(scored(&store, "7"), 0);
    let s = store.lock().expect("store");
    assert_eq!(s.integrity_check().expect("check"), "ok");
}
