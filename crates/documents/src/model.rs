//! What the library holds and answers, as its callers see it.

use serde::Serialize;

/// Why a documents call failed. Each names what to do.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    /// The store refused or failed.
    #[error(transparent)]
    Core(#[from] crm_core::CoreError),
    /// No such document.
    #[error("no document with id {0} (see `docs list`)")]
    NotFound(String),
    /// A value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// What was given (a flag, a field).
        field: &'static str,
        /// What is wrong and what would do.
        reason: String,
    },
    /// A step not allowed in the document's state.
    #[error("{0}")]
    State(String),
    /// The search index failed (it is rebuilt from the store next time).
    #[error("the search index failed: {0}")]
    Index(String),
    /// The language model could not answer.
    #[error("the language model did not answer: {0}")]
    Model(String),
    /// Stopped by the person who started it.
    #[error("cancelled")]
    Cancelled,
    /// The agency's server could not be reached or refused.
    #[error("documents not synced: {0}")]
    Sync(#[from] crm_sync_client::SyncError),
}

impl From<rusqlite::Error> for DocsError {
    fn from(e: rusqlite::Error) -> Self {
        DocsError::Core(e.into())
    }
}

impl From<tantivy::TantivyError> for DocsError {
    fn from(e: tantivy::TantivyError) -> Self {
        DocsError::Index(e.to_string())
    }
}

/// Result of the documents library.
pub type Result<T, E = DocsError> = std::result::Result<T, E>;

/// Where a document is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Being prepared: only admins see it; not searched.
    Draft,
    /// Out to its audience: searched and asked.
    Published,
    /// Withdrawn: kept with its versions, searched by no one.
    Retired,
}

impl DocStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocStatus::Draft => "draft",
            DocStatus::Published => "published",
            DocStatus::Retired => "retired",
        }
    }

    pub(crate) fn parse(s: &str) -> DocStatus {
        match s {
            "published" => DocStatus::Published,
            "retired" => DocStatus::Retired,
            _ => DocStatus::Draft,
        }
    }
}

/// What reading a version's file gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Its text is in the index.
    Indexed,
    /// A scan without a text layer: kept, not searchable until OCR'd.
    NeedsOcr,
    /// Unreadable: kept with the reason.
    Failed,
}

impl FileState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Indexed => "indexed",
            FileState::NeedsOcr => "needs_ocr",
            FileState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> FileState {
        match s {
            "indexed" => FileState::Indexed,
            "needs_ocr" => FileState::NeedsOcr,
            _ => FileState::Failed,
        }
    }
}

/// A document as the library lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The name of the file its latest version was added from.
    pub file_name: String,
    /// Draft, published or retired.
    pub status: DocStatus,
    /// Who may see it: `everyone`, `role:R`, `team:T`.
    pub audience: Vec<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// From when it applies (YYYY-MM-DD).
    pub effective_date: Option<String>,
    /// When it is next reviewed (YYYY-MM-DD).
    pub review_date: Option<String>,
    /// The version search uses (`None`: none readable yet).
    pub live_version: Option<i64>,
    /// The newest version.
    pub latest_version: i64,
    /// How reading the latest version went.
    pub state: FileState,
    /// Why it failed, when it did.
    pub reason: Option<String>,
    /// Pages of the latest version.
    pub pages: i64,
    /// Last change.
    pub updated_at: String,
}

/// One version of a document.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    /// 1, 2, …
    pub version: i64,
    /// The file it was added from.
    pub file_name: String,
    /// Its format.
    pub kind: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// How reading it went.
    pub state: FileState,
    /// Why it failed.
    pub reason: Option<String>,
    /// What changed, as the admin said.
    pub change_note: Option<String>,
    /// Pages.
    pub pages: i64,
    /// Whether the pages are real pages (PDF, Word with page breaks)
    /// rather than one long text.
    pub paged: bool,
    /// When added.
    pub added_at: String,
    /// Who added it.
    pub added_by: String,
    /// Whether search uses this version.
    pub live: bool,
}

/// A passage found by a search.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// The document.
    pub document_id: String,
    /// Its title.
    pub title: String,
    /// The file the version was added from.
    pub file_name: String,
    /// The version the passage is from.
    pub version: i64,
    /// The page (`None` when the format has no pages).
    pub page: Option<i64>,
    /// The headings above the passage, outermost first, joined by ` › `.
    pub heading: String,
    /// The passage.
    pub text: String,
    /// BM25 relevance; higher is better.
    pub score: f32,
    /// The passage's id (to read it again, or open the viewer at it).
    pub passage_id: i64,
    /// Where on its page the passage starts and ends (characters).
    pub start: i64,
    /// End of the span (exclusive).
    pub end: i64,
    /// Ranges of `text` (characters) that matched the question.
    pub highlights: Vec<(usize, usize)>,
}
