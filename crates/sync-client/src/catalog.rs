//! The catalog's HTTP calls (`/v1/catalog…`): read it, fetch a package,
//! and the admin's changes. Applying it to a device is `crm-catalog`'s.

use crm_protocol::catalog::{
    CatalogAuditEntry, CatalogEntry, CatalogResponse, LocalPluginsRequest, PolicyRequest,
    PublishResponse, Publisher, TrustRequest,
};
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

/// Largest package read from the server, bytes (a package's files may
/// total 8 MiB, compressed in the zip).
const MAX_PACKAGE: u64 = 8 << 20;

impl Connection {
    /// The catalog as it applies to this device's user; `since`: the
    /// revision this device has (answered `unchanged` when current).
    pub fn catalog(&self, token: &str, since: Option<i64>) -> Result<CatalogResponse, SyncError> {
        let url = match since {
            Some(r) => format!("{}/v1/catalog?since={r}", self.base),
            None => format!("{}/v1/catalog", self.base),
        };
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "catalog",
        )
    }

    /// A published package's bytes.
    pub fn catalog_package(
        &self,
        token: &str,
        id: &str,
        version: &str,
    ) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}/v1/catalog/packages/{id}/{version}", self.base);
        let resp = self.send(|| self.http.get(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        if resp.content_length().is_some_and(|n| n > MAX_PACKAGE) {
            return Err(SyncError::Offline(format!(
                "the package {id} {version} is larger than {MAX_PACKAGE} bytes"
            )));
        }
        let bytes = resp
            .bytes()
            .map_err(|e| SyncError::Offline(format!("reading the package: {e}")))?;
        Ok(bytes.to_vec())
    }

    /// Publish a signed package (an admin's): with `mode` and `grants` for
    /// a plugin new to the catalog (or to change them).
    pub fn catalog_publish(
        &self,
        token: &str,
        package: Vec<u8>,
        mode: Option<&str>,
        grants: &[String],
    ) -> Result<PublishResponse, SyncError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(m) = mode {
            query.push(("mode", m.to_string()));
        }
        if !grants.is_empty() {
            query.push(("grants", grants.join(",")));
        }
        let url = format!("{}/v1/catalog/packages", self.base);
        read(
            self.send(|| {
                self.http
                    .post(&url)
                    .query(&query)
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/zip")
                    .body(package.clone())
            })?,
            "publish",
        )
    }

    /// Set a plugin's policy (an admin's).
    pub fn catalog_set(
        &self,
        token: &str,
        id: &str,
        req: &PolicyRequest,
    ) -> Result<CatalogEntry, SyncError> {
        let url = format!("{}/v1/catalog/plugins/{id}", self.base);
        read(
            self.send(|| self.http.put(&url).bearer_auth(token).json(req))?,
            "policy",
        )
    }

    /// Trust a publisher for the tenant (an admin's).
    pub fn catalog_trust(&self, token: &str, req: &TrustRequest) -> Result<Publisher, SyncError> {
        let url = format!("{}/v1/catalog/publishers", self.base);
        read(
            self.send(|| self.http.post(&url).bearer_auth(token).json(req))?,
            "trust",
        )
    }

    /// Stop trusting a publisher for the tenant (an admin's).
    pub fn catalog_distrust(&self, token: &str, public_key: &str) -> Result<(), SyncError> {
        let url = format!("{}/v1/catalog/publishers/{public_key}", self.base);
        let resp = self.send(|| self.http.delete(&url).bearer_auth(token))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        Ok(())
    }

    /// Say who may run plugins from outside the catalog: `everyone`,
    /// `admins` or `no_one` (an admin's).
    pub fn catalog_local_plugins(&self, token: &str, who: &str) -> Result<(), SyncError> {
        let url = format!("{}/v1/catalog/local-plugins", self.base);
        let body = LocalPluginsRequest { who: who.into() };
        let resp = self.send(|| self.http.put(&url).bearer_auth(token).json(&body))?;
        if !resp.status().is_success() {
            return Err(refused(resp));
        }
        Ok(())
    }

    /// The catalog's changes, newest first (an admin's).
    pub fn catalog_audit(&self, token: &str) -> Result<Vec<CatalogAuditEntry>, SyncError> {
        let url = format!("{}/v1/catalog/audit", self.base);
        read(
            self.send(|| self.http.get(&url).bearer_auth(token))?,
            "audit",
        )
    }
}
