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

use rusqlite::Connection;
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
            Lookup::Emails => "DELETE FROM contact_emails WHERE contact_id = ?1",
            Lookup::Phones => "DELETE FROM contact_phones WHERE contact_id = ?1",
            Lookup::Tags => "DELETE FROM contact_tags WHERE contact_id = ?1",
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
            if self == Lookup::Tags {
                // SQLite's `lower()` (what the tag filter applies to its
                // input) folds ASCII only; fold the same way so they meet.
                st.execute([v.to_ascii_lowercase().as_str(), id])?;
            } else {
                st.execute([v, id])?;
            }
        }
        Ok(())
    }

    /// Remove every entry of contact `id`.
    pub(crate) fn clear(self, conn: &Connection, id: &str) -> Result<()> {
        conn.prepare_cached(self.delete_sql())?.execute([id])?;
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

/// Re-index the look-ups whose field is among `changed`.
pub(crate) fn reindex(
    conn: &Connection,
    id: &str,
    fields: &Map<String, Value>,
    changed: impl Fn(&str) -> bool,
) -> Result<()> {
    for l in Lookup::ALL {
        if changed(l.field()) {
            l.clear(conn, id)?;
            l.insert(conn, id, strings(fields, l.field()))?;
        }
    }
    Ok(())
}

/// Remove a contact from every look-up (tombstoned or evicted).
pub(crate) fn unindex(conn: &Connection, id: &str) -> Result<()> {
    for l in Lookup::ALL {
        l.clear(conn, id)?;
    }
    Ok(())
}
