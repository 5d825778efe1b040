//! The device's report of its plugins to the server (`/v1/devices/report`):
//! the app's version and, for each installed plugin, its version, whether
//! it is on, and its health from the runs this device recorded. Admins see
//! the reports beside the catalog (which devices run which version, which
//! fail). Sent after a sync when it changed, and at least once a day.

use crm_core::Store;
use crm_protocol::admin::{DeviceReport, PluginReport, MAX_REPORT_ERROR};
use crm_sync_client::Connection;
use sha2::Digest;

use crate::CatalogError;

/// Runs a plugin's health is judged over (its newest).
const WINDOW: usize = 100;
/// A report unchanged this long is sent again (the server's "last
/// reported" stays fresh).
const RESEND_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What this device would report now.
pub fn plugin_report(store: &Store, app_version: &str) -> Result<DeviceReport, CatalogError> {
    let mut plugins = Vec::new();
    for rec in store.plugins()? {
        let runs = store.plugin_runs(&rec.id, WINDOW)?;
        let errors = runs.iter().filter(|r| !r.ok).count();
        let stopped = !rec.enabled || store.catalog_block(&rec.id)?.is_some();
        let newest_failed = runs.first().is_some_and(|r| !r.ok);
        let health = if stopped {
            "stopped"
        } else if newest_failed {
            "failing"
        } else {
            "ok"
        };
        let last_error = runs.iter().find(|r| !r.ok).map(|r| {
            let text = r
                .message
                .clone()
                .or_else(|| r.error_kind.clone())
                .unwrap_or_else(|| "failed".into());
            text.chars().take(MAX_REPORT_ERROR).collect::<String>()
        });
        plugins.push(PluginReport {
            plugin_id: rec.id,
            version: rec.version,
            enabled: rec.enabled,
            health: health.into(),
            last_error,
            runs: runs.len() as u32,
            errors: errors as u32,
        });
    }
    Ok(DeviceReport {
        app_version: app_version.to_string(),
        plugins,
    })
}

/// Send this device's report when it differs from the last one sent, or
/// that one is a day old. Returns whether it was sent.
pub fn report(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    app_version: &str,
) -> Result<bool, CatalogError> {
    let r = plugin_report(store, app_version)?;
    let digest = hex::encode(sha2::Sha256::digest(
        serde_json::to_vec(&r).unwrap_or_default(),
    ));
    if let Some((sent, at)) = store.plugin_report_sent()? {
        let fresh = chrono::DateTime::parse_from_rfc3339(&at)
            .is_ok_and(|t| chrono::Utc::now() - t.with_timezone(&chrono::Utc) < RESEND_AFTER);
        if sent == digest && fresh {
            return Ok(false);
        }
    }
    conn.report_device(token, &r)?;
    store.set_plugin_report_sent(&digest)?;
    Ok(true)
}
