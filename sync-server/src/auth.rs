//! Login, device tokens and the authenticated request.
//!
//! Passwords are Argon2id hashes (PHC strings). A login registers the device
//! and returns a random 256-bit token; the server stores only its SHA-256
//! (a random token needs no slow hash: there is nothing to guess). Every
//! request looks the token up again, so a revoked device stops at its next
//! request. Failed logins are counted per email and per client address in
//! PostgreSQL (shared by all server processes) and refused for a while past
//! a limit; failures older than the window are deleted.

use crate::sql::{self, PgPool, Postgres, Transaction};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use rand::RngCore;
use sha2::{Digest, Sha256};

use uuid::Uuid;

use std::time::Duration;

use crate::db;
use crate::error::{ApiResult, ServerError};
use crate::Limits;

/// Failed logins allowed per email within [`FAILURE_WINDOW_SECS`] (the
/// default of [`crate::Limits::login_failures_per_email`]).
pub const MAX_FAILURES: i64 = 10;
/// Failed logins allowed per client address within [`FAILURE_WINDOW_SECS`]
/// (the default of [`crate::Limits::login_failures_per_address`]): enough
/// for an office of people behind one address mistyping now and then, far
/// too few to guess passwords across many accounts.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 50;
/// The rate limit's window (the default of [`crate::Limits::login_window`]).
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// The role of an account within its tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sees own and team contacts and what hangs off them.
    Agent,
    /// Sees the whole tenant.
    Admin,
}

impl Role {
    /// Parse the stored text.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }
}

/// An authenticated device.
#[derive(Clone, Debug)]
pub struct Device {
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The device.
    pub device_id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// The user's role.
    pub role: Role,
}

/// The bearer token of a request (only extracted here; checked by [`begin`]).
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match header.strip_prefix("Bearer ") {
            Some(t) if !t.trim().is_empty() => Ok(Bearer(t.trim().to_string())),
            _ => Err(ServerError::unauthorized(
                "unauthorized",
                "missing device token: send `Authorization: Bearer <token>` (from `crm login`)",
            )),
        }
    }
}

/// SHA-256 of a device token, as stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh random device token (256 bits, hex).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Argon2id hash of a password (PHC string with salt and parameters).
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Internal(format!("argon2: {e}")))
}

/// Check a password against a stored hash (false on any mismatch or a
/// damaged hash).
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Start a transaction for an authenticated request: look the token up,
/// scope the transaction to its tenant and check the device is not revoked.
pub async fn begin(
    pool: &PgPool,
    bearer: &Bearer,
    repeatable_read: bool,
) -> ApiResult<(Transaction<'static, Postgres>, Device)> {
    let mut tx = pool.begin().await?;
    if repeatable_read {
        sql::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
    }
    let found: Option<(Uuid, Uuid)> =
        sql::query_as("SELECT tenant_id, device_id FROM crm_token_lookup($1)")
            .bind(token_hash(&bearer.0))
            .fetch_optional(&mut *tx)
            .await?;
    let Some((tenant_id, device_id)) = found else {
        return Err(ServerError::unauthorized(
            "unauthorized",
            "unknown device token: sign in again with `crm login`",
        ));
    };
    db::set_tenant(&mut tx, tenant_id).await?;
    let row: Option<(Uuid, String, bool)> = sql::query_as(
        "SELECT d.user_id, u.role, d.revoked_at IS NOT NULL FROM devices d \
         JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id \
         WHERE d.tenant_id = $1 AND d.id = $2",
    )
    .bind(tenant_id)
    .bind(device_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, role, revoked)) = row else {
        return Err(ServerError::unauthorized(
            "unauthorized",
            "unknown device token: sign in again with `crm login`",
        ));
    };
    if revoked {
        return Err(ServerError::unauthorized(
            "device_revoked",
            "this device was revoked by an administrator; its token no longer works",
        ));
    }
    let role = Role::parse(&role).ok_or_else(|| ServerError::Internal(format!("role {role:?}")))?;
    Ok((
        tx,
        Device {
            tenant_id,
            device_id,
            user_id,
            role,
        },
    ))
}

/// Count a failed login for rate limiting, under the email tried and the
/// client's address key.
pub async fn record_failure(pool: &PgPool, email: &str, addr: &str) -> ApiResult<()> {
    sql::query("INSERT INTO login_failures (email, addr) VALUES (lower($1), $2)")
        .bind(email)
        .bind(addr)
        .execute(pool)
        .await?;
    Ok(())
}

/// Delete failed logins older than the window: they no longer count, and
/// the table holds at most one window's worth of failures.
pub async fn prune_failures(pool: &PgPool, window: Duration) -> ApiResult<u64> {
    let done =
        sql::query("DELETE FROM login_failures WHERE at <= now() - make_interval(secs => $1)")
            .bind(window.as_secs_f64())
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}

/// Refuse when an email, or the client's address, has failed too often
/// within the window.
pub async fn check_rate(pool: &PgPool, limits: &Limits, email: &str, addr: &str) -> ApiResult<()> {
    let (by_email, by_addr): (i64, i64) = sql::query_as(
        "SELECT count(*) FILTER (WHERE lower(email) = lower($1)), count(*) FILTER (WHERE addr = $2) \
         FROM login_failures WHERE (lower(email) = lower($1) OR addr = $2) \
         AND at > now() - make_interval(secs => $3)",
    )
    .bind(email)
    .bind(addr)
    .bind(limits.login_window.as_secs_f64())
    .fetch_one(pool)
    .await?;
    let wait = in_words(limits.login_window);
    if by_email >= limits.login_failures_per_email {
        return Err(ServerError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed logins for this email; try again in {wait}"),
        ));
    }
    if by_addr >= limits.login_failures_per_address {
        metrics::counter!("sync_login_address_limited_total").increment(1);
        return Err(ServerError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed logins from this network address; try again in {wait}"),
        ));
    }
    Ok(())
}

/// A window for people: "15 minutes", "30 seconds".
fn in_words(d: Duration) -> String {
    let secs = d.as_secs().max(1);
    if secs >= 120 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    }
}
