//! The documents feature's tables in the profile's encrypted store (see
//! `crm_core::features`): migrations only append.

use crm_core::{Feature, Store};

/// The documents feature: its name prefixes every table it owns.
pub static FEATURE: Feature = Feature {
    name: "documents",
    migrations: &[concat!(
        // One row per document: what an admin controls. `seq` grows with
        // every change that may alter search (the index catches up by it).
        "CREATE TABLE documents_docs (id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL, \
         status TEXT NOT NULL, audience TEXT NOT NULL, owner TEXT, effective_date TEXT, \
         review_date TEXT, live_version INTEGER, latest_version INTEGER NOT NULL, \
         file_name TEXT NOT NULL, seq INTEGER NOT NULL, created_at TEXT NOT NULL, \
         updated_at TEXT NOT NULL) STRICT;\n",
        "CREATE INDEX documents_docs_seq ON documents_docs(seq);\n",
        "CREATE INDEX documents_docs_title ON documents_docs(title COLLATE NOCASE, id);\n",
        "CREATE INDEX documents_docs_file ON documents_docs(file_name COLLATE NOCASE);\n",
        // Every version kept: the file as added, and what reading it gave.
        "CREATE TABLE documents_versions (doc_id TEXT NOT NULL, version INTEGER NOT NULL, \
         file_name TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, \
         state TEXT NOT NULL, reason TEXT, change_note TEXT, pages INTEGER NOT NULL, \
         paged INTEGER NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL, \
         PRIMARY KEY (doc_id, version)) STRICT;\n",
        // The file's bytes in 1 MiB chunks (a download resumes by chunk).
        "CREATE TABLE documents_chunks (doc_id TEXT NOT NULL, version INTEGER NOT NULL, \
         n INTEGER NOT NULL, bytes BLOB NOT NULL, PRIMARY KEY (doc_id, version, n)) STRICT;\n",
        // Each page's text, once; a passage is a span of it.
        "CREATE TABLE documents_pages (doc_id TEXT NOT NULL, version INTEGER NOT NULL, \
         page INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (doc_id, version, page)) STRICT;\n",
        "CREATE TABLE documents_passages (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, \
         version INTEGER NOT NULL, page INTEGER NOT NULL, heading TEXT NOT NULL, \
         start INTEGER NOT NULL, end INTEGER NOT NULL) STRICT;\n",
        "CREATE INDEX documents_passages_version ON documents_passages(doc_id, version);\n",
        // Questions asked on this device, with what was answered and cited.
        "CREATE TABLE documents_questions (id INTEGER PRIMARY KEY, at TEXT NOT NULL, \
         actor TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, sources TEXT NOT NULL, \
         model TEXT) STRICT;\n",
    ), concat!(
        // Sync with the agency's server. `pushed_seq`: the change an
        // admin's device last sent (NULL: never on the server; below
        // `seq`: changed here since).
        "ALTER TABLE documents_docs ADD COLUMN pushed_seq INTEGER;\n",
        // Chunks of files being received: a download resumes where it
        // stopped.
        "CREATE TABLE documents_incoming (sha256 TEXT NOT NULL, n INTEGER NOT NULL, \
         bytes BLOB NOT NULL, PRIMARY KEY (sha256, n)) STRICT;\n",
        // The last answer applied whole: its revision and who it was for.
        "CREATE TABLE documents_sync (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;\n",
    ), concat!(
        // The search index's segment files, so a start loads them instead
        // of indexing every passage again (see `saved.rs`), and the change
        // counter they match.
        "CREATE TABLE documents_index_files (name TEXT PRIMARY KEY NOT NULL, bytes BLOB NOT NULL) STRICT;\n",
        "CREATE TABLE documents_index_state (id INTEGER PRIMARY KEY CHECK (id = 1), \
         format INTEGER NOT NULL, seq INTEGER NOT NULL, passages INTEGER NOT NULL) STRICT;\n",
    ),
        // A controlled document (a policy or SOP under approval): its new
        // versions wait as drafts and only its controller publishes it.
        "ALTER TABLE documents_docs ADD COLUMN controlled INTEGER NOT NULL DEFAULT 0;\n",
    ],
};

/// Whether this profile has the documents tables yet (a read never
/// creates them: readers find an empty library).
pub(crate) fn installed(store: &Store) -> crm_core::Result<bool> {
    store
        .feature_read(|c| {
            c.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'documents_docs'",
            [],
            |r| r.get::<_, i64>(0),
        )
        })
        .map(|n| n > 0)
}
