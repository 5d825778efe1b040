//! Errors as they cross IPC: a stable `code` the UI may branch on, a
//! `message` for people, and the `field` a form should mark.

use serde::Serialize;
use ts_rs::TS;

/// What kind of failure an [`ApiError`] is: the UI branches on this
/// (exported to TypeScript as a union of strings, so a code the UI tests
/// for that the backend cannot send is a type error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No profile is open: unlock it first.
    Locked,
    /// There is no profile yet: create one.
    NoProfile,
    /// A profile exists already where one was to be created.
    ProfileExists,
    /// The profile's key is not in the keyring: ask for the passphrase.
    PassphraseRequired,
    /// The passphrase does not open the profile.
    WrongPassphrase,
    /// The system keyring cannot be reached (offer a passphrase instead).
    KeyringUnavailable,
    /// Bad input; `field` names the form field when there is one.
    Invalid,
    /// The record or thing asked for does not exist.
    NotFound,
    /// The person cancelled it.
    Cancelled,
    /// Something of the kind is already running.
    Busy,
    /// This account may not do that.
    Forbidden,
    /// A plugin failed or cannot be used.
    Plugin,
    /// Sync failed (the server refused, or answered something unexpected).
    Sync,
    /// The sync server cannot be reached.
    Offline,
    /// The sync sign-in is gone: sign in again.
    SignedOut,
    /// A file could not be read or written.
    Io,
    /// A fault of ours.
    Internal,
}

impl ErrorCode {
    /// The code as the UI sees it (`not_found`).
    pub fn as_str(self) -> &'static str {
        use ErrorCode as C;
        match self {
            C::Locked => "locked",
            C::NoProfile => "no_profile",
            C::ProfileExists => "profile_exists",
            C::PassphraseRequired => "passphrase_required",
            C::WrongPassphrase => "wrong_passphrase",
            C::KeyringUnavailable => "keyring_unavailable",
            C::Invalid => "invalid",
            C::NotFound => "not_found",
            C::Cancelled => "cancelled",
            C::Busy => "busy",
            C::Forbidden => "forbidden",
            C::Plugin => "plugin",
            C::Sync => "sync",
            C::Offline => "offline",
            C::SignedOut => "signed_out",
            C::Io => "io",
            C::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code compares equal to its text (`"not_found"`), as the UI reads it.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// An error for the UI. The UI branches on `code`, never on `message`.
#[derive(Clone, Debug, Serialize, TS, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// What kind of failure it is.
    pub code: ErrorCode,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// The form field to mark, for `invalid`.
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A validation error on a form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::Invalid,
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
                    ErrorCode::WrongPassphrase,
                    "that passphrase does not open this profile; check it (capital \
                     letters count) and try again. If you are sure it is right, the \
                     profile's database is damaged or not a CRM database: restore it \
                     from a backup or sync it again from the server",
                )
            }
            E::NothingMapped { .. } => {
                return ApiError::invalid(
                    "mapping",
                    format!("{e}; choose which field each column feeds"),
                )
            }
            E::NoProfile(_) => ErrorCode::NoProfile,
            E::ProfileExists(_) => ErrorCode::ProfileExists,
            E::PassphraseRequired => ErrorCode::PassphraseRequired,
            E::WeakPassphrase(_) => return ApiError::invalid("passphrase", e.to_string()),
            E::KeyringUnavailable(_) | E::KeyMissing(_) => ErrorCode::KeyringUnavailable,
            E::NotFound { .. } => ErrorCode::NotFound,
            E::Cancelled => ErrorCode::Cancelled,
            E::Forbidden(_) => ErrorCode::Forbidden,
            E::Io { .. } | E::Csv { .. } => ErrorCode::Io,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<crm_plugins::lifecycle::LifecycleError> for ApiError {
    fn from(e: crm_plugins::lifecycle::LifecycleError) -> Self {
        match e {
            crm_plugins::lifecycle::LifecycleError::Store(c) => c.into(),
            e @ crm_plugins::lifecycle::LifecycleError::UnsignedFolder(_) => ApiError::new(
                ErrorCode::Plugin,
                format!("{e}; an admin can turn on developer mode in Settings"),
            ),
            other => ApiError::new(ErrorCode::Plugin, other.to_string()),
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
            E::Offline(_) => ErrorCode::Offline,
            E::NotSignedIn | E::Refused { status: 401, .. } => ErrorCode::SignedOut,
            _ => ErrorCode::Sync,
        };
        ApiError::new(code, e.to_string())
    }
}

impl From<crm_core::ValidationError> for ApiError {
    fn from(v: crm_core::ValidationError) -> Self {
        ApiError::invalid(&v.field, v.reason)
    }
}
