//! Tables that belong to a feature crate (documents, compliance, …).
//!
//! A feature keeps its records in the profile's encrypted store without the
//! core knowing what they are: it declares its own append-only migrations
//! ([`Feature`]) and writes through [`FeatureTx`], a write transaction of the
//! one write path that
//! - may change only the feature's own tables (named `<feature>_…`): SQLite's
//!   authorizer refuses anything else, so a bug in one feature cannot write
//!   contacts, the outbox or another feature's tables;
//! - audits every step with the one audit writer, under the feature's name.
//!
//! Features never get a connection outside a transaction for writing; reads
//! go through [`Store::feature_read`].

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::store::{now_text, write_audit, Actor, Store};

/// A feature's tables: its name (every table it owns starts with
/// `<name>_`) and its migrations, which only ever append.
#[derive(Debug)]
pub struct Feature {
    /// Lower-case letters and digits, e.g. `documents`.
    pub name: &'static str,
    /// DDL, one entry per schema version; index + 1 is the version.
    pub migrations: &'static [&'static str],
}

/// A write transaction on one feature's tables; see the module comment.
pub struct FeatureTx<'s> {
    tx: rusqlite::Transaction<'s>,
    feature: &'static str,
    actor_json: String,
    at: String,
}

impl FeatureTx<'_> {
    /// The connection, inside the transaction: statements may read any
    /// table and write only the feature's own.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// Append an audit entry for `row_id` of the feature's table `table`.
    pub fn audit(&self, table: &str, row_id: &str, action: &str, changes: &Value) -> Result<()> {
        write_audit(
            &self.tx,
            &self.at,
            &self.actor_json,
            &format!("{}:{table}", self.feature),
            row_id,
            action,
            &changes.to_string(),
        )
    }

    /// When this transaction began (RFC 3339, UTC, milliseconds), as every
    /// stored time is written.
    pub fn now(&self) -> &str {
        &self.at
    }
}

/// True when `table` is one of `feature`'s tables.
fn owns(feature: &str, table: &str) -> bool {
    table
        .strip_prefix(feature)
        .is_some_and(|rest| rest.starts_with('_'))
}

/// The authorizer of a feature's write: reads anything, writes only its own
/// tables (and the audit log, through the core's writer).
fn writes_only(feature: &'static str) -> impl for<'r> FnMut(AuthContext<'r>) -> Authorization {
    move |ctx: AuthContext<'_>| match ctx.action {
        // The audit log takes new entries only: history is not rewritten.
        AuthAction::Insert {
            table_name: "audit_log",
        } => Authorization::Allow,
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. } => {
            if owns(feature, table_name) {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        AuthAction::Read { .. }
        | AuthAction::Select
        | AuthAction::Function { .. }
        | AuthAction::Transaction { .. }
        | AuthAction::Savepoint { .. }
        | AuthAction::Recursive => Authorization::Allow,
        _ => Authorization::Deny,
    }
}

/// Prefixes of the core's own tables: no feature may take one as its
/// name (it would own `sync_outbox`, `plugin_settings`, …).
const RESERVED: &[&str] = &[
    "audit",
    "catalog",
    "contact",
    "contacts",
    "feature",
    "import",
    "meta",
    "payments",
    "plugin",
    "policies",
    "sqlite",
    "sync",
    "tasks",
    "activities",
    "trusted",
];

/// A feature's name is part of its tables' names; a bad one is a bug in
/// the feature crate, caught by its first test.
fn check_name(feature: &Feature) {
    assert!(
        !feature.name.is_empty()
            && !RESERVED.contains(&feature.name)
            && feature
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "feature name {:?}: use lower-case letters and digits, not a core table's prefix",
        feature.name
    );
}

impl Store {
    /// Bring `feature`'s tables up to date: run the migrations this profile
    /// has not had yet, in one transaction. A profile whose feature schema
    /// is newer than this build knows is refused, untouched.
    pub fn install_feature(&mut self, feature: &'static Feature) -> Result<()> {
        check_name(feature);
        let known = feature.migrations.len() as i64;
        let conn = self.conn_mut();
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
        let have: i64 = tx
            .query_row(
                "SELECT version FROM feature_schema WHERE feature = ?1",
                [feature.name],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if have > known {
            return Err(CoreError::NewerFeatureSchema {
                feature: feature.name,
                found: have,
                known,
            });
        }
        for ddl in &feature.migrations[have as usize..] {
            tx.execute_batch(ddl)?;
        }
        if have < known {
            tx.execute(
                "INSERT INTO feature_schema (feature, version) VALUES (?1, ?2) \
                 ON CONFLICT(feature) DO UPDATE SET version = excluded.version",
                params![feature.name, known],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Read the feature's tables (or any table) with the store's
    /// connection, which refuses every write meanwhile (`query_only`):
    /// writes go through [`Store::feature_write`].
    pub fn feature_read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        /// Writable again however the read ends (a panic included).
        struct Writable<'c>(&'c Connection);
        impl Drop for Writable<'_> {
            fn drop(&mut self) {
                let _ = self.0.pragma_update(None, "query_only", false);
            }
        }
        let conn = self.conn();
        conn.pragma_update(None, "query_only", true)?;
        let _writable = Writable(conn);
        Ok(read(conn)?)
    }

    /// Run `write` in one write transaction on `feature`'s tables, as
    /// `actor`: committed when it returns `Ok`, rolled back otherwise. A
    /// statement touching a table the feature does not own fails.
    pub fn feature_write<T, E>(
        &mut self,
        feature: &'static Feature,
        actor: Actor,
        write: impl FnOnce(&mut FeatureTx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<CoreError>,
    {
        check_name(feature);
        let actor_json = actor.to_json();
        let conn = self.conn_mut();
        // Statements cached before were authorised without this rule:
        // drop them so every statement of this write is checked.
        conn.flush_prepared_statement_cache();
        conn.authorizer(Some(writes_only(feature.name)))
            .map_err(CoreError::from)?;
        let result = (|| -> std::result::Result<T, E> {
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )
            .map_err(CoreError::from)?;
            let mut ftx = FeatureTx {
                tx,
                feature: feature.name,
                actor_json,
                at: now_text(),
            };
            let value = write(&mut ftx)?;
            ftx.tx.commit().map_err(CoreError::from)?;
            Ok(value)
        })();
        // The rule ends with the write; the statements it prepared go too.
        conn.flush_prepared_statement_cache();
        let cleared = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
        let value = result?;
        cleared.map_err(CoreError::from)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch_store;

    static NOTES: Feature = Feature {
        name: "notes",
        migrations: &["CREATE TABLE notes_items (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT;"],
    };

    #[test]
    fn a_feature_writes_its_own_tables_and_audits_them() {
        let (_dir, mut store) = scratch_store();
        store.install_feature(&NOTES).unwrap();
        // Installing again changes nothing.
        store.install_feature(&NOTES).unwrap();
        let actor = store.user_actor();
        store
            .feature_write(&NOTES, actor, |tx| -> Result<()> {
                tx.conn()
                    .execute("INSERT INTO notes_items VALUES ('a', 'hello')", [])?;
                tx.audit(
                    "items",
                    "a",
                    "created",
                    &serde_json::json!({"body": "hello"}),
                )
            })
            .unwrap();
        let body: String = store
            .feature_read(|c| c.query_row("SELECT body FROM notes_items", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(body, "hello");
        let audited: i64 = store
            .feature_read(|c| {
                c.query_row(
                    "SELECT count(*) FROM audit_log WHERE table_name = 'notes:items' AND row_id = 'a'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(audited, 1);
    }

    #[test]
    fn a_feature_cannot_write_a_table_it_does_not_own_and_its_write_rolls_back() {
        let (_dir, mut store) = scratch_store();
        store.install_feature(&NOTES).unwrap();
        let actor = store.user_actor();
        let err = store
            .feature_write(&NOTES, actor.clone(), |tx| -> Result<()> {
                tx.conn()
                    .execute("INSERT INTO notes_items VALUES ('a', 'kept?')", [])?;
                tx.conn()
                    .execute("DELETE FROM meta WHERE key = 'tenant_id'", [])?;
                Ok(())
            })
            .unwrap_err();
        assert!(err.to_string().contains("not authorized"), "{err}");
        let n: i64 = store
            .feature_read(|c| c.query_row("SELECT count(*) FROM notes_items", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 0, "the refused write took the whole transaction with it");
        // A prefix alone is not ownership: `notesx_…` is not `notes_…`.
        assert!(!owns("notes", "notesx_items"));
        // A read cannot write either.
        let err = store
            .feature_read(|c| c.execute("DELETE FROM notes_items", []))
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        // Nor may a feature rewrite the audit log.
        let err = store
            .feature_write(&NOTES, actor.clone(), |tx| -> Result<()> {
                tx.conn().execute("DELETE FROM audit_log", [])?;
                Ok(())
            })
            .unwrap_err();
        assert!(err.to_string().contains("not authorized"), "{err}");
        // After the write the rule is gone: the core writes as before.
        store.set_default_region("GB").unwrap();
        // And the next feature write works.
        store
            .feature_write(&NOTES, actor, |tx| -> Result<()> {
                tx.conn()
                    .execute("INSERT INTO notes_items VALUES ('b', 'ok')", [])?;
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_profile_with_a_newer_feature_schema_is_refused_untouched() {
        let (_dir, mut store) = scratch_store();
        store.install_feature(&NOTES).unwrap();
        static OLDER: Feature = Feature {
            name: "notes",
            migrations: &[],
        };
        let err = store.install_feature(&OLDER).unwrap_err();
        assert!(err.to_string().contains("newer version"), "{err}");
    }
}
