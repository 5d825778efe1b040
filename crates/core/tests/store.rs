//! The encrypted store: what lands on disk, keys, migrations, the write path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crm_core::import::{ImportControl, ImportOptions};
use crm_core::{ContactDraft, CoreError, KeyStoreChoice, Store};

mod support;
use support::*;

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn database_file_is_not_plain_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    s.create_contact(&draft(&[
        ("first_name", "Ann"),
        ("email", "ann@example.com"),
    ]))
    .unwrap();
    drop(s);
    let bytes = std::fs::read(tmp.path().join("crm.db")).unwrap();
    assert!(bytes.len() > 4096);
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "database header is plaintext"
    );
}

#[test]
fn imported_names_and_emails_appear_in_no_file_under_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("profile");
    let mut s = new_store(&data);
    let csv = tmp.path().join("in.csv");
    let mut text = String::from("First Name,Last Name,Email,Phone\n");
    for i in 0..3000 {
        text.push_str(&format!(
            "Quixotica{i},Zanzibarova{i},needle{i}@plaintext-probe.example,\n"
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let rep = s
        .import_contacts(
            &csv,
            &ImportOptions::default(),
            &ImportControl::new(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(rep.created, 3000);
    // Sort a large result so SQLite would spill to temp files if it could.
    let all = s
        .list_contacts(&crm_core::ContactQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 3000);
    let check = |when: &str| {
        let files = snapshot(&data);
        assert!(files.keys().any(|p| p.ends_with("crm.db")));
        for (p, bytes) in &files {
            for needle in [
                &b"Quixotica"[..],
                b"Zanzibarova",
                b"plaintext-probe",
                b"needle1@",
            ] {
                assert!(
                    !contains(bytes, needle),
                    "{when}: {} contains {:?}",
                    p.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
        files
    };
    // While open (the WAL holds the recent writes) and after closing.
    let open_files = check("while open");
    assert!(
        open_files
            .keys()
            .any(|p| p.to_string_lossy().ends_with("-wal")),
        "expected a WAL file while the store is open: {:?}",
        open_files.keys().collect::<Vec<_>>()
    );
    drop(s);
    check("after close");
}

#[test]
fn wrong_passphrase_fails_cleanly_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    s.create_contact(&draft(&[("first_name", "Ann")])).unwrap();
    drop(s);
    let before = snapshot(tmp.path());
    let err = Store::open(tmp.path(), &pass("correct horse batterY")).unwrap_err();
    assert!(matches!(err, CoreError::WrongKeyOrNotOurs { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("wrong passphrase or not a CRM database"),
        "{err}"
    );
    assert_eq!(before, snapshot(tmp.path()), "a failed open changed files");
    // And the right one still works.
    let s = Store::open(tmp.path(), &pass("correct horse battery")).unwrap();
    assert_eq!(s.count_contacts().unwrap(), 1);
}

#[test]
fn a_file_that_is_not_ours_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let key = crm_core::DbKey::random();
    // A plain SQLite database.
    let plain = tmp.path().join("plain.db");
    {
        let c = rusqlite::Connection::open(&plain).unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES ('hello');")
            .unwrap();
    }
    // Random bytes.
    let junk = tmp.path().join("junk.db");
    std::fs::write(&junk, vec![0x5Au8; 8192]).unwrap();
    for path in [&plain, &junk] {
        let before = snapshot(tmp.path());
        let err = Store::open_path(path, Some(&key), false).unwrap_err();
        assert!(
            matches!(err, CoreError::WrongKeyOrNotOurs { .. }),
            "{}: {err}",
            path.display()
        );
        assert_eq!(before, snapshot(tmp.path()));
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    drop(new_store(tmp.path()));
    // Bump the schema version as a future build would (through SQLCipher).
    let meta = crm_core::keys::ProfileMeta::load(tmp.path()).unwrap();
    let crm_core::keys::KeySource::Passphrase(_) = meta.key else {
        panic!("expected passphrase profile")
    };
    {
        let s = Store::open(tmp.path(), &pass("correct horse battery")).unwrap();
        drop(s);
    }
    // Use the store's own connection settings via a raw SQLCipher open.
    let db = tmp.path().join("crm.db");
    let future = crm_core::migrations::latest_version() + 5;
    bump_version(tmp.path(), &db, future);
    let before = snapshot(tmp.path());
    let err = Store::open(tmp.path(), &pass("correct horse battery")).unwrap_err();
    match &err {
        CoreError::NewerSchema { found, known, .. } => {
            assert_eq!(*found, future);
            assert_eq!(*known, crm_core::migrations::latest_version());
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(err.to_string().contains("newer version"), "{err}");
    assert_eq!(before, snapshot(tmp.path()));
}

/// Re-derive the passphrase key and set `user_version` directly.
fn bump_version(dir: &Path, db: &Path, v: i64) {
    let meta = crm_core::keys::ProfileMeta::load(dir).unwrap();
    let page_size = meta.page_size.unwrap_or(4096);
    let crm_core::keys::KeySource::Passphrase(kdf) = meta.key.clone() else {
        unreachable!()
    };
    let salt = hex::decode(&kdf.salt).unwrap();
    let params = argon2::Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32)).unwrap();
    let mut k = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(b"correct horse battery", &salt, &mut k)
        .unwrap();
    let c = rusqlite::Connection::open(db).unwrap();
    c.pragma_update(None, "key", format!("x'{}'", hex::encode(k)))
        .unwrap();
    let hmac = meta
        .page_hmac
        .unwrap_or(crm_core::keys::PageHmac::Sha512)
        .pragma_name();
    c.execute_batch(&format!(
        "PRAGMA cipher_page_size = {page_size}; PRAGMA cipher_hmac_algorithm = {hmac};"
    ))
    .unwrap();
    c.pragma_update(None, "user_version", v).unwrap();
    c.pragma_update(None, "journal_mode", "DELETE").unwrap();
}

#[test]
fn migrations_bring_a_new_database_to_the_latest_version_once() {
    let tmp = tempfile::tempdir().unwrap();
    let s = new_store(tmp.path());
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let ident = s.identity().clone();
    drop(s);
    let s = Store::open(tmp.path(), &pass("correct horse battery")).unwrap();
    assert_eq!(
        s.identity().tenant_id,
        ident.tenant_id,
        "reopening must not re-initialise"
    );
    assert_eq!(s.identity().device_id, ident.device_id);
}

#[test]
fn creating_over_an_existing_profile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    drop(new_store(tmp.path()));
    let err = Store::create(
        tmp.path(),
        KeyStoreChoice::Passphrase,
        &pass("another passphrase"),
    )
    .unwrap_err();
    assert!(matches!(err, CoreError::ProfileExists(_)), "{err}");
}

#[test]
fn every_write_leaves_an_audit_entry_an_outbox_op_and_an_event_after_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    s.subscribe(Arc::new(move |e: &crm_core::ChangeEvent| {
        ev.lock().unwrap().push(e.clone())
    }));
    let c = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("email", "ann@example.com"),
        ]))
        .unwrap();
    assert_eq!(s.outbox_len().unwrap(), 1);
    {
        let evs = events.lock().unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].name, "contact.created");
        assert_eq!(evs[0].row_id, c.id);
    }
    s.update_contact(c.id, &[("last_name".into(), "Lee-Smith".into())])
        .unwrap();
    let audit = s.audit_for(c.id).unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].action, "created");
    assert_eq!(audit[1].action, "updated");
    assert_eq!(audit[1].actor["kind"], "user");
    assert_eq!(
        audit[1].changes["last_name"],
        serde_json::json!(["Lee", "Lee-Smith"])
    );
    assert_eq!(
        audit[1].changes["display_name"],
        serde_json::json!(["Ann Lee", "Ann Lee-Smith"])
    );
    // The creation shows the values it set, worked back through the edit.
    assert_eq!(audit[0].changes["last_name"], "Lee");
    assert_eq!(audit[0].changes["display_name"], "Ann Lee");
    assert_eq!(
        audit[0].changes["emails"],
        serde_json::json!(["ann@example.com"])
    );
    assert_eq!(
        audit[0].changes.get("city"),
        None,
        "unset fields are left out"
    );
    // The creation's op carries every field as the row holds it; the edit's
    // op carries what it changed, with a later clock.
    let ops = s.outbox_batch(10).unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0].fields["first_name"], "Ann");
    assert_eq!(ops[0].fields["last_name"], "Lee-Smith");
    assert_eq!(ops[0].fields["city"], serde_json::Value::Null);
    assert_eq!(
        ops[1].fields.keys().collect::<Vec<_>>(),
        vec!["display_name", "last_name"]
    );
    assert!(ops[1].hlc > ops[0].hlc);
    assert_eq!(s.outbox_len().unwrap(), 2);
    // An update that changes nothing writes nothing (a plugin's, or a
    // field nobody named)...
    let plugin = crm_core::Actor::Plugin {
        plugin: "acme.p".into(),
        user: "u".into(),
    };
    s.with_actor(plugin, |s| {
        s.update_contact(c.id, &[("last_name".into(), "Lee-Smith".into())])
    })
    .unwrap();
    assert_eq!(s.outbox_len().unwrap(), 2);
    assert_eq!(s.audit_for(c.id).unwrap().len(), 2);
    // ...but a person who sets a field on purpose means it, even to the
    // value shown (another device may have changed it meanwhile): that
    // field alone is written, with a later clock.
    s.update_contact(c.id, &[("last_name".into(), "Lee-Smith".into())])
        .unwrap();
    assert_eq!(s.outbox_len().unwrap(), 3);
    let ops = s.outbox_batch(10).unwrap();
    assert_eq!(ops[2].fields.keys().collect::<Vec<_>>(), vec!["last_name"]);
    assert!(ops[2].hlc > ops[1].hlc);
    assert_eq!(s.audit_for(c.id).unwrap().len(), 3);
    // Stage change writes a status-change activity on the timeline.
    s.update_contact(c.id, &[("stage".into(), "client".into())])
        .unwrap();
    let tl = s.timeline(c.id, usize::MAX).unwrap().rows;
    assert_eq!(tl.len(), 1);
    assert!(tl[0].body.contains("prospect to client"), "{}", tl[0].body);
    let names: Vec<String> = events
        .lock()
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(
        names,
        [
            "contact.created",
            "contact.updated",
            "contact.updated", // the person's explicit same-value edit
            "contact.updated",
            "activity.created"
        ]
    );
}

#[test]
fn a_rolled_back_write_leaves_nothing_and_emits_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let events = Arc::new(Mutex::new(0));
    let ev = events.clone();
    s.subscribe(Arc::new(move |_: &crm_core::ChangeEvent| {
        *ev.lock().unwrap() += 1
    }));
    // Two contacts may not share an email: the second create fails validation.
    s.create_contact(&draft(&[
        ("first_name", "Ann"),
        ("email", "ann@example.com"),
    ]))
    .unwrap();
    let err = s
        .create_contact(&draft(&[
            ("first_name", "Other"),
            ("email", " ANN@example.com "),
        ]))
        .unwrap_err();
    assert!(err.to_string().contains("already belongs"), "{err}");
    assert_eq!(s.count_contacts().unwrap(), 1);
    assert_eq!(s.outbox_len().unwrap(), 1);
    assert_eq!(*events.lock().unwrap(), 1);
}

#[test]
fn a_panicking_listener_does_not_lose_the_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    s.subscribe(Arc::new(|_: &crm_core::ChangeEvent| panic!("listener bug")));
    let c = s.create_contact(&draft(&[("first_name", "Ann")])).unwrap();
    assert_eq!(s.contact(c.id).unwrap().display_name, "Ann");
}

#[test]
fn validation_names_every_bad_field() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let err = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("email", "nope"),
            ("phone", "12"),
            ("stage", "VIP"),
        ]))
        .unwrap_err()
        .to_string();
    for part in ["email", "phone", "stage", "nope", "VIP"] {
        assert!(err.contains(part), "{part} missing from {err}");
    }
    assert_eq!(s.count_contacts().unwrap(), 0);
    let err = s
        .create_contact(&ContactDraft::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a name"), "{err}");
    let mut d = ContactDraft::default();
    assert!(d
        .set("shoe_size", "9")
        .unwrap_err()
        .to_string()
        .contains("unknown contact field"));
}

#[test]
fn every_write_stays_inside_the_bounds_the_sync_server_accepts() {
    use crm_core::{ActivityKind, TaskDraft};
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let tags: Vec<String> = (0..=1000).map(|i| format!("t{i}")).collect();
    // One tag too many, or one too long: refused, naming the field.
    let err = s
        .create_contact(&draft(&[("first_name", "Ann"), ("tags", &tags.join(","))]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tags") && err.contains("at most 1000"),
        "{err}"
    );
    let err = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("tags", &"x".repeat(2001)),
        ]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tags") && err.contains("2000"), "{err}");
    // Two names at their limit make a display name past it: named as such.
    let err = s
        .create_contact(&draft(&[
            ("first_name", &"a".repeat(2000)),
            ("last_name", &"b".repeat(2000)),
        ]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("first and last name together"), "{err}");
    assert_eq!(s.count_contacts().unwrap(), 0);
    assert_eq!(s.outbox_len().unwrap(), 0);
    // At the limits: accepted.
    let c = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("tags", &tags[..1000].join(",")),
            ("city", &"é".repeat(2000)),
        ]))
        .unwrap();
    assert_eq!(c.tags.len(), 1000);
    let queued = s.outbox_len().unwrap();
    // Custom fields (the plugins' way in): the 101st is refused.
    let fields: Vec<(String, Option<String>)> = (0..100)
        .map(|i| (format!("f{i}"), Some("v".to_string())))
        .collect();
    s.set_contacts_custom(&[(c.id, fields)]).unwrap();
    let err = s
        .set_contacts_custom(&[(c.id, vec![("one_more".into(), Some("v".into()))])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("custom") && err.contains("100"), "{err}");
    assert_eq!(s.contact(c.id).unwrap().custom.len(), 100);
    // Long texts: a task's notes and a timeline entry's body.
    let err = s
        .create_task(&TaskDraft {
            title: "Call back".into(),
            notes: Some("n".repeat(100_001)),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("notes") && err.contains("100000"), "{err}");
    let err = s
        .log_activity(c.id, ActivityKind::Note, &"b".repeat(100_001))
        .unwrap_err()
        .to_string();
    assert!(err.contains("body") && err.contains("100000"), "{err}");
    s.log_activity(c.id, ActivityKind::Note, &"b".repeat(100_000))
        .unwrap();
    // Only the accepted writes were queued for the server.
    assert_eq!(s.outbox_len().unwrap(), queued + 2);
}

#[test]
fn a_deleted_contact_frees_its_email_for_a_new_one_and_updates_keep_emails_unique() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let a = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("email", "ann@example.com"),
        ]))
        .unwrap();
    let b = s
        .create_contact(&draft(&[
            ("first_name", "Bob"),
            ("email", "bob@example.com"),
        ]))
        .unwrap();
    let err = s
        .update_contact(b.id, &[("email".into(), "ANN@example.com".into())])
        .unwrap_err();
    assert!(err.to_string().contains("already belongs"), "{err}");
    assert_eq!(
        s.contact(b.id).unwrap().emails,
        ["bob@example.com"],
        "a refused update changes nothing"
    );
    s.delete_contact(a.id).unwrap();
    assert!(matches!(s.contact(a.id), Err(CoreError::NotFound { .. })));
    assert!(matches!(
        s.delete_contact(a.id),
        Err(CoreError::NotFound { .. })
    ));
    let c = s
        .create_contact(&draft(&[
            ("first_name", "New Ann"),
            ("email", "ann@example.com"),
        ]))
        .unwrap();
    assert_ne!(c.id, a.id);
    let audit = s.audit_for(a.id).unwrap();
    assert_eq!(audit.last().unwrap().action, "deleted");
}

/// The write-ahead log is copied into the database by a thread beside the
/// writer (the writer only wakes it): while the store stays open and keeps
/// writing, the database file grows, and no commit fails because a
/// checkpoint could not run. Were the thread never woken, nothing would
/// be copied at all (the hook that wakes it replaces SQLite's own
/// automatic checkpoint). How long the log may grow is checked with small
/// limits in the store's unit tests.
#[test]
fn the_write_ahead_log_is_checkpointed_beside_the_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("profile");
    let mut s = new_store(&data);
    let db = data.join("crm.db");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let start = size(&db);
    let mut total = 0;
    // About 12 MiB of pages in all: several times the 1,000-page mark.
    for round in 0..30 {
        for i in 0..400 {
            let d = draft(&[
                ("first_name", &format!("Person{round}x{i}")),
                ("email", &format!("p{round}x{i}@example.com")),
                ("address_line2", &"padding ".repeat(37)),
            ]);
            if let Err(e) = s.create_contact(&d) {
                panic!("round {round}: {e:?}");
            }
            total += 1;
        }
    }
    // The checkpoint runs on its own thread: give it a moment to catch up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while size(&db) <= start + (4 << 20) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        size(&db) > start + (4 << 20),
        "the database file did not grow while open ({} -> {} bytes): nothing was checkpointed",
        start,
        size(&db)
    );
    assert_eq!(s.count_contacts().unwrap(), total);
    drop(s);
    let s = Store::open(&data, &pass("correct horse battery")).unwrap();
    assert_eq!(s.count_contacts().unwrap(), total);
}

/// A profile that fails to open after its connection is made (here a
/// damaged identity) is reported, and the open returns: nothing started
/// beside the writer (the checkpoint thread) is left to be waited for.
#[test]
fn a_damaged_profile_is_reported_instead_of_hanging_the_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("plain.db");
    drop(Store::open_path(&db, None, true).unwrap());
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('tenant_id', 'not-a-uuid'), \
         ('device_id', '0190a0a0-0000-7000-8000-000000000000'), ('user_id', 'u');",
    )
    .unwrap();
    drop(c);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Store::open_path(&db, None, false).map(|_| ()));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("opening a damaged profile hung");
    let err = got.expect_err("a damaged identity must be refused");
    assert!(err.to_string().contains("identity"), "{err}");
}

/// A NUL cannot enter the store through any writer, so it never reaches
/// the outbox (the server refuses it, and the op would be set aside far
/// from whoever wrote it): a task's text and a custom field (what plugins
/// write) are refused naming the field, with nothing written; a contact's
/// text drops it (control characters are cleaned from contacts).
#[test]
fn a_nul_is_kept_out_of_the_store_at_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = new_store(tmp.path());
    let mut draft = ContactDraft::default();
    draft.full_name = Some("Ann\0 Smith".into());
    let ann = s.create_contact(&draft).unwrap();
    assert_eq!(ann.display_name, "Ann Smith");
    let queued = s.outbox_len().unwrap();
    let task = crm_core::TaskDraft {
        title: "Call\0back".into(),
        due: None,
        contact_id: Some(ann.id),
        assignee: None,
        notes: None,
    };
    match s.create_task(&task) {
        Err(CoreError::Invalid(e)) => assert!(e.to_string().contains("title"), "{e}"),
        other => panic!("a NUL in a task title: {other:?}"),
    }
    let custom = vec![("score".to_string(), Some("9\0".to_string()))];
    match s.set_contacts_custom(&[(ann.id, custom)]) {
        Err(CoreError::Invalid(e)) => assert!(e.to_string().contains("custom"), "{e}"),
        other => panic!("a NUL in a custom field: {other:?}"),
    }
    let key = vec![("sc\0re".to_string(), Some("9".to_string()))];
    assert!(matches!(
        s.set_contacts_custom(&[(ann.id, key)]),
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(s.outbox_len().unwrap(), queued, "nothing was queued");
    assert!(s.contact(ann.id).unwrap().custom.is_empty());
}
