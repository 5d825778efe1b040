//! The CRM core: domain, encrypted local store, migrations, the one write
//! path, CSV import and export.
//!
//! Everything a user can do to data is a function here, used alike by the
//! `crm` CLI and the desktop app. The core knows nothing about windows, IPC or
//! HTTP. Its invariants: `ARCHITECTURE.md` (summary), `docs/internals/core.md` (in full).
#![deny(missing_docs)]

pub mod activity;
pub(crate) mod bulk;
pub mod catalog_state;
pub mod contacts;
pub mod details;
mod error;
pub mod export;
pub mod features;
pub mod import;
pub mod keys;
mod lookups;
pub mod migrations;
pub mod normalize;
pub mod plugin_registry;
pub mod plugin_state;
pub mod policies;
mod pulled;
mod records;
pub mod settings;
pub mod store;
pub mod sync;

pub use activity::{Activity, ActivityKind, Task, TaskDraft, TaskFilter, TaskStatus};
pub use contacts::{
    Contact, ContactDraft, ContactKind, ContactQuery, CustomChanges, Stage, Written,
};
pub use error::{CoreError, Result, ValidationError};
pub use features::{Feature, FeatureTx};
pub use keys::{DbKey, FixedPassphrase, KeyStoreChoice, PassphraseSource};
pub use plugin_registry::PluginRecord;
pub use plugin_state::{CustomFieldDef, FieldApplied, PluginRun};
pub use policies::{
    Arrears, Frequency, Payment, Policy, PolicyDraft, PolicyStatus, PAYMENT_METHODS,
};
pub use records::{parse_id, Listed};
pub use store::{Actor, ChangeEvent, RowChange, Store, Table};
pub use sync::AccountRole;
