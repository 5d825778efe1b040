//! `/v1/catalog`: the tenant's plugin catalog. Admins publish signed
//! packages (verified against the tenant's trusted publishers with the very
//! code devices install with, `crm_package`), set each plugin's policy
//! (mode, version, approved grants, setting defaults, audience) and manage
//! the trusted publishers; every device reads what applies to its user at
//! each sync, and fetches the packages it must install.
//!
//! Every change takes the tenant's catalog row lock first (bumping its
//! revision), so changes are applied one at a time: a policy set racing a
//! publish sees the publish or waits for it, never half of it. Each change
//! is audited in the same transaction. An agent's attempt to change
//! anything is a 403 naming what only an admin may do.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use crm_package::package;
use crm_protocol::catalog::{
    Audience, CatalogAuditEntry, CatalogEntry, CatalogResponse, LocalPluginsRequest, PolicyRequest,
    PublishResponse, Publisher, RoleTemplate, SettingField, TrustRequest, LOCAL_ADMINS,
    LOCAL_PLUGINS, MODES,
};
use serde::Deserialize;
use sha2::Digest;
use uuid::Uuid;

use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::sql::{self, Postgres, Transaction};
use crate::AppState;

mod checks;
mod published;
mod trust;

use checks::*;
use published::*;
pub use trust::*;

/// A policy's setting defaults, by key.
type Defaults = std::collections::BTreeMap<String, serde_json::Value>;

/// Largest package accepted, bytes (what a device would accept too).
pub const MAX_PACKAGE: usize = package::MAX_TOTAL as usize;

/// Take the tenant's catalog lock and move its revision on; returns the
/// new revision. Every change starts here.
async fn bump(tx: &mut Transaction<'static, Postgres>, tenant: Uuid) -> ApiResult<i64> {
    let (rev,): (i64,) = sql::query_as(
        "INSERT INTO catalog_revisions (tenant_id, revision) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET revision = catalog_revisions.revision + 1 \
         RETURNING revision",
    )
    .bind(tenant)
    .fetch_one(&mut **tx)
    .await?;
    Ok(rev)
}

async fn audit(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    plugin: Option<&str>,
    action: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    sql::query(
        "INSERT INTO catalog_audit (tenant_id, actor, plugin_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .bind(plugin)
    .bind(action)
    .bind(sql::Json(detail))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The tenant's trusted publisher keys.
async fn trusted(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> ApiResult<Vec<Publisher>> {
    let rows: Vec<(String, String)> = sql::query_as(
        "SELECT public_key, name FROM catalog_publishers WHERE tenant_id = $1 ORDER BY added_at, public_key",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(public_key, name)| Publisher { public_key, name })
        .collect())
}

/// Query of a publish: the policy a new plugin starts with.
#[derive(Debug, Default, Deserialize)]
pub struct PublishQuery {
    /// One of the modes (a plugin already in the catalog keeps its own
    /// unless one is given).
    pub mode: Option<String>,
    /// Approved grants, comma-separated.
    pub grants: Option<String>,
}

/// Publish a signed package (the body: the package's bytes).
#[utoipa::path(post, path = "/v1/catalog/packages", security(("device_token" = [])),
    request_body(content = Vec<u8>, content_type = "application/zip"),
    responses((status = 200, body = PublishResponse), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError), (status = 409, body = crm_protocol::wire::ApiError),
              (status = 413, body = crm_protocol::wire::ApiError)))]
pub async fn publish(
    State(st): State<AppState>,
    bearer: Bearer,
    query: Query<PublishQuery>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<PublishResponse>> {
    let body = body.map_err(crate::body_error)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "publish a plugin to the catalog")?;
    if body.len() > MAX_PACKAGE {
        return Err(ServerError::client(
            StatusCode::PAYLOAD_TOO_LARGE,
            "package_too_large",
            format!(
                "the package is {} bytes; a package may be at most {MAX_PACKAGE}",
                body.len()
            ),
        ));
    }
    let revision = bump(&mut tx, dev.tenant_id).await?;
    let keys = trusted(&mut tx, dev.tenant_id).await?;
    let keys: Vec<_> = keys
        .iter()
        .filter_map(|p| package::parse_public_key(&p.public_key).ok())
        .collect();
    if keys.is_empty() {
        return Err(ServerError::bad_request(
            "no_publishers",
            "the tenant trusts no publisher yet: trust the key the package is signed with first \
             (crm catalog trust KEY.pub --name NAME)",
        ));
    }
    // Verification reads and hashes the whole package: off the runtime's
    // threads.
    let bytes = body.to_vec();
    let checked = tokio::task::spawn_blocking(move || {
        package::read_package(&bytes, &keys, false).map(|p| (p, bytes))
    })
    .await
    .map_err(|e| ServerError::Internal(e.to_string()))?;
    let (pkg, bytes) = checked.map_err(|e| {
        ServerError::bad_request("package_refused", format!("the package was refused: {e}"))
    })?;
    let m = pkg.manifest;
    let signer = pkg.signer.unwrap_or_default();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    // One publisher per plugin: another key cannot take a plugin over
    // (devices that have it would refuse the update, new ones would run
    // the other publisher's code).
    let owner: Option<(String,)> = sql::query_as(
        "SELECT signer FROM catalog_packages WHERE tenant_id = $1 AND plugin_id = $2 LIMIT 1",
    )
    .bind(dev.tenant_id)
    .bind(&m.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((owner,)) = owner.filter(|(o,)| *o != signer) {
        return Err(ServerError::client(
            StatusCode::CONFLICT,
            "other_publisher",
            format!(
                "{} is published by the key {}…; this package is signed by {}…: only its own publisher may publish new versions",
                m.id,
                owner.chars().take(16).collect::<String>(),
                signer.chars().take(16).collect::<String>()
            ),
        ));
    }
    let existing: Option<(String,)> = sql::query_as(
        "SELECT sha256 FROM catalog_packages WHERE tenant_id = $1 AND plugin_id = $2 AND version = $3",
    )
    .bind(dev.tenant_id)
    .bind(&m.id)
    .bind(&m.version)
    .fetch_optional(&mut *tx)
    .await?;
    match existing {
        Some((s,)) if s == sha => {}
        Some(_) => {
            return Err(ServerError::client(
                StatusCode::CONFLICT,
                "version_exists",
                format!(
                    "{} {} is already published with other contents; publish it as a new version",
                    m.id, m.version
                ),
            ))
        }
        None => {
            sql::query(
                "INSERT INTO catalog_packages (tenant_id, plugin_id, version, name, package, sha256, signer, \
                 permissions, uploaded_by, role_templates, setting_fields) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(dev.tenant_id)
            .bind(&m.id)
            .bind(&m.version)
            .bind(&m.name)
            .bind(&bytes)
            .bind(&sha)
            .bind(&signer)
            .bind(sql::Json(serde_json::json!(m.permissions)))
            .bind(dev.user_id)
            .bind(sql::Json(
                m.role_templates
                    .iter()
                    .map(|r| RoleTemplate {
                        name: r.name.clone(),
                        permissions: r.permissions.clone(),
                    })
                    .collect::<Vec<_>>(),
            ))
            .bind(sql::Json(
                m.settings
                    .iter()
                    .filter(|x| x.kind != crm_package::manifest::SettingType::Secret)
                    .map(|x| SettingField {
                        key: x.key.clone(),
                        label: x.label.clone(),
                        kind: serde_json::to_value(x.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default(),
                        choices: x.choices.clone(),
                    })
                    .collect::<Vec<_>>(),
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    // Devices that follow the newest version keep the agency's setting
    // defaults: each must still be a setting of this version and not a
    // secret (a default would otherwise reach every device as plain text).
    let kept: Option<(Option<String>, sql::Json<Defaults>)> = sql::query_as(
        "SELECT pinned_version, settings FROM catalog_policies WHERE tenant_id = $1 AND plugin_id = $2",
    )
    .bind(dev.tenant_id)
    .bind(&m.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((None, settings)) = kept.filter(|(_, s)| !s.0.is_empty()) {
        check_settings(&settings.0, &m).map_err(|e| match e {
            ServerError::Client { message, .. } => ServerError::bad_request(
                "bad_setting",
                format!(
                    "{message}: the catalog gives it a default; change the defaults first \
                     (crm catalog set {} --setting …)",
                    m.id
                ),
            ),
            other => other,
        })?;
    }
    let mode = match &query.mode {
        Some(mode) => Some(check_mode(mode)?),
        None => None,
    };
    let grants: Option<Vec<String>> = query.grants.as_deref().map(|g| {
        g.split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(String::from)
            .collect()
    });
    if let Some(g) = &grants {
        check_grants(g, &m.permissions, &m.id, &m.version)?;
    }
    sql::query(
        "INSERT INTO catalog_policies (tenant_id, plugin_id, mode, grants, updated_by) \
         VALUES ($1, $2, coalesce($3, 'allowed'), coalesce($4, '[]'::jsonb), $5) \
         ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET \
           mode = coalesce($3, catalog_policies.mode), grants = coalesce($4, catalog_policies.grants), \
           updated_by = $5, updated_at = now()",
    )
    .bind(dev.tenant_id)
    .bind(&m.id)
    .bind(mode)
    .bind(grants.as_ref().map(|g| sql::Json(serde_json::json!(g))))
    .bind(dev.user_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &dev,
        Some(&m.id),
        "published",
        serde_json::json!({ "version": m.version, "sha256": sha, "signer": signer,
                            "mode": mode, "grants": grants }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(PublishResponse {
        plugin_id: m.id,
        version: m.version,
        sha256: sha,
        permissions: m.permissions,
        revision,
    }))
}

/// Set a plugin's policy.
#[utoipa::path(put, path = "/v1/catalog/plugins/{id}", request_body = PolicyRequest,
    params(("id" = String, Path, description = "plugin id")), security(("device_token" = [])),
    responses((status = 200, body = CatalogEntry), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError), (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn set_policy(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<CatalogEntry>> {
    let req: PolicyRequest = crate::parse_body(body)?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    crate::admin_api::admin_only(&dev, "change the plugin catalog")?;
    bump(&mut tx, dev.tenant_id).await?;
    let known = versions(&mut tx, dev.tenant_id, &id).await?;
    if known.is_empty() {
        return Err(ServerError::client(
            StatusCode::NOT_FOUND,
            "no_plugin",
            format!("{id} is not in the catalog: publish a package of it first"),
        ));
    }
    let listed = || {
        known
            .iter()
            .map(|v| v.version.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mode = req.mode.as_deref().map(check_mode).transpose()?;
    let parse = |field: &'static str, v: &str| {
        semver::Version::parse(v).map_err(|e| {
            ServerError::bad_request(
                "bad_version",
                format!("{field} {v:?} is not a version: {e}"),
            )
        })
    };
    if let Some(v) = &req.version {
        let v = parse("version", v)?;
        if !known.iter().any(|k| k.version == v) {
            return Err(ServerError::bad_request(
                "no_version",
                format!("{id} {v} was never published; published: {}", listed()),
            ));
        }
    }
    if let Some(v) = &req.min_version {
        let v = parse("min_version", v)?;
        if !known.iter().any(|k| k.version >= v) {
            return Err(ServerError::bad_request(
                "no_version",
                format!(
                    "no published version of {id} is {v} or newer; published: {}",
                    listed()
                ),
            ));
        }
    }
    // Grants and setting defaults are checked against the version devices
    // will run once this applies (as `entry` chooses it), with the stored
    // pin, minimum and defaults where the request leaves them: a pin moved
    // to a version whose setting is a secret must not keep a default for it.
    let (stored_pin, stored_min, stored_settings): (
        Option<String>,
        Option<String>,
        sql::Json<Defaults>,
    ) = sql::query_as(
        "SELECT pinned_version, min_version, settings FROM catalog_policies \
         WHERE tenant_id = $1 AND plugin_id = $2",
    )
    .bind(dev.tenant_id)
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    let (pin_after, min_after) = match (&req.version, &req.min_version) {
        (Some(v), _) => (Some(v.clone()), None),
        (None, Some(m)) => (None, Some(m.clone())),
        (None, None) => (stored_pin, stored_min),
    };
    let target = chosen(&known, pin_after.as_deref(), min_after.as_deref())
        .or_else(|| known.last())
        .ok_or_else(|| ServerError::Internal("no version".into()))?;
    if let Some(g) = &req.grants {
        check_grants(g, &target.permissions, &id, &target.version.to_string())?;
    }
    let version_moves = req.version.is_some() || req.min_version.is_some();
    let settings_after = match &req.settings {
        Some(s) => Some(s),
        None if version_moves => Some(&stored_settings.0),
        None => None,
    };
    if let Some(settings) = settings_after.filter(|s| !s.is_empty()) {
        let version = target.version.to_string();
        let m = manifest_of(&mut tx, dev.tenant_id, &id, &version).await?;
        check_settings(settings, &m)?;
    }
    if let Some(a) = &req.audience {
        if let Some(r) = a.roles.iter().find(|r| Role::parse(r).is_none()) {
            return Err(ServerError::bad_request(
                "bad_role",
                format!("audience.roles: {r:?} is not a role (agent, admin)"),
            ));
        }
    }
    // A pin clears a minimum and the other way round.
    let (pin, min) = match (&req.version, &req.min_version) {
        (Some(_), Some(_)) => {
            return Err(ServerError::bad_request(
                "pin_and_minimum",
                "give a version to pin or a minimum version, not both",
            ))
        }
        (Some(v), None) => (Some(Some(v.clone())), Some(None)),
        (None, Some(v)) => (Some(None), Some(Some(v.clone()))),
        (None, None) => (None, None),
    };
    sql::query(
        "UPDATE catalog_policies SET \
           mode = coalesce($3, mode), \
           pinned_version = CASE WHEN $4 THEN $5 ELSE pinned_version END, \
           min_version = CASE WHEN $6 THEN $7 ELSE min_version END, \
           grants = coalesce($8, grants), settings = coalesce($9, settings), \
           audience = coalesce($10, audience), reason = CASE WHEN $11 THEN $12 ELSE reason END, \
           updated_by = $13, updated_at = now() \
         WHERE tenant_id = $1 AND plugin_id = $2",
    )
    .bind(dev.tenant_id)
    .bind(&id)
    .bind(mode)
    .bind(pin.is_some())
    .bind(pin.clone().flatten())
    .bind(min.is_some())
    .bind(min.clone().flatten())
    .bind(req.grants.as_ref().map(|g| sql::Json(serde_json::json!(g))))
    .bind(
        req.settings
            .as_ref()
            .map(|s| sql::Json(serde_json::json!(s))),
    )
    .bind(
        req.audience
            .as_ref()
            .map(|a| sql::Json(serde_json::json!(a))),
    )
    .bind(req.reason.is_some())
    .bind(
        req.reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty()),
    )
    .bind(dev.user_id)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &dev,
        Some(&id),
        "policy_set",
        serde_json::to_value(&req).unwrap_or_default(),
    )
    .await?;
    let team = auth::user_team(&mut tx, &dev).await?;
    let entry = entry_for(&mut tx, &dev, team.as_deref(), &id).await?;
    tx.commit().await?;
    entry
        .map(Json)
        .ok_or_else(|| ServerError::Internal("policy vanished".into()))
}

/// Query of a catalog read.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct CatalogQuery {
    /// The revision the device has: answered `unchanged` when it is current.
    pub since: Option<i64>,
}

/// The catalog as it applies to this device's user: every plugin with a
/// policy (with `applies` telling whether the user is in its audience),
/// and the trusted publishers; or `unchanged`.
#[utoipa::path(get, path = "/v1/catalog", params(CatalogQuery), security(("device_token" = [])),
    responses((status = 200, body = CatalogResponse), (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn catalog(
    State(st): State<AppState>,
    bearer: Bearer,
    Query(q): Query<CatalogQuery>,
) -> ApiResult<Json<CatalogResponse>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, true).await?;
    let (revision, local_plugins): (i64, String) =
        sql::query_as("SELECT revision, local_plugins FROM catalog_revisions WHERE tenant_id = $1")
            .bind(dev.tenant_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or_else(|| (0, LOCAL_ADMINS.to_string()));
    if q.since == Some(revision) {
        tx.commit().await?;
        return Ok(Json(CatalogResponse {
            revision,
            unchanged: true,
            publishers: Vec::new(),
            plugins: Vec::new(),
            local_plugins,
        }));
    }
    let team = auth::user_team(&mut tx, &dev).await?;
    let rows: Vec<PolicyRow> = sql::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM catalog_policies WHERE tenant_id = $1 ORDER BY plugin_id"
    ))
    .bind(dev.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut published = all_versions(&mut tx, dev.tenant_id).await?;
    let mut plugins = Vec::with_capacity(rows.len());
    for row in rows {
        let known = published.remove(&row.0).unwrap_or_default();
        plugins.push(entry(row, &known, &dev, team.as_deref()));
    }
    let publishers = trusted(&mut tx, dev.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(CatalogResponse {
        revision,
        unchanged: false,
        publishers,
        plugins,
        local_plugins,
    }))
}

/// A published package's bytes, for a device whose user is in the plugin's
/// audience (and that may run it: not blocked or removed).
#[utoipa::path(get, path = "/v1/catalog/packages/{id}/{version}",
    params(("id" = String, Path, description = "plugin id"), ("version" = String, Path, description = "version")),
    security(("device_token" = [])),
    responses((status = 200, description = "the package (zip)"), (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn package_bytes(
    State(st): State<AppState>,
    bearer: Bearer,
    Path((id, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    let team = auth::user_team(&mut tx, &dev).await?;
    let entry = entry_for(&mut tx, &dev, team.as_deref(), &id).await?;
    let may = entry.is_some_and(|e| {
        (e.applies || dev.role == Role::Admin) && !matches!(e.mode.as_str(), "blocked" | "removed")
    });
    let row: Option<(Vec<u8>,)> = if may {
        sql::query_as(
            "SELECT package FROM catalog_packages WHERE tenant_id = $1 AND plugin_id = $2 AND version = $3",
        )
        .bind(dev.tenant_id)
        .bind(&id)
        .bind(&version)
        .fetch_optional(&mut *tx)
        .await?
    } else {
        None
    };
    tx.commit().await?;
    let Some((bytes,)) = row else {
        return Err(ServerError::client(
            StatusCode::NOT_FOUND,
            "no_package",
            format!("no package {id} {version} for this device"),
        ));
    };
    Ok(([(header::CONTENT_TYPE, "application/zip")], bytes).into_response())
}
