//! Contacts' own tests: drafts, the write path for contacts, queries.

use crate::details::Declared;
use crate::{Contact, ContactQuery, Store};

/// The steps of SQLite's plan for `sql`, one string each.
fn plan(s: &Store, sql: &str) -> Vec<String> {
    let mut st = s
        .conn()
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("prepare");
    st.query_map([], |r| r.get::<_, String>(3))
        .expect("plan")
        .map(|r| r.expect("row"))
        .collect()
}

/// The unfiltered list and its count (what the app's contacts screen
/// asks at every scroll) walk the narrow name index: no table scan, no
/// sort of the whole table.
#[test]
fn the_contacts_list_and_its_count_walk_the_name_index() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
    let q = ContactQuery {
        limit: Some(200),
        offset: 50_000,
        ..ContactQuery::default()
    };
    let (filter, _) = super::contact_filter(&q);
    assert!(filter.is_empty());
    let list = plan(
        &s,
        &crate::records::list_sql(
            crate::store::Table::Contacts,
            &filter,
            super::CONTACT_ORDER,
            200,
            50_000,
        ),
    );
    assert!(
        list.iter().any(|p| p.contains("contacts_live_name")),
        "{list:?}"
    );
    assert!(!list.iter().any(|p| p.contains("TEMP B-TREE")), "{list:?}");
    let count = plan(&s, &super::count_sql(&filter));
    assert!(
        count
            .iter()
            .any(|p| p.contains("USING COVERING INDEX contacts_live_")),
        "{count:?}"
    );
    // The import's look-ups keep their own indexes (an index led by
    // `deleted` once took them over: a scan per imported row).
    let external = plan(
        &s,
        "SELECT id FROM contacts WHERE external_id = 'x' AND deleted = 0 LIMIT 1",
    );
    assert!(
        external
            .iter()
            .any(|p| p.contains("INDEX contacts_external")),
        "{external:?}"
    );
    // The filter choices: owners from an index, tags from their table.
    let owners = plan(
        &s,
        "SELECT DISTINCT owner FROM contacts WHERE deleted = 0 AND owner IS NOT NULL \
         AND owner <> '' ORDER BY owner LIMIT 500",
    );
    assert!(
        owners
            .iter()
            .any(|p| p.contains("COVERING INDEX contacts_live_owner")),
        "{owners:?}"
    );
    let tag = ContactQuery {
        tag: Some("hot".into()),
        ..ContactQuery::default()
    };
    let (filter, _) = super::contact_filter(&tag);
    let filtered = plan(&s, &super::count_sql(&filter.replace("?1", "'hot'")));
    assert!(
        filtered.iter().any(|p| p.contains("contact_tags")),
        "{filtered:?}"
    );
    assert!(
        !filtered.iter().any(|p| p == "SCAN contacts"),
        "{filtered:?}"
    );
}

fn draft(pairs: &[(&str, &str)]) -> crate::ContactDraft {
    let mut d = crate::ContactDraft::default();
    for (f, v) in pairs {
        d.set(f, v).expect("field");
    }
    d
}

/// Setting custom fields reads and writes only `custom`: every other
/// field keeps its value, and the audit entry and the op name only it.
#[test]
fn setting_custom_fields_leaves_the_other_fields_alone() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
    let ann = s
        .create_contact(&draft(&[
            ("first_name", "Ann"),
            ("city", "Leeds"),
            ("tags", "hot"),
            ("email", "ann@example.com"),
        ]))
        .expect("ann");
    s.set_contacts_custom(&[(ann.id, vec![("score".into(), Some("9".into()))])])
        .expect("custom");
    let after = s.contact(ann.id).expect("ann");
    assert_eq!(after.custom.get("score").map(String::as_str), Some("9"));
    assert_eq!(
        (after.display_name.as_str(), after.details.get("city")),
        ("Ann", Some("Leeds"))
    );
    assert_eq!((after.tags, after.emails), (ann.tags, ann.emails));
    let audit = s.audit_for(ann.id).expect("audit");
    let last = audit.last().expect("entry");
    assert_eq!(
        last.changes
            .as_object()
            .expect("changes")
            .keys()
            .collect::<Vec<_>>(),
        vec!["custom"]
    );
    let ops = s.outbox_batch(10).expect("ops");
    assert_eq!(ops[1].fields.keys().collect::<Vec<_>>(), vec!["custom"]);
}

fn tagged(s: &Store, tag: &str) -> Vec<String> {
    let q = ContactQuery {
        tag: Some(tag.into()),
        limit: Some(100),
        ..ContactQuery::default()
    };
    let n = s.count_matching_contacts(&q).expect("count");
    let names: Vec<String> = s
        .list_contacts(&q)
        .expect("list")
        .into_iter()
        .map(|c| c.display_name)
        .collect();
    assert_eq!(n as usize, names.len());
    names
}

/// The tag table follows every kind of write: create, edit, delete.
#[test]
fn tag_choices_and_the_tag_filter_follow_creates_edits_and_deletes() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
    let ann = s
        .create_contact(&draft(&[("first_name", "Ann"), ("tags", "Hot; VIP")]))
        .expect("ann");
    s.create_contact(&draft(&[("first_name", "Bob"), ("tags", "hot")]))
        .expect("bob");
    let cy = s
        .create_contact(&draft(&[("first_name", "Cy"), ("tags", "cold")]))
        .expect("cy");
    assert_eq!(
        s.contact_owners_and_tags(10).expect("tags").1,
        vec!["cold", "hot", "vip"]
    );
    assert_eq!(tagged(&s, "HOT"), vec!["Ann", "Bob"]);
    s.update_contact(ann.id, &[("tags".into(), "warm".into())])
        .expect("edit");
    assert_eq!(tagged(&s, "hot"), vec!["Bob"]);
    assert_eq!(tagged(&s, "warm"), vec!["Ann"]);
    s.delete_contact(cy.id).expect("delete");
    assert_eq!(tagged(&s, "cold"), Vec::<String>::new());
    assert_eq!(
        s.contact_owners_and_tags(10).expect("tags").1,
        vec!["hot", "warm"]
    );
}

/// A profile written before the tag table existed (schema 3) gets it
/// filled from its contacts when this version opens it.
#[test]
fn an_older_profile_gets_its_tag_table_filled_on_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.db");
    {
        let mut s = Store::open_path(&path, None, true).expect("store");
        s.create_contact(&draft(&[("first_name", "Ann"), ("tags", "Hot")]))
            .expect("ann");
        let gone = s
            .create_contact(&draft(&[("first_name", "Bob"), ("tags", "gone")]))
            .expect("bob");
        s.delete_contact(gone.id).expect("delete");
        crate::migrations::undo_after(s.conn(), 3);
        // Back to schema 3: the objects migration 4 made are dropped, those
        // migration 6 dropped are back.
        s.conn()
            .execute_batch(
                "DROP TABLE contact_tags; \
                 DROP INDEX contacts_live_owner; DROP INDEX contacts_live_name; \
                 CREATE INDEX contacts_name ON contacts(display_name COLLATE NOCASE); \
                 CREATE INDEX contact_emails_contact ON contact_emails(contact_id); \
                 CREATE INDEX contact_phones_contact ON contact_phones(contact_id); \
                 PRAGMA user_version = 3;",
            )
            .expect("downgrade");
    }
    let s = Store::open_path(&path, None, false).expect("reopen");
    assert_eq!(s.contact_owners_and_tags(10).expect("tags").1, vec!["hot"]);
    assert_eq!(tagged(&s, "hot"), vec!["Ann"]);
}

/// Quick search looks in exactly the fields the schema declares
/// searchable: a word stored in each of them finds the contact, the same
/// word in any other text field does not.
#[test]
fn search_covers_exactly_the_fields_declared_searchable() {
    let (_dir, mut s) = crate::store::scratch_store();
    let mut d = crate::ContactDraft::default();
    for (f, v) in [
        ("first_name", "Quillon"),
        ("company_name", "Zarbex Ltd"),
        ("email", "wombly@example.com"),
        ("phone", "+44 20 7946 0321"),
        ("job_title", "Gravink"),
        ("city", "Frobtown"),
        ("source", "Plimsoll fair"),
    ] {
        d.set(f, v).expect("field");
    }
    let c = s.create_contact(&d).expect("contact");
    let stored = serde_json::to_value(&c).expect("json");
    let found = |word: &str| {
        let q = ContactQuery {
            search: Some(word.to_string()),
            ..ContactQuery::default()
        };
        s.list_contacts(&q)
            .expect("search")
            .iter()
            .any(|x| x.id == c.id)
    };
    // What quick search should look in: the searchable fields' values.
    let searched: String = Contact::TABLE
        .fields
        .iter()
        .filter(|f| f.searchable)
        .map(|f| stored[f.name].to_string())
        .collect();
    for f in Contact::TABLE.fields {
        // The stored value as text: a list's first item, a detail's value.
        let value = match (&stored[f.name], stored["details"].get(f.name)) {
            (serde_json::Value::String(v), _) => v.clone(),
            (serde_json::Value::Array(items), _) => items
                .first()
                .and_then(|i| i.as_str())
                .unwrap_or("")
                .to_string(),
            (_, Some(serde_json::Value::String(v))) => v.clone(),
            _ => continue,
        };
        if value.len() < 4 || matches!(f.kind, crm_protocol::schema::Kind::OneOf(_)) {
            continue;
        }
        // Found when declared searchable, or when a searchable field holds
        // it too (the display name is made of the names).
        let expected = f.searchable || searched.contains(&value);
        assert_eq!(
            found(&value),
            expected,
            "contacts.{} ({value:?}): declared searchable {}",
            f.name,
            f.searchable
        );
    }
    assert!(!found("nothing like it"));
}

#[test]
fn every_field_declared_imported_is_an_import_target_that_fills_it() {
    use crm_protocol::schema::Kind;
    let (_dir, mut s) = crate::store::scratch_store();
    let targets: Vec<&str> = crate::contacts::contact_fields().collect();
    let mut d = crate::ContactDraft::default();
    for f in Contact::TABLE.fields.iter().filter(|f| f.imported) {
        let target = match f.name {
            "emails" => "email",
            "phones" => "phone",
            name => name,
        };
        assert!(
            targets.contains(&target),
            "contacts.{} is declared imported but no import column feeds it",
            f.name
        );
        let value = match (f.name, f.kind) {
            ("emails", _) => "ada@example.com",
            ("phones", _) => "+44 20 7946 0321",
            (_, Kind::OneOf(values)) => values[values.len() - 1],
            (_, Kind::Date) => "1980-02-03",
            _ => "Wexford",
        };
        d.set(target, value)
            .unwrap_or_else(|e| panic!("import target {target} is refused: {e}"));
    }
    let c = s.create_contact(&d).expect("contact");
    let stored = serde_json::to_value(&c).expect("json");
    for f in Contact::TABLE.fields {
        let filled = match (&stored[f.name], stored["details"].get(f.name)) {
            (serde_json::Value::String(v), _) => !v.is_empty(),
            (serde_json::Value::Array(v), _) => !v.is_empty(),
            (_, Some(serde_json::Value::String(v))) => !v.is_empty(),
            _ => false,
        };
        if f.imported {
            assert!(filled, "contacts.{} was imported but not stored", f.name);
        } else {
            assert!(
                !targets.contains(&f.name),
                "contacts.{} is not declared imported, yet an import column feeds it",
                f.name
            );
        }
    }
}
