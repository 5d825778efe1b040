//! The admin console's plugin catalog: what the tenant's catalog says
//! (every plugin's mode, version, approved grants, audience, reason; the
//! trusted publishers; the audit), and an admin's changes to it, straight
//! against the sync server (the server enforces who may). Devices apply
//! the catalog at every sync (`crm-catalog`, see `sync.rs`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crm_protocol::catalog::{PolicyRequest, TrustRequest};
use crm_sync_client::{Connection, Options};

use crate::{ApiError, ApiResult, App, ErrorCode};

/// One plugin of the catalog.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogPluginDto {
    /// Plugin id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `allowed`, `force_installed`, `blocked` or `removed`.
    pub mode: String,
    /// The version devices run.
    pub version: Option<String>,
    /// A pinned version.
    pub pinned_version: Option<String>,
    /// A minimum version.
    pub min_version: Option<String>,
    /// Every published version, oldest first.
    pub versions: Vec<String>,
    /// The permissions devices may grant it.
    pub grants: Vec<String>,
    /// Who it is for, in words.
    pub audience: String,
    /// Whether it applies to this device's user.
    pub applies: bool,
    /// Why, when an admin said.
    pub reason: Option<String>,
    /// The version installed on this device, if any.
    pub installed: Option<String>,
}

/// A publisher the tenant trusts.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogPublisherDto {
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Who.
    pub name: String,
}

/// The catalog as this device's user sees it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogViewDto {
    /// Its revision.
    pub revision: i64,
    /// Its plugins.
    pub plugins: Vec<CatalogPluginDto>,
    /// The trusted publishers.
    pub publishers: Vec<CatalogPublisherDto>,
}

/// An admin's change to one plugin's policy; fields left out keep theirs.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct CatalogSetArgs {
    /// New mode.
    #[ts(optional)]
    pub mode: Option<String>,
    /// Pin this version.
    #[ts(optional)]
    pub version: Option<String>,
    /// Run this version or newer.
    #[ts(optional)]
    pub min_version: Option<String>,
    /// Approved grants (replacing them).
    #[ts(optional)]
    pub grants: Option<Vec<String>>,
    /// Why.
    #[ts(optional)]
    pub reason: Option<String>,
}

/// One change to the catalog.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogAuditDto {
    /// When.
    pub at: String,
    /// Who (email).
    pub actor: String,
    /// Which plugin.
    pub plugin_id: Option<String>,
    /// What, in words.
    pub what: String,
}

fn audience_words(a: &crm_protocol::catalog::Audience) -> String {
    if a.everyone {
        return "Everyone".into();
    }
    let mut parts = Vec::new();
    if !a.roles.is_empty() {
        parts.push(format!("roles: {}", a.roles.join(", ")));
    }
    if !a.teams.is_empty() {
        parts.push(format!("teams: {}", a.teams.join(", ")));
    }
    if parts.is_empty() {
        "Nobody".into()
    } else {
        parts.join("; ")
    }
}

impl App {
    /// A connection to this profile's sync server, as its signed-in device.
    fn server(&self) -> ApiResult<(Connection, zeroize::Zeroizing<String>)> {
        let dir = self.data_dir().to_path_buf();
        let (server, token) = self.read(|s| {
            let status = s.sync_status()?;
            Ok((status.server, s.device_token(&dir)?))
        })?;
        let (Some(server), Some(token)) = (server, token) else {
            return Err(crm_sync_client::SyncError::NotSignedIn.into());
        };
        Ok((Connection::new(&server, Options::default())?, token))
    }

    /// The tenant's catalog, fresh from the server.
    pub fn catalog_view(&self) -> ApiResult<CatalogViewDto> {
        let (conn, token) = self.server()?;
        let cat = conn.catalog(&token, None)?;
        let installed: std::collections::BTreeMap<String, String> = self.read(|s| {
            Ok(s.plugins()?
                .into_iter()
                .map(|p| (p.id, p.version))
                .collect())
        })?;
        Ok(CatalogViewDto {
            revision: cat.revision,
            plugins: cat
                .plugins
                .into_iter()
                .map(|e| CatalogPluginDto {
                    installed: installed.get(&e.plugin_id).cloned(),
                    id: e.plugin_id,
                    name: e.name,
                    mode: e.mode,
                    version: e.version,
                    pinned_version: e.pinned_version,
                    min_version: e.min_version,
                    versions: e.versions,
                    grants: e.grants,
                    audience: audience_words(&e.audience),
                    applies: e.applies,
                    reason: e.reason,
                })
                .collect(),
            publishers: cat
                .publishers
                .into_iter()
                .map(|p| CatalogPublisherDto {
                    public_key: p.public_key,
                    name: p.name,
                })
                .collect(),
        })
    }

    /// Change a plugin's policy (an admin's; the server says so otherwise).
    pub fn catalog_set(&self, id: &str, args: CatalogSetArgs) -> ApiResult<CatalogViewDto> {
        let (conn, token) = self.server()?;
        conn.catalog_set(
            &token,
            id,
            &PolicyRequest {
                mode: args.mode,
                version: args.version.filter(|v| !v.trim().is_empty()),
                min_version: args.min_version.filter(|v| !v.trim().is_empty()),
                grants: args.grants,
                reason: args.reason,
                ..Default::default()
            },
        )?;
        self.catalog_view()
    }

    /// Publish a plugin installed here (one made in the Studio, say) to the
    /// tenant's catalog, signed with this profile's publisher key; the
    /// tenant is asked to trust that key first when it does not yet.
    pub fn catalog_publish_installed(
        &self,
        id: &str,
        mode: &str,
        grants: Vec<String>,
    ) -> ApiResult<CatalogViewDto> {
        let export = self.write(|s| {
            crm_plugins::publisher::export(s, id)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))
        })?;
        let (conn, token) = self.server()?;
        let key = hex::encode(export.public_key.to_bytes());
        let cat = conn.catalog(&token, None)?;
        if !cat.publishers.iter().any(|p| p.public_key == key) {
            let email = self
                .read(|s| Ok(s.sync_status()?.email))?
                .unwrap_or_else(|| "an admin".into());
            conn.catalog_trust(
                &token,
                &TrustRequest {
                    public_key: key,
                    name: format!("{email} (Studio)"),
                },
            )?;
        }
        conn.catalog_publish(&token, export.package, Some(mode), &grants)?;
        self.catalog_view()
    }

    /// Publish a package file to the tenant's catalog.
    pub fn catalog_publish_file(
        &self,
        path: &str,
        mode: &str,
        grants: Vec<String>,
    ) -> ApiResult<CatalogViewDto> {
        let bytes = std::fs::read(path.trim())
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("{path}: {e}")))?;
        let (conn, token) = self.server()?;
        conn.catalog_publish(&token, bytes, Some(mode), &grants)?;
        self.catalog_view()
    }

    /// The catalog's changes, newest first (an admin's).
    pub fn catalog_audit(&self) -> ApiResult<Vec<CatalogAuditDto>> {
        let (conn, token) = self.server()?;
        Ok(conn
            .catalog_audit(&token)?
            .into_iter()
            .map(|a| CatalogAuditDto {
                what: match a.action.as_str() {
                    "published" => format!(
                        "published version {}",
                        a.detail["version"].as_str().unwrap_or("?")
                    ),
                    "policy_set" => {
                        let mut parts = Vec::new();
                        if let Some(m) = a.detail["mode"].as_str() {
                            parts.push(format!("mode {m}"));
                        }
                        if let Some(v) = a.detail["version"].as_str() {
                            parts.push(format!("pinned to {v}"));
                        }
                        if let Some(v) = a.detail["min_version"].as_str() {
                            parts.push(format!("at least {v}"));
                        }
                        if let Some(r) = a.detail["reason"].as_str() {
                            parts.push(format!("reason: {r}"));
                        }
                        if parts.is_empty() {
                            "changed its policy".into()
                        } else {
                            format!("set {}", parts.join(", "))
                        }
                    }
                    "publisher_trusted" => format!(
                        "trusted the publisher {}",
                        a.detail["name"].as_str().unwrap_or("?")
                    ),
                    other => other.replace('_', " "),
                },
                at: a.at,
                actor: a.actor,
                plugin_id: a.plugin_id,
            })
            .collect())
    }
}
