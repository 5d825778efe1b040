//! A plugin as it travels: its manifest (`manifest.json`, parsed and
//! checked against the published schema) and its signed package (a zip
//! with `SIGNATURE.json`). Apart from the runtime so that the sync server
//! can verify what an admin publishes to the tenant's catalog with the very
//! code every device uses to install it, without a script engine or a
//! local store.
#![deny(missing_docs)]

pub mod manifest;
pub mod package;
