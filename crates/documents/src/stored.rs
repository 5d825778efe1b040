//! Writing one version's rows (its file in chunks, its pages and
//! passages): the same for a file added here and one received from the
//! server.

use rusqlite::params;

use crate::model::FileState;
use crate::passages::Layout;

/// Stored chunks of a file are this big, as on the wire: a download
/// resumes by chunk.
pub const CHUNK: usize = crm_protocol::documents::CHUNK;

/// A version to store.
pub(crate) struct NewVersion<'a> {
    pub id: &'a str,
    pub version: i64,
    pub file_name: &'a str,
    pub kind: &'a str,
    pub bytes: &'a [u8],
    pub sha: &'a str,
    pub state: FileState,
    pub reason: Option<&'a str>,
    pub change_note: Option<&'a str>,
    pub layout: Option<&'a Layout>,
    pub at: &'a str,
    pub by: &'a str,
}

/// Insert a version's rows (inside the caller's feature write).
pub(crate) fn insert_version(c: &rusqlite::Connection, v: &NewVersion<'_>) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO documents_versions (doc_id, version, file_name, kind, size, sha256, state, \
         reason, change_note, pages, paged, added_at, added_by) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            v.id,
            v.version,
            v.file_name,
            v.kind,
            v.bytes.len() as i64,
            v.sha,
            v.state.as_str(),
            v.reason,
            v.change_note,
            v.layout.map_or(0, |l| l.pages.len() as i64),
            v.layout.is_some_and(|l| l.paged),
            v.at,
            v.by
        ],
    )?;
    for (n, chunk) in v.bytes.chunks(CHUNK).enumerate() {
        c.execute(
            "INSERT INTO documents_chunks (doc_id, version, n, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![v.id, v.version, n as i64, chunk],
        )?;
    }
    if let Some(l) = v.layout {
        let mut page = c.prepare(
            "INSERT INTO documents_pages (doc_id, version, page, text) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (i, text) in l.pages.iter().enumerate() {
            page.execute(params![v.id, v.version, i as i64 + 1, text])?;
        }
        let mut passage = c.prepare(
            "INSERT INTO documents_passages (doc_id, version, page, heading, start, end) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for s in &l.passages {
            passage.execute(params![
                v.id,
                v.version,
                s.page as i64,
                s.heading,
                s.start as i64,
                s.end as i64
            ])?;
        }
    }
    Ok(())
}

/// Delete a version's rows.
pub(crate) fn delete_version(
    c: &rusqlite::Connection,
    id: &str,
    version: i64,
) -> rusqlite::Result<()> {
    for table in [
        "documents_chunks",
        "documents_pages",
        "documents_passages",
        "documents_versions",
    ] {
        c.execute(
            &format!("DELETE FROM {table} WHERE doc_id = ?1 AND version = ?2"),
            params![id, version],
        )?;
    }
    Ok(())
}
