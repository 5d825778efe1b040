//! Profile settings: each key's meaning, validation and who may change it,
//! in one place for every front end (the app, the CLI, the plugin runtime).
//!
//! Settings are kept in `meta` as `setting.<key>`. Two groups are governed:
//! those under [`PLUGIN_SETTINGS`] (limits, network policy, trusted CA,
//! developer mode) decide what plugins may do, and those under
//! [`AI_SETTINGS`] decide where plugins with `ai:use` send data. Both are
//! an admin's to change whatever front end asks, and every change is
//! audited with its old and new value (a secret's as "set"/"not set").

use rusqlite::OptionalExtension;

use crate::error::{CoreError, Result, ValidationError};
use crate::store::Store;

/// The prefix of the settings that govern plugins.
pub const PLUGIN_SETTINGS: &str = "plugins.";
/// The prefix of the settings of the AI service plugins may use.
pub const AI_SETTINGS: &str = "ai.";
/// Unsigned plugin folders and packages may be installed.
pub const DEVELOPER_MODE: &str = "plugins.developer_mode";
/// The AI service's base address.
pub const AI_ENDPOINT: &str = "ai.endpoint";
/// The model asked for.
pub const AI_MODEL: &str = "ai.model";
/// The AI service's key (a secret: never shown, audited as set or not).
pub const AI_API_KEY: &str = "ai.api_key";
/// The model asked for when none is set.
pub const DEFAULT_AI_MODEL: &str = "gpt-4o-mini";

/// Settings whose values are secrets.
const SECRETS: &[&str] = &[AI_API_KEY];

/// The governed groups (see the module).
pub(crate) const GOVERNED: [&str; 2] = [PLUGIN_SETTINGS, AI_SETTINGS];

/// A setting's value as the audit log keeps it: a secret only as set or
/// not.
pub(crate) fn audited(key: &str, v: Option<&str>) -> Option<String> {
    if SECRETS.contains(&key) {
        Some(if v.is_some() { "set" } else { "not set" }.to_string())
    } else {
        v.map(str::to_string)
    }
}

/// The AI service plugins with `ai:use` talk to.
#[derive(Clone, PartialEq, Eq)]
pub struct AiSettings {
    /// Base address (`https://…/v1`); `None`: no AI service.
    pub endpoint: Option<String>,
    /// Model name.
    pub model: String,
    /// Key, if the service needs one.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for AiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiSettings")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// A change to the AI settings: `None` leaves a value as it is,
/// `Some("")` clears it.
#[derive(Clone, Debug, Default)]
pub struct AiChange<'a> {
    /// The base address, checked and normalised.
    pub endpoint: Option<&'a str>,
    /// The model name.
    pub model: Option<&'a str>,
    /// The key.
    pub api_key: Option<&'a str>,
}

fn governed(key: &str) -> bool {
    GOVERNED.iter().any(|g| key.starts_with(g))
}

impl Store {
    /// A profile setting, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [format!("setting.{key}")],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Set (or with `None` clear) a profile setting. A governed one (see
    /// the module) is an admin's, and its change is audited.
    pub fn set_setting(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        let governs = governed(key);
        if governs {
            self.require_admin(&format!("change {key}, which governs what plugins may do"))?;
        }
        let before = if governs { self.setting(key)? } else { None };
        let actor = serde_json::to_string(&self.user_actor())?;
        let k = format!("setting.{key}");
        let tx = self
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        match value {
            Some(v) => tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [&k, v],
            )?,
            None => tx.execute("DELETE FROM meta WHERE key = ?1", [&k])?,
        };
        if governs && before.as_deref() != value {
            Self::audit_local(
                &tx,
                &actor,
                "settings",
                key,
                "setting_changed",
                serde_json::json!({ key: [audited(key, before.as_deref()), audited(key, value)] }),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether unsigned plugins may be installed here.
    pub fn developer_mode(&self) -> Result<bool> {
        Ok(self.setting(DEVELOPER_MODE)?.as_deref() == Some("true"))
    }

    /// Allow or refuse unsigned plugins (an admin's; audited).
    pub fn set_developer_mode(&mut self, on: bool) -> Result<()> {
        self.set_setting(DEVELOPER_MODE, on.then_some("true"))
    }

    /// The AI service plugins may use.
    pub fn ai_settings(&self) -> Result<AiSettings> {
        Ok(AiSettings {
            endpoint: self.setting(AI_ENDPOINT)?,
            model: self
                .setting(AI_MODEL)?
                .unwrap_or_else(|| DEFAULT_AI_MODEL.to_string()),
            api_key: self.setting(AI_API_KEY)?,
        })
    }

    /// Change the AI service (an admin's; audited, the key as set or not).
    /// The address is checked first: nothing changes if it is refused.
    pub fn set_ai(&mut self, change: &AiChange<'_>) -> Result<()> {
        let endpoint = match change.endpoint.map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(raw) => {
                Some(Some(crate::normalize::base_url(raw).map_err(|r| {
                    CoreError::Invalid(ValidationError::new(AI_ENDPOINT, r))
                })?))
            }
        };
        fn text(v: Option<&str>) -> Option<Option<&str>> {
            v.map(|v| Some(v.trim()).filter(|v| !v.is_empty()))
        }
        if let Some(e) = endpoint {
            self.set_setting(AI_ENDPOINT, e.as_deref())?;
        }
        if let Some(m) = text(change.model) {
            self.set_setting(AI_MODEL, m)?;
        }
        if let Some(k) = text(change.api_key) {
            self.set_setting(AI_API_KEY, k)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::scratch_store as store;

    /// The AI settings: a bad address is refused naming the setting and
    /// changes nothing; a change is audited, the key only as set or not;
    /// the model falls back to the default.
    #[test]
    fn ai_settings_are_checked_typed_and_audited_without_the_key() {
        let (_d, mut s) = store();
        s.set_ai(&AiChange {
            endpoint: Some("https://llm.example.com/v1/"),
            api_key: Some("sk-secret"),
            ..Default::default()
        })
        .expect("set");
        let ai = s.ai_settings().expect("read");
        assert_eq!(ai.endpoint.as_deref(), Some("https://llm.example.com/v1"));
        assert_eq!(ai.model, DEFAULT_AI_MODEL);
        assert_eq!(ai.api_key.as_deref(), Some("sk-secret"));
        assert!(!format!("{ai:?}").contains("sk-secret"));

        let err = s
            .set_ai(&AiChange {
                endpoint: Some("not a url"),
                model: Some("other"),
                ..Default::default()
            })
            .expect_err("refused");
        assert!(
            matches!(&err, CoreError::Invalid(v) if v.field == AI_ENDPOINT),
            "{err}"
        );
        assert_eq!(
            s.ai_settings().expect("read").model,
            DEFAULT_AI_MODEL,
            "unchanged"
        );

        let trail = s.setting_audit(AI_API_KEY).expect("audit");
        assert_eq!(trail.len(), 1, "{trail:?}");
        assert!(!trail[0].1.contains("sk-secret"), "{trail:?}");
        assert!(trail[0].1.contains("set"), "{trail:?}");
        assert_eq!(s.setting_audit(AI_ENDPOINT).expect("audit").len(), 1);

        s.set_ai(&AiChange {
            endpoint: Some(""),
            api_key: Some(""),
            ..Default::default()
        })
        .expect("clear");
        let ai = s.ai_settings().expect("read");
        assert_eq!((ai.endpoint, ai.api_key), (None, None));
    }
}
