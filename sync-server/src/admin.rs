//! Operator commands: tenants, users, teams and roles, device revocation.
//! Run by the `sync-server` binary as the owning role. Row-level security is
//! forced on the owner too, so these also scope each transaction to one
//! tenant.
//!
//! A user's team and role decide what their devices see (see `pull`), so
//! changing them records the consequences exactly as a reassignment does:
//! agents who lose sight of contacts get evictions for them and everything
//! hanging off them, and the rows someone gains sight of get new change
//! numbers, so devices whose cursor is already past them pull them.

use crate::sql::{self, PgPool, Postgres, Transaction};
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
    insert_user(&mut tx, tenant, id, email, role, team, &hash).await?;
    tx.commit().await?;
    Ok(id)
}

/// Insert a user and their credentials in the transaction's tenant (the
/// operator's `add_user` and an admin's invitation). An email taken
/// anywhere on the server is a 409: an email names one account.
pub(crate) async fn insert_user(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    id: Uuid,
    email: &str,
    role: Role,
    team: Option<&str>,
    hash: &str,
) -> Result<(), ServerError> {
    let taken = |e: sql::Error| match &e {
        sql::Error::Database(d) if d.code().as_deref() == Some("23505") => ServerError::client(
            axum::http::StatusCode::CONFLICT,
            "email_taken",
            format!("email {:?} already has an account", email.trim()),
        ),
        _ => ServerError::Db(e),
    };
    sql::query("INSERT INTO users (tenant_id, id, email, role, team) VALUES ($1, $2, $3, $4, $5)")
        .bind(tenant)
        .bind(id)
        .bind(email.trim())
        .bind(role.as_str())
        .bind(team)
        .execute(&mut **tx)
        .await
        .map_err(taken)?;
    sql::query("SELECT crm_add_credentials($1, $2, $3)")
        .bind(email.trim())
        .bind(id)
        .bind(hash)
        .execute(&mut **tx)
        .await
        .map_err(taken)?;
    Ok(())
}

/// Revoke a device: its token stops working at the next request.
pub async fn revoke_device(pool: &PgPool, tenant: Uuid, device: Uuid) -> Result<(), ServerError> {
    let mut tx = db::tenant_tx(pool, tenant).await?;
    revoke_in(&mut tx, tenant, device).await?;
    tx.commit().await?;
    Ok(())
}

/// Revoke a device in the transaction's tenant (the operator's command and
/// an admin's request).
pub(crate) async fn revoke_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    device: Uuid,
) -> Result<(), ServerError> {
    let done = sql::query(
        "UPDATE devices SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(device)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ServerError::bad_request(
            "no_device",
            format!("no active device {device} in tenant {tenant}"),
        ));
    }
    // The token row stays so the device is told it was revoked (not
    // merely unknown); the check in `auth::begin` refuses it either way.
    Ok(())
}

/// Move the tenant's plugin catalog revision on: what applies to a user
/// depends on their team and role, so a device that is "up to date" must
/// read the catalog again after either changes.
async fn catalog_moved(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> Result<(), ServerError> {
    sql::query(
        "INSERT INTO catalog_revisions (tenant_id, revision) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET revision = catalog_revisions.revision + 1",
    )
    .bind(tenant)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a team or role change recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewChange {
    /// Eviction rows written (one per user and row that left their view).
    pub evictions: u64,
    /// Rows given new change numbers so those who gained sight pull them.
    pub renumbered: u64,
}

/// A user found by login email: tenant, id, role, team.
pub(crate) struct Account {
    pub(crate) tenant: Uuid,
    pub(crate) id: Uuid,
    pub(crate) role: Role,
    pub(crate) team: Option<String>,
}

/// Find an account by email and lock its user row for the change.
async fn account(
    pool: &PgPool,
    email: &str,
) -> Result<(Transaction<'static, Postgres>, Account), ServerError> {
    let found: Option<(Uuid, Uuid)> =
        sql::query_as("SELECT tenant_id, user_id FROM credentials WHERE email_lower = lower($1)")
            .bind(email.trim())
            .fetch_optional(pool)
            .await?;
    let Some((tenant, id)) = found else {
        return Err(ServerError::bad_request(
            "no_user",
            format!(
                "no user with email {:?}; `sync-server user add` creates one",
                email.trim()
            ),
        ));
    };
    let mut tx = db::tenant_tx(pool, tenant).await?;
    let u = lock_user(&mut tx, tenant, id).await?;
    Ok((tx, u))
}

/// Take the tenant's write lock and lock a user's row for a change, in a
/// transaction scoped to `tenant`; `no_user` (404) when it has no such user.
pub(crate) async fn lock_user(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    id: Uuid,
) -> Result<Account, ServerError> {
    // The tenant's write lock first: change numbers are taken below, and
    // within a tenant they must become visible in order (see `push`).
    sql::query("SELECT 1 FROM tenant_locks WHERE tenant_id = $1 FOR UPDATE")
        .bind(tenant)
        .execute(&mut **tx)
        .await?;
    let found: Option<(String, Option<String>)> =
        sql::query_as("SELECT role, team FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((role, team)) = found else {
        return Err(ServerError::client(
            axum::http::StatusCode::NOT_FOUND,
            "no_user",
            format!("no user {id} in this tenant"),
        ));
    };
    let role = Role::parse(&role).ok_or_else(|| ServerError::Internal(format!("role {role:?}")))?;
    Ok(Account {
        tenant,
        id,
        role,
        team,
    })
}

/// Run a view change, again when PostgreSQL aborted it to break a deadlock
/// with a push (pushes lock rows before the tenant lock, this the other way
/// round) or a serialisation failure.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, ServerError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServerError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(ServerError::Db(sql::Error::Database(e)))
                if tries < 5 && matches!(e.code().as_deref(), Some("40P01") | Some("40001")) =>
            {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            other => return other,
        }
    }
}

/// Move a user to another team (`None`: no team), by login email, in one
/// transaction with its consequences for what everyone sees.
pub async fn set_team(
    pool: &PgPool,
    email: &str,
    team: Option<&str>,
) -> Result<ViewChange, ServerError> {
    let team = team.map(str::trim);
    if team.is_some_and(|t| t.is_empty() || t.chars().count() > 100) {
        return Err(ServerError::bad_request(
            "bad_team",
            "a team name is 1 to 100 characters (use --no-team for none)",
        ));
    }
    retrying(|| set_team_once(pool, email, team)).await
}

async fn set_team_once(
    pool: &PgPool,
    email: &str,
    new_team: Option<&str>,
) -> Result<ViewChange, ServerError> {
    let (mut tx, u) = account(pool, email).await?;
    let change = apply_team(&mut tx, &u, new_team).await?;
    tx.commit().await?;
    Ok(change)
}

/// Move a locked user ([`lock_user`]) to another team, with what it means
/// for what everyone sees; the caller commits.
pub(crate) async fn apply_team(
    tx: &mut Transaction<'static, Postgres>,
    u: &Account,
    new_team: Option<&str>,
) -> Result<ViewChange, ServerError> {
    let t = u.tenant;
    let old_team = u.team.as_deref();
    if old_team != new_team {
        catalog_moved(tx, t).await?;
    }
    if old_team == new_team {
        return Ok(ViewChange::default());
    }
    let me_agent = u.role == Role::Agent;
    let mut change = ViewChange::default();
    // Who sees a contact depends on its owner's team and the viewer's, so
    // only pairs with this user on one side change: what the user sees of
    // others' contacts (if an agent; admins see everything), and what other
    // agents see of the user's own contacts.
    if let Some(old) = old_team {
        // The user leaves the old team mates' contacts...
        if me_agent {
            change.evictions += sql::query(
                "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
                 SELECT $1, $2, r.tbl, r.id, nextval('change_seq') \
                 FROM rows c JOIN users o ON o.tenant_id = $1 AND o.id = c.owner_user \
                 JOIN rows r ON r.tenant_id = $1 AND r.scope_contact = c.id \
                 WHERE c.tenant_id = $1 AND c.tbl = 'contacts' AND o.id <> $2 AND o.team = $3",
            )
            .bind(t)
            .bind(u.id)
            .bind(old)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        }
        // ...and the old team's agents lose the user's contacts.
        change.evictions += sql::query(
            "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
             SELECT $1, a.id, r.tbl, r.id, nextval('change_seq') \
             FROM users a JOIN rows c ON c.tenant_id = $1 AND c.tbl = 'contacts' AND c.owner_user = $2 \
             JOIN rows r ON r.tenant_id = $1 AND r.scope_contact = c.id \
             WHERE a.tenant_id = $1 AND a.role = 'agent' AND a.id <> $2 AND a.team = $3",
        )
        .bind(t)
        .bind(u.id)
        .bind(old)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    sql::query("UPDATE users SET team = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(t)
        .bind(u.id)
        .bind(new_team)
        .execute(&mut **tx)
        .await?;
    if let Some(new) = new_team {
        // Gained: the new team mates' contacts (for an agent), and the
        // user's own contacts for the new team's agents. Their rows get
        // new change numbers, so devices past them pull them again.
        change.renumbered += sql::query(
            "UPDATE rows SET seq = nextval('change_seq') \
             WHERE tenant_id = $1 AND seq > 0 AND scope_contact IN ( \
               SELECT c.id FROM rows c JOIN users o ON o.tenant_id = $1 AND o.id = c.owner_user \
               WHERE c.tenant_id = $1 AND c.tbl = 'contacts' AND ( \
                 ($4 AND o.id <> $2 AND o.team = $3) \
                 OR (o.id = $2 AND EXISTS (SELECT 1 FROM users a WHERE a.tenant_id = $1 \
                     AND a.role = 'agent' AND a.id <> $2 AND a.team = $3))))",
        )
        .bind(t)
        .bind(u.id)
        .bind(new)
        .bind(me_agent)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    }
    Ok(change)
}

/// The SQL condition "user $2 sees row r as an agent" (`pull`'s rule),
/// with the tenant in $1.
const AGENT_SEES: &str = "((r.scope_contact IS NULL AND r.creator = $2) OR EXISTS ( \
    SELECT 1 FROM rows c JOIN users o ON o.tenant_id = $1 AND o.id = c.owner_user \
    JOIN users me ON me.tenant_id = $1 AND me.id = $2 \
    WHERE c.tenant_id = $1 AND c.tbl = 'contacts' AND c.id = r.scope_contact \
      AND (o.id = me.id OR (me.team IS NOT NULL AND o.team = me.team))))";

/// Make a user an agent or an admin, by login email, in one transaction
/// with its consequences: a new admin gains (and pulls) every row an agent
/// of their team did not see; a former admin gets evictions for all of them.
pub async fn set_role(pool: &PgPool, email: &str, role: Role) -> Result<ViewChange, ServerError> {
    retrying(|| set_role_once(pool, email, role)).await
}

async fn set_role_once(pool: &PgPool, email: &str, role: Role) -> Result<ViewChange, ServerError> {
    let (mut tx, u) = account(pool, email).await?;
    let change = apply_role(&mut tx, &u, role).await?;
    tx.commit().await?;
    Ok(change)
}

/// Make a locked user ([`lock_user`]) an agent or an admin, with what it
/// means for what they see; the caller commits.
pub(crate) async fn apply_role(
    tx: &mut Transaction<'static, Postgres>,
    u: &Account,
    role: Role,
) -> Result<ViewChange, ServerError> {
    let t = u.tenant;
    if u.role == role {
        return Ok(ViewChange::default());
    }
    catalog_moved(tx, t).await?;
    let mut change = ViewChange::default();
    match role {
        Role::Admin => {
            change.renumbered = sql::query(&format!(
                "UPDATE rows r SET seq = nextval('change_seq') \
                 WHERE r.tenant_id = $1 AND r.seq > 0 AND NOT {AGENT_SEES}"
            ))
            .bind(t)
            .bind(u.id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        }
        Role::Agent => {
            change.evictions = sql::query(&format!(
                "INSERT INTO evictions (tenant_id, user_id, tbl, row_id, seq) \
                 SELECT $1, $2, r.tbl, r.id, nextval('change_seq') FROM rows r \
                 WHERE r.tenant_id = $1 AND r.seq > 0 AND NOT {AGENT_SEES}"
            ))
            .bind(t)
            .bind(u.id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        }
    }
    sql::query("UPDATE users SET role = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(t)
        .bind(u.id)
        .bind(role.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(change)
}
