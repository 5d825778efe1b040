//! The store's own tests: layouts, checkpoints, bulk writes, the write path.

use super::*;
use crate::bulk::{BULK_AFTER, BULK_ROWS};

fn page_size_of(s: &Store) -> u32 {
    read_page_size(&s.conn).expect("page size")
}

/// A draft of a contact with only a first name.
fn named(name: &str) -> crate::ContactDraft {
    let mut d = crate::ContactDraft::default();
    d.set("first_name", name).expect("name");
    d
}

/// Person `i`, with an email and a long second address line (a few
/// hundred bytes of row).
fn padded(i: usize) -> crate::ContactDraft {
    let mut d = named(&format!("Person{i}"));
    d.set("email", &format!("p{i}@example.com")).expect("email");
    d.set("address_line2", &"padding ".repeat(37)).expect("pad");
    d
}

fn add_contact(s: &mut Store, name: &str) {
    s.create_contact(&named(name)).expect("contact");
}

/// New profiles get 16 KiB pages authenticated with HMAC-SHA256 and
/// say so in their metadata.
#[test]
fn a_new_profile_has_large_pages_and_records_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let pass = crate::FixedPassphrase(zeroize::Zeroizing::new("page size test".into()));
    let profile = dir.path().join("p");
    let mut s = Store::create(&profile, crate::KeyStoreChoice::Passphrase, &pass).expect("create");
    add_contact(&mut s, "Ann");
    assert_eq!(page_size_of(&s), PAGE_SIZE);
    assert_eq!(hmac_of(&s), "HMAC_SHA256");
    let meta = crate::keys::ProfileMeta::load(&profile).expect("meta");
    assert_eq!(
        (meta.page_size, meta.page_hmac),
        (Some(PAGE_SIZE), Some(PageHmac::Sha256))
    );
    drop(s);
    let s = Store::open(&profile, &pass).expect("reopen");
    assert_eq!(page_size_of(&s), PAGE_SIZE);
    assert_eq!(hmac_of(&s), "HMAC_SHA256");
    assert_eq!(s.count_contacts().expect("count"), 1);
    let len = std::fs::metadata(profile.join(DB_FILE))
        .expect("file")
        .len();
    assert_eq!(len % PAGE_SIZE as u64, 0, "the file is whole pages");
}

/// The HMAC a connection authenticates pages with.
fn hmac_of(s: &Store) -> String {
    s.conn
        .query_row("PRAGMA cipher_hmac_algorithm", [], |r| r.get(0))
        .expect("hmac")
}

/// A wrong key is refused, by profile and by path, and changes
/// nothing in the file.
#[test]
fn a_wrong_key_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let pass = crate::FixedPassphrase(zeroize::Zeroizing::new("the right one".into()));
    let profile = dir.path().join("p");
    let mut s = Store::create(&profile, crate::KeyStoreChoice::Passphrase, &pass).expect("create");
    add_contact(&mut s, "Ann");
    drop(s);
    let db = profile.join(DB_FILE);
    let before = std::fs::read(&db).expect("read");
    let wrong = crate::FixedPassphrase(zeroize::Zeroizing::new("not the right one".into()));
    let err = Store::open(&profile, &wrong).expect_err("wrong passphrase");
    assert!(matches!(err, CoreError::WrongKeyOrNotOurs { .. }), "{err}");
    let err = Store::open_path(&db, Some(&DbKey::random()), false).expect_err("wrong key");
    assert!(matches!(err, CoreError::WrongKeyOrNotOurs { .. }), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

/// Under a stream of small commits the thread is always a little
/// behind, so it never finds a moment when everything is copied; the
/// writer's own copies (the remainder, and the whole log at the hard
/// limit) keep the log's length within the limit however the thread
/// is scheduled. Were the log never started afresh it would take
/// every frame written; were nothing copied, the database file would
/// not grow.
#[test]
fn the_log_stays_within_its_hard_limit_under_a_stream_of_small_commits() {
    let limits = CheckpointLimits {
        after: 64,
        remainder: 8,
        hard: 256,
        keep_bytes: 1 << 20,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.db");
    let key = DbKey::random();
    let mut s = Store::open_path_with(&path, Some(&key), true, Some(limits)).expect("store");
    let wal = dir.path().join("t.db-wal");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let db_start = size(&path);
    let frame = u64::from(s.layout.page_size) + 24;
    let mut peak = 0;
    // Each commit writes at least three frames (the contact's, its
    // audit entry's and its op's pages): about 3,600 in all, far past
    // twice the limit, so a log that never restarted would show.
    for i in 0..1200 {
        s.create_contact(&padded(i)).expect("no commit fails");
        peak = peak.max(size(&wal));
    }
    assert_eq!(s.count_contacts().expect("count"), 1200);
    let peak_frames = peak / frame;
    assert!(
        peak_frames <= 2 * limits.hard as u64,
        "the log reached {peak_frames} frames; its hard limit is {}",
        limits.hard
    );
    assert!(
        size(&path) > db_start + 64 * 4096,
        "the database file did not grow: nothing was copied"
    );
}

/// A bulk write leaves a long log; once the log starts afresh its file
/// is cut back to `keep_bytes`, so the disk space goes back.
#[test]
fn the_log_file_is_cut_back_after_a_bulk_write() {
    let limits = CheckpointLimits {
        after: 64,
        remainder: 8,
        hard: 100_000,
        keep_bytes: 256 << 10,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.db");
    let key = DbKey::random();
    let mut s = Store::open_path_with(&path, Some(&key), true, Some(limits)).expect("store");
    let wal = dir.path().join("t.db-wal");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let region = s.default_region();
    let mut tx = s.write(Actor::User { user: "u".into() }).expect("write");
    for i in 0..3000 {
        let c = padded(i).validate(Uuid::now_v7(), region).expect("valid");
        tx.save_contact(&c).expect("save");
    }
    tx.commit().expect("commit");
    let bulk = size(&wal);
    assert!(
        bulk > 4 * limits.keep_bytes as u64,
        "the bulk write left a log of only {bulk} bytes"
    );
    // Small writes go on; the thread copies the bulk meanwhile, and the
    // first write that finds everything copied starts the log afresh.
    let mut cut = false;
    let mut later = 0;
    for i in 0..400 {
        s.create_contact(&named(&format!("Later{i}")))
            .expect("create");
        later += 1;
        if size(&wal) <= limits.keep_bytes as u64 {
            cut = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        cut,
        "the log file stayed at {} bytes (limit {})",
        size(&wal),
        limits.keep_bytes
    );
    assert_eq!(s.count_contacts().expect("count"), 3000 + later);
}

/// The schema declares each synced field once; the migrations make its
/// column. Every declared field is a column of its kind (integers as
/// INTEGER, the rest as TEXT; an optional field nullable), and every
/// column is a declared field or one of the store's own.
#[test]
fn every_declared_field_is_a_column_of_its_kind() {
    use crm_protocol::schema::Kind;
    let dir = tempfile::tempdir().expect("tmp");
    let s =
        Store::open_path(&dir.path().join("t.db"), Some(&DbKey::random()), true).expect("store");
    let own = [
        "id",
        "tenant_id",
        "clocks",
        "deleted",
        "created_at",
        "updated_at",
    ];
    for table in [
        Table::Contacts,
        Table::Policies,
        Table::Payments,
        Table::Tasks,
        Table::Activities,
    ] {
        let mut st = s
            .conn()
            .prepare(&format!(
                "SELECT name, type, \"notnull\" FROM pragma_table_info('{}')",
                table.name()
            ))
            .expect("columns");
        let columns: Vec<(String, String, bool)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("read");
        for (name, ty, not_null) in &columns {
            if own.contains(&name.as_str()) {
                continue;
            }
            let field = table.spec().field(name).unwrap_or_else(|| {
                panic!("{}.{name} is a column but no declared field", table.name())
            });
            let want = if field.kind == Kind::Integer {
                "INTEGER"
            } else {
                "TEXT"
            };
            assert_eq!(ty, want, "{}.{name}: the column's type", table.name());
            assert!(
                !(field.optional && *not_null),
                "{}.{name} is optional but its column refuses null",
                table.name()
            );
        }
        for f in table.fields() {
            assert!(
                columns.iter().any(|(n, _, _)| n == f),
                "{}.{f} is declared but no migration made its column",
                table.name()
            );
        }
    }
}

/// A write that creates many rows shares one audit entry among all
/// but the first few per table, yet every row's trail reads as before:
/// one creation (who, when, the values it was created with) first,
/// then its changes, whether made in the same write or later. A
/// rolled-back write leaves no entry.
#[test]
fn rows_created_in_bulk_share_audit_entries_and_keep_their_trail() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s =
        Store::open_path(&dir.path().join("t.db"), Some(&DbKey::random()), true).expect("store");
    let n = BULK_AFTER + BULK_ROWS + 10;
    let actor = Actor::Import {
        user: "u".into(),
        batch: Uuid::now_v7(),
    };
    let region = s.default_region();
    let mut ids = Vec::new();
    let mut tx = s.write(actor.clone()).expect("write");
    for i in 0..n {
        let c = named(&format!("P{i}"))
            .validate(Uuid::now_v7(), region)
            .expect("valid");
        tx.save_contact(&c).expect("save");
        ids.push(c.id);
    }
    // Changed in the same write, after its creation.
    let late = ids[BULK_AFTER + 3];
    tx.update_contact_fields(late, &[("city".into(), "York".into())], region)
        .expect("update");
    tx.commit().expect("commit");
    let entries: i64 = s
        .conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("count");
    assert_eq!(
        entries,
        (BULK_AFTER + 2 + 1) as i64,
        "own, two shared, one update"
    );
    for (k, id) in ids.iter().enumerate() {
        if ![
            0,
            BULK_AFTER - 1,
            BULK_AFTER,
            BULK_AFTER + BULK_ROWS - 1,
            BULK_AFTER + BULK_ROWS,
            n - 1,
        ]
        .contains(&k)
        {
            continue;
        }
        let trail = s.audit_for(*id).expect("audit");
        assert_eq!(trail.len(), 1, "row {k}");
        assert_eq!(trail[0].action, "created");
        assert_eq!(trail[0].actor, serde_json::to_value(&actor).expect("json"));
        assert_eq!(trail[0].changes["first_name"], format!("P{k}"), "row {k}");
    }
    let mut s2 = s;
    s2.update_contact(late, &[("city".into(), "Leeds".into())])
        .expect("later update");
    let trail = s2.audit_for(late).expect("audit");
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["created", "updated", "updated"]);
    assert!(
        trail[0].changes.get("city").is_none(),
        "created without a city"
    );
    assert_eq!(trail[1].changes["city"], serde_json::json!([null, "York"]));
    assert_eq!(
        trail[2].changes["city"],
        serde_json::json!(["York", "Leeds"])
    );
    // A rolled-back bulk write leaves nothing.
    let before: i64 = s2
        .conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("count");
    {
        let mut tx = s2.write(actor).expect("write");
        for i in 0..(BULK_AFTER + 5) {
            let c = named(&format!("Gone{i}"))
                .validate(Uuid::now_v7(), region)
                .expect("valid");
            tx.save_contact(&c).expect("save");
        }
    }
    let after: i64 = s2
        .conn
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .expect("count");
    assert_eq!(before, after);
}
