//! Wire types shared by the CRM client and the sync server.
//!
//! This crate holds what both sides of sync must agree on byte for byte, and
//! nothing else: the hybrid logical clock ([`Hlc`], Kulkarni et al. 2014) that
//! orders per-field writes, and the [`SyncOp`] a device pushes. It knows
//! nothing about SQLite, PostgreSQL or HTTP.
#![deny(missing_docs)]

mod hlc;
mod op;

pub use hlc::{Clock, ClockError, Hlc, MAX_DRIFT_MS};
pub use op::SyncOp;
