//! `/v1/admin…`: the tenant's admins manage its accounts and devices over
//! the API (what the operator's commands in [`crate::admin`] do on the
//! server, and through the same functions): list, invite with a one-time
//! password, change role and team (with their evictions and catalog
//! revision), disable and enable, reset a password, list and revoke
//! devices, read the plugin health devices report and the audit of every
//! change. An agent's request is a 403 naming what only an admin may do.
//!
//! A one-time password is random (20 characters of an alphabet without
//! look-alikes, about 115 bits), answered once, stored only as its Argon2
//! hash, and good for one sign-in within [`ONE_TIME_DAYS`] days; until the
//! user sets their own, their token is refused everywhere but
//! `/v1/account/password` (see [`crate::auth::begin`]).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use crm_protocol::admin::{
    AdminAuditEntry, AdminDevice, AdminUser, InviteRequest, OneTimePassword, PluginError,
    PluginHealth, UserChange,
};
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use crate::admin::{self as ops, ViewChange};
use crate::auth::{self, Bearer, Device, Role};
use crate::error::{ApiResult, ServerError};
use crate::sql::{self, Postgres, Transaction};
use crate::{parse_body, AppState};

/// How long a one-time password works, days.
pub const ONE_TIME_DAYS: i32 = 7;
/// The one-time password's alphabet: no 0/O/o, 1/l/I/i, L.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
/// Its length, in characters (dashes aside).
const ONE_TIME_LEN: usize = 20;

/// RFC 3339 text of a timestamp column, in UTC.
pub(crate) fn ts(col: &str) -> String {
    format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

/// A fresh one-time password, in groups of four: `AbC4-…`.
pub fn one_time_password() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut out = String::with_capacity(ONE_TIME_LEN + ONE_TIME_LEN / 4);
    for i in 0..ONE_TIME_LEN {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    out
}

async fn hash_off_runtime(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ServerError::Internal(format!("password hash: {e}")))?
}

pub(crate) fn admin_only(dev: &Device, what: &str) -> ApiResult<()> {
    match dev.role {
        Role::Admin => Ok(()),
        Role::Agent => Err(ServerError::client(
            StatusCode::FORBIDDEN,
            "admin_only",
            format!("only an admin can {what}; this device's user is an agent"),
        )),
    }
}

fn role_of(text: &str) -> ApiResult<Role> {
    Role::parse(text.trim()).ok_or_else(|| {
        ServerError::bad_request(
            "bad_role",
            format!("role must be agent or admin (got {text:?})"),
        )
    })
}

fn team_of(team: Option<&str>) -> ApiResult<Option<&str>> {
    let team = team.map(str::trim);
    if team.is_some_and(|t| t.is_empty() || t.chars().count() > 100 || t.contains('\0')) {
        return Err(ServerError::bad_request(
            "bad_team",
            "team must be 1 to 100 characters without NUL characters (null for none)",
        ));
    }
    Ok(team)
}

/// Record an admin change in the tenant's audit.
async fn audit(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
    action: &str,
    user: Option<Uuid>,
    device: Option<Uuid>,
    detail: serde_json::Value,
) -> ApiResult<()> {
    sql::query(
        "INSERT INTO admin_audit (tenant_id, actor, action, user_id, device_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .bind(action)
    .bind(user)
    .bind(device)
    .bind(sql::Json(detail))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

type UserRow = (
    Uuid,
    String,
    String,
    Option<String>,
    bool,
    String,
    Option<String>,
    i64,
    bool,
);

fn user_query(filter: &str) -> String {
    format!(
        "SELECT u.id, u.email, u.role, u.team, u.disabled_at IS NOT NULL, {created}, \
         (SELECT {seen} FROM devices d WHERE d.tenant_id = u.tenant_id AND d.user_id = u.id), \
         (SELECT count(*) FROM devices d WHERE d.tenant_id = u.tenant_id AND d.user_id = u.id), \
         u.otp_expires_at IS NOT NULL \
         FROM users u WHERE u.tenant_id = $1 {filter} ORDER BY lower(u.email)",
        created = ts("u.created_at"),
        seen = ts("max(d.last_seen)"),
    )
}

fn user_of(r: UserRow) -> AdminUser {
    AdminUser {
        id: r.0,
        email: r.1,
        role: r.2,
        team: r.3,
        disabled: r.4,
        created_at: r.5,
        last_seen: r.6,
        devices: r.7,
        one_time_password_pending: r.8,
    }
}

async fn one_user(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<AdminUser> {
    let row: UserRow = sql::query_as(&user_query("AND u.id = $2"))
        .bind(tenant)
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(user_of(row))
}

/// The tenant's accounts (admins).
#[utoipa::path(get, path = "/v1/admin/users", security(("device_token" = [])),
    responses((status = 200, body = Vec<AdminUser>), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn users(State(st): State<AppState>, bearer: Bearer) -> ApiResult<Json<Vec<AdminUser>>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "list the agency's users")?;
    let rows: Vec<UserRow> = sql::query_as(&user_query(""))
        .bind(dev.tenant_id)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(rows.into_iter().map(user_of).collect()))
}

/// Invite someone: a new account with a one-time password, answered once.
#[utoipa::path(post, path = "/v1/admin/users", request_body = InviteRequest, security(("device_token" = [])),
    responses((status = 200, body = OneTimePassword), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError), (status = 409, description = "the email has an account", body = crm_protocol::wire::ApiError)))]
pub async fn invite(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<OneTimePassword>> {
    let (tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "invite users")?;
    drop(tx);
    let req: InviteRequest = parse_body(body)?;
    let email = req.email.trim();
    if email.is_empty() || email.len() > 320 || email.contains('\0') || !email.contains('@') {
        return Err(ServerError::bad_request(
            "bad_email",
            "email must be an address of 1 to 320 characters, without NUL characters",
        ));
    }
    let role = role_of(&req.role)?;
    let team = team_of(req.team.as_deref())?;
    let password = one_time_password();
    let hash = hash_off_runtime(password.clone()).await?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "invite users")?;
    let id = Uuid::now_v7();
    ops::insert_user(&mut tx, dev.tenant_id, id, email, role, team, &hash).await?;
    let (expires_at,): (String,) = sql::query_as(&format!(
        "UPDATE users SET otp_expires_at = now() + make_interval(days => $3) \
         WHERE tenant_id = $1 AND id = $2 RETURNING {}",
        ts("otp_expires_at")
    ))
    .bind(dev.tenant_id)
    .bind(id)
    .bind(ONE_TIME_DAYS)
    .fetch_one(&mut *tx)
    .await?;
    audit(
        &mut tx,
        &dev,
        "invited",
        Some(id),
        None,
        json!({"email": email, "role": role.as_str(), "team": team}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %dev.tenant_id, by = %dev.user_id, user = %id, "user invited");
    Ok(Json(OneTimePassword {
        user_id: id,
        email: email.to_string(),
        password,
        expires_at,
    }))
}

/// Change an account's role, team, or whether it is disabled.
#[utoipa::path(patch, path = "/v1/admin/users/{id}", request_body = UserChange, security(("device_token" = [])),
    params(("id" = Uuid, Path, description = "the user")),
    responses((status = 200, body = AdminUser), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError), (status = 404, body = crm_protocol::wire::ApiError),
              (status = 409, description = "it would leave the agency without an active admin", body = crm_protocol::wire::ApiError)))]
pub async fn change_user(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(id): Path<Uuid>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<AdminUser>> {
    let (tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "change users")?;
    drop(tx);
    let req: UserChange = parse_body(body)?;
    let role = req.role.as_deref().map(role_of).transpose()?;
    let team = match &req.team {
        Some(t) => Some(team_of(t.as_deref())?),
        None => None,
    };
    let user = ops::retrying(|| change_once(&st, &bearer, id, role, team, req.disabled)).await?;
    Ok(Json(user))
}

async fn change_once(
    st: &AppState,
    bearer: &Bearer,
    id: Uuid,
    role: Option<Role>,
    team: Option<Option<&str>>,
    disabled: Option<bool>,
) -> ApiResult<AdminUser> {
    let (mut tx, dev) = auth::begin(&st.pool, bearer, false).await?;
    admin_only(&dev, "change users")?;
    let t = dev.tenant_id;
    let u = ops::lock_user(&mut tx, t, id).await?;
    let (was_disabled,): (bool,) =
        sql::query_as("SELECT disabled_at IS NOT NULL FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(t)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    let demoted = role == Some(Role::Agent);
    if u.role == Role::Admin && !was_disabled && (demoted || disabled == Some(true)) {
        // The tenant's lock (taken by lock_user) serialises this check.
        let (others,): (i64,) = sql::query_as(
            "SELECT count(*) FROM users WHERE tenant_id = $1 AND id <> $2 \
             AND role = 'admin' AND disabled_at IS NULL",
        )
        .bind(t)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Err(ServerError::client(
                StatusCode::CONFLICT,
                "last_admin",
                "this is the agency's last active admin: make another user an admin first",
            ));
        }
    }
    let mut u = u;
    if let Some(role) = role.filter(|r| *r != u.role) {
        let ViewChange {
            evictions,
            renumbered,
        } = ops::apply_role(&mut tx, &u, role).await?;
        audit(
            &mut tx,
            &dev,
            "role_set",
            Some(id),
            None,
            json!({"from": u.role.as_str(), "to": role.as_str(), "evictions": evictions, "renumbered": renumbered}),
        )
        .await?;
        u.role = role;
    }
    if let Some(team) = team.filter(|t| *t != u.team.as_deref()) {
        let ViewChange {
            evictions,
            renumbered,
        } = ops::apply_team(&mut tx, &u, team).await?;
        audit(
            &mut tx,
            &dev,
            "team_set",
            Some(id),
            None,
            json!({"from": u.team, "to": team, "evictions": evictions, "renumbered": renumbered}),
        )
        .await?;
    }
    if let Some(disable) = disabled.filter(|d| *d != was_disabled) {
        sql::query(
            "UPDATE users SET disabled_at = CASE WHEN $3 THEN now() END \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(t)
        .bind(id)
        .bind(disable)
        .execute(&mut *tx)
        .await?;
        let action = if disable { "disabled" } else { "enabled" };
        audit(&mut tx, &dev, action, Some(id), None, json!({})).await?;
    }
    let user = one_user(&mut tx, t, id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Reset an account's password: a new one-time password, answered once;
/// the account's devices are signed out.
#[utoipa::path(post, path = "/v1/admin/users/{id}/password", security(("device_token" = [])),
    params(("id" = Uuid, Path, description = "the user")),
    responses((status = 200, body = OneTimePassword), (status = 403, body = crm_protocol::wire::ApiError),
              (status = 404, body = crm_protocol::wire::ApiError)))]
pub async fn reset_password(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OneTimePassword>> {
    let (tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "reset passwords")?;
    drop(tx);
    let password = one_time_password();
    let hash = hash_off_runtime(password.clone()).await?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "reset passwords")?;
    let found: Option<(String, String)> = sql::query_as(&format!(
        "UPDATE users SET otp_expires_at = now() + make_interval(days => $3), otp_used_at = NULL \
         WHERE tenant_id = $1 AND id = $2 RETURNING email, {}",
        ts("otp_expires_at")
    ))
    .bind(dev.tenant_id)
    .bind(id)
    .bind(ONE_TIME_DAYS)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, expires_at)) = found else {
        return Err(ServerError::client(
            StatusCode::NOT_FOUND,
            "no_user",
            format!("no user {id} in this tenant"),
        ));
    };
    sql::query("SELECT crm_set_password($1, $2)")
        .bind(id)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sql::query("SELECT crm_drop_user_tokens($1)")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        &dev,
        "password_reset",
        Some(id),
        None,
        json!({"email": email}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %dev.tenant_id, by = %dev.user_id, user = %id, "password reset");
    Ok(Json(OneTimePassword {
        user_id: id,
        email,
        password,
        expires_at,
    }))
}

type DeviceRow = (
    Uuid,
    String,
    Uuid,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The tenant's devices (admins).
#[utoipa::path(get, path = "/v1/admin/devices", security(("device_token" = [])),
    responses((status = 200, body = Vec<AdminDevice>), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn devices(
    State(st): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<Vec<AdminDevice>>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "list the agency's devices")?;
    let rows: Vec<DeviceRow> = sql::query_as(&format!(
        "SELECT d.id, d.name, d.user_id, u.email, {}, {}, d.app_version, {} FROM devices d \
         JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id \
         WHERE d.tenant_id = $1 ORDER BY lower(u.email), d.created_at",
        ts("d.created_at"),
        ts("d.last_seen"),
        ts("d.revoked_at"),
    ))
    .bind(dev.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AdminDevice {
                id: r.0,
                name: r.1,
                user_id: r.2,
                user_email: r.3,
                created_at: r.4,
                last_seen: r.5,
                app_version: r.6,
                revoked: r.7.is_some(),
                revoked_at: r.7,
            })
            .collect(),
    ))
}

/// Revoke a device: its token is refused from its next request on.
#[utoipa::path(post, path = "/v1/admin/devices/{id}/revoke", security(("device_token" = [])),
    params(("id" = Uuid, Path, description = "the device")),
    responses((status = 204, description = "revoked"), (status = 400, description = "no such active device", body = crm_protocol::wire::ApiError),
              (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn revoke(
    State(st): State<AppState>,
    bearer: Bearer,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "revoke devices")?;
    ops::revoke_in(&mut tx, dev.tenant_id, id).await?;
    let (user,): (Uuid,) =
        sql::query_as("SELECT user_id FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(dev.tenant_id)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    audit(
        &mut tx,
        &dev,
        "device_revoked",
        Some(user),
        Some(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

type AuditRow = (
    String,
    Option<String>,
    String,
    Option<Uuid>,
    Option<Uuid>,
    sql::Json<serde_json::Value>,
);

/// The admin changes to accounts and devices, newest first (admins).
#[utoipa::path(get, path = "/v1/admin/audit", security(("device_token" = [])),
    responses((status = 200, body = Vec<AdminAuditEntry>), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn audit_log(
    State(st): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<Vec<AdminAuditEntry>>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    admin_only(&dev, "read the admin audit")?;
    let rows: Vec<AuditRow> = sql::query_as(&format!(
        "SELECT {}, u.email, a.action, a.user_id, a.device_id, a.detail FROM admin_audit a \
         LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor \
         WHERE a.tenant_id = $1 ORDER BY a.seq DESC LIMIT 500",
        ts("a.at")
    ))
    .bind(dev.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(
        rows.into_iter()
            .map(
                |(at, actor, action, user_id, device_id, detail)| AdminAuditEntry {
                    at,
                    actor: actor.unwrap_or_else(|| "a removed user".into()),
                    action,
                    user_id,
                    device_id,
                    detail: detail.0,
                },
            )
            .collect(),
    ))
}

/// Last errors listed per plugin version.
const ERRORS_SHOWN: i64 = 5;

/// Per plugin and version, what the tenant's devices (not revoked) report.
#[utoipa::path(get, path = "/v1/admin/plugins/health", security(("device_token" = [])),
    responses((status = 200, body = Vec<PluginHealth>), (status = 403, body = crm_protocol::wire::ApiError)))]
pub async fn plugin_health(
    State(st): State<AppState>,
    bearer: Bearer,
) -> ApiResult<Json<Vec<PluginHealth>>> {
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, true).await?;
    admin_only(&dev, "read the plugin health of devices")?;
    type Counts = (String, String, i64, i64, i64, i64, i64, i64);
    let counts: Vec<Counts> = sql::query_as(
        "SELECT p.plugin_id, p.version, count(*), count(*) FILTER (WHERE p.enabled), \
         count(*) FILTER (WHERE p.health = 'failing'), count(*) FILTER (WHERE p.health = 'stopped'), \
         coalesce(sum(p.runs), 0)::bigint, coalesce(sum(p.errors), 0)::bigint \
         FROM device_plugins p JOIN devices d ON d.tenant_id = p.tenant_id AND d.id = p.device_id \
         WHERE p.tenant_id = $1 AND d.revoked_at IS NULL \
         GROUP BY p.plugin_id, p.version ORDER BY p.plugin_id, p.version",
    )
    .bind(dev.tenant_id)
    .fetch_all(&mut *tx)
    .await?;
    let errors: Vec<(String, String, Uuid, String, String, String)> = sql::query_as(&format!(
        "SELECT plugin_id, version, device_id, name, last_error, at FROM ( \
           SELECT p.plugin_id, p.version, p.device_id, d.name, p.last_error, {} AS at, \
           row_number() OVER (PARTITION BY p.plugin_id, p.version ORDER BY p.reported_at DESC) AS n \
           FROM device_plugins p JOIN devices d ON d.tenant_id = p.tenant_id AND d.id = p.device_id \
           WHERE p.tenant_id = $1 AND d.revoked_at IS NULL AND p.last_error <> '') e \
         WHERE n <= $2 ORDER BY at DESC",
        ts("p.reported_at")
    ))
    .bind(dev.tenant_id)
    .bind(ERRORS_SHOWN)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut by: HashMap<(String, String), Vec<PluginError>> = HashMap::new();
    for (plugin, version, device_id, device_name, error, reported_at) in errors {
        by.entry((plugin, version)).or_default().push(PluginError {
            device_id,
            device_name,
            error,
            reported_at,
        });
    }
    Ok(Json(
        counts
            .into_iter()
            .map(
                |(plugin_id, version, devices, enabled, failing, stopped, runs, errors)| {
                    let last_errors = by
                        .remove(&(plugin_id.clone(), version.clone()))
                        .unwrap_or_default();
                    PluginHealth {
                        plugin_id,
                        version,
                        devices,
                        enabled,
                        failing,
                        stopped,
                        runs,
                        errors,
                        last_errors,
                    }
                },
            )
            .collect(),
    ))
}
