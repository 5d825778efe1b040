//! Care compliance's HTTP calls (`/v1/compliance`): push records changed
//! on this device, pull what changed among what its user may see.
//! Applying them is `crm-compliance`'s.

use crm_protocol::compliance::{CompliancePull, CompliancePush, CompliancePushed, CHUNK};
use crm_protocol::documents::FileChunks;

use crate::{refused, Connection, SyncError};

impl Connection {
    /// What changed since `since` among what this device's user may see
    /// (everything, when `view` is not theirs any more).
    pub fn compliance_pull(
        &self,
        token: &str,
        since: Option<i64>,
        view: Option<&str>,
    ) -> Result<CompliancePull, SyncError> {
        let url = format!("{}/v1/compliance", self.base);
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(r) = since {
            query.push(("since", r.to_string()));
        }
        if let Some(v) = view {
            query.push(("view", v.to_string()));
        }
        let resp = self.send(|| self.http.get(&url).query(&query).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        resp.json()
            .map_err(|e| SyncError::Offline(format!("bad compliance response: {e}")))
    }

    /// Push records changed here; each is accepted or refused on its own.
    pub fn compliance_push(
        &self,
        token: &str,
        push: &CompliancePush,
    ) -> Result<CompliancePushed, SyncError> {
        let url = format!("{}/v1/compliance", self.base);
        let resp = self.send(|| self.http.post(&url).bearer_auth(token).json(push))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        resp.json()
            .map_err(|e| SyncError::Offline(format!("bad compliance push response: {e}")))
    }

    /// Which chunks of an evidence file the server holds.
    pub fn compliance_file_chunks(
        &self,
        token: &str,
        sha256: &str,
    ) -> Result<FileChunks, SyncError> {
        let url = format!("{}/v1/compliance/files/{sha256}", self.base);
        let resp = self.send(|| self.http.get(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        resp.json()
            .map_err(|e| SyncError::Offline(format!("bad file chunks response: {e}")))
    }

    /// Upload chunk `n` of an evidence file of `size` bytes.
    pub fn put_compliance_chunk(
        &self,
        token: &str,
        sha256: &str,
        n: u64,
        size: u64,
        bytes: Vec<u8>,
    ) -> Result<(), SyncError> {
        let url = format!("{}/v1/compliance/files/{sha256}/{n}", self.base);
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

    /// Chunk `n` of an evidence file this user may see.
    pub fn compliance_evidence_chunk(
        &self,
        token: &str,
        id: &str,
        n: u64,
    ) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}/v1/compliance/evidence/{id}/{n}", self.base);
        let resp = self.send(|| self.http.get(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        if resp.content_length().is_some_and(|l| l > CHUNK as u64) {
            return Err(SyncError::Offline(format!(
                "chunk {n} of evidence {id} is larger than {CHUNK} bytes"
            )));
        }
        let bytes = resp
            .bytes()
            .map_err(|e| SyncError::Offline(format!("reading chunk {n} of evidence {id}: {e}")))?;
        Ok(bytes.to_vec())
    }
}
