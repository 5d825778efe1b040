//! Sign in to a sync server, sync now, and the sync state.

use crm_sync_client::{Connection, Options};

use crate::dto::*;
use crate::{ApiError, ApiResult, App};

fn status_dto(s: crm_core::sync::SyncStatus) -> SyncStatusDto {
    SyncStatusDto {
        server: s.server,
        email: s.email,
        last_success: s.last_success,
        pending: s.pending,
        quarantined: s.quarantined,
        held: s.held,
        last_error: s.last_error,
    }
}

impl App {
    /// Server, account, last success, pending changes, last error.
    pub fn sync_status(&self) -> ApiResult<SyncStatusDto> {
        self.read(|s| Ok(status_dto(s.sync_status()?)))
    }

    /// Sign in: registers this device; the device token goes to the OS
    /// keyring (or the encrypted database); the password is not kept.
    pub fn sync_login(&self, args: LoginArgs) -> ApiResult<SyncStatusDto> {
        let server = crm_core::normalize::base_url(&args.server)
            .map_err(|r| ApiError::invalid("server", r))?;
        let email = args.email.trim().to_string();
        if !email.contains('@') {
            return Err(ApiError::invalid(
                "email",
                "give the email you sign in with",
            ));
        }
        if args.password.is_empty() {
            return Err(ApiError::invalid("password", "give your password"));
        }
        let password = zeroize::Zeroizing::new(args.password);
        let conn = Connection::new(&server, Options::default())?;
        let dir = self.data_dir().to_path_buf();
        self.write(|s| {
            let device = s.identity().device_id;
            let resp = conn.login(&email, &password, device, &crm_sync_client::device_name())?;
            s.bind_to_server(&server, &email, resp.tenant_id, resp.user_id, &resp.role)?;
            s.save_device_token(&dir, &resp.token)?;
            Ok(status_dto(s.sync_status()?))
        })
    }

    /// Push local changes and pull the server's, now. The exchange with
    /// the server runs on a connection of its own, never holding the
    /// store the window's commands use: saving, typing and imports go on
    /// while a sync waits on a slow network (its short write transactions
    /// and theirs take turns).
    pub fn sync_now(&self) -> ApiResult<SyncReportDto> {
        let dir = self.data_dir().to_path_buf();
        let s = self.session()?;
        let (mut own, server, token) = {
            let store = crate::lock_store(&s)?;
            let status = store.sync_status()?;
            let (Some(server), Some(token)) = (status.server, store.device_token(&dir)?) else {
                return Err(crm_sync_client::SyncError::NotSignedIn.into());
            };
            (store.open_sibling()?, server, token)
        };
        let conn = Connection::new(&server, Options::default())?;
        let report = crm_sync_client::sync(&mut own, &conn, &token);
        drop(own);
        // Plugins' hooks for what arrived from other devices.
        self.run_hooks(&s, &mut |_, _| true);
        let report = report?;
        Ok(SyncReportDto {
            pushed: report.pushed as u32,
            pulled: report.pulled as u32,
            evicted: report.evicted as u32,
            quarantined: report.quarantined as u32,
        })
    }
}
