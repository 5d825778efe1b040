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
    /// The setting defaults it sets for every device.
    pub settings: std::collections::BTreeMap<String, serde_json::Value>,
    /// The role templates it suggests, each as a diff against the grants
    /// that role has now.
    pub role_templates: Vec<RoleTemplateDiffDto>,
    /// What devices report of it, by version (an admin's view; empty for
    /// others).
    pub devices: Vec<crate::admin_console::PluginVersionHealthDto>,
    /// The permissions the version devices run asks for: what may be
    /// approved.
    pub asks: Vec<String>,
    /// Its non-secret settings: what may be given a default.
    pub setting_fields: Vec<CatalogSettingFieldDto>,
    /// Who it is for, as set.
    pub who: AudienceArgs,
}

/// A non-secret setting of a catalog plugin.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogSettingFieldDto {
    /// Key.
    pub key: String,
    /// Label.
    pub label: String,
    /// `string`, `integer`, `number` or `boolean`.
    pub kind: String,
    /// Allowed values (empty: any).
    pub choices: Vec<String>,
}

/// Who a catalog plugin is for: everyone, or these roles and teams.
#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
pub struct AudienceArgs {
    /// Everyone in the agency.
    pub everyone: bool,
    /// Roles (`agent`, `admin`).
    pub roles: Vec<String>,
    /// Teams.
    pub teams: Vec<String>,
}

/// A role template a plugin suggests, against what the role has now: the
/// approved grants when the plugin is for that role (a name that is not a
/// tenant role: whoever it is for), else nothing.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RoleTemplateDiffDto {
    /// The role's name, as the plugin's author wrote it.
    pub name: String,
    /// Every permission it suggests.
    pub permissions: Vec<String>,
    /// Suggested and not granted now: applying it approves these.
    pub adds: Vec<String>,
    /// Granted now and not suggested (applying it keeps them).
    pub beyond: Vec<String>,
    /// Whether the plugin is for that role now (its audience).
    pub for_role: bool,
}

/// The tenant's roles (`crm_sync_server::auth::Role`).
const TENANT_ROLES: [&str; 2] = ["agent", "admin"];

/// A template's diff against an entry: what the role has now is the
/// approved grants when the role is in the audience.
fn role_diff(e: &crm_protocol::catalog::CatalogEntry) -> Vec<RoleTemplateDiffDto> {
    e.role_templates
        .iter()
        .map(|t| {
            // A template named after a tenant role is measured against that
            // role's place in the audience; another name (a job, say)
            // against whoever the plugin is for.
            let role = t.name.trim().to_lowercase();
            let for_role = e.audience.everyone
                || e.audience.roles.contains(&role)
                || !TENANT_ROLES.contains(&role.as_str());
            let now: &[String] = if for_role { &e.grants } else { &[] };
            RoleTemplateDiffDto {
                name: t.name.clone(),
                permissions: t.permissions.clone(),
                adds: t
                    .permissions
                    .iter()
                    .filter(|p| !now.contains(p))
                    .cloned()
                    .collect(),
                beyond: now
                    .iter()
                    .filter(|p| !t.permissions.contains(p))
                    .cloned()
                    .collect(),
                for_role,
            }
        })
        .collect()
}

/// A plugin the agency's catalog offers this device's user.
#[derive(Clone, Debug, Serialize, TS)]
pub struct CatalogOfferDto {
    /// Plugin id.
    pub id: String,
    /// The version it would install.
    pub version: Option<String>,
    /// The permissions it may be granted.
    pub grants: Vec<String>,
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
    /// Who may run plugins from outside the catalog: `everyone`, `admins`
    /// or `no_one`.
    pub local_plugins: String,
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
    /// Setting defaults for every device (replacing them; never secrets).
    #[ts(optional)]
    pub settings: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Who it is for (replacing it).
    #[ts(optional)]
    pub audience: Option<AudienceArgs>,
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
    pub(crate) fn server(&self) -> ApiResult<(Connection, zeroize::Zeroizing<String>)> {
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
        // Devices' reports are an admin's to read; others see none.
        let mut health = if self.sync_status()?.admin {
            self.admin_plugin_health()?
        } else {
            Vec::new()
        };
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
                    role_templates: role_diff(&e),
                    devices: {
                        let (mine, rest) = std::mem::take(&mut health)
                            .into_iter()
                            .partition(|h| h.plugin_id == e.plugin_id);
                        health = rest;
                        mine
                    },
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
                    settings: e.settings,
                    asks: e.asks,
                    setting_fields: e
                        .setting_fields
                        .into_iter()
                        .map(|f| CatalogSettingFieldDto {
                            key: f.key,
                            label: f.label,
                            kind: f.kind,
                            choices: f.choices,
                        })
                        .collect(),
                    who: AudienceArgs {
                        everyone: e.audience.everyone,
                        roles: e.audience.roles,
                        teams: e.audience.teams,
                    },
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
            local_plugins: cat.local_plugins,
        })
    }

    /// Apply a role template plugin `id` suggests (an admin's choice; never
    /// done by itself): its permissions join the approved grants, and when
    /// it names one of the tenant's roles (agent, admin) that the plugin is
    /// not yet for, that role joins its audience.
    pub fn catalog_apply_role_template(&self, id: &str, name: &str) -> ApiResult<CatalogViewDto> {
        let (conn, token) = self.server()?;
        let cat = conn.catalog(&token, None)?;
        let Some(e) = cat.plugins.iter().find(|e| e.plugin_id == id) else {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("{id} is not in the catalog"),
            ));
        };
        let Some(t) = e.role_templates.iter().find(|t| t.name == name) else {
            return Err(ApiError::invalid(
                "name",
                format!("{id} suggests no role template called {name:?}"),
            ));
        };
        let mut grants = e.grants.clone();
        grants.extend(
            t.permissions
                .iter()
                .filter(|p| !e.grants.contains(p))
                .cloned(),
        );
        let role = t.name.trim().to_lowercase();
        let audience = (!e.audience.everyone
            && TENANT_ROLES.contains(&role.as_str())
            && !e.audience.roles.contains(&role))
        .then(|| {
            let mut a = e.audience.clone();
            a.roles.push(role);
            a
        });
        conn.catalog_set(
            &token,
            id,
            &PolicyRequest {
                grants: Some(grants),
                audience,
                ..Default::default()
            },
        )?;
        self.catalog_view()
    }

    /// The plugins the agency's catalog offers this device's user and that
    /// are not installed here (`allowed` ones in their audience), as last
    /// pulled: anyone may install these.
    pub fn catalog_offers(&self) -> ApiResult<Vec<CatalogOfferDto>> {
        self.read(|s| {
            let mut out = Vec::new();
            for p in s.catalog_policies()? {
                if p.applies
                    && p.mode == crm_protocol::catalog::ALLOWED
                    && s.plugin(&p.plugin_id).is_err()
                {
                    out.push(CatalogOfferDto {
                        id: p.plugin_id,
                        version: p.version,
                        grants: p.grants,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Install a plugin the agency's catalog offers (see
    /// [`App::catalog_offers`]); it starts off, and may be switched on with
    /// at most the grants the catalog approves.
    pub fn catalog_install(&self, id: &str) -> ApiResult<crate::dto::PluginDto> {
        let (conn, token) = self.server()?;
        self.write(|s| {
            crm_catalog::install_allowed(s, &conn, &token, id).map_err(|e| match e {
                crm_catalog::CatalogError::Sync(e) => e.into(),
                crm_catalog::CatalogError::Core(e) => e.into(),
                crm_catalog::CatalogError::Refused(why) => ApiError::new(ErrorCode::Plugin, why),
            })
        })?;
        self.plugin(id)
    }

    /// Say who may run plugins from outside the catalog (an admin's).
    pub fn catalog_set_local_plugins(&self, who: &str) -> ApiResult<CatalogViewDto> {
        let (conn, token) = self.server()?;
        conn.catalog_local_plugins(&token, who)?;
        self.catalog_view()
    }

    /// Stop trusting a publisher (an admin's): devices drop the key at
    /// their next sync and its plugins stop verifying there.
    pub fn catalog_distrust(&self, public_key: &str) -> ApiResult<CatalogViewDto> {
        let (conn, token) = self.server()?;
        conn.catalog_distrust(&token, public_key)?;
        self.catalog_view()
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
                settings: args.settings,
                audience: args.audience.map(|a| crm_protocol::catalog::Audience {
                    everyone: a.everyone,
                    roles: a.roles,
                    teams: a
                        .teams
                        .into_iter()
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect(),
                }),
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
                        if let Some(g) = a.detail["grants"].as_array() {
                            let g: Vec<&str> = g.iter().filter_map(|x| x.as_str()).collect();
                            parts.push(format!(
                                "grants {}",
                                if g.is_empty() {
                                    "none".to_string()
                                } else {
                                    g.join(", ")
                                }
                            ));
                        }
                        if let Some(d) = a.detail["settings"].as_object() {
                            let keys: Vec<&str> = d.keys().map(String::as_str).collect();
                            parts.push(format!("defaults for {}", keys.join(", ")));
                        }
                        if let Ok(who) = serde_json::from_value::<crm_protocol::catalog::Audience>(
                            a.detail["audience"].clone(),
                        ) {
                            parts.push(format!("for {}", audience_words(&who).to_lowercase()));
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
                    "publisher_removed" => format!(
                        "stopped trusting the publisher key {}…",
                        a.detail["public_key"]
                            .as_str()
                            .unwrap_or("?")
                            .chars()
                            .take(16)
                            .collect::<String>()
                    ),
                    "local_plugins" => match a.detail["who"].as_str() {
                        Some("everyone") => {
                            "let everyone run plugins from outside the catalog".into()
                        }
                        Some("no_one") => "let no one run plugins from outside the catalog".into(),
                        _ => "let only admins run plugins from outside the catalog".into(),
                    },
                    other => other.replace('_', " "),
                },
                at: a.at,
                actor: a.actor,
                plugin_id: a.plugin_id,
            })
            .collect())
    }
}
