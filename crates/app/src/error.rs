//! Errors as they cross IPC: a stable `code` the UI may branch on, a
//! `message` for people, and the `field` a form should mark.

use serde::Serialize;
use ts_rs::TS;

/// An error for the UI. The UI branches on `code`, never on `message`.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// One of: `locked`, `no_profile`, `profile_exists`, `passphrase_required`,
    /// `wrong_passphrase`, `keyring_unavailable`, `invalid`, `not_found`,
    /// `cancelled`, `busy`, `forbidden`, `plugin`, `sync`, `offline` (the
    /// sync server cannot be reached), `signed_out` (sign in again), `io`,
    /// `internal`.
    pub code: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The form field to mark, for `invalid`.
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.into(),
            message: message.into(),
            field: None,
        }
    }

    /// A validation error on a form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: "invalid".into(),
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

/// Results of the app API.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<crm_core::CoreError> for ApiError {
    fn from(e: crm_core::CoreError) -> Self {
        use crm_core::CoreError as E;
        let code = match &e {
            E::Invalid(v) => return ApiError::invalid(&v.field, v.reason.clone()),
            E::WrongKeyOrNotOurs { .. } => {
                return ApiError::new(
                    "wrong_passphrase",
                    "that passphrase does not open this profile; check it (capital \
                     letters count) and try again. If you are sure it is right, the \
                     profile's database is damaged or not a CRM database: restore it \
                     from a backup or sync it again from the server",
                )
            }
            E::NoProfile(_) => "no_profile",
            E::ProfileExists(_) => "profile_exists",
            E::PassphraseRequired => "passphrase_required",
            E::WeakPassphrase(_) => return ApiError::invalid("passphrase", e.to_string()),
            E::KeyringUnavailable(_) | E::KeyMissing(_) => "keyring_unavailable",
            E::NotFound { .. } => "not_found",
            E::Cancelled => "cancelled",
            E::Forbidden(_) => "forbidden",
            E::Io { .. } | E::Csv { .. } => "io",
            _ => "internal",
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<crm_plugins::lifecycle::LifecycleError> for ApiError {
    fn from(e: crm_plugins::lifecycle::LifecycleError) -> Self {
        match e {
            crm_plugins::lifecycle::LifecycleError::Store(c) => c.into(),
            other => ApiError::new("plugin", other.to_string()),
        }
    }
}

impl From<crm_sync_client::SyncError> for ApiError {
    fn from(e: crm_sync_client::SyncError) -> Self {
        use crm_sync_client::SyncError as E;
        if let E::Core(c) = e {
            return c.into();
        }
        let code = match &e {
            E::Offline(_) => "offline",
            E::NotSignedIn | E::Refused { status: 401, .. } => "signed_out",
            _ => "sync",
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<crm_core::ValidationError> for ApiError {
    fn from(v: crm_core::ValidationError) -> Self {
        ApiError::invalid(&v.field, v.reason)
    }
}
