//! `POST /v1/login`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use crm_protocol::wire::{LoginRequest, LoginResponse};
use uuid::Uuid;

use crate::sql;

use crate::auth::{self, Role};
use crate::client_addr::ClientAddr;
use crate::error::{ApiResult, ServerError};
use crate::{db, parse_body, AppState};

/// A hash to verify against when the email is unknown, so an unknown email
/// takes as long as a wrong password (no account enumeration by timing).
fn decoy_hash() -> &'static str {
    use std::sync::OnceLock;
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| auth::hash_password("decoy password").unwrap_or_default())
}

/// Sign in with email and password; registers the device and returns its token.
#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = crm_protocol::wire::ApiError),
              (status = 401, body = crm_protocol::wire::ApiError), (status = 429, body = crm_protocol::wire::ApiError),
              (status = 503, description = "too many password checks at once; `Retry-After` says when to try again", body = crm_protocol::wire::ApiError)))]
pub async fn login(
    State(st): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<LoginResponse>> {
    let req: LoginRequest = parse_body(body)?;
    // PostgreSQL's text cannot hold NUL: refused here, not as a 500 there.
    if req.email.trim().is_empty() || req.email.len() > 320 || req.email.contains('\0') {
        return Err(ServerError::bad_request(
            "bad_email",
            "email must be 1 to 320 characters, without NUL characters",
        ));
    }
    if req.password.len() > 1024 {
        return Err(ServerError::bad_request(
            "bad_password",
            "password longer than 1024 bytes",
        ));
    }
    if req
        .app_version
        .as_deref()
        .is_some_and(|v| v.chars().count() > 200 || v.contains('\0'))
    {
        return Err(ServerError::bad_request(
            "bad_app_version",
            "app_version must be at most 200 characters, without NUL characters",
        ));
    }
    if req.device_id.is_nil() || req.device_name.len() > 200 || req.device_name.contains('\0') {
        return Err(ServerError::bad_request(
            "bad_device",
            "device_id must be a non-nil UUID and device_name at most 200 characters, \
             without NUL characters",
        ));
    }
    let email = req.email.trim().to_string();
    // A place among the password checks first: a login turned away here
    // costs no Argon2 memory and no database work.
    let Some(permit) = st.password_checks.try_permit() else {
        metrics::counter!("sync_login_busy_total").increment(1);
        return Err(ServerError::Unavailable {
            code: "busy",
            message: "the server is checking as many passwords as it can; try again in a second"
                .into(),
            retry_after_secs: 1,
        });
    };
    auth::prune_failures(&st.pool, st.limits.login_window).await?;
    let attempt = auth::reserve_attempt(&st.pool, &st.limits, &email, &addr).await?;
    let found: Option<(Uuid, Uuid, String)> =
        sql::query_as("SELECT tenant_id, user_id, password_hash FROM crm_login_lookup($1)")
            .bind(&email)
            .fetch_optional(&st.pool)
            .await?;
    let stored = found.as_ref().map(|f| f.2.clone());
    let password = req.password.clone();
    let checks = st.password_checks.clone();
    let ok = tokio::task::spawn_blocking(move || {
        // The decoy is hashed once, here: under the permit, off the runtime.
        let stored = stored.unwrap_or_else(|| decoy_hash().to_string());
        checks.verify(permit, &password, &stored)
    })
    .await
    .map_err(|e| ServerError::Internal(format!("password check: {e}")))?;
    let (tenant_id, user_id) = match (found, ok) {
        (Some((t, u, _)), true) => (t, u),
        _ => {
            // Already counted by the reservation.
            metrics::counter!("sync_login_failures_total").increment(1);
            return Err(ServerError::unauthorized(
                "bad_credentials",
                "wrong email or password",
            ));
        }
    };
    let mut tx = db::tenant_tx(&st.pool, tenant_id).await?;
    // Locked: two sign-ins with one one-time password cannot both use it.
    let (role, disabled, one_time, spent): (String, bool, bool, bool) = sql::query_as(
        "SELECT role, disabled_at IS NOT NULL, otp_expires_at IS NOT NULL, \
         COALESCE(otp_used_at IS NOT NULL OR otp_expires_at <= now(), false) \
         FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    if one_time && spent {
        // Used once already, or expired: as good as a wrong password (and
        // counted as a failure).
        metrics::counter!("sync_login_failures_total").increment(1);
        return Err(ServerError::unauthorized(
            "bad_credentials",
            "wrong email or password",
        ));
    }
    auth::settle_success(&st.pool, &email, attempt).await?;
    if disabled {
        return Err(auth::account_disabled());
    }
    if one_time {
        sql::query("UPDATE users SET otp_used_at = now() WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
    }
    let existing: Option<(Uuid, bool)> = sql::query_as(
        "SELECT user_id, revoked_at IS NOT NULL FROM devices WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant_id)
    .bind(req.device_id)
    .fetch_optional(&mut *tx)
    .await?;
    match existing {
        Some((_, true)) => {
            return Err(ServerError::client(
                StatusCode::FORBIDDEN,
                "device_revoked",
                "this device was revoked; create a new profile to sign in again",
            ))
        }
        Some((owner, false)) if owner != user_id => {
            return Err(ServerError::client(
                StatusCode::CONFLICT,
                "device_taken",
                "this device is registered to another account; create a new profile",
            ))
        }
        Some(_) => {
            sql::query(
                "UPDATE devices SET name = $3, last_seen = now(), \
                 app_version = COALESCE($4, app_version) WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(req.device_id)
            .bind(&req.device_name)
            .bind(&req.app_version)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sql::query(
                "INSERT INTO devices (tenant_id, id, user_id, name, last_seen, app_version) \
                 VALUES ($1, $2, $3, $4, now(), $5)",
            )
            .bind(tenant_id)
            .bind(req.device_id)
            .bind(user_id)
            .bind(&req.device_name)
            .bind(&req.app_version)
            .execute(&mut *tx)
            .await?;
        }
    }
    let token = auth::new_token();
    sql::query("SELECT crm_set_device_token($1, $2)")
        .bind(req.device_id)
        .bind(auth::token_hash(&token))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(tenant = %tenant_id, user = %user_id, device = %req.device_id, "device signed in");
    Ok(Json(LoginResponse {
        tenant_id,
        user_id,
        role: Role::parse(&role).unwrap_or(Role::Agent).as_str().into(),
        device_id: req.device_id,
        token,
        must_change_password: one_time,
    }))
}
