//! The compliance feature's tables in the profile's encrypted store (see
//! `crm_core::features`): migrations only append.

use crm_core::{Feature, Store};

/// The compliance feature: its name prefixes every table it owns.
pub static FEATURE: Feature = Feature {
    name: "compliance",
    migrations: &[
        include_str!("../migrations/0001_compliance.sql"),
        include_str!("../migrations/0002_sync.sql"),
    ],
};

/// Make sure this profile has the compliance tables (and the documents
/// library's, which policies are part of).
pub(crate) fn install(store: &mut Store) -> crm_core::Result<()> {
    store.install_feature(&crm_documents::FEATURE)?;
    store.install_feature(&FEATURE)
}

/// Whether this profile has the compliance tables yet (a read never creates
/// them: readers find nothing).
pub(crate) fn installed(store: &Store) -> crm_core::Result<bool> {
    store
        .feature_read(|c| {
            c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'compliance_staff'",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| n > 0)
}
