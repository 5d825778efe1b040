//! The admin API's HTTP calls (`/v1/admin…`): the tenant's accounts and
//! devices, plugin health and the audit (an admin's); and what any
//! signed-in device does for itself: change its user's password and report
//! its plugins.

use crm_protocol::admin::{
    AdminAuditEntry, AdminDevice, AdminUser, DeviceReport, InviteRequest, OneTimePassword,
    PasswordChange, PluginHealth, UserChange,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{refused, Connection, SyncError};

fn read<T: DeserializeOwned>(
    resp: reqwest::blocking::Response,
    what: &str,
) -> Result<T, SyncError> {
    if !resp.status().is_success() {
        return Err(refused(resp));
    }
    resp.json()
        .map_err(|e| SyncError::Offline(format!("bad {what} response: {e}")))
}

fn done(resp: reqwest::blocking::Response) -> Result<(), SyncError> {
    if !resp.status().is_success() {
        return Err(refused(resp));
    }
    Ok(())
}

impl Connection {
    /// The tenant's accounts (an admin's).
    pub fn admin_users(&self, token: &str) -> Result<Vec<AdminUser>, SyncError> {
        let url = format!("{}/v1/admin/users", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "users",
        )
    }

    /// Invite someone (an admin's): the answer holds their one-time
    /// password, shown this once.
    pub fn admin_invite(
        &self,
        token: &str,
        req: &InviteRequest,
    ) -> Result<OneTimePassword, SyncError> {
        let url = format!("{}/v1/admin/users", self.base);
        read(
            self.send(|| self.http.post(&url).bearer_auth(token).json(req))?,
            "invite",
        )
    }

    /// Change an account's role, team or whether it is disabled (an
    /// admin's); answers the account as it now is.
    pub fn admin_change_user(
        &self,
        token: &str,
        user: Uuid,
        change: &UserChange,
    ) -> Result<AdminUser, SyncError> {
        let url = format!("{}/v1/admin/users/{user}", self.base);
        read(
            self.send(|| self.http.patch(&url).bearer_auth(token).json(change))?,
            "user",
        )
    }

    /// Reset an account's password (an admin's): a new one-time password,
    /// shown this once; the account's devices are signed out.
    pub fn admin_reset_password(
        &self,
        token: &str,
        user: Uuid,
    ) -> Result<OneTimePassword, SyncError> {
        let url = format!("{}/v1/admin/users/{user}/password", self.base);
        read(
            self.send(|| self.http.post(&url).bearer_auth(token))?,
            "reset",
        )
    }

    /// The tenant's devices (an admin's).
    pub fn admin_devices(&self, token: &str) -> Result<Vec<AdminDevice>, SyncError> {
        let url = format!("{}/v1/admin/devices", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "devices",
        )
    }

    /// Revoke a device (an admin's).
    pub fn admin_revoke_device(&self, token: &str, device: Uuid) -> Result<(), SyncError> {
        let url = format!("{}/v1/admin/devices/{device}/revoke", self.base);
        done(self.send(|| self.http.post(&url).bearer_auth(token))?)
    }

    /// The admin changes to accounts and devices, newest first (an admin's).
    pub fn admin_audit(&self, token: &str) -> Result<Vec<AdminAuditEntry>, SyncError> {
        let url = format!("{}/v1/admin/audit", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "audit",
        )
    }

    /// Per plugin and version, what the tenant's devices report (an admin's).
    pub fn admin_plugin_health(&self, token: &str) -> Result<Vec<PluginHealth>, SyncError> {
        let url = format!("{}/v1/admin/plugins/health", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "plugin health",
        )
    }

    /// Set this device's user's own password (the current one is the
    /// one-time one after an invitation or a reset).
    pub fn change_password(&self, token: &str, current: &str, new: &str) -> Result<(), SyncError> {
        let url = format!("{}/v1/account/password", self.base);
        let body = PasswordChange {
            current: current.into(),
            new: new.into(),
        };
        done(self.send(|| self.http.post(&url).bearer_auth(token).json(&body))?)
    }

    /// Report this device's app version and plugins (replaces its previous
    /// report). A report out of the server's bounds is refused here, naming
    /// the field, without a request.
    pub fn report_device(&self, token: &str, report: &DeviceReport) -> Result<(), SyncError> {
        report.check().map_err(|e| SyncError::Refused {
            status: 400,
            code: "bad_report".into(),
            message: e.to_string(),
        })?;
        let url = format!("{}/v1/devices/report", self.base);
        done(self.send(|| self.http.post(&url).bearer_auth(token).json(report))?)
    }
}
