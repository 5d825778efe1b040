//! Connections, migrations and the tenant-scoped transaction.

use crate::sql::{self, Embedded, Migrator, PgPool, PgPoolOptions};
use crate::sql::{Postgres, Transaction};
use uuid::Uuid;

use crate::error::ServerError;

/// The schema's migrator over the embedded migrations. sqlx records a
/// checksum of each applied file (an edited migration is refused) and holds
/// a PostgreSQL advisory lock while migrating, so two `migrate` runs at once
/// cannot interleave.
pub async fn migrator() -> Result<Migrator, sql::Error> {
    Migrator::new(Embedded)
        .await
        .map_err(|e| sql::Error::Migrate(Box::new(e)))
}

/// Apply pending migrations (connect as the owning role).
pub async fn migrate(pool: &PgPool) -> Result<(), sql::Error> {
    let m = migrator().await?;
    m.run(pool)
        .await
        .map_err(|e| sql::Error::Migrate(Box::new(e)))
}

/// The pool's size unless configured: four connections per core of this
/// machine, 4 to 32. More connections than the cores can run at once only
/// queue inside PostgreSQL, and the push holding its tenant's lock then
/// waits for the CPU behind them (measured on two cores with 200 devices
/// pushing: 8 connections gave 0.37–0.43 of the raw insert rate, 32 gave
/// 0.25–0.32; 6 and 16 were in between). A database on a larger host of
/// its own wants `SYNC_DB_CONNECTIONS` raised to about four per core of
/// that host.
pub fn default_connections() -> u32 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    (cores * 4).clamp(4, 32) as u32
}

/// A connection pool.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sql::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url)
        .await
}

/// Start a transaction in which row-level security lets through only
/// `tenant`'s rows. The setting is transaction-local (`set_config(..., true)`,
/// i.e. `SET LOCAL`): it ends with the transaction, so a pooled connection
/// never carries one request's tenant into the next.
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: Uuid,
) -> Result<Transaction<'static, Postgres>, sql::Error> {
    let mut tx = pool.begin().await?;
    set_tenant(&mut tx, tenant).await?;
    Ok(tx)
}

/// Scope an open transaction to `tenant` (see [`tenant_tx`]).
pub async fn set_tenant(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> Result<(), sql::Error> {
    sql::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refuse to serve as a role that row-level security would not bind: a
/// superuser, a `BYPASSRLS` role or the owner of the tables. A forgotten
/// `WHERE tenant_id` must never be able to leak another tenant.
pub async fn check_serving_role(pool: &PgPool) -> Result<(), ServerError> {
    let (user, sup, bypass, owns): (String, bool, bool, bool) = sql::query_as(
        "SELECT current_user::text, r.rolsuper, r.rolbypassrls, \
                EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'rows' \
                        AND pg_has_role(current_user, tableowner, 'USAGE')) \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if sup || bypass || owns {
        return Err(ServerError::Internal(format!(
            "refusing to serve as role {user:?}: it is a superuser, has BYPASSRLS or owns the tables, \
             so row-level security would not apply; connect as the plain application role (crm_app)"
        )));
    }
    Ok(())
}
