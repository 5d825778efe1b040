//! Request and response bodies of the sync HTTP API (`/v1/...`).
//!
//! JSON on the wire. Errors are `{code, message}` ([`ApiError`]); a client
//! matches on `code`, never on the message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Hlc, SyncOp};

/// `POST /v1/login`: email and password; registers this device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The account's email address.
    pub email: String,
    /// The account's password.
    pub password: String,
    /// This device's id (the node id of its clock).
    pub device_id: Uuid,
    /// A name for the device, shown to admins (e.g. the host name).
    pub device_name: String,
    /// The app's version, shown to admins. Absent from older clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

/// The answer to a successful login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// The tenant (agency) the account belongs to.
    pub tenant_id: Uuid,
    /// The account.
    pub user_id: Uuid,
    /// `agent` or `admin`.
    pub role: String,
    /// The registered device (the id that was sent).
    pub device_id: Uuid,
    /// The device token: send as `Authorization: Bearer <token>`. Shown once;
    /// the server keeps only its hash.
    pub token: String,
    /// True after a sign-in with a one-time password: the token works only
    /// to set the user's own password (`POST /v1/account/password`) until
    /// then. Absent from older servers.
    #[serde(default)]
    pub must_change_password: bool,
}

/// `POST /v1/push`: a batch of ops from the device's outbox, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// The ops; applied in this order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub ops: Vec<SyncOp>,
}

/// What the server did with a pushed batch. Every op id sent is in exactly
/// one list; the device may drop all of them from its outbox.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// Applied now.
    pub applied: Vec<Uuid>,
    /// Already applied by an earlier push (a retry): not applied again.
    pub duplicates: Vec<Uuid>,
}

/// `GET /v1/pull?cursor=N&limit=M` query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
pub struct PullQuery {
    /// The cursor from the previous page (0 for a fresh device).
    #[serde(default)]
    pub cursor: i64,
    /// Page size (the server caps it).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// The current state of one row the device may see.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowState {
    /// The synced table.
    pub table: String,
    /// The row's id.
    pub row_id: Uuid,
    /// Every field's current value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The clock of the write that set each field, compactly: `_` stands
    /// for every field not listed (`deleted` included); the zero clock
    /// (all digits 0) means never written. A row written in one op sends
    /// one stamp instead of one per field.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub clocks: BTreeMap<String, Hlc>,
    /// True when the row is deleted (a tombstone).
    pub deleted: bool,
}

/// A row that left this device's view (e.g. its contact was reassigned):
/// the device removes its copy (and, for a contact, what hangs off it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eviction {
    /// The synced table.
    pub table: String,
    /// The row's id.
    pub row_id: Uuid,
}

/// One page of changes since a cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Rows that changed, oldest change first.
    pub rows: Vec<RowState>,
    /// Rows to remove from this device.
    pub evictions: Vec<Eviction>,
    /// Send this cursor with the next pull.
    pub cursor: i64,
    /// True when more changes are waiting: pull again at once.
    pub more: bool,
    /// Who last wrote the rows of this page: each device whose stamp is
    /// the newest on one of them, with its user, so a device can say who
    /// changed a record. Absent from servers before it was added.
    #[serde(default)]
    pub writers: Vec<Writer>,
}

/// A device that wrote rows a pull returns, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Writer {
    /// The device (the node of its clock stamps).
    pub device_id: Uuid,
    /// The name it was registered under at sign-in.
    pub device_name: String,
    /// Its user.
    pub user_id: Uuid,
    /// Its user's email.
    pub user_email: String,
}

/// An error answer: a stable `code` for programs and a `message` for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable, snake_case (e.g. `unknown_field`, `clock_ahead`, `unauthorized`).
    pub code: String,
    /// Lowercase, says what is wrong and where.
    pub message: String,
    /// The op that was refused, when one op made a whole batch fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_id: Option<Uuid>,
}
