//! Care compliance for UK care offices: policies and SOPs under document
//! control (approval by a second admin, review cycles, the CQC quality
//! statements they evidence), read-and-sign, staff records with the
//! Schedule 3 checklist and encrypted evidence files, supervisions and
//! appraisals, training with its matrix, reminders as tasks, and the
//! inspector's evidence pack.
//!
//! *Boundary:* keeps its own tables through `crm_core::features` (writes
//! confined to `compliance_*` tables, every step audited); a policy is a
//! document of `crm-documents` (put under control there), reminders are
//! tasks made through the core's write path. Nothing below knows this
//! crate exists.
//!
//! *Invariants:* a person sees only the staff records [`Access`] allows
//! (admins all; managers their people, down the line; staff their own;
//! agents none); a version is published only after an admin other than
//! its submitter approved that very version; dates are whole days in the
//! office's time zone (see [`dates`]); bad input is refused naming its
//! field, before anything is written.
#![deny(missing_docs)]

pub mod checks;
pub mod dates;
mod error;
pub mod evidence;
pub mod pack;
pub mod policies;
pub mod readsign;
pub mod reminders;
pub mod sample;
mod schema;
pub mod staff;
pub mod supervision;
pub mod sync;
pub mod training;
mod who;

pub use error::{ComplianceError, Result};
pub use schema::FEATURE;
pub use who::Access;
