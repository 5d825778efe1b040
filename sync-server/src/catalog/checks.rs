//! The checks a catalog change passes: a mode the catalog knows, grants
//! the version asks for, setting defaults that are settings of the version
//! devices run (never a secret).

use super::*;

pub(super) fn check_mode(mode: &str) -> ApiResult<&'static str> {
    MODES.iter().copied().find(|m| *m == mode).ok_or_else(|| {
        ServerError::bad_request(
            "bad_mode",
            format!("mode {mode:?} is not one of {}", MODES.join(", ")),
        )
    })
}

pub(super) fn check_grants(
    grants: &[String],
    asked: &[String],
    id: &str,
    version: &str,
) -> ApiResult<()> {
    if let Some(g) = grants.iter().find(|g| !asked.contains(g)) {
        return Err(ServerError::bad_request(
            "grant_not_asked",
            format!(
                "{id} {version} does not ask for {g}; it asks for: {}",
                if asked.is_empty() {
                    "nothing".to_string()
                } else {
                    asked.join(", ")
                }
            ),
        ));
    }
    Ok(())
}

/// The manifest of a published version (read from its stored package,
/// verified with the key that signed it).
pub(super) async fn manifest_of(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    plugin: &str,
    version: &str,
) -> ApiResult<crm_package::manifest::Manifest> {
    let (bytes, signer): (Vec<u8>, String) = sql::query_as(
        "SELECT package, signer FROM catalog_packages WHERE tenant_id = $1 AND plugin_id = $2 AND version = $3",
    )
    .bind(tenant)
    .bind(plugin)
    .bind(version)
    .fetch_one(&mut **tx)
    .await?;
    tokio::task::spawn_blocking(move || {
        let key = package::parse_public_key(&signer).map_err(|e| e.to_string())?;
        package::read_package(&bytes, &[key], false)
            .map(|p| p.manifest)
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ServerError::Internal(e.to_string()))?
    .map_err(|e| ServerError::Internal(format!("a stored package no longer reads: {e}")))
}

/// Setting defaults must be settings the plugin has, of their type, and
/// never secrets (those are entered on each device).
pub(super) fn check_settings(
    settings: &std::collections::BTreeMap<String, serde_json::Value>,
    m: &crm_package::manifest::Manifest,
) -> ApiResult<()> {
    for (key, value) in settings {
        let Some(def) = m.settings.iter().find(|s| &s.key == key) else {
            let known: Vec<&str> = m.settings.iter().map(|s| s.key.as_str()).collect();
            return Err(ServerError::bad_request(
                "bad_setting",
                format!(
                    "settings.{key}: {} {} has no such setting; its settings: {}",
                    m.id,
                    m.version,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        def.check_default(value)
            .map_err(|why| ServerError::bad_request("bad_setting", format!("settings.{why}")))?;
    }
    Ok(())
}
