//! Published versions and the catalog entry a device reads: which version
//! devices run (a pin, else the newest release at or above a minimum), its
//! name, what it asks for, its settings and role templates.

use super::*;

/// A stored policy row.
pub(super) type PolicyRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    sql::Json<Vec<String>>,
    sql::Json<std::collections::BTreeMap<String, serde_json::Value>>,
    sql::Json<Audience>,
    Option<String>,
);

pub(super) const POLICY_COLUMNS: &str =
    "plugin_id, mode, pinned_version, min_version, grants, settings, audience, reason";

/// One published version of a plugin.
pub(super) struct Published {
    pub(super) version: semver::Version,
    pub(super) name: String,
    pub(super) sha: String,
    pub(super) permissions: Vec<String>,
    pub(super) role_templates: Vec<RoleTemplate>,
    pub(super) setting_fields: Vec<SettingField>,
}

pub(super) type PublishedRow = (
    String,
    String,
    String,
    String,
    sql::Json<Vec<String>>,
    sql::Json<Vec<RoleTemplate>>,
    sql::Json<Vec<SettingField>>,
);

pub(super) const PUBLISHED_COLUMNS: &str =
    "plugin_id, version, name, sha256, permissions, role_templates, setting_fields";

/// Published versions by plugin, each list oldest first (by semver).
pub(super) fn by_plugin(
    rows: Vec<PublishedRow>,
) -> std::collections::HashMap<String, Vec<Published>> {
    let mut out: std::collections::HashMap<String, Vec<Published>> = Default::default();
    for (plugin, v, name, sha, perms, roles, fields) in rows {
        if let Ok(version) = semver::Version::parse(&v) {
            out.entry(plugin).or_default().push(Published {
                version,
                name,
                sha,
                permissions: perms.0,
                role_templates: roles.0,
                setting_fields: fields.0,
            });
        }
    }
    for list in out.values_mut() {
        list.sort_by(|a, b| a.version.cmp(&b.version));
    }
    out
}

/// Every published version of a plugin, oldest first (by semver).
pub(super) async fn versions(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    plugin: &str,
) -> ApiResult<Vec<Published>> {
    let rows: Vec<PublishedRow> = sql::query_as(&format!(
        "SELECT {PUBLISHED_COLUMNS} FROM catalog_packages WHERE tenant_id = $1 AND plugin_id = $2"
    ))
    .bind(tenant)
    .bind(plugin)
    .fetch_all(&mut **tx)
    .await?;
    Ok(by_plugin(rows).remove(plugin).unwrap_or_default())
}

/// Every published version of every plugin of the tenant, in one query.
pub(super) async fn all_versions(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> ApiResult<std::collections::HashMap<String, Vec<Published>>> {
    let rows: Vec<PublishedRow> = sql::query_as(&format!(
        "SELECT {PUBLISHED_COLUMNS} FROM catalog_packages WHERE tenant_id = $1"
    ))
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    Ok(by_plugin(rows))
}

/// One plugin's entry as it applies to `dev`.
pub(super) async fn entry_for(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    team: Option<&str>,
    id: &str,
) -> ApiResult<Option<CatalogEntry>> {
    let row: Option<PolicyRow> = sql::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM catalog_policies WHERE tenant_id = $1 AND plugin_id = $2"
    ))
    .bind(dev.tenant_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let known = versions(tx, dev.tenant_id, id).await?;
    Ok(Some(entry(row, &known, dev, team)))
}

/// The version devices run: the pinned one, else the newest release at or
/// above the minimum (a pre-release runs only when pinned).
pub(super) fn chosen<'a>(
    known: &'a [Published],
    pin: Option<&str>,
    min: Option<&str>,
) -> Option<&'a Published> {
    match (pin, min) {
        (Some(p), _) => semver::Version::parse(p)
            .ok()
            .and_then(|p| known.iter().find(|k| k.version == p)),
        (None, Some(m)) => semver::Version::parse(m).ok().and_then(|m| {
            known
                .iter()
                .rev()
                .find(|k| k.version >= m && k.version.pre.is_empty())
        }),
        (None, None) => known.iter().rev().find(|k| k.version.pre.is_empty()),
    }
}

pub(super) fn entry(
    row: PolicyRow,
    known: &[Published],
    dev: &Device,
    team: Option<&str>,
) -> CatalogEntry {
    let (plugin_id, mode, pinned, min, grants, settings, audience, reason) = row;
    let chosen = chosen(known, pinned.as_deref(), min.as_deref());
    // What an admin reads of it (name, role templates, what it asks, its
    // settings): the version devices run, else the newest.
    let shown = chosen.or(known.last());
    CatalogEntry {
        name: shown
            .map(|k| k.name.clone())
            .unwrap_or_else(|| plugin_id.clone()),
        version: chosen.map(|k| k.version.to_string()),
        sha256: chosen.map(|k| k.sha.clone()),
        role_templates: shown.map(|k| k.role_templates.clone()).unwrap_or_default(),
        asks: shown.map(|k| k.permissions.clone()).unwrap_or_default(),
        setting_fields: shown.map(|k| k.setting_fields.clone()).unwrap_or_default(),
        applies: audience.0.includes(dev.role.as_str(), team),
        plugin_id,
        mode,
        pinned_version: pinned,
        min_version: min,
        versions: known.iter().map(|k| k.version.to_string()).collect(),
        grants: grants.0,
        settings: settings.0,
        audience: audience.0,
        reason,
    }
}
