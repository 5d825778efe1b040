//! What a signed-in device does for itself: set its user's own password
//! (`POST /v1/account/password`, the one request a user who signed in with
//! a one-time password may make) and report its app version and plugins
//! (`POST /v1/devices/report`, replacing its previous report).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use crm_protocol::admin::{DeviceReport, PasswordChange, MAX_PASSWORD, MIN_PASSWORD};

use crate::auth::{self, Bearer};
use crate::client_addr::ClientAddr;
use crate::error::{ApiResult, ServerError};
use crate::{parse_body, sql, AppState};

/// Set one's own password: the current one (the one-time one after an
/// invitation or a reset) and the new one. Wrong current passwords count
/// towards the sign-in limits of the account's email.
#[utoipa::path(post, path = "/v1/account/password", request_body = PasswordChange, security(("device_token" = [])),
    responses((status = 204, description = "changed"), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 403, description = "the current password is wrong", body = crm_protocol::wire::ApiError),
              (status = 429, body = crm_protocol::wire::ApiError), (status = 503, body = crm_protocol::wire::ApiError)))]
pub async fn change_password(
    State(st): State<AppState>,
    ClientAddr(addr): ClientAddr,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let req: PasswordChange = parse_body(body)?;
    if req.current.len() > MAX_PASSWORD {
        return Err(ServerError::bad_request(
            "bad_password",
            format!("current: longer than {MAX_PASSWORD} bytes"),
        ));
    }
    if req.new.chars().count() < MIN_PASSWORD || req.new.len() > MAX_PASSWORD {
        return Err(ServerError::bad_request(
            "weak_password",
            format!("new: a password is {MIN_PASSWORD} characters to {MAX_PASSWORD} bytes"),
        ));
    }
    if req.new == req.current {
        return Err(ServerError::bad_request(
            "same_password",
            "new: choose a password other than the current one",
        ));
    }
    let (mut tx, dev, _) = auth::begin_any(&st.pool, &bearer, false).await?;
    let (email, stored): (String, Option<String>) = sql::query_as(
        "SELECT u.email, crm_password_hash(u.id) FROM users u WHERE u.tenant_id = $1 AND u.id = $2",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let Some(permit) = st.password_checks.try_permit() else {
        return Err(ServerError::Unavailable {
            code: "busy",
            message: "the server is checking as many passwords as it can; try again in a second"
                .into(),
            retry_after_secs: 1,
        });
    };
    let attempt = auth::reserve_attempt(&st.pool, &st.limits, &email, &addr).await?;
    let checks = st.password_checks.clone();
    let current = req.current.clone();
    let new = req.new.clone();
    let (ok, hash) = tokio::task::spawn_blocking(move || {
        let ok = stored.is_some_and(|s| checks.verify(permit, &current, &s));
        let hash = if ok {
            Some(auth::hash_password(&new))
        } else {
            None
        };
        (ok, hash)
    })
    .await
    .map_err(|e| ServerError::Internal(format!("password check: {e}")))?;
    let Some(hash) = hash.filter(|_| ok) else {
        return Err(ServerError::client(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "current: that is not this account's current password",
        ));
    };
    let hash = hash?;
    auth::settle_success(&st.pool, &email, attempt).await?;
    let (mut tx, dev, _) = auth::begin_any(&st.pool, &bearer, false).await?;
    sql::query("SELECT crm_set_password($1, $2)")
        .bind(dev.user_id)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    sql::query(
        "UPDATE users SET otp_expires_at = NULL, otp_used_at = NULL WHERE tenant_id = $1 AND id = $2",
    )
    .bind(dev.tenant_id)
    .bind(dev.user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(tenant = %dev.tenant_id, user = %dev.user_id, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// A device reports its app version and every installed plugin with its
/// health; the report replaces its previous one.
#[utoipa::path(post, path = "/v1/devices/report", request_body = DeviceReport, security(("device_token" = [])),
    responses((status = 204, description = "stored"), (status = 400, description = "a field out of bounds, named", body = crm_protocol::wire::ApiError),
              (status = 401, body = crm_protocol::wire::ApiError)))]
pub async fn report(
    State(st): State<AppState>,
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<StatusCode> {
    let req: DeviceReport = parse_body(body)?;
    req.check()
        .map_err(|e| ServerError::bad_request("bad_report", e.to_string()))?;
    let (mut tx, dev) = auth::begin(&st.pool, &bearer, false).await?;
    sql::query(
        "UPDATE devices SET app_version = $3, last_seen = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(dev.tenant_id)
    .bind(dev.device_id)
    .bind(req.app_version.trim())
    .execute(&mut *tx)
    .await?;
    sql::query("DELETE FROM device_plugins WHERE tenant_id = $1 AND device_id = $2")
        .bind(dev.tenant_id)
        .bind(dev.device_id)
        .execute(&mut *tx)
        .await?;
    let ids: Vec<&str> = req.plugins.iter().map(|p| p.plugin_id.as_str()).collect();
    let versions: Vec<&str> = req.plugins.iter().map(|p| p.version.as_str()).collect();
    let enabled: Vec<bool> = req.plugins.iter().map(|p| p.enabled).collect();
    let health: Vec<&str> = req.plugins.iter().map(|p| p.health.as_str()).collect();
    let errors: Vec<Option<&str>> = req
        .plugins
        .iter()
        .map(|p| p.last_error.as_deref())
        .collect();
    let clamp = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let runs: Vec<i32> = req.plugins.iter().map(|p| clamp(p.runs)).collect();
    let failed: Vec<i32> = req
        .plugins
        .iter()
        .map(|p| clamp(p.errors.min(p.runs)))
        .collect();
    sql::query(
        "INSERT INTO device_plugins (tenant_id, device_id, plugin_id, version, enabled, health, last_error, \
         runs, errors) \
         SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::bool[], $6::text[], $7::text[], \
         $8::int[], $9::int[])",
    )
    .bind(dev.tenant_id)
    .bind(dev.device_id)
    .bind(ids)
    .bind(versions)
    .bind(enabled)
    .bind(health)
    .bind(errors)
    .bind(runs)
    .bind(failed)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
