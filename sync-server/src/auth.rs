//! Login, device tokens and the authenticated request.
//!
//! Passwords are Argon2id hashes (PHC strings). A login registers the device
//! and returns a random 256-bit token; the server stores only its SHA-256
//! (a random token needs no slow hash: there is nothing to guess). Every
//! request looks the token up again, so a revoked device stops at its next
//! request. Failed logins are counted per email and per client address in
//! PostgreSQL (shared by all server processes) and refused for a while past
//! a limit; failures older than the window are deleted. Every attempt is
//! counted as a failure before its password is checked ([`reserve_attempt`])
//! and the count taken back when the password was right
//! ([`settle_success`]), so concurrent attempts cannot all pass one check.
//! At most [`crate::Limits::password_checks`] Argon2 verifications run at
//! once ([`PasswordChecks`]), each in a buffer of its own kept for the next.

use crate::sql::{self, PgPool, Postgres, Transaction};
use argon2::password_hash::Output;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use rand::RngCore;
use sha2::{Digest, Sha256};

use uuid::Uuid;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
/// damaged hash), with Argon2's memory in `blocks` (grown to what the hash's
/// parameters ask for and kept by the caller for the next check).
///
/// This is `argon2`'s `PasswordVerifier` with the memory passed in: that
/// one allocates its 19 MiB afresh per check, and the allocator kept such
/// blocks per thread of the blocking pool, so memory grew with the number
/// of threads that had ever checked a password.
pub fn verify_password(password: &str, stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let need = params.block_count();
    if blocks.len() < need {
        blocks.resize(need, Block::default());
    }
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut blocks[..need])
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
}

/// How many password checks may run at once by default: one per core.
/// Each holds Argon2's 19 MiB for about as long as it keeps a core busy;
/// more at once would not finish sooner, only hold more memory.
pub fn default_password_checks() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 64)
}

/// The bound on concurrent password checks, their memory, and what they
/// measured: a login takes a [`CheckPermit`] (or is answered 503 at once)
/// and runs its check with it on the blocking pool.
#[derive(Debug)]
pub struct PasswordChecks {
    permits: Arc<Semaphore>,
    /// Argon2 memory of finished checks, for the next ones: at most one
    /// per permit, since a check takes one only while holding a permit.
    buffers: Mutex<Vec<Vec<Block>>>,
    running: AtomicUsize,
    peak: AtomicUsize,
}

/// A place among the running password checks.
#[derive(Debug)]
pub struct CheckPermit(#[allow(dead_code)] OwnedSemaphorePermit);

impl PasswordChecks {
    /// At most `bound` checks at once (at least one).
    pub fn new(bound: usize) -> Self {
        PasswordChecks {
            permits: Arc::new(Semaphore::new(bound.max(1))),
            buffers: Mutex::new(Vec::new()),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// A place, if one is free now (no queue: a waiting login would only
    /// hold its connection longer; the client retries after a moment).
    pub fn try_permit(&self) -> Option<CheckPermit> {
        self.permits
            .clone()
            .try_acquire_owned()
            .ok()
            .map(CheckPermit)
    }

    /// Check `password` against `stored` holding `permit` (blocking: call
    /// it on the blocking pool; the permit is given back when it returns,
    /// even if the request that asked was dropped meanwhile).
    pub fn verify(&self, permit: CheckPermit, password: &str, stored: &str) -> bool {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        metrics::gauge!("sync_password_checks_running").set(now as f64);
        let mut blocks = self
            .buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let ok = verify_password(password, stored, &mut blocks);
        self.buffers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(blocks);
        let now = self.running.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("sync_password_checks_running").set(now as f64);
        metrics::gauge!("sync_password_checks_peak").set(self.peak() as f64);
        drop(permit);
        ok
    }

    /// The most checks that have run at once since the start (measured
    /// inside the checks, around Argon2 itself).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Start a transaction for an authenticated request: look the token up,
/// scope the transaction to its tenant and check the device is not revoked,
/// its user not disabled, and not signed in with a one-time password that
/// still waits to be replaced (`password_change_required`, 403).
pub async fn begin(
    pool: &PgPool,
    bearer: &Bearer,
    repeatable_read: bool,
) -> ApiResult<(Transaction<'static, Postgres>, Device)> {
    let (tx, dev, must_change) = begin_any(pool, bearer, repeatable_read).await?;
    if must_change {
        return Err(ServerError::client(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "this account signed in with a one-time password: set your own password first \
             (POST /v1/account/password; `crm account password`)",
        ));
    }
    Ok((tx, dev))
}

/// [`begin`], letting through a user who must still change their one-time
/// password (the third value says whether they must): for changing it.
pub async fn begin_any(
    pool: &PgPool,
    bearer: &Bearer,
    repeatable_read: bool,
) -> ApiResult<(Transaction<'static, Postgres>, Device, bool)> {
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
    let row: Option<(Uuid, String, bool, bool, bool)> = sql::query_as(
        "SELECT d.user_id, u.role, d.revoked_at IS NOT NULL, u.disabled_at IS NOT NULL, \
         u.otp_expires_at IS NOT NULL FROM devices d \
         JOIN users u ON u.tenant_id = d.tenant_id AND u.id = d.user_id \
         WHERE d.tenant_id = $1 AND d.id = $2",
    )
    .bind(tenant_id)
    .bind(device_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, role, revoked, disabled, must_change)) = row else {
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
    if disabled {
        return Err(account_disabled());
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
        must_change,
    ))
}

/// The answer to a disabled account's request or sign-in (403).
pub fn account_disabled() -> ServerError {
    ServerError::client(
        StatusCode::FORBIDDEN,
        "account_disabled",
        "this account was disabled by an administrator of the agency; ask them to enable it",
    )
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

/// A login attempt counted as a failure until [`settle_success`] takes it
/// back.
#[derive(Debug)]
pub struct Attempt(Uuid);

/// Count a login attempt as a failure before its password is checked, or
/// refuse it (429) when the email, or the client's address, has failed too
/// often within the window.
///
/// Checking the count and recording a failure after the password check let
/// concurrent attempts all read the same count and all be checked (40 at
/// once for one email: 40 checks against a limit of 10). Here the count and
/// the insert are one step per email and per address: a transaction takes
/// a transaction-scoped advisory lock on the email, then on the address
/// (always in that order, so two attempts never wait on each other
/// crosswise), counts with a fresh snapshot (READ COMMITTED: it sees every
/// attempt that held the lock before it) and inserts this attempt before
/// it commits and lets the next one in. The locks are held for two short
/// statements, never during Argon2; they serialize only attempts for the
/// same email or from the same address (a hash collision at worst
/// serializes two more), across every server process. An advisory lock
/// rather than a counter row: nothing to create per email or address, and
/// the rows stay the one record of failures, pruned as before. An attempt
/// whose request is dropped before it is settled stays counted: the limit
/// errs towards refusing.
pub async fn reserve_attempt(
    pool: &PgPool,
    limits: &Limits,
    email: &str,
    addr: &str,
) -> ApiResult<Attempt> {
    let mut tx = pool.begin().await?;
    sql::query("SELECT pg_advisory_xact_lock(1, hashtext(lower($1)))")
        .bind(email)
        .execute(&mut *tx)
        .await?;
    sql::query("SELECT pg_advisory_xact_lock(2, hashtext($1))")
        .bind(addr)
        .execute(&mut *tx)
        .await?;
    let attempt = Uuid::now_v7();
    let (by_email, by_addr, inserted): (i64, i64, bool) = sql::query_as(
        "WITH counts AS ( \
           SELECT count(*) FILTER (WHERE lower(email) = lower($1)) AS by_email, \
                  count(*) FILTER (WHERE addr = $2) AS by_addr \
           FROM login_failures WHERE (lower(email) = lower($1) OR addr = $2) \
           AND at > now() - make_interval(secs => $3)), \
         ins AS ( \
           INSERT INTO login_failures (email, addr, attempt) \
           SELECT lower($1), $2, $4 FROM counts WHERE by_email < $5 AND by_addr < $6 \
           RETURNING 1) \
         SELECT by_email, by_addr, EXISTS (SELECT 1 FROM ins) FROM counts",
    )
    .bind(email)
    .bind(addr)
    .bind(limits.login_window.as_secs_f64())
    .bind(attempt)
    .bind(limits.login_failures_per_email)
    .bind(limits.login_failures_per_address)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if inserted {
        return Ok(Attempt(attempt));
    }
    let wait = in_words(limits.login_window);
    if by_email >= limits.login_failures_per_email {
        return Err(ServerError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many failed logins for this email; try again in {wait}"),
        ));
    }
    debug_assert!(by_addr >= limits.login_failures_per_address);
    metrics::counter!("sync_login_address_limited_total").increment(1);
    Err(ServerError::client(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many failed logins from this network address; try again in {wait}"),
    ))
}

/// The password was right: the attempt no longer counts as a failure.
pub async fn settle_success(pool: &PgPool, email: &str, attempt: Attempt) -> ApiResult<()> {
    sql::query("DELETE FROM login_failures WHERE lower(email) = lower($1) AND attempt = $2")
        .bind(email)
        .bind(attempt.0)
        .execute(pool)
        .await?;
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

/// The team of a device's user now (an admin may move people at any
/// time): what the audiences of plugins and documents name.
pub(crate) async fn user_team(
    tx: &mut Transaction<'static, Postgres>,
    dev: &Device,
) -> ApiResult<Option<String>> {
    let row: Option<(Option<String>,)> =
        sql::query_as("SELECT team FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(dev.tenant_id)
            .bind(dev.user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.and_then(|r| r.0))
}
