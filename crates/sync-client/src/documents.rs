//! The documents library's HTTP calls (`/v1/documents…`): read what this
//! device's user may have, fetch a file by chunk, and an admin's uploads.
//! Applying them to the device is `crm-documents`'s.

use crm_protocol::documents::{DocumentEntry, DocumentsResponse, FileChunks, CHUNK};
use serde::de::DeserializeOwned;

use crate::{refused, Connection, SyncError};

fn read<T: DeserializeOwned>(
    resp: reqwest::blocking::Response,
    what: &str,
) -> Result<T, SyncError> {
    if !resp.status().is_success() {
        return Err(refused(resp));
    }
    resp.json()
        .map_err(|e| SyncError::Offline(format!("bad {what} response: {e}")))
}

impl Connection {
    /// The documents this device's user may have; `since` and `viewer`
    /// from the last answer (answered `unchanged` when both still hold).
    pub fn documents(
        &self,
        token: &str,
        since: Option<i64>,
        viewer: Option<&str>,
    ) -> Result<DocumentsResponse, SyncError> {
        let url = format!("{}/v1/documents", self.base);
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(r) = since {
            query.push(("since", r.to_string()));
        }
        if let Some(v) = viewer {
            query.push(("viewer", v.to_string()));
        }
        read(
            self.send(|| self.http.get(&url).query(&query).bearer_auth(token))?,
            "documents",
        )
    }

    /// Chunk `n` of a document's file.
    pub fn document_chunk(
        &self,
        token: &str,
        id: &str,
        sha256: &str,
        n: u64,
    ) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}/v1/documents/{id}/files/{sha256}/{n}", self.base);
        let resp = self.send(|| self.http.get(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        if resp.content_length().is_some_and(|l| l > CHUNK as u64) {
            return Err(SyncError::Offline(format!(
                "chunk {n} of {sha256} is larger than {CHUNK} bytes"
            )));
        }
        let bytes = resp
            .bytes()
            .map_err(|e| SyncError::Offline(format!("reading chunk {n} of {sha256}: {e}")))?;
        Ok(bytes.to_vec())
    }

    /// Which chunks of a file the server holds (an admin's).
    pub fn document_file_chunks(&self, token: &str, sha256: &str) -> Result<FileChunks, SyncError> {
        let url = format!("{}/v1/documents/files/{sha256}", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "file chunks",
        )
    }

    /// Upload chunk `n` of a file of `size` bytes (an admin's).
    pub fn put_document_chunk(
        &self,
        token: &str,
        sha256: &str,
        n: u64,
        size: u64,
        bytes: Vec<u8>,
    ) -> Result<(), SyncError> {
        let url = format!("{}/v1/documents/files/{sha256}/{n}", self.base);
        let resp = self.send(|| {
            self.http
                .put(&url)
                .query(&[("size", size.to_string())])
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes.clone())
        })?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        Ok(())
    }

    /// Publish, retire or change a document whose file is uploaded (an
    /// admin's).
    pub fn put_document(
        &self,
        token: &str,
        entry: &DocumentEntry,
    ) -> Result<DocumentEntry, SyncError> {
        let url = format!("{}/v1/documents/{}", self.base, entry.id);
        read(
            self.send(|| self.http.put(&url).bearer_auth(token).json(entry))?,
            "document",
        )
    }
}
