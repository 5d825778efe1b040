//! The tenant's accounts and devices on the wire (`/v1/admin…`), what an
//! admin manages from the admin console, the device's own report of its
//! plugins (`/v1/devices/report`) and changing one's own password
//! (`/v1/account/password`). Times are RFC 3339 text in UTC.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// The health a device reports for a plugin.
pub const HEALTH: &[&str] = &["ok", "failing", "stopped"];
/// Most plugins in one report.
pub const MAX_REPORTED_PLUGINS: usize = 500;
/// Longest plugin id, version or app version in a report, characters.
pub const MAX_REPORT_NAME: usize = 200;
/// Longest last error kept per plugin, characters (longer ones are refused,
/// so a device cuts its own).
pub const MAX_REPORT_ERROR: usize = 2000;
/// Shortest password a user may set.
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted, bytes.
pub const MAX_PASSWORD: usize = 1024;

/// A field that is `null` on the wire is `Some(None)`; absent, `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// One account of the tenant, as an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminUser {
    /// The account.
    pub id: Uuid,
    /// Its sign-in email.
    pub email: String,
    /// `agent` or `admin`.
    pub role: String,
    /// Its team, if any.
    pub team: Option<String>,
    /// True when an admin disabled it: no sign-in, its tokens refused.
    pub disabled: bool,
    /// When it was made.
    pub created_at: String,
    /// The latest time any of its devices was seen.
    pub last_seen: Option<String>,
    /// Devices registered to it (revoked ones included).
    pub devices: i64,
    /// True while a one-time password from an invitation or a reset is
    /// waiting to be replaced by the user's own.
    pub one_time_password_pending: bool,
}

/// `POST /v1/admin/users`: invite someone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// Their sign-in email.
    pub email: String,
    /// `agent` or `admin`.
    pub role: String,
    /// Their team, if any.
    #[serde(default)]
    pub team: Option<String>,
}

/// A one-time password, answered once (to an invitation or a reset): pass
/// it on privately. It works for one sign-in before `expires_at`, after
/// which the user must set their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OneTimePassword {
    /// The account.
    pub user_id: Uuid,
    /// Its email.
    pub email: String,
    /// The one-time password; the server keeps only its hash.
    pub password: String,
    /// When it stops working.
    pub expires_at: String,
}

/// `PATCH /v1/admin/users/{id}`: fields left out keep their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// `agent` or `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The new team; `null` for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub team: Option<Option<String>>,
    /// Disable (true) or enable (false) the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// One device of the tenant, as an admin sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminDevice {
    /// The device.
    pub id: Uuid,
    /// The name it signed in under.
    pub name: String,
    /// Its user.
    pub user_id: Uuid,
    /// Its user's email.
    pub user_email: String,
    /// When it first signed in.
    pub created_at: String,
    /// When it was last seen (sign-in, pull or report).
    pub last_seen: Option<String>,
    /// The app version it last reported.
    pub app_version: Option<String>,
    /// True when revoked.
    pub revoked: bool,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// `POST /v1/account/password`: set one's own password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password signed in with (the one-time one, after an invitation).
    pub current: String,
    /// The new password ([`MIN_PASSWORD`] characters at least).
    pub new: String,
}

/// One plugin in a device's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PluginReport {
    /// Plugin id.
    pub plugin_id: String,
    /// Installed version.
    pub version: String,
    /// Whether it is enabled.
    pub enabled: bool,
    /// `ok`, `failing` or `stopped`.
    pub health: String,
    /// Its last error ([`MAX_REPORT_ERROR`] characters at most).
    #[serde(default)]
    pub last_error: Option<String>,
    /// Runs the device recorded of it lately (its newest, at most 100).
    #[serde(default)]
    pub runs: u32,
    /// Of those, failed.
    #[serde(default)]
    pub errors: u32,
}

/// `POST /v1/devices/report`: what a device runs. Replaces its previous one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceReport {
    /// The app's version.
    pub app_version: String,
    /// Every installed plugin ([`MAX_REPORTED_PLUGINS`] at most).
    #[serde(default)]
    pub plugins: Vec<PluginReport>,
}

/// A report the server would refuse: the field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ReportError {
    /// The field, e.g. `plugins[3].health`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn text(field: String, value: &str, max: usize, empty_ok: bool) -> Result<(), ReportError> {
    let n = value.chars().count();
    if (!empty_ok && value.trim().is_empty()) || n > max || value.contains('\0') {
        let least = if empty_ok { 0 } else { 1 };
        return Err(ReportError {
            field,
            message: format!(
                "must be {least} to {max} characters without NUL characters (got {n})"
            ),
        });
    }
    Ok(())
}

impl DeviceReport {
    /// The server's bounds, for the device to keep before sending.
    pub fn check(&self) -> Result<(), ReportError> {
        text(
            "app_version".into(),
            &self.app_version,
            MAX_REPORT_NAME,
            false,
        )?;
        if self.plugins.len() > MAX_REPORTED_PLUGINS {
            return Err(ReportError {
                field: "plugins".into(),
                message: format!(
                    "at most {MAX_REPORTED_PLUGINS} plugins (got {})",
                    self.plugins.len()
                ),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.plugins.iter().enumerate() {
            text(
                format!("plugins[{i}].plugin_id"),
                &p.plugin_id,
                MAX_REPORT_NAME,
                false,
            )?;
            text(
                format!("plugins[{i}].version"),
                &p.version,
                MAX_REPORT_NAME,
                false,
            )?;
            if !HEALTH.contains(&p.health.as_str()) {
                return Err(ReportError {
                    field: format!("plugins[{i}].health"),
                    message: format!("must be one of {} (got {:?})", HEALTH.join(", "), p.health),
                });
            }
            if let Some(e) = &p.last_error {
                text(
                    format!("plugins[{i}].last_error"),
                    e,
                    MAX_REPORT_ERROR,
                    true,
                )?;
            }
            if !seen.insert(p.plugin_id.as_str()) {
                return Err(ReportError {
                    field: format!("plugins[{i}].plugin_id"),
                    message: format!("{:?} is reported twice", p.plugin_id),
                });
            }
        }
        Ok(())
    }
}

/// A device's last error for a plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginError {
    /// The device.
    pub device_id: Uuid,
    /// Its name.
    pub device_name: String,
    /// The error.
    pub error: String,
    /// When the device reported it.
    pub reported_at: String,
}

/// One version of one plugin across the tenant's devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PluginHealth {
    /// Plugin id.
    pub plugin_id: String,
    /// Version.
    pub version: String,
    /// Devices (not revoked) that report it installed.
    pub devices: i64,
    /// Of them, where it is enabled.
    pub enabled: i64,
    /// Of them, where it is failing.
    pub failing: i64,
    /// Of them, where it is stopped.
    pub stopped: i64,
    /// Runs the devices recorded of it lately, summed.
    #[serde(default)]
    pub runs: i64,
    /// Of those, failed.
    #[serde(default)]
    pub errors: i64,
    /// The latest errors (a few), newest first.
    pub last_errors: Vec<PluginError>,
}

/// One admin change to accounts or devices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminAuditEntry {
    /// When.
    pub at: String,
    /// Who (their email).
    pub actor: String,
    /// `invited`, `role_set`, `team_set`, `disabled`, `enabled`,
    /// `password_reset`, `device_revoked`.
    pub action: String,
    /// The account changed, if one was.
    pub user_id: Option<Uuid>,
    /// The device changed, if one was.
    pub device_id: Option<Uuid>,
    /// What changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_team_set_to_null_differs_from_a_team_left_out() {
        let c: UserChange = serde_json::from_str(r#"{"team": null}"#).expect("parse");
        assert_eq!(c.team, Some(None));
        let c: UserChange = serde_json::from_str(r#"{"disabled": true}"#).expect("parse");
        assert_eq!(c.team, None);
        let back: UserChange = serde_json::from_str(
            &serde_json::to_string(&UserChange {
                team: Some(None),
                ..UserChange::default()
            })
            .expect("json"),
        )
        .expect("parse");
        assert_eq!(back.team, Some(None));
    }

    #[test]
    fn a_report_names_the_field_it_breaks() {
        let p = |health: &str| PluginReport {
            plugin_id: "a.b".into(),
            version: "1.0.0".into(),
            enabled: true,
            health: health.into(),
            last_error: None,
            runs: 0,
            errors: 0,
        };
        let mut r = DeviceReport {
            app_version: "1.2.3".into(),
            plugins: vec![p("ok")],
        };
        assert_eq!(r.check(), Ok(()));
        r.plugins.push(p("sick"));
        assert_eq!(
            r.check().map_err(|e| e.field),
            Err("plugins[1].health".into())
        );
        r.plugins[1] = p("failing");
        r.plugins[1].last_error = Some("x".repeat(MAX_REPORT_ERROR + 1));
        assert_eq!(
            r.check().map_err(|e| e.field),
            Err("plugins[1].last_error".into())
        );
        r.plugins.truncate(1);
        r.plugins.extend((0..MAX_REPORTED_PLUGINS).map(|_| p("ok")));
        assert_eq!(r.check().map_err(|e| e.field), Err("plugins".into()));
    }
}
