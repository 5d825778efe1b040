//! The admin console's people and devices: the agency's accounts (invite
//! with a one-time password, role, team, disable, reset), its devices
//! (last seen, app version, revoke), the audit of those changes, and what
//! devices report of each plugin. Straight against the sync server, which
//! decides who may (an agent is refused there, not only here).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crm_protocol::admin::{InviteRequest, UserChange};

use crate::{ApiError, ApiResult, App};

/// One account of the agency.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AdminUserDto {
    /// Account id.
    pub id: String,
    /// Email (the sign-in name).
    pub email: String,
    /// `agent` or `admin`.
    pub role: String,
    /// Team, if any.
    pub team: Option<String>,
    /// Disabled: cannot sign in, its devices are refused.
    pub disabled: bool,
    /// When it was made.
    pub created_at: String,
    /// The latest any of its devices was seen.
    pub last_seen: Option<String>,
    /// Devices signed in with it.
    pub devices: u32,
    /// Invited and not yet signed in with its one-time password, or not yet
    /// set a password of its own.
    pub invite_pending: bool,
}

/// A one-time password to pass on, shown once.
#[derive(Clone, Debug, Serialize, TS)]
pub struct OneTimePasswordDto {
    /// For whom.
    pub email: String,
    /// The password: works for one sign-in, then its owner chooses their own.
    pub password: String,
    /// When it stops working.
    pub expires_at: String,
}

/// An admin's change to an account; fields left out keep theirs.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct AdminUserChangeArgs {
    /// New role.
    #[ts(optional)]
    pub role: Option<String>,
    /// New team; empty text takes the account out of any team.
    #[ts(optional)]
    pub team: Option<String>,
    /// Disable or enable it.
    #[ts(optional)]
    pub disabled: Option<bool>,
}

/// One device signed in to the agency.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AdminDeviceDto {
    /// Device id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whose.
    pub user_email: String,
    /// First signed in.
    pub created_at: String,
    /// Last seen by the server.
    pub last_seen: Option<String>,
    /// The app version it runs, as it last said.
    pub app_version: Option<String>,
    /// Revoked: its token is refused.
    pub revoked: bool,
}

/// One change to accounts or devices.
#[derive(Clone, Debug, Serialize, TS)]
pub struct AdminAuditDto {
    /// When.
    pub at: String,
    /// Who (email).
    pub actor: String,
    /// What, in words.
    pub what: String,
}

/// What devices report of one version of a plugin.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginVersionHealthDto {
    /// Plugin id.
    pub plugin_id: String,
    /// Version.
    pub version: String,
    /// Devices that have it installed.
    pub devices: u32,
    /// Of those, with it switched on.
    pub enabled: u32,
    /// Of those, whose newest run failed.
    pub failing: u32,
    /// Of those, where it is stopped (off, or stopped by the catalog).
    pub stopped: u32,
    /// Runs those devices recorded of it lately.
    pub runs: u32,
    /// Of those, failed.
    pub errors: u32,
    /// The latest errors, each with its device.
    pub last_errors: Vec<String>,
}

fn user(u: crm_protocol::admin::AdminUser) -> AdminUserDto {
    AdminUserDto {
        id: u.id.to_string(),
        email: u.email,
        role: u.role,
        team: u.team,
        disabled: u.disabled,
        created_at: u.created_at,
        last_seen: u.last_seen,
        devices: u.devices.max(0) as u32,
        invite_pending: u.one_time_password_pending,
    }
}

fn otp(p: crm_protocol::admin::OneTimePassword) -> OneTimePasswordDto {
    OneTimePasswordDto {
        email: p.email,
        password: p.password,
        expires_at: p.expires_at,
    }
}

fn id_of(what: &str, text: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(text.trim())
        .map_err(|_| ApiError::invalid(what, format!("{text:?} is not an id")))
}

/// An audit entry in words, naming accounts and devices by what they are
/// called now.
fn audit_words(
    a: &crm_protocol::admin::AdminAuditEntry,
    emails: &HashMap<uuid::Uuid, String>,
    devices: &HashMap<uuid::Uuid, String>,
) -> String {
    let who = a
        .user_id
        .and_then(|u| emails.get(&u).cloned())
        .or_else(|| a.detail["email"].as_str().map(String::from))
        .unwrap_or_else(|| "an account".into());
    let text = |k: &str| match &a.detail[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        other => other.to_string(),
    };
    match a.action.as_str() {
        "invited" => format!("invited {who} as {}", text("role")),
        "role_set" => format!(
            "changed {who}'s role from {} to {}",
            text("from"),
            text("to")
        ),
        "team_set" => format!("moved {who} from team {} to {}", text("from"), text("to")),
        "disabled" => format!("disabled {who}"),
        "enabled" => format!("enabled {who} again"),
        "password_reset" => format!("gave {who} a new one-time password"),
        "device_revoked" => format!(
            "revoked the device {}",
            a.device_id
                .and_then(|d| devices.get(&d).cloned())
                .unwrap_or_else(|| "?".into())
        ),
        other => other.replace('_', " "),
    }
}

impl App {
    /// The agency's accounts (an admin's).
    pub fn admin_users(&self) -> ApiResult<Vec<AdminUserDto>> {
        let (conn, token) = self.server()?;
        Ok(conn.admin_users(&token)?.into_iter().map(user).collect())
    }

    /// Invite someone: an account with a one-time password to pass on.
    pub fn admin_invite(
        &self,
        email: &str,
        role: &str,
        team: Option<String>,
    ) -> ApiResult<OneTimePasswordDto> {
        let email = email.trim();
        if !email.contains('@') {
            return Err(ApiError::invalid("email", "give their email address"));
        }
        let (conn, token) = self.server()?;
        let p = conn.admin_invite(
            &token,
            &InviteRequest {
                email: email.into(),
                role: role.into(),
                team: team.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
            },
        )?;
        Ok(otp(p))
    }

    /// Change an account's role, team, or whether it is disabled.
    pub fn admin_set_user(
        &self,
        id: &str,
        change: AdminUserChangeArgs,
    ) -> ApiResult<Vec<AdminUserDto>> {
        let user_id = id_of("id", id)?;
        let (conn, token) = self.server()?;
        conn.admin_change_user(
            &token,
            user_id,
            &UserChange {
                role: change.role,
                team: change
                    .team
                    .map(|t| Some(t.trim().to_string()).filter(|t| !t.is_empty())),
                disabled: change.disabled,
            },
        )?;
        self.admin_users()
    }

    /// A new one-time password for an account (its devices are signed out).
    pub fn admin_reset_password(&self, id: &str) -> ApiResult<OneTimePasswordDto> {
        let user_id = id_of("id", id)?;
        let (conn, token) = self.server()?;
        Ok(otp(conn.admin_reset_password(&token, user_id)?))
    }

    /// The agency's devices.
    pub fn admin_devices(&self) -> ApiResult<Vec<AdminDeviceDto>> {
        let (conn, token) = self.server()?;
        Ok(conn
            .admin_devices(&token)?
            .into_iter()
            .map(|d| AdminDeviceDto {
                id: d.id.to_string(),
                name: d.name,
                user_email: d.user_email,
                created_at: d.created_at,
                last_seen: d.last_seen,
                app_version: d.app_version,
                revoked: d.revoked,
            })
            .collect())
    }

    /// Revoke a device: its token is refused from now on.
    pub fn admin_revoke_device(&self, id: &str) -> ApiResult<Vec<AdminDeviceDto>> {
        let device = id_of("id", id)?;
        let (conn, token) = self.server()?;
        conn.admin_revoke_device(&token, device)?;
        self.admin_devices()
    }

    /// Changes to accounts and devices, newest first.
    pub fn admin_audit(&self) -> ApiResult<Vec<AdminAuditDto>> {
        let (conn, token) = self.server()?;
        let emails: HashMap<_, _> = conn
            .admin_users(&token)?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
        let devices: HashMap<_, _> = conn
            .admin_devices(&token)?
            .into_iter()
            .map(|d| (d.id, format!("{} ({})", d.name, d.user_email)))
            .collect();
        Ok(conn
            .admin_audit(&token)?
            .iter()
            .map(|a| AdminAuditDto {
                what: audit_words(a, &emails, &devices),
                at: a.at.clone(),
                actor: a.actor.clone(),
            })
            .collect())
    }

    /// What devices report of each plugin, by version.
    pub fn admin_plugin_health(&self) -> ApiResult<Vec<PluginVersionHealthDto>> {
        let (conn, token) = self.server()?;
        Ok(conn
            .admin_plugin_health(&token)?
            .into_iter()
            .map(|h| PluginVersionHealthDto {
                plugin_id: h.plugin_id,
                version: h.version,
                devices: h.devices.max(0) as u32,
                enabled: h.enabled.max(0) as u32,
                failing: h.failing.max(0) as u32,
                stopped: h.stopped.max(0) as u32,
                runs: h.runs.clamp(0, u32::MAX as i64) as u32,
                errors: h.errors.clamp(0, u32::MAX as i64) as u32,
                last_errors: h
                    .last_errors
                    .into_iter()
                    .map(|e| format!("{}: {}", e.device_name, e.error))
                    .collect(),
            })
            .collect())
    }
}
