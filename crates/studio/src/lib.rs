//! Plugin Studio: making plugins inside the product, for people who do not
//! code (the wizard) and for those who do (the editor's services).
//!
//! Boundary: the Studio uses the plugin runtime (`crm-plugins`: sandbox,
//! manifest, dry runs) and the store (`crm-core`) and is used by the app and
//! the CLI; nothing below it knows it exists. A wizard-made plugin is an
//! ordinary plugin (installed, signed, run and dry-run like any other), so
//! removing the Studio would leave every plugin it made working.

pub mod editor;
pub mod wizard;
