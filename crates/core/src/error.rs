//! The one error type of the core crate.
//!
//! Messages are lowercase, name what went wrong and where, and when the user
//! can do something about it, say what in words every front end can use: a
//! remedy that names a command-line flag or a screen is the front end's to
//! add (the CLI's `remedy` module, the app's error codes).

use std::path::PathBuf;

/// Everything the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The key does not open the database, or the file is not ours.
    #[error("wrong passphrase or not a CRM database: {path}")]
    WrongKeyOrNotOurs {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer build.
    #[error("the database {path} was written by a newer version of the CRM (schema {found}, this version knows up to {known}); update the app, the file was not touched")]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Version found in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A feature's tables were written by a newer build.
    #[error("this profile's {feature} tables were written by a newer version of the CRM (schema {found}, this version knows up to {known}); update the app, nothing was touched")]
    NewerFeatureSchema {
        /// The feature, e.g. `documents`.
        feature: &'static str,
        /// Version found in the profile.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// No profile exists in the folder.
    #[error("no CRM profile in {0}")]
    NoProfile(PathBuf),
    /// A profile already exists where one was to be created.
    #[error("a CRM profile already exists in {0}")]
    ProfileExists(PathBuf),
    /// The profile's metadata file is damaged.
    #[error("profile file {path} is damaged: {reason}")]
    BadProfile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The OS keyring could not be used.
    #[error("the OS keyring is not available: {0}")]
    KeyringUnavailable(String),
    /// The key for this profile is not in the keyring.
    #[error("the database key for this profile is missing from the OS keyring ({0}); the local data cannot be decrypted. If this device syncs, remove the profile folder and sign in again to rebuild it from the server (changes not yet synced are lost)")]
    KeyMissing(String),
    /// A passphrase was needed and none was given.
    #[error("this profile is protected by a passphrase, and none was given")]
    PassphraseRequired,
    /// A passphrase was too weak to protect the data.
    #[error("the passphrase is too short: use at least {0} characters")]
    WeakPassphrase(usize),
    /// Input failed validation.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// A record does not exist.
    #[error("no {kind} with id {id}")]
    NotFound {
        /// What kind of record.
        kind: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The user's role does not allow this.
    #[error("{0}")]
    Forbidden(String),

    /// Long work was cancelled by the user.
    #[error("cancelled")]
    Cancelled,
    /// A file could not be read or written.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause (shown in the message, so not chained again).
        err: std::io::Error,
    },
    /// No column of a file to import could be matched to a field by its
    /// header: the person must say which field each column feeds.
    #[error("{path}: no column could be matched to a contact field by its header (columns: {})", columns.join(", "))]
    NothingMapped {
        /// The file.
        path: PathBuf,
        /// Its headers.
        columns: Vec<String>,
    },
    /// A CSV file could not be parsed at all.
    #[error("{path}: {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored JSON could not be read back.
    #[error("stored data is damaged: {0}")]
    Json(#[from] serde_json::Error),
}

/// A value that failed validation, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    /// The field (as the user knows it).
    pub field: String,
    /// What is wrong and, where possible, what to do.
    pub reason: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Result with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
