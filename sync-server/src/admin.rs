//! Operator commands: tenants, users, device revocation. Run by the
//! `sync-server` binary as the owning role. Row-level security is forced on
//! the owner too, so these also scope each transaction to one tenant.

use crate::sql::{self, PgPool};
use uuid::Uuid;

use crate::auth::{self, Role};
use crate::db;
use crate::error::ServerError;

/// Create a tenant; returns its id.
pub async fn create_tenant(pool: &PgPool, name: &str) -> Result<Uuid, ServerError> {
    let id = Uuid::now_v7();
    let mut tx = db::tenant_tx(pool, id).await?;
    sql::query("INSERT INTO tenants (id, name) VALUES ($1, $2)")
        .bind(id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sql::query("INSERT INTO tenant_locks (tenant_id) VALUES ($1)")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Add a user to a tenant; returns its id.
pub async fn add_user(
    pool: &PgPool,
    tenant: Uuid,
    email: &str,
    password: &str,
    role: Role,
    team: Option<&str>,
) -> Result<Uuid, ServerError> {
    if password.chars().count() < 8 {
        return Err(ServerError::bad_request(
            "weak_password",
            "password too short: use at least 8 characters",
        ));
    }
    let hash = auth::hash_password(password)?;
    let id = Uuid::now_v7();
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let exists: Option<(Uuid,)> = sql::query_as("SELECT id FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(ServerError::bad_request(
            "no_tenant",
            format!("no tenant {tenant}"),
        ));
    }
    sql::query("INSERT INTO users (tenant_id, id, email, role, team) VALUES ($1, $2, $3, $4, $5)")
        .bind(tenant)
        .bind(id)
        .bind(email.trim())
        .bind(role.as_str())
        .bind(team)
        .execute(&mut *tx)
        .await?;
    sql::query(
        "INSERT INTO credentials (email_lower, tenant_id, user_id, password_hash) VALUES (lower($1), $2, $3, $4)",
    )
    .bind(email.trim())
    .bind(tenant)
    .bind(id)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Revoke a device: its token stops working at the next request.
pub async fn revoke_device(pool: &PgPool, tenant: Uuid, device: Uuid) -> Result<(), ServerError> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let done = sql::query(
        "UPDATE devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(device)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ServerError::bad_request(
            "no_device",
            format!("no active device {device} in tenant {tenant}"),
        ));
    }
    // The token row stays so the device is told it was revoked (not
    // merely unknown); the check in `auth::begin` refuses it either way.
    tx.commit().await?;
    Ok(())
}
