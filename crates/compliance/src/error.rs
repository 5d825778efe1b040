//! Why a compliance call failed; each message names the field or record
//! and what to do.

/// Everything the compliance crate can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The store refused or failed.
    #[error(transparent)]
    Core(#[from] crm_core::CoreError),
    /// The documents library refused or failed.
    #[error(transparent)]
    Docs(#[from] crm_documents::DocsError),
    /// No such record.
    #[error("no {what} {id} ({hint})")]
    NotFound {
        /// The kind of record.
        what: &'static str,
        /// What was asked for.
        id: String,
        /// Where to find the right one.
        hint: &'static str,
    },
    /// A value is not acceptable; nothing was written.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field (as the form or the flag names it).
        field: &'static str,
        /// What is wrong and what would do.
        reason: String,
    },
    /// This person may not do or see this.
    #[error("{0}")]
    Forbidden(String),
    /// A step not allowed in the record's state.
    #[error("{0}")]
    State(String),
    /// Writing the evidence pack failed.
    #[error("the evidence pack could not be written: {0}")]
    Pack(String),
}

impl From<rusqlite::Error> for ComplianceError {
    fn from(e: rusqlite::Error) -> Self {
        ComplianceError::Core(e.into())
    }
}

impl ComplianceError {
    /// A refused value of `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ComplianceError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Result of the compliance crate.
pub type Result<T, E = ComplianceError> = std::result::Result<T, E>;
