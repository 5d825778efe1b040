//! Care compliance records on the wire (`/v1/compliance…`): staff records,
//! their checks, evidence, supervisions, courses, training, policies'
//! control, read-and-sign assignments and acknowledgements. Each record
//! travels whole (its fields as a JSON object) and the last one the server
//! accepted wins; what a device is sent is what its user may see (admins
//! everything; a person their own record and the people they manage, down
//! the line; anyone else no staff data at all).

use serde::{Deserialize, Serialize};

/// Kinds of record, and whether each is about one member of staff (and so
/// seen only by those who may see that person).
pub const KINDS: &[(&str, bool)] = &[
    ("staff", true),
    ("check", true),
    ("evidence", true),
    ("supervision", true),
    ("training", true),
    ("ack", true),
    ("course", false),
    ("policy", false),
    ("assignment", false),
];

/// Whether `kind` is known, and about one member of staff.
pub fn kind_is_about_staff(kind: &str) -> Option<bool> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s)
}

/// Largest record body, bytes of JSON (a supervision's notes are the
/// largest field).
pub const MAX_BODY: usize = 64 * 1024;

/// Records in one push at most.
pub const MAX_PUSH: usize = 500;

/// Evidence files travel in chunks of this many bytes.
pub const CHUNK: usize = 1 << 20;

/// Largest evidence file, bytes.
pub const MAX_EVIDENCE: u64 = 20 << 20;

/// One record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComplianceRecord {
    /// One of [`KINDS`].
    pub kind: String,
    /// Its id, the same on every device.
    pub id: String,
    /// The member of staff it is about (records about staff).
    #[serde(default)]
    pub staff_id: Option<String>,
    /// Its fields (absent when deleted).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[serde(default)]
    pub body: serde_json::Value,
    /// Deleted (an assignment taken away).
    #[serde(default)]
    pub deleted: bool,
    /// The server's revision of this record (0 when pushed).
    #[serde(default)]
    pub rev: i64,
}

/// `POST /v1/compliance`: records changed on a device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompliancePush {
    /// The records, in the order they are applied.
    pub records: Vec<ComplianceRecord>,
}

/// What became of one pushed record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushOutcome {
    /// Its kind.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Refused, and why (the device keeps it, set aside).
    #[serde(default)]
    pub refused: Option<String>,
}

/// The answer to a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompliancePushed {
    /// One per record, in order.
    pub outcomes: Vec<PushOutcome>,
}

/// `GET /v1/compliance?since=R&view=V`: what changed since revision `R`
/// among what this device's user may see; everything they may see when
/// their view changed (`full`), so the device drops what it may no longer
/// keep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompliancePull {
    /// The revision this answer brings the device to.
    pub rev: i64,
    /// Who the answer is for: a digest of the user's role and the staff
    /// they may see (sent back next time).
    pub view: String,
    /// Everything the user may see (the device replaces its copy), not
    /// only what changed.
    pub full: bool,
    /// The user's own staff record, if one is linked to their account.
    #[serde(default)]
    pub me: Option<String>,
    /// The records.
    pub records: Vec<ComplianceRecord>,
}
