//! Merging pulled rows: stored or held, never skipped; audited as the
//! device that wrote them.

use super::*;
use crate::store::scratch_store as store;
use crate::store::ChangeEvent;
use crate::ContactDraft;
use std::collections::BTreeMap;

fn by_email(s: &mut Store, email: &str) -> Option<Uuid> {
    let actor = s.user_actor();
    let tx = s.write(actor).expect("write");
    tx.contact_by_email(email).expect("lookup")
}

fn hlc(millis: u64, node: u128) -> Hlc {
    Hlc {
        millis,
        counter: 0,
        node: Uuid::from_u128(node),
    }
}

fn remote(id: Uuid, fields: &[(&str, Value)], at: Hlc, deleted: bool) -> RowState {
    let mut clocks: BTreeMap<String, Hlc> =
        fields.iter().map(|(k, _)| (k.to_string(), at)).collect();
    if deleted {
        clocks.insert("deleted".into(), at);
    }
    RowState {
        table: "contacts".into(),
        row_id: id,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        clocks,
        deleted,
    }
}

fn full(name: &str, city: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("kind", "person".into()),
        ("display_name", name.into()),
        ("stage", "prospect".into()),
        ("city", city.into()),
        ("tags", serde_json::json!([])),
        ("emails", serde_json::json!(["x@example.com"])),
        ("phones", serde_json::json!([])),
        ("custom", serde_json::json!({})),
    ]
}

#[test]
fn pulled_rows_are_stored_audited_as_sync_and_never_enter_the_outbox() {
    let (_d, mut s) = store();
    let id = Uuid::now_v7();
    let r = remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false);
    let rep = s
        .apply_remote(std::slice::from_ref(&r), &[], 42)
        .expect("apply");
    assert_eq!(rep.changed, 1);
    assert_eq!(s.outbox_len().expect("len"), 0);
    assert_eq!(
        s.contact(id).expect("contact").details.get("city"),
        Some("Leeds")
    );
    assert_eq!(s.sync_status().expect("status").cursor, 42);
    let audit = s.audit_for(id).expect("audit");
    assert_eq!(audit[0].actor["kind"], "sync");
    // The same page again changes nothing.
    let rep = s.apply_remote(&[r], &[], 42).expect("again");
    assert_eq!((rep.changed, rep.unchanged), (0, 1));
    // The look-up tables follow: the email finds the contact.
    assert_eq!(by_email(&mut s, "x@example.com"), Some(id));
}

#[test]
fn a_newer_local_edit_beats_an_older_remote_one_field_by_field() {
    let (_d, mut s) = store();
    let mut draft = ContactDraft::default();
    draft.set("first_name", "Ann").expect("draft");
    let c = s.create_contact(&draft).expect("create");
    s.update_contact(c.id, &[("city".into(), "York".into())])
        .expect("edit");
    // A remote write stamped long ago loses to the local edit; a newer
    // one wins for the field it writes and leaves the others alone.
    let old = remote(c.id, &[("city", "Hull".into())], hlc(1, 9), false);
    s.apply_remote(&[old], &[], 1).expect("apply");
    assert_eq!(
        s.contact(c.id).expect("c").details.get("city"),
        Some("York")
    );
    let newer = remote(
        c.id,
        &[("job_title", "CEO".into())],
        hlc(u64::MAX / 2, 9),
        false,
    );
    s.apply_remote(&[newer], &[], 2).expect("apply");
    let c2 = s.contact(c.id).expect("c");
    assert_eq!(c2.details.get("job_title"), Some("CEO"));
    assert_eq!(c2.details.get("city"), Some("York"));
}

#[test]
fn evicting_a_contact_removes_what_hangs_off_it() {
    let (_d, mut s) = store();
    let id = Uuid::now_v7();
    s.apply_remote(
        &[remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false)],
        &[],
        1,
    )
    .expect("apply");
    let actor = s.user_actor();
    let mut tx = s.write(actor).expect("write");
    tx.add_activity(id, crate::ActivityKind::Note, "hello")
        .expect("note");
    tx.commit().expect("commit");
    let rep = s
        .apply_remote(
            &[],
            &[Eviction {
                table: "contacts".into(),
                row_id: id,
            }],
            2,
        )
        .expect("evict");
    assert_eq!(rep.evicted, 2, "the contact and its activity");
    assert!(s.contact(id).is_err());
    assert_eq!(by_email(&mut s, "x@example.com"), None);
}

fn tagged(s: &Store, tag: &str) -> Vec<Uuid> {
    let q = crate::ContactQuery {
        tag: Some(tag.into()),
        ..Default::default()
    };
    s.list_contacts(&q)
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// Pulled rows keep the look-up tables in step like local writes do:
/// a new row, an edit of its lists, a tombstone, an eviction.
#[test]
fn pulled_changes_keep_tags_emails_and_phones_looked_up() {
    let (_d, mut s) = store();
    let (ann, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let mut a = full("Ann", "Leeds");
    a.retain(|(k, _)| *k != "tags");
    a.push(("tags", serde_json::json!(["Motor", "VIP"])));
    let mut b = full("Bob", "York");
    b.retain(|(k, _)| *k != "emails" && *k != "tags");
    b.push(("emails", serde_json::json!(["bob@example.com"])));
    b.push(("tags", serde_json::json!(["motor"])));
    s.apply_remote(
        &[
            remote(ann, &a, hlc(1_000, 7), false),
            remote(bob, &b, hlc(1_000, 7), false),
        ],
        &[],
        1,
    )
    .expect("apply");
    assert_eq!(tagged(&s, "MOTOR"), vec![ann, bob]);
    assert_eq!(tagged(&s, "vip"), vec![ann]);
    // An edit of Ann's tags and emails from elsewhere.
    let edit = remote(
        ann,
        &[
            ("tags", serde_json::json!(["Home"])),
            ("emails", serde_json::json!(["ann@example.com"])),
        ],
        hlc(2_000, 7),
        false,
    );
    s.apply_remote(&[edit], &[], 2).expect("edit");
    assert_eq!(tagged(&s, "motor"), vec![bob]);
    assert_eq!(tagged(&s, "home"), vec![ann]);
    assert_eq!(by_email(&mut s, "x@example.com"), None);
    assert_eq!(by_email(&mut s, "ann@example.com"), Some(ann));
    // Ann deleted elsewhere; Bob evicted.
    let gone = remote(ann, &[], hlc(3_000, 7), true);
    s.apply_remote(
        &[gone],
        &[Eviction {
            table: "contacts".into(),
            row_id: bob,
        }],
        3,
    )
    .expect("delete");
    assert!(tagged(&s, "home").is_empty());
    assert!(tagged(&s, "motor").is_empty());
    assert_eq!(by_email(&mut s, "ann@example.com"), None);
    assert_eq!(by_email(&mut s, "bob@example.com"), None);
    assert_eq!(
        s.contact_owners_and_tags(10).expect("tags").1,
        Vec::<String>::new()
    );
}

/// Listeners (plugin hooks) hear of pulled changes after the page
/// commits, with the writing device as the actor; a page that changes
/// nothing, and an eviction, send nothing.
#[test]
fn pulled_changes_are_announced_to_listeners_after_the_commit() {
    let (_d, mut s) = store();
    let heard: std::sync::Arc<std::sync::Mutex<Vec<ChangeEvent>>> = Default::default();
    let h = heard.clone();
    s.subscribe(std::sync::Arc::new(move |e: &ChangeEvent| {
        h.lock().expect("lock").push(e.clone())
    }));
    let id = Uuid::now_v7();
    let new = remote(id, &full("Ann", "Leeds"), hlc(1_000, 7), false);
    s.apply_remote(std::slice::from_ref(&new), &[], 1)
        .expect("new");
    s.apply_remote(&[new], &[], 1).expect("same again");
    let edit = remote(id, &[("city", "York".into())], hlc(2_000, 8), false);
    s.apply_remote(&[edit], &[], 2).expect("edit");
    s.apply_remote(&[remote(id, &[], hlc(3_000, 8), true)], &[], 3)
        .expect("delete");
    let got = std::mem::take(&mut *heard.lock().expect("lock"));
    let names: Vec<&str> = got.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["contact.created", "contact.updated", "contact.deleted"]
    );
    assert!(got.iter().all(|e| e.row_id == id));
    let device = |n| Actor::Sync {
        device: Uuid::from_u128(n),
    };
    assert_eq!((&got[0].actor, &got[1].actor), (&device(7), &device(8)));
    assert_eq!(got[1].fields, ["city"]);
    let other = Uuid::now_v7();
    let bob = remote(other, &full("Bob", "Hull"), hlc(4_000, 7), false);
    s.apply_remote(&[bob], &[], 4).expect("bob");
    heard.lock().expect("lock").clear();
    let gone = Eviction {
        table: "contacts".into(),
        row_id: other,
    };
    s.apply_remote(&[], &[gone], 5).expect("evict");
    let got = heard.lock().expect("lock").clone();
    assert!(got.is_empty(), "an eviction is not announced: {got:?}");
}

/// A pulled row the device cannot store is held, not skipped: the
/// cursor moves on, the rest of the page is stored, the status and
/// `held_rows` show it with the reason, and it lands (leaving the hold)
/// once what it lacked arrives. A record type this version does not
/// know stays held, tried after every page; an eviction ends a hold.
#[test]
fn a_pulled_row_that_cannot_be_stored_is_held_until_it_can_be() {
    let (_d, mut s) = store();
    let broken = Uuid::now_v7();
    let fine = Uuid::now_v7();
    let unknown = Uuid::now_v7();
    // Everything but the display name, which this device requires.
    let mut partial = full("Ann", "York");
    partial.retain(|(k, _)| *k != "display_name");
    let mut future = remote(
        unknown,
        &[("title", "Fire safety".into())],
        hlc(900, 4),
        false,
    );
    future.table = "documents".into();
    let rep = s
        .apply_remote(
            &[
                remote(broken, &partial, hlc(1_000, 7), false),
                remote(fine, &full("Bob", "Leeds"), hlc(1_000, 7), false),
                future,
            ],
            &[],
            10,
        )
        .expect("apply");
    assert_eq!((rep.changed, rep.held, rep.released), (1, 2, 0));
    assert!(s.contact(fine).is_ok(), "the rest of the page is stored");
    assert!(
        s.contact(broken).is_err(),
        "nothing of the refused row is written"
    );
    let status = s.sync_status().expect("status");
    assert_eq!((status.cursor, status.held), (10, 2));
    let held = s.held_rows().expect("held");
    assert_eq!(held.len(), 2);
    assert_eq!(
        (held[0].table.as_str(), held[0].row_id),
        ("contacts", broken)
    );
    assert!(
        held[0].reason.contains("display_name"),
        "{}",
        held[0].reason
    );
    assert!(held[1].reason.contains("documents"), "{}", held[1].reason);
    assert_eq!(
        s.audit_for(broken).expect("audit").len(),
        0,
        "no audit entry for a row not stored"
    );

    // The server's next page brings the row with its name: it lands,
    // and the held copy (older clocks) merges into it and leaves the
    // hold.
    let mut named = remote(broken, &full("Ann", "York"), hlc(1_000, 7), false);
    named.clocks.insert("display_name".into(), hlc(2_000, 7));
    let rep = s.apply_remote(&[named], &[], 11).expect("apply");
    assert_eq!(rep.released, 1, "{rep:?}");
    let ann = s.contact(broken).expect("stored at last");
    assert_eq!(
        (ann.display_name.as_str(), ann.details.get("city")),
        ("Ann", Some("York"))
    );
    let held = s.held_rows().expect("held");
    assert_eq!(
        held.len(),
        1,
        "only the unknown record type waits: {held:?}"
    );
    assert_eq!((held[0].row_id, held[0].tries), (unknown, 2));
    assert_eq!(
        s.outbox_len().expect("outbox"),
        0,
        "pulled rows never enter the outbox"
    );

    // It left this device's view: nothing of it waits any longer.
    s.apply_remote(
        &[],
        &[Eviction {
            table: "documents".into(),
            row_id: unknown,
        }],
        12,
    )
    .expect("evict");
    assert_eq!(s.sync_status().expect("status").held, 0);
}

/// A merged row's changes are put down to the devices that made them: each
/// field to its stamp's device, a map field to the newest of the entries
/// that changed (not of every entry it has), the deletion to its own.
#[test]
fn merged_changes_are_split_by_the_device_that_made_each() {
    use serde_json::json;
    let (a, b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
    let at = |millis: u64, node: Uuid| Hlc {
        millis,
        counter: 0,
        node,
    };
    let clocks: BTreeMap<String, Hlc> = [
        ("city".to_string(), at(10, a)),
        ("stage".to_string(), at(20, b)),
        // B wrote `tier` long ago; A's `score` is what changed now.
        ("custom.tier".to_string(), at(30, b)),
        ("custom.score".to_string(), at(15, a)),
        ("deleted".to_string(), at(25, b)),
    ]
    .into_iter()
    .collect();
    let changes = json!({
        "city": ["York", "Leeds"],
        "stage": ["prospect", "client"],
        "custom": [{"tier": "gold", "score": "1"}, {"tier": "gold", "score": "2"}],
        "deleted": true,
    });
    let parts = super::by_writer(changes.as_object().cloned().expect("map"), &clocks);
    let named: Vec<(Uuid, Vec<&str>)> = parts
        .iter()
        .map(|(d, p)| (*d, p.keys().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        named,
        [(a, vec!["city", "custom"]), (b, vec!["deleted", "stage"])],
        "oldest writer first"
    );
}
