//! The contact look-up tables (`contact_emails`, `contact_phones`,
//! `contact_tags`): local-only indexes of each live contact's emails, phones
//! and lowercased tags, kept in step by every writer of `contacts` (the write
//! path, sync, eviction) through these functions, in the writer's
//! transaction.
//!
//! Tags used to be kept by SQL triggers; a trigger turns every insert into
//! a multi-table statement, which makes SQLite copy each page it touches
//! into a statement journal first (measured: a third of the contacts
//! insert's cost in an import).

use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::error::Result;

/// One look-up table.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lookup {
    Emails,
    Phones,
    Tags,
}

impl Lookup {
    pub(crate) const ALL: [Lookup; 3] = [Lookup::Emails, Lookup::Phones, Lookup::Tags];

    /// The contact field it indexes.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Lookup::Emails => "emails",
            Lookup::Phones => "phones",
            Lookup::Tags => "tags",
        }
    }

    fn insert_sql(self) -> &'static str {
        match self {
            Lookup::Emails => {
                "INSERT OR IGNORE INTO contact_emails (email, contact_id) VALUES (?1, ?2)"
            }
            Lookup::Phones => {
                "INSERT OR IGNORE INTO contact_phones (phone, contact_id) VALUES (?1, ?2)"
            }
            Lookup::Tags => "INSERT OR IGNORE INTO contact_tags (tag, contact_id) VALUES (?1, ?2)",
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Lookup::Emails => "DELETE FROM contact_emails WHERE email = ?1 AND contact_id = ?2",
            Lookup::Phones => "DELETE FROM contact_phones WHERE phone = ?1 AND contact_id = ?2",
            Lookup::Tags => "DELETE FROM contact_tags WHERE tag = ?1 AND contact_id = ?2",
        }
    }

    /// The key a value is indexed under. SQLite's `lower()` (what the tag
    /// filter applies to its input) folds ASCII only; tags fold the same
    /// way so they meet.
    fn key(self, v: &str) -> std::borrow::Cow<'_, str> {
        if self == Lookup::Tags && v.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(v.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(v)
        }
    }

    /// Index `values` for contact `id` (nothing is removed first).
    pub(crate) fn insert<'v>(
        self,
        conn: &Connection,
        id: &str,
        values: impl IntoIterator<Item = &'v str>,
    ) -> Result<()> {
        let mut st = conn.prepare_cached(self.insert_sql())?;
        for v in values {
            st.execute([&*self.key(v), id])?;
        }
        Ok(())
    }

    /// Remove the entries `values` made for contact `id`. Entries are found
    /// by their key, not by contact: the tables carry no index by contact
    /// (three fewer index entries per value written), so every caller
    /// hands over the values the contact was indexed from.
    pub(crate) fn remove<'v>(
        self,
        conn: &Connection,
        id: &str,
        values: impl IntoIterator<Item = &'v str>,
    ) -> Result<()> {
        let mut st = conn.prepare_cached(self.delete_sql())?;
        for v in values {
            st.execute([&*self.key(v), id])?;
        }
        Ok(())
    }
}

/// The strings of a list field in a row's JSON field map.
fn strings<'a>(fields: &'a Map<String, Value>, field: &str) -> impl Iterator<Item = &'a str> {
    fields
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Index a new live contact from its field map.
pub(crate) fn index(conn: &Connection, id: &str, fields: &Map<String, Value>) -> Result<()> {
    for l in Lookup::ALL {
        l.insert(conn, id, strings(fields, l.field()))?;
    }
    Ok(())
}

/// Index a new live contact from its lists, in [`Lookup::ALL`]'s order
/// (emails, phones, tags).
pub(crate) fn index_lists(conn: &Connection, id: &str, lists: [&Vec<String>; 3]) -> Result<()> {
    for (l, values) in Lookup::ALL.iter().zip(lists) {
        l.insert(conn, id, values.iter().map(String::as_str))?;
    }
    Ok(())
}

/// Re-index the look-ups whose field is among `changed`: the entries made
/// from `before` (the row as it was indexed) go, those of `after` come.
pub(crate) fn reindex(
    conn: &Connection,
    id: &str,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    changed: impl Fn(&str) -> bool,
) -> Result<()> {
    for l in Lookup::ALL {
        if changed(l.field()) {
            l.remove(conn, id, strings(before, l.field()))?;
            l.insert(conn, id, strings(after, l.field()))?;
        }
    }
    Ok(())
}

/// Remove a contact from every look-up (tombstoned or evicted), given the
/// row as it was indexed.
pub(crate) fn unindex(conn: &Connection, id: &str, before: &Map<String, Value>) -> Result<()> {
    for l in Lookup::ALL {
        l.remove(conn, id, strings(before, l.field()))?;
    }
    Ok(())
}

/// [`unindex`] for a contact whose look-up fields are still stored as they
/// were indexed (call it before the row changes or goes).
pub(crate) fn unindex_stored(conn: &Connection, id: &str) -> Result<()> {
    let stored = conn
        .prepare_cached("SELECT emails, phones, tags FROM contacts WHERE id = ?1")?
        .query_row([id], |r| {
            Ok([
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ])
        })
        .optional()?;
    let Some(texts) = stored else {
        return Ok(());
    };
    let mut before = Map::new();
    for (l, text) in Lookup::ALL.iter().zip(texts) {
        before.insert(
            l.field().to_string(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        );
    }
    unindex(conn, id, &before)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crm_protocol::wire::{Eviction, RowState};
    use crm_protocol::Hlc;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::{ContactDraft, Store};

    type Entries = BTreeSet<(&'static str, String, String)>;

    /// What the look-ups hold.
    fn stored(s: &Store) -> Entries {
        let mut out = Entries::new();
        for (name, sql) in [
            ("emails", "SELECT email, contact_id FROM contact_emails"),
            ("phones", "SELECT phone, contact_id FROM contact_phones"),
            ("tags", "SELECT tag, contact_id FROM contact_tags"),
        ] {
            let mut st = s.conn().prepare(sql).expect("prepare");
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .expect("query");
            for row in rows {
                let (k, id) = row.expect("row");
                out.insert((name, k, id));
            }
        }
        out
    }

    /// What they should hold: every live contact's values, and nothing else.
    fn derived(s: &Store) -> Entries {
        let mut out = Entries::new();
        let mut st = s
            .conn()
            .prepare("SELECT id, emails, phones, tags FROM contacts WHERE deleted = 0")
            .expect("prepare");
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ],
                ))
            })
            .expect("query");
        for row in rows {
            let (id, texts) = row.expect("row");
            for (l, text) in Lookup::ALL.iter().zip(texts) {
                let v: Value = serde_json::from_str(&text).expect("json");
                for s in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    out.insert((l.field(), l.key(s).into_owned(), id.clone()));
                }
            }
        }
        out
    }

    fn check(s: &Store, step: &str) {
        assert_eq!(stored(s), derived(s), "look-ups out of step after {step}");
    }

    fn draft(pairs: &[(&str, &str)]) -> ContactDraft {
        let mut d = ContactDraft::default();
        for (k, v) in pairs {
            d.set(k, v).expect("draft");
        }
        d
    }

    fn remote(id: Uuid, fields: Value, at: u64, deleted: bool) -> RowState {
        let hlc = Hlc {
            millis: at,
            counter: 0,
            node: Uuid::from_u128(9),
        };
        let fields: Map<String, Value> = fields.as_object().cloned().expect("object");
        let mut clocks: std::collections::BTreeMap<String, Hlc> =
            fields.keys().map(|k| (k.clone(), hlc)).collect();
        if deleted {
            clocks.insert("deleted".into(), hlc);
        }
        RowState {
            table: "contacts".into(),
            row_id: id,
            fields,
            clocks,
            deleted,
        }
    }

    /// The look-ups lost their index by contact: each writer removes
    /// entries by the values they were made from. Whatever writes a
    /// contact (created, edited, deleted here; created, edited, deleted,
    /// evicted by a pull), the tables hold exactly the live contacts'
    /// values: an entry left behind would match an import row to a
    /// contact that no longer has that email.
    #[test]
    fn every_writer_of_a_contact_keeps_the_look_ups_exactly_in_step() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        let ann = s
            .create_contact(&draft(&[
                ("first_name", "Ann"),
                ("email", "ann@example.com; ann.b@example.com"),
                ("phone", "+44 7911 123456"),
                ("tags", "Hot, VIP"),
            ]))
            .expect("ann");
        let bob = s
            .create_contact(&draft(&[
                ("first_name", "Bob"),
                ("email", "bob@example.com"),
                ("tags", "hot"),
            ]))
            .expect("bob");
        check(&s, "creating");
        assert!(!stored(&s).is_empty());
        s.update_contact(
            ann.id,
            &[
                ("email".into(), "ann@example.org".into()),
                ("phone".into(), "+44 7911 123999".into()),
                ("tags".into(), "Cold".into()),
            ],
        )
        .expect("edit");
        check(&s, "a local edit");
        // Editing another field leaves the entries alone.
        s.update_contact(ann.id, &[("city".into(), "York".into())])
            .expect("city");
        check(&s, "an edit of another field");
        s.delete_contact(bob.id).expect("delete");
        check(&s, "a local delete");
        // A pulled contact, then a pulled edit of its lists.
        let cy = Uuid::now_v7();
        let base = json!({
            "kind": "person", "display_name": "Cy", "stage": "prospect",
            "tags": ["Remote"], "emails": ["cy@example.com"],
            "phones": ["+447911123777"], "custom": {}
        });
        s.apply_remote(&[remote(cy, base, 1_000, false)], &[], 1)
            .expect("pull create");
        check(&s, "a pulled creation");
        let edit = json!({"emails": ["cy@example.net"], "tags": ["Other"]});
        s.apply_remote(&[remote(cy, edit, 2_000, false)], &[], 2)
            .expect("pull edit");
        check(&s, "a pulled edit");
        // A pull that deletes Ann and changes her emails at once.
        let gone = json!({"emails": ["elsewhere@example.com"]});
        s.apply_remote(&[remote(ann.id, gone, u64::MAX >> 20, true)], &[], 3)
            .expect("pull delete");
        check(&s, "a pulled delete");
        // Cy leaves this device.
        let evict = Eviction {
            table: "contacts".into(),
            row_id: cy,
        };
        s.apply_remote(&[], &[evict], 4).expect("evict");
        check(&s, "an eviction");
        assert!(stored(&s).is_empty(), "every contact is gone or deleted");
    }
    /// A profile from before migration 6 may hold entries its rows no
    /// longer have (older builds re-indexed from a pulled row whose list
    /// lost the merge). Removal by value would never reach them, so the
    /// migration rebuilds the tables from the live rows.
    #[test]
    fn migration_6_rebuilds_the_look_ups_from_the_live_rows() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.db");
        {
            let mut s = Store::open_path(&path, None, true).expect("store");
            let ann = s
                .create_contact(&draft(&[
                    ("first_name", "Ann"),
                    ("email", "ann@example.com"),
                    ("phone", "+44 7911 123456"),
                    ("tags", "Hot"),
                ]))
                .expect("ann");
            let bob = s
                .create_contact(&draft(&[
                    ("first_name", "Bob"),
                    ("email", "bob@example.com"),
                ]))
                .expect("bob");
            s.delete_contact(bob.id).expect("delete");
            crate::migrations::undo_after(s.conn(), 5);
            // Back to schema 5, with entries no row accounts for: a stale
            // email and tag of Ann's, and Bob's email after his deletion.
            s.conn()
                .execute_batch(&format!(
                    "CREATE INDEX contact_emails_contact ON contact_emails(contact_id); \
                     CREATE INDEX contact_phones_contact ON contact_phones(contact_id); \
                     CREATE INDEX contact_tags_contact ON contact_tags(contact_id); \
                     INSERT INTO contact_emails VALUES ('old@example.com', '{a}'), ('bob@example.com', '{b}'); \
                     INSERT INTO contact_tags VALUES ('cold', '{a}'); \
                     DELETE FROM contact_phones; \
                     PRAGMA user_version = 5;",
                    a = ann.id,
                    b = bob.id
                ))
                .expect("downgrade");
            assert_ne!(stored(&s), derived(&s));
        }
        let s = Store::open_path(&path, None, false).expect("reopen");
        check(&s, "migration 6");
        assert_eq!(stored(&s).len(), 3, "Ann's email, phone and tag");
    }
}
