//! Profile settings: phone region, AI endpoint, developer mode.

use crate::dto::*;
use crate::plugins::DEVELOPER_MODE;
use crate::{ApiError, ApiResult, App};

impl App {
    /// The profile's settings.
    pub fn settings(&self) -> ApiResult<SettingsDto> {
        let key_storage = match crm_core::keys::ProfileMeta::load(self.data_dir())?.key {
            crm_core::keys::KeySource::Keyring { .. } => "keyring",
            crm_core::keys::KeySource::Passphrase(_) => "passphrase",
        };
        self.read(|s| {
            let id = s.identity();
            Ok(SettingsDto {
                data_dir: self.data_dir().display().to_string(),
                tenant_id: id.tenant_id.to_string(),
                device_id: id.device_id.to_string(),
                key_storage: key_storage.into(),
                region: format!("{:?}", s.default_region()),
                ai_endpoint: s.setting("ai.endpoint")?,
                ai_model: s.setting("ai.model")?,
                ai_key_set: s.setting("ai.api_key")?.is_some(),
                developer_mode: s.setting(DEVELOPER_MODE)?.as_deref() == Some("true"),
                app_version: crate::VERSION.to_string(),
            })
        })
    }

    /// Default region for phone numbers typed without a country code.
    pub fn settings_set_region(&self, code: &str) -> ApiResult<SettingsDto> {
        crm_core::normalize::region(code).map_err(|r| ApiError::invalid("region", r))?;
        self.write(|s| Ok(s.set_default_region(code.trim())?))?;
        self.settings()
    }

    /// The AI service plugins with `ai:use` talk to.
    pub fn settings_set_ai(&self, args: AiSettingsArgs) -> ApiResult<SettingsDto> {
        let endpoint = match args.endpoint.trim() {
            "" => String::new(),
            raw => {
                crm_core::normalize::base_url(raw).map_err(|r| ApiError::invalid("endpoint", r))?
            }
        };
        self.write(|s| {
            s.set_setting(
                "ai.endpoint",
                Some(endpoint.as_str()).filter(|e| !e.is_empty()),
            )?;
            s.set_setting(
                "ai.model",
                Some(args.model.trim()).filter(|m| !m.is_empty()),
            )?;
            if let Some(k) = &args.api_key {
                let k = zeroize::Zeroizing::new(k.trim().to_string());
                s.set_setting("ai.api_key", Some(k.as_str()).filter(|k| !k.is_empty()))?;
            }
            Ok(())
        })?;
        self.settings()
    }

    /// Allow or refuse unsigned plugins.
    pub fn settings_set_developer_mode(&self, on: bool) -> ApiResult<SettingsDto> {
        self.write(|s| Ok(s.set_setting(DEVELOPER_MODE, on.then_some("true"))?))?;
        self.settings()
    }
}
