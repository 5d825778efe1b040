//! The parts of sqlx this server uses, in one place.
//!
//! The `sqlx` facade crate cannot be used in this workspace: its optional
//! SQLite driver links `libsqlite3-sys` in a version range that Cargo refuses
//! next to rusqlite's bundled SQLCipher (a native library may be linked once
//! per build graph, and Cargo checks optional dependencies too). So the
//! server depends on `sqlx-core` (queries, pool, transactions, migrator) and
//! `sqlx-postgres` (the driver) directly; this module re-exports them under
//! the names the facade would use.

use std::borrow::Cow;

pub use sqlx_core::error::Error;
pub use sqlx_core::migrate::{Migration, MigrationSource, MigrationType, Migrator};
pub use sqlx_core::query::query;
pub use sqlx_core::query_as::query_as;
pub use sqlx_core::transaction::Transaction;
pub use sqlx_core::types::Json;
pub use sqlx_postgres::{PgPool, PgPoolOptions, Postgres};

/// The migrations in `migrations/`, embedded in the binary at build time
/// (what `sqlx::migrate!` would generate).
#[derive(Debug, Clone, Copy)]
pub struct Embedded;

const FILES: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "login failures by address",
        include_str!("../migrations/0002_login_failures_by_address.sql"),
    ),
    (
        3,
        "no tenant key checks on hot tables",
        include_str!("../migrations/0003_no_tenant_key_checks_on_hot_tables.sql"),
    ),
    (
        4,
        "login attempts",
        include_str!("../migrations/0004_login_attempts.sql"),
    ),
    (5, "catalog", include_str!("../migrations/0005_catalog.sql")),
    (6, "admin", include_str!("../migrations/0006_admin.sql")),
    (
        7,
        "catalog rules",
        include_str!("../migrations/0007_catalog_rules.sql"),
    ),
    (
        8,
        "documents",
        include_str!("../migrations/0008_documents.sql"),
    ),
    (
        9,
        "compliance",
        include_str!("../migrations/0009_compliance.sql"),
    ),
    (
        10,
        "pending versions",
        include_str!("../migrations/0010_pending_versions.sql"),
    ),
];

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures_core::future::BoxFuture<
        'static,
        Result<Vec<Migration>, sqlx_core::error::BoxDynError>,
    > {
        Box::pin(async {
            Ok(FILES
                .iter()
                .map(|(v, d, s)| {
                    Migration::new(
                        *v,
                        Cow::Borrowed(*d),
                        MigrationType::Simple,
                        Cow::Borrowed(*s),
                        false,
                    )
                })
                .collect())
        })
    }
}
