//! The unit of sync: one change to one row, as a device pushes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Hlc;

/// One operation in a device's outbox: the fields one write changed.
///
/// Every field in an op was written at the op's `hlc`; per-field
/// last-writer-wins compares that stamp against the field's stored stamp.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncOp {
    /// Unique per op; the server applies each op at most once.
    pub op_id: Uuid,
    /// The synced table the row lives in.
    pub table: String,
    /// The row's id (UUIDv7, made on the device that created it).
    pub row_id: Uuid,
    /// The tenant the row belongs to.
    pub tenant_id: Uuid,
    /// When the change was made (also identifies the device that made it).
    pub hlc: Hlc,
    /// Changed fields by name with their new values (JSON null clears one).
    /// A delete sets the field `deleted` to true.
    pub fields: BTreeMap<String, serde_json::Value>,
}
