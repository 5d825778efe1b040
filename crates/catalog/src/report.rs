//! The device's report of its plugins to the server (`/v1/devices/report`):
//! the app's version and, for each installed plugin, its version, whether
//! it is on, and its health from the runs this device recorded. Admins see
//! the reports beside the catalog (which devices run which version, which
//! fail). Sent after a sync when it changed, and at least once a day.

use crm_core::Store;
use crm_protocol::admin::{DeviceReport, PluginReport, MAX_REPORTED_PLUGINS, MAX_REPORT_NAME};
use crm_sync_client::Connection;
use sha2::Digest;

use crate::CatalogError;

/// Runs a plugin's health is judged over (its newest).
const WINDOW: usize = 100;
/// The most of a plugin's last error that is sent: enough to tell what
/// failed; a script's message may carry what it was working on, so no more.
const ERROR_SENT: usize = 300;

/// Text as the server takes it: no NUL, at most `max` characters.
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| *c != '\0').take(max).collect()
}
/// A report unchanged this long is sent again (the server's "last
/// reported" stays fresh).
const RESEND_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// What this device would report now.
pub fn plugin_report(store: &Store, app_version: &str) -> Result<DeviceReport, CatalogError> {
    let mut plugins = Vec::new();
    for rec in store.plugins()?.into_iter().take(MAX_REPORTED_PLUGINS) {
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
            clean(&text, ERROR_SENT)
        });
        plugins.push(PluginReport {
            plugin_id: clean(&rec.id, MAX_REPORT_NAME),
            version: clean(&rec.version, MAX_REPORT_NAME),
            enabled: rec.enabled,
            health: health.into(),
            last_error,
            runs: runs.len() as u32,
            errors: errors as u32,
        });
    }
    let report = DeviceReport {
        app_version: clean(app_version, MAX_REPORT_NAME),
        plugins,
    };
    report
        .check()
        .map_err(|e| CatalogError::Refused(format!("the plugin report is not valid: {e}")))?;
    Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crm_core::{FixedPassphrase, KeyStoreChoice, PluginRecord, PluginRun};

    /// A script's error may carry anything: NUL characters and pages of
    /// text. The report still passes the server's checks, keeping only the
    /// start of the message.
    #[test]
    fn a_wild_error_message_still_makes_a_valid_report() {
        let dir = tempfile::tempdir().expect("tmp");
        let pass = FixedPassphrase(zeroize::Zeroizing::new("a long enough passphrase".into()));
        let mut store =
            Store::create(&dir.path().join("p"), KeyStoreChoice::Passphrase, &pass).expect("store");
        store
            .put_plugin(
                &PluginRecord {
                    id: "acme.x".into(),
                    version: "1.0.0".into(),
                    manifest: "{}".into(),
                    package: Vec::new(),
                    signer: None,
                    enabled: true,
                    grants: Vec::new(),
                    disabled_reason: None,
                },
                "installed",
            )
            .expect("plugin");
        for ok in [true, false] {
            store
                .record_plugin_run(&PluginRun {
                    plugin_id: "acme.x".into(),
                    trigger: "action".into(),
                    function: "go".into(),
                    at: "2026-12-07T10:00:00.000Z".into(),
                    duration_us: 10,
                    operations: 1,
                    ok,
                    error_kind: (!ok).then(|| "runtime".into()),
                    message: (!ok).then(|| format!("bad\0{}", "x".repeat(10_000))),
                    record: None,
                    audit_span: None,
                })
                .expect("run");
        }
        let r = plugin_report(&store, "1.2.3").expect("a valid report");
        let p = &r.plugins[0];
        assert_eq!((p.health.as_str(), p.runs, p.errors), ("failing", 2, 1));
        let error = p.last_error.as_deref().expect("its error");
        assert!(error.starts_with("badxxx") && error.chars().count() == ERROR_SENT);
    }
}
