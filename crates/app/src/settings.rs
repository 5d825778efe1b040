//! Profile settings: phone region, AI endpoint, developer mode.

use crm_core::settings::{AiChange, AI_ENDPOINT};

use crate::dto::*;
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
            let ai = s.ai_settings()?;
            Ok(SettingsDto {
                data_dir: self.data_dir().display().to_string(),
                tenant_id: id.tenant_id.to_string(),
                device_id: id.device_id.to_string(),
                key_storage: key_storage.into(),
                region: format!("{:?}", s.default_region()),
                ai_endpoint: ai.endpoint,
                ai_model: Some(ai.model),
                ai_key_set: ai.api_key.is_some(),
                developer_mode: s.developer_mode()?,
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
        self.write(|s| {
            s.set_ai(&AiChange {
                endpoint: Some(&args.endpoint),
                model: Some(&args.model),
                api_key: args.api_key.as_deref(),
            })
            .map_err(|e| match e {
                // The form calls it `endpoint`.
                crm_core::CoreError::Invalid(v) if v.field == AI_ENDPOINT => {
                    ApiError::invalid("endpoint", v.reason)
                }
                e => e.into(),
            })
        })?;
        self.settings()
    }

    /// Allow or refuse unsigned plugins.
    pub fn settings_set_developer_mode(&self, on: bool) -> ApiResult<SettingsDto> {
        self.write(|s| Ok(s.set_developer_mode(on)?))?;
        self.settings()
    }
}
