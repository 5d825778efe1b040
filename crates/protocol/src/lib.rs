//! Wire types shared by the CRM client and the sync server.
//!
//! This crate holds what both sides of sync must agree on byte for byte, and
//! nothing else: the hybrid logical clock ([`Hlc`], Kulkarni et al. 2014) that
//! orders per-field writes, the [`SyncOp`] a device pushes, the synced
//! tables' fields ([`schema`]) and the HTTP API's bodies ([`wire`]). It knows
//! nothing about SQLite, PostgreSQL or any HTTP library.
#![deny(missing_docs)]

pub mod admin;
pub mod catalog;
pub mod compliance;
pub mod documents;
mod hlc;
mod op;
pub mod schema;
pub mod wire;

pub use hlc::{Clock, ClockError, Hlc, MAX_DRIFT_MS};
pub use op::SyncOp;
