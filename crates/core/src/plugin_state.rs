//! What the plugin runtime keeps per plugin, in the encrypted store: private
//! key-value storage (with a quota), settings values, run history (for
//! health figures and the circuit breaker), schedule bookkeeping and the
//! custom field definitions plugins declare. All of it is local-only.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{CoreError, Result, ValidationError};
use crate::store::Store;

/// Bytes (keys plus values) a plugin's storage holds.
const STORAGE_USAGE_SQL: &str =
    "SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) \
     FROM plugin_storage WHERE plugin_id = ?1";

/// Most runs kept per plugin in the history; besides, none older than
/// [`RUNS_KEPT_DAYS`]. A plugin that runs on every record of an import
/// must not grow the profile without end.
pub const RUNS_KEPT: i64 = 10_000;

/// Days a run stays in a plugin's history.
pub const RUNS_KEPT_DAYS: i64 = 90;

/// Longest run message kept, bytes: a plugin that fails with a huge
/// message on every other run (so its breaker never trips) must not grow
/// the profile by that much each time.
pub const MAX_RUN_MESSAGE: usize = 4_096;

/// One invocation of a plugin, as recorded for its health.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginRun {
    /// Plugin id.
    pub plugin_id: String,
    /// What started it: `hook:contact.created`, `action:score`, `schedule:nightly`…
    pub trigger: String,
    /// The script function.
    pub function: String,
    /// When it started (RFC 3339).
    pub at: String,
    /// How long it took, microseconds.
    pub duration_us: i64,
    /// Script operations used.
    pub operations: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The error kind when it failed.
    pub error_kind: Option<String>,
    /// The error message when it failed.
    pub message: Option<String>,
    /// The record it ran on, `table:id` (a hook's event, a record action).
    pub record: Option<String>,
    /// The audit trail's span `(from, to]` it ran in: what it changed is
    /// its own entries there ([`Store::changes_between`]).
    pub audit_span: Option<(i64, i64)>,
}

/// A custom field a plugin defined.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CustomFieldDef {
    /// `contact` or `policy`.
    pub entity: String,
    /// Field name (`custom.NAME` on the record).
    pub name: String,
    /// The plugin that owns it.
    pub plugin_id: String,
    /// The definition as the plugin declared it (JSON).
    pub definition: String,
    /// SHA-256 of the definition (hex).
    pub checksum: String,
}

/// What applying a custom field definition did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldApplied {
    /// A new definition.
    Created,
    /// The same definition was already there (same checksum): nothing done.
    Unchanged,
    /// The plugin's definition changed (new checksum).
    Updated,
}

impl Store {
    /// An audit entry for local-only data (plugins, publishers, settings).
    pub(crate) fn audit_local(
        tx: &rusqlite::Transaction<'_>,
        actor: &str,
        table: &str,
        key: &str,
        action: &str,
        changes: Value,
    ) -> Result<()> {
        crate::store::write_audit(
            tx,
            &crate::store::now_text(),
            actor,
            table,
            key,
            action,
            &changes.to_string(),
        )
    }

    /// A value from a plugin's private storage.
    pub fn plugin_storage_get(&self, plugin: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM plugin_storage WHERE plugin_id = ?1 AND key = ?2",
                [plugin, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Bytes a plugin's storage holds (keys plus values).
    pub fn plugin_storage_usage(&self, plugin: &str) -> Result<i64> {
        Ok(self
            .conn()
            .query_row(STORAGE_USAGE_SQL, [plugin], |r| r.get(0))?)
    }

    /// Store a value (`None` deletes it). Refused, with nothing written, when
    /// the plugin would then hold more than `quota` bytes.
    pub fn plugin_storage_set(
        &mut self,
        plugin: &str,
        key: &str,
        value: Option<&str>,
        quota: i64,
    ) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        match value {
            None => {
                tx.execute(
                    "DELETE FROM plugin_storage WHERE plugin_id = ?1 AND key = ?2",
                    [plugin, key],
                )?;
            }
            Some(v) => {
                tx.execute(
                    "INSERT INTO plugin_storage (plugin_id, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(plugin_id, key) DO UPDATE SET value = excluded.value",
                    [plugin, key, v],
                )?;
                let used: i64 = tx.query_row(STORAGE_USAGE_SQL, [plugin], |r| r.get(0))?;
                if used > quota {
                    // Dropping the transaction rolls the write back.
                    return Err(CoreError::Invalid(ValidationError::new(
                        "storage",
                        format!(
                            "quota exceeded: this would hold {used} bytes; the quota is {quota}"
                        ),
                    )));
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every key and value in a plugin's storage, by key.
    pub fn plugin_storage_list(&self, plugin: &str) -> Result<Vec<(String, String)>> {
        let mut st = self
            .conn()
            .prepare("SELECT key, value FROM plugin_storage WHERE plugin_id = ?1 ORDER BY key")?;
        let rows = st.query_map([plugin], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// A plugin's settings values (what the admin filled in).
    pub fn plugin_settings(&self, plugin: &str) -> Result<Map<String, Value>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT values_json FROM plugin_settings WHERE plugin_id = ?1",
                [plugin],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match text {
            None => Map::new(),
            Some(t) => serde_json::from_str(&t)?,
        })
    }

    /// The keys of a plugin's settings whose values were stored as secrets
    /// (by the manifest of the time). They stay secret whatever a later
    /// version of the plugin declares.
    pub fn plugin_secret_keys(&self, plugin: &str) -> Result<Vec<String>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT secret_keys FROM plugin_settings WHERE plugin_id = ?1",
                [plugin],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match text {
            None => Vec::new(),
            Some(t) => serde_json::from_str(&t)?,
        })
    }

    /// Remember that the stored values of `keys` are secrets (an upgrade
    /// calls this with the outgoing version's secret settings).
    pub fn remember_plugin_secrets(&mut self, plugin: &str, keys: &[String]) -> Result<()> {
        let values = self.plugin_settings(plugin)?;
        let mut secret = self.plugin_secret_keys(plugin)?;
        let before = secret.len();
        for k in keys {
            if values.contains_key(k) && !secret.contains(k) {
                secret.push(k.clone());
            }
        }
        if secret.len() != before {
            secret.sort();
            self.conn().execute(
                "UPDATE plugin_settings SET secret_keys = ?2 WHERE plugin_id = ?1",
                params![plugin, serde_json::to_string(&secret)?],
            )?;
        }
        Ok(())
    }

    /// Replace a plugin's settings values (the caller has validated them).
    /// The audit entry names the keys that changed, never secret values:
    /// `secret_keys` (the manifest's) and every key whose value was stored
    /// as a secret before are written as `"(changed)"`, and stay secret.
    pub fn set_plugin_settings(
        &mut self,
        plugin: &str,
        values: &Map<String, Value>,
        secret_keys: &[String],
    ) -> Result<()> {
        self.require_plugin_settings_right(plugin)?;
        let before = self.plugin_settings(plugin)?;
        let mut secret: Vec<String> = self.plugin_secret_keys(plugin)?;
        secret.extend(secret_keys.iter().cloned());
        secret.retain(|k| values.contains_key(k));
        secret.sort();
        secret.dedup();
        let mut changes = Map::new();
        for (k, v) in values {
            if before.get(k) != Some(v) {
                let shown = if secret.contains(k) {
                    Value::from("(changed)")
                } else {
                    v.clone()
                };
                changes.insert(k.clone(), shown);
            }
        }
        let actor = serde_json::to_string(&self.user_actor())?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO plugin_settings (plugin_id, values_json, secret_keys) VALUES (?1, ?2, ?3) \
             ON CONFLICT(plugin_id) DO UPDATE SET values_json = excluded.values_json, \
             secret_keys = excluded.secret_keys",
            params![
                plugin,
                serde_json::to_string(values)?,
                serde_json::to_string(&secret)?
            ],
        )?;
        Self::audit_local(
            &tx,
            &actor,
            "plugins",
            plugin,
            "settings_changed",
            Value::Object(changes),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Record one invocation; keeps the newest [`RUNS_KEPT`] per plugin.
    pub fn record_plugin_run(&mut self, run: &PluginRun) -> Result<()> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO plugin_runs (plugin_id, trigger, function, at, duration_us, operations, ok, error_kind, \
             message, record, audit_from, audit_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                run.plugin_id,
                run.trigger,
                run.function,
                run.at,
                run.duration_us,
                run.operations,
                run.ok,
                run.error_kind,
                run.message.as_deref().map(|m| crate::normalize::cut(m, MAX_RUN_MESSAGE)),
                run.record,
                run.audit_span.map(|s| s.0),
                run.audit_span.map(|s| s.1),
            ],
        )?;
        // Pruning walks up to RUNS_KEPT index entries: done every hundredth
        // run, so a history holds at most a hundred runs past its cap.
        if tx.last_insert_rowid() % 100 == 0 {
            let cutoff = (chrono::Utc::now() - chrono::Duration::days(RUNS_KEPT_DAYS))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            tx.execute("DELETE FROM plugin_runs WHERE at < ?1", params![cutoff])?;
            tx.execute(
                "DELETE FROM plugin_runs WHERE plugin_id = ?1 AND seq <= \
                 (SELECT seq FROM plugin_runs WHERE plugin_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                params![run.plugin_id, RUNS_KEPT],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A plugin's recorded runs, newest first.
    pub fn plugin_runs(&self, plugin: &str, limit: usize) -> Result<Vec<PluginRun>> {
        let mut st = self.conn().prepare(
            "SELECT plugin_id, trigger, function, at, duration_us, operations, ok, error_kind, message, \
             record, audit_from, audit_to FROM plugin_runs WHERE plugin_id = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![plugin, limit as i64], |r| {
            Ok(PluginRun {
                plugin_id: r.get(0)?,
                trigger: r.get(1)?,
                function: r.get(2)?,
                at: r.get(3)?,
                duration_us: r.get(4)?,
                operations: r.get(5)?,
                ok: r.get(6)?,
                error_kind: r.get(7)?,
                message: r.get(8)?,
                record: r.get(9)?,
                audit_span: match (r.get(10)?, r.get(11)?) {
                    (Some(a), Some(b)) => Some((a, b)),
                    _ => None,
                },
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// When a plugin's schedule last ran (RFC 3339), if ever.
    pub fn schedule_last_run(&self, plugin: &str, schedule: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT last_run FROM plugin_schedule_state WHERE plugin_id = ?1 AND schedule_id = ?2",
                [plugin, schedule],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Record when a plugin's schedule ran.
    pub fn set_schedule_last_run(&mut self, plugin: &str, schedule: &str, at: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO plugin_schedule_state (plugin_id, schedule_id, last_run) VALUES (?1, ?2, ?3) \
             ON CONFLICT(plugin_id, schedule_id) DO UPDATE SET last_run = excluded.last_run",
            [plugin, schedule, at],
        )?;
        Ok(())
    }

    /// Apply a plugin's custom field definition idempotently: the same
    /// definition (by checksum) again does nothing; a field another plugin
    /// owns is refused.
    pub fn apply_custom_field(
        &mut self,
        plugin: &str,
        entity: &str,
        name: &str,
        definition: &str,
        checksum: &str,
    ) -> Result<FieldApplied> {
        let actor = serde_json::to_string(&self.user_actor())?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT plugin_id, checksum FROM custom_field_defs WHERE entity = ?1 AND name = ?2",
                [entity, name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let applied = match existing {
            Some((owner, _)) if owner != plugin => {
                return Err(CoreError::Invalid(ValidationError::new(
                    format!("custom_fields.{entity}.{name}"),
                    format!("the field is already defined by plugin {owner}"),
                )))
            }
            Some((_, sum)) if sum == checksum => return Ok(FieldApplied::Unchanged),
            Some(_) => FieldApplied::Updated,
            None => FieldApplied::Created,
        };
        tx.execute(
            "INSERT INTO custom_field_defs (entity, name, plugin_id, definition, checksum, applied_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(entity, name) DO UPDATE SET \
             definition = excluded.definition, checksum = excluded.checksum, applied_at = excluded.applied_at",
            params![entity, name, plugin, definition, checksum, crate::store::now_text()],
        )?;
        Self::audit_local(
            &tx,
            &actor,
            "plugins",
            plugin,
            "custom_field_applied",
            serde_json::json!({ "entity": entity, "name": name, "checksum": checksum, "result": applied }),
        )?;
        tx.commit()?;
        Ok(applied)
    }

    /// Custom field definitions, by entity and name.
    pub fn custom_field_defs(&self) -> Result<Vec<CustomFieldDef>> {
        let mut st = self.conn().prepare(
            "SELECT entity, name, plugin_id, definition, checksum FROM custom_field_defs ORDER BY entity, name",
        )?;
        let rows = st.query_map([], |r| {
            Ok(CustomFieldDef {
                entity: r.get(0)?,
                name: r.get(1)?,
                plugin_id: r.get(2)?,
                definition: r.get(3)?,
                checksum: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Everything the store keeps for a plugin, as JSON (for an export at
    /// uninstall). Secret settings are left out: `secret_keys` names them,
    /// and so does the store for values stored as secrets.
    pub fn plugin_data_export(&self, plugin: &str, secret_keys: &[String]) -> Result<Value> {
        let storage: Map<String, Value> = self
            .plugin_storage_list(plugin)?
            .into_iter()
            .map(|(k, v)| {
                let v = serde_json::from_str(&v).unwrap_or(Value::String(v));
                (k, v)
            })
            .collect();
        let mut settings = self.plugin_settings(plugin)?;
        let stored_secret = self.plugin_secret_keys(plugin)?;
        settings.retain(|k, _| !secret_keys.contains(k) && !stored_secret.contains(k));
        let fields: Vec<Value> = self
            .custom_field_defs()?
            .into_iter()
            .filter(|d| d.plugin_id == plugin)
            .map(|d| {
                serde_json::json!({ "entity": d.entity, "name": d.name,
                    "definition": serde_json::from_str::<Value>(&d.definition).unwrap_or(Value::Null),
                    "checksum": d.checksum })
            })
            .collect();
        Ok(serde_json::json!({
            "plugin": plugin,
            "exported_at": crate::store::now_text(),
            "storage": storage,
            "settings": settings,
            "custom_fields": fields,
        }))
    }
}
