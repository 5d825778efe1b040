//! Versioned schema migrations, run at open inside one transaction.
//!
//! The schema version is SQLite's `user_version`. Migrations only ever append
//! to [`MIGRATIONS`]; an applied migration is never edited. A database whose
//! version is newer than this build knows is refused before anything is
//! written.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{CoreError, Result};

/// Our `application_id`: marks a database as a CRM replica ("CRM1").
pub const APPLICATION_ID: i32 = 0x43524d31;

/// Columns every synced table has, in this order, before its own fields.
macro_rules! synced_table {
    ($name:literal, $fields:literal) => {
        concat!(
            "CREATE TABLE ",
            $name,
            " (id TEXT PRIMARY KEY NOT NULL, tenant_id TEXT NOT NULL, ",
            $fields,
            ", clocks TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, ",
            "created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;"
        )
    };
}

// No partial indexes (`CREATE INDEX … WHERE …`): SQLite marks any statement
// whose `?` terms it tested against a partial index's predicate as depending
// on the bound value, and re-prepares it at every step (measured: 16% of
// import time).

/// All migrations, in order. Index + 1 is the schema version it produces.
pub const MIGRATIONS: &[&str] = &[
    // 1: the insurance CRM core.
    concat!(
        "-- local-only: profile identity and settings\n",
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;\n",
        synced_table!(
            "contacts",
            "kind TEXT NOT NULL, display_name TEXT NOT NULL, first_name TEXT, last_name TEXT, \
             company_name TEXT, job_title TEXT, stage TEXT NOT NULL, owner TEXT, tags TEXT NOT NULL, \
             emails TEXT NOT NULL, phones TEXT NOT NULL, address_line1 TEXT, address_line2 TEXT, \
             city TEXT, region TEXT, postcode TEXT, country TEXT, source TEXT, external_id TEXT, \
             date_of_birth TEXT, custom TEXT NOT NULL"
        ),
        "\nCREATE INDEX contacts_name ON contacts(display_name COLLATE NOCASE);\n",
        "CREATE INDEX contacts_external ON contacts(external_id);\n",
        "-- local-only indexes maintained by the write path\n",
        "CREATE TABLE contact_emails (email TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (email, contact_id)) STRICT, WITHOUT ROWID;\n",
        "CREATE TABLE contact_phones (phone TEXT NOT NULL, contact_id TEXT NOT NULL, PRIMARY KEY (phone, contact_id)) STRICT, WITHOUT ROWID;\n",
        "CREATE INDEX contact_emails_contact ON contact_emails(contact_id);\n",
        "CREATE INDEX contact_phones_contact ON contact_phones(contact_id);\n",
        "CREATE TABLE import_keys (key TEXT PRIMARY KEY NOT NULL, contact_id TEXT NOT NULL) STRICT, WITHOUT ROWID;\n",
        synced_table!(
            "policies",
            "contact_id TEXT NOT NULL, policy_number TEXT NOT NULL, carrier TEXT NOT NULL, \
             line_of_business TEXT NOT NULL, premium_minor INTEGER NOT NULL, currency TEXT NOT NULL, \
             payment_frequency TEXT NOT NULL, effective_date TEXT NOT NULL, expiry_date TEXT, \
             status TEXT NOT NULL"
        ),
        "\nCREATE INDEX policies_contact ON policies(contact_id);\n",
        "CREATE INDEX policies_expiry ON policies(expiry_date);\n",
        synced_table!(
            "payments",
            "policy_id TEXT NOT NULL, due_date TEXT NOT NULL, amount_due_minor INTEGER NOT NULL, \
             amount_paid_minor INTEGER NOT NULL, paid_date TEXT, method TEXT, reference TEXT"
        ),
        "\nCREATE INDEX payments_policy ON payments(policy_id, due_date);\n",
        synced_table!(
            "tasks",
            "title TEXT NOT NULL, due_date TEXT, status TEXT NOT NULL, contact_id TEXT, assignee TEXT, notes TEXT"
        ),
        "\nCREATE INDEX tasks_due ON tasks(status, due_date);\n",
        synced_table!(
            "activities",
            "contact_id TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL, occurred_at TEXT NOT NULL, actor TEXT NOT NULL"
        ),
        "\nCREATE INDEX activities_contact ON activities(contact_id, occurred_at);\n",
        "-- local-only: who changed what, when, from what to what\n",
        "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, \
         table_name TEXT NOT NULL, row_id TEXT NOT NULL, action TEXT NOT NULL, changes TEXT NOT NULL) STRICT;\n",
        "CREATE INDEX audit_row ON audit_log(row_id);\n",
        "-- local-only: changes waiting to be pushed\n",
        "CREATE TABLE sync_outbox (seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL UNIQUE, table_name TEXT NOT NULL, \
         row_id TEXT NOT NULL, hlc TEXT NOT NULL, fields TEXT NOT NULL) STRICT;\n",
    ),
    // 2: installed plugins and the tenant's trusted publishers (local-only
    // until sync distributes packages).
    concat!(
        "CREATE TABLE plugins (id TEXT PRIMARY KEY NOT NULL, version TEXT NOT NULL, manifest TEXT NOT NULL, \
         package BLOB NOT NULL, signer TEXT, enabled INTEGER NOT NULL DEFAULT 0, grants TEXT NOT NULL DEFAULT '[]', \
         installed_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;\n",
        "CREATE TABLE trusted_publishers (public_key TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, \
         added_at TEXT NOT NULL) STRICT;\n",
    ),
    // 3: plugin runtime state (local-only): private key-value storage,
    // settings values, run history for health, schedule bookkeeping, custom
    // field definitions with their checksum, why a plugin was disabled.
    concat!(
        "CREATE TABLE plugin_storage (plugin_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, \
         PRIMARY KEY (plugin_id, key)) STRICT, WITHOUT ROWID;\n",
        "CREATE TABLE plugin_settings (plugin_id TEXT PRIMARY KEY NOT NULL, values_json TEXT NOT NULL) STRICT;\n",
        "CREATE TABLE plugin_runs (seq INTEGER PRIMARY KEY, plugin_id TEXT NOT NULL, trigger TEXT NOT NULL, \
         function TEXT NOT NULL, at TEXT NOT NULL, duration_us INTEGER NOT NULL, operations INTEGER NOT NULL, \
         ok INTEGER NOT NULL, error_kind TEXT, message TEXT) STRICT;\n",
        "CREATE INDEX plugin_runs_plugin ON plugin_runs(plugin_id, seq);\n",
        "CREATE TABLE plugin_schedule_state (plugin_id TEXT NOT NULL, schedule_id TEXT NOT NULL, \
         last_run TEXT NOT NULL, PRIMARY KEY (plugin_id, schedule_id)) STRICT, WITHOUT ROWID;\n",
        "CREATE TABLE custom_field_defs (entity TEXT NOT NULL, name TEXT NOT NULL, plugin_id TEXT NOT NULL, \
         definition TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL, \
         PRIMARY KEY (entity, name)) STRICT, WITHOUT ROWID;\n",
        "ALTER TABLE plugins ADD COLUMN disabled_reason TEXT;\n",
    ),
    // 4: the contacts list's index. The list (`deleted = 0 ORDER BY
    // display_name COLLATE NOCASE, id LIMIT … OFFSET …`) and its count walk
    // this narrow index instead of the wide rows (clocks, emails, custom
    // fields): the app's first page of 100,000 contacts reads a few pages,
    // not the table. It replaces the name-only index it extends. `deleted`
    // comes last, never first: an index led by it looks selective to the
    // planner (no statistics), which then picks it over `external_id`'s
    // for `external_id = ? AND deleted = 0` and scans every row per
    // imported row (measured: a 7-second import still ran after 20 minutes).
    //
    // The list's filter choices and the tag filter: owners from an index,
    // tags from `contact_tags` (each live contact's tags, lowercased, one
    // row each), which triggers keep in step with every write to
    // `contacts` (the write path, imports, sync) so no code path can
    // forget it. Neither needs a scan of the contacts table.
    concat!(
        "CREATE INDEX contacts_live_name ON contacts(display_name COLLATE NOCASE, id, deleted);\n",
        "DROP INDEX contacts_name;\n",
        "CREATE INDEX contacts_live_owner ON contacts(owner, deleted);\n",
        "CREATE TABLE contact_tags (tag TEXT NOT NULL, contact_id TEXT NOT NULL, \
         PRIMARY KEY (tag, contact_id)) STRICT, WITHOUT ROWID;\n",
        "CREATE INDEX contact_tags_contact ON contact_tags(contact_id);\n",
        "CREATE TRIGGER contact_tags_insert AFTER INSERT ON contacts WHEN NEW.deleted = 0 BEGIN \
         INSERT OR IGNORE INTO contact_tags (tag, contact_id) \
         SELECT lower(value), NEW.id FROM json_each(NEW.tags) WHERE type = 'text'; END;\n",
        "CREATE TRIGGER contact_tags_update AFTER UPDATE OF tags, deleted ON contacts \
         WHEN OLD.tags IS NOT NEW.tags OR OLD.deleted IS NOT NEW.deleted BEGIN \
         DELETE FROM contact_tags WHERE contact_id = OLD.id; \
         INSERT OR IGNORE INTO contact_tags (tag, contact_id) \
         SELECT lower(value), NEW.id FROM json_each(NEW.tags) WHERE type = 'text' AND NEW.deleted = 0; END;\n",
        "CREATE TRIGGER contact_tags_delete AFTER DELETE ON contacts BEGIN \
         DELETE FROM contact_tags WHERE contact_id = OLD.id; END;\n",
        "INSERT OR IGNORE INTO contact_tags (tag, contact_id) \
         SELECT lower(j.value), c.id FROM contacts AS c, json_each(c.tags) AS j \
         WHERE c.deleted = 0 AND j.type = 'text';\n",
    ),
    // 5: the tag look-up is kept by the code that keeps the email and phone
    // look-ups (`lookups`), not by triggers: a trigger makes every contact
    // insert a multi-table statement, which SQLite journals page by page.
    concat!(
        "DROP TRIGGER contact_tags_insert;\n",
        "DROP TRIGGER contact_tags_update;\n",
        "DROP TRIGGER contact_tags_delete;\n",
    ),
    // 6: the look-ups lose their index by contact. Their entries are
    // removed by key, from the values the contact was indexed from (see
    // `lookups`), so nothing reads them by contact; the three indexes cost
    // an index entry per email, phone and tag written (a sixth of an
    // import's pages). An entry that no longer matches its row (older
    // builds re-indexed from a pulled row that lost the merge) could now
    // never be removed, so the tables are rebuilt from the live rows, as
    // `lookups` makes them (tags ASCII-lowercased, like `lower()`).
    concat!(
        "DROP INDEX contact_emails_contact;\n",
        "DROP INDEX contact_phones_contact;\n",
        "DROP INDEX contact_tags_contact;\n",
        "DELETE FROM contact_emails;\n",
        "DELETE FROM contact_phones;\n",
        "DELETE FROM contact_tags;\n",
        "INSERT OR IGNORE INTO contact_emails (email, contact_id) SELECT j.value, c.id \
         FROM contacts AS c, json_each(c.emails) AS j WHERE c.deleted = 0 AND j.type = 'text';\n",
        "INSERT OR IGNORE INTO contact_phones (phone, contact_id) SELECT j.value, c.id \
         FROM contacts AS c, json_each(c.phones) AS j WHERE c.deleted = 0 AND j.type = 'text';\n",
        "INSERT OR IGNORE INTO contact_tags (tag, contact_id) SELECT lower(j.value), c.id \
         FROM contacts AS c, json_each(c.tags) AS j WHERE c.deleted = 0 AND j.type = 'text';\n",
    ),
    // 7: the outbox loses its index by op id (`UNIQUE`): an index entry
    // for every op written (a twentieth of an import's pages, and a
    // b-tree insert per row) for look-ups that only ever concern the
    // queue's head. Acks and set-asides find their ops by walking the
    // queue from its head (`sync::outbox_seqs`). Op ids are still random
    // UUIDv7s made when the op is written.
    concat!(
        "CREATE TABLE sync_outbox_v7 (seq INTEGER PRIMARY KEY, op_id TEXT NOT NULL, table_name TEXT NOT NULL, \
         row_id TEXT NOT NULL, hlc TEXT NOT NULL, fields TEXT NOT NULL) STRICT;\n",
        "INSERT INTO sync_outbox_v7 (seq, op_id, table_name, row_id, hlc, fields) \
         SELECT seq, op_id, table_name, row_id, hlc, fields FROM sync_outbox;\n",
        "DROP TABLE sync_outbox;\n",
        "ALTER TABLE sync_outbox_v7 RENAME TO sync_outbox;\n",
    ),
    // 8: which of a plugin's settings values were stored as secrets. A
    // value stored as a secret stays one, even when a later version of the
    // plugin declares that setting as plain text (it would otherwise be
    // shown and exported).
    "ALTER TABLE plugin_settings ADD COLUMN secret_keys TEXT NOT NULL DEFAULT '[]';\n",
    // 9: pulled rows this device could not store (an unknown record type,
    // a value or a missing field its schema refuses), kept whole with the
    // reason and tried again after every page, instead of being skipped
    // while the cursor moved past them (`pulled`).
    "CREATE TABLE sync_held (seq INTEGER PRIMARY KEY, table_name TEXT NOT NULL, row_id TEXT NOT NULL, \
     row TEXT NOT NULL, reason TEXT NOT NULL, held_at TEXT NOT NULL, tries INTEGER NOT NULL) STRICT;\n",
    // 10: how a contact prefers to be reached (a detail: declared in
    // `crm_protocol::schema::CONTACTS`, which is all the rest needs).
    "ALTER TABLE contacts ADD COLUMN preferred_contact_method TEXT;\n",
    // 11: what marks a shared creation entry or op (`bulk`) in columns of
    // its own, instead of inside `row_id` (`*<first>/<last>` for an entry,
    // `*<count>` for an op): an entry's range of row ids, an op's number of
    // rows. Existing ones are converted once, here.
    concat!(
        "ALTER TABLE audit_log ADD COLUMN first_row TEXT;\n",
        "ALTER TABLE audit_log ADD COLUMN last_row TEXT;\n",
        "UPDATE audit_log SET first_row = substr(row_id, 2, 36), last_row = substr(row_id, 39, 36), \
         row_id = '' WHERE row_id LIKE '*%';\n",
        "CREATE INDEX audit_bulk ON audit_log(first_row) WHERE first_row IS NOT NULL;\n",
        "ALTER TABLE sync_outbox ADD COLUMN row_count INTEGER;\n",
        "UPDATE sync_outbox SET row_count = CAST(substr(row_id, 2) AS INTEGER), row_id = '' \
         WHERE row_id LIKE '*%';\n",
    ),
    // 12: who wrote what a pull brought (`sync::writers`): the devices a
    // page named and their users. Local-only.
    "CREATE TABLE sync_writers (device_id TEXT PRIMARY KEY NOT NULL, device_name TEXT NOT NULL, \
     user_id TEXT NOT NULL, user_email TEXT NOT NULL, seen_at TEXT NOT NULL) STRICT;\n",
    // 13: a plugin run's history says what it ran on (`table:id`) and
    // which span of the audit trail it wrote in, so the Studio can show
    // what each run changed without keeping a copy of the changes.
    concat!(
        "ALTER TABLE plugin_runs ADD COLUMN record TEXT;\n",
        "ALTER TABLE plugin_runs ADD COLUMN audit_from INTEGER;\n",
        "ALTER TABLE plugin_runs ADD COLUMN audit_to INTEGER;\n",
    ),
    // 14: the tenant's plugin catalog as this device last pulled it
    // (`catalog_state`): each plugin's mode (the kill switch among them),
    // version and approved grants; and which trusted publishers came from
    // it (they leave when the tenant withdraws them). Local-only.
    concat!(
        "CREATE TABLE catalog_policy (plugin_id TEXT PRIMARY KEY NOT NULL, mode TEXT NOT NULL, \
         version TEXT, sha256 TEXT, grants TEXT NOT NULL, settings TEXT NOT NULL, applies INTEGER NOT NULL, \
         reason TEXT, pinned INTEGER NOT NULL DEFAULT 0) STRICT;\n",
        "ALTER TABLE trusted_publishers ADD COLUMN from_catalog INTEGER NOT NULL DEFAULT 0;\n",
        "CREATE TABLE plugin_exports (plugin_id TEXT NOT NULL, at TEXT NOT NULL, data TEXT NOT NULL, \
         PRIMARY KEY (plugin_id, at)) STRICT;\n",
    ),
    // 15: the schema version of each feature crate's own tables
    // (`features`): documents, compliance, … migrate themselves.
    "CREATE TABLE feature_schema (feature TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL) STRICT;\n",
];

/// How to take each migration from 8 on back out, for tests that rebuild
/// an older profile (each such test undoes the later migrations through
/// [`undo_after`], so a new migration adds its undo here once).
#[cfg(test)]
const UNDO: &[(i64, &str)] = &[
    (8, "ALTER TABLE plugin_settings DROP COLUMN secret_keys;"),
    (9, "DROP TABLE sync_held;"),
    (
        10,
        "ALTER TABLE contacts DROP COLUMN preferred_contact_method;",
    ),
    (
        11,
        "DROP INDEX audit_bulk; ALTER TABLE audit_log DROP COLUMN first_row; \
         ALTER TABLE audit_log DROP COLUMN last_row; ALTER TABLE sync_outbox DROP COLUMN row_count;",
    ),
    (12, "DROP TABLE sync_writers;"),
    (
        13,
        "ALTER TABLE plugin_runs DROP COLUMN record; ALTER TABLE plugin_runs DROP COLUMN audit_from; \
         ALTER TABLE plugin_runs DROP COLUMN audit_to;",
    ),
    (
        14,
        "DROP TABLE catalog_policy; ALTER TABLE trusted_publishers DROP COLUMN from_catalog; \
         DROP TABLE plugin_exports;",
    ),
    (15, "DROP TABLE feature_schema;"),
];

/// Undo every migration from 8 on that is later than `version`, newest
/// first (the test then rebuilds the rest by hand).
#[cfg(test)]
pub(crate) fn undo_after(conn: &Connection, version: i64) {
    assert_eq!(
        UNDO.last().map(|(v, _)| *v),
        Some(latest_version()),
        "every migration from 8 on needs its undo in UNDO"
    );
    for (v, sql) in UNDO.iter().rev() {
        if *v > version {
            conn.execute_batch(sql).expect("undo a migration");
        }
    }
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the schema up to date, or refuse a newer one without writing.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = latest_version();
    if found > known {
        return Err(CoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    if found == known {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    Ok(())
}
