//! Installed plugins and trusted publishers, kept in the encrypted store.
//!
//! The core stores plugins as opaque records (manifest text, package bytes,
//! grants); the plugin crate decides what they mean. Every change is written
//! with an audit entry in the same transaction.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::error::{CoreError, Result};
use crate::store::Store;

/// An installed plugin.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginRecord {
    /// Plugin id.
    pub id: String,
    /// Installed version.
    pub version: String,
    /// `manifest.json` text.
    pub manifest: String,
    /// The package (zip) bytes.
    #[serde(skip)]
    pub package: Vec<u8>,
    /// Signer public key (hex), `None` for a developer install.
    pub signer: Option<String>,
    /// Whether it runs.
    pub enabled: bool,
    /// Permissions an admin granted.
    pub grants: Vec<String>,
    /// Why it was disabled, when the system did it (circuit breaker).
    pub disabled_reason: Option<String>,
}

impl Store {
    fn audit_plugin(
        tx: &rusqlite::Transaction<'_>,
        actor: &str,
        key: &str,
        action: &str,
        changes: serde_json::Value,
    ) -> Result<()> {
        Self::audit_local(tx, actor, "plugins", key, action, changes)
    }

    fn actor_text(&self) -> String {
        serde_json::to_string(&self.user_actor()).unwrap_or_default()
    }

    /// Trust a publisher key for this tenant.
    pub fn trust_publisher(&mut self, public_key_hex: &str, name: &str) -> Result<()> {
        self.require_admin("trust a plugin publisher")?;
        let actor = self.actor_text();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO trusted_publishers (public_key, name, added_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(public_key) DO UPDATE SET name = excluded.name",
            params![public_key_hex, name, crate::store::now_text()],
        )?;
        Self::audit_plugin(
            &tx,
            &actor,
            public_key_hex,
            "publisher_trusted",
            serde_json::json!({ "name": name }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stop trusting a publisher key; its plugins stop running at once.
    pub fn distrust_publisher(&mut self, public_key_hex: &str) -> Result<()> {
        self.require_admin("withdraw trust from a plugin publisher")?;
        let actor = self.actor_text();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM trusted_publishers WHERE public_key = ?1",
            [public_key_hex],
        )?;
        if n == 0 {
            return Err(CoreError::NotFound {
                kind: "trusted publisher",
                id: public_key_hex.to_string(),
            });
        }
        Self::audit_plugin(
            &tx,
            &actor,
            public_key_hex,
            "publisher_distrusted",
            serde_json::json!({}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The tenant's trusted publisher keys (hex) with their names.
    pub fn trusted_publishers(&self) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn()
            .prepare("SELECT public_key, name FROM trusted_publishers ORDER BY name")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Install or replace a plugin record (the caller has verified it).
    /// Writing an enabled record (enabling, upgrading or changing the
    /// grants of a running plugin) is an admin's; writing a disabled one is
    /// anyone's: stopping a plugin is always allowed.
    pub fn put_plugin(&mut self, rec: &PluginRecord, action: &str) -> Result<()> {
        if rec.enabled {
            self.require_plugin_right(&rec.id, "enable a plugin or change what it may do")?;
        }
        let actor = self.actor_text();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO plugins (id, version, manifest, package, signer, enabled, grants, installed_at, updated_at, disabled_reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) \
             ON CONFLICT(id) DO UPDATE SET version = excluded.version, manifest = excluded.manifest, \
             package = excluded.package, signer = excluded.signer, enabled = excluded.enabled, \
             grants = excluded.grants, updated_at = excluded.updated_at, disabled_reason = excluded.disabled_reason",
            params![
                rec.id,
                rec.version,
                rec.manifest,
                rec.package,
                rec.signer,
                rec.enabled,
                serde_json::to_string(&rec.grants)?,
                crate::store::now_text(),
                rec.disabled_reason
            ],
        )?;
        Self::audit_plugin(
            &tx,
            &actor,
            &rec.id,
            action,
            serde_json::json!({ "version": rec.version, "enabled": rec.enabled, "grants": rec.grants, "signer": rec.signer, "reason": rec.disabled_reason }),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// An installed plugin.
    pub fn plugin(&self, id: &str) -> Result<PluginRecord> {
        self.conn()
            .query_row(
                "SELECT id, version, manifest, package, signer, enabled, grants, disabled_reason FROM plugins WHERE id = ?1",
                [id],
                |r| {
                    Ok(PluginRecord {
                        id: r.get(0)?,
                        version: r.get(1)?,
                        manifest: r.get(2)?,
                        package: r.get(3)?,
                        signer: r.get(4)?,
                        enabled: r.get(5)?,
                        grants: serde_json::from_str(&r.get::<_, String>(6)?).unwrap_or_default(),
                        disabled_reason: r.get(7)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| CoreError::NotFound { kind: "plugin", id: id.to_string() })
    }

    /// All installed plugins, by id.
    pub fn plugins(&self) -> Result<Vec<PluginRecord>> {
        let ids: Vec<String> = {
            let mut st = self.conn().prepare("SELECT id FROM plugins ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        ids.iter().map(|id| self.plugin(id)).collect()
    }

    /// Remove a plugin and what the runtime kept for it (storage, settings,
    /// run history, schedule state, custom field definitions). Values of its
    /// custom fields on records stay: they are the user's data.
    pub fn remove_plugin(&mut self, id: &str) -> Result<()> {
        self.require_plugin_right(id, "uninstall a plugin")?;
        let actor = self.actor_text();
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = tx.execute("DELETE FROM plugins WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(CoreError::NotFound {
                kind: "plugin",
                id: id.to_string(),
            });
        }
        for table in [
            "plugin_storage",
            "plugin_settings",
            "plugin_runs",
            "plugin_schedule_state",
            "custom_field_defs",
        ] {
            tx.execute(&format!("DELETE FROM {table} WHERE plugin_id = ?1"), [id])?;
        }
        Self::audit_plugin(&tx, &actor, id, "uninstalled", serde_json::json!({}))?;
        tx.commit()?;
        Ok(())
    }

    /// Audit entries about one plugin (or publisher key), oldest first.
    pub fn plugin_audit(&self, key: &str) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn()
            .prepare("SELECT action, changes FROM audit_log WHERE table_name = 'plugins' AND row_id = ?1 ORDER BY seq")?;
        let rows = st.query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Audit entries about one profile setting that governs plugins, oldest
    /// first: who (the actor as JSON) and `{key: [old, new]}`.
    pub fn setting_audit(&self, key: &str) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn()
            .prepare("SELECT actor, changes FROM audit_log WHERE table_name = 'settings' AND row_id = ?1 ORDER BY seq")?;
        let rows = st.query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}
