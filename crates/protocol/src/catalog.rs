//! The tenant's plugin catalog on the wire (`/v1/catalog…`): what an admin
//! decides once for every device (which plugins, which version, with which
//! grants, or stopped everywhere), and what a device pulls at each sync.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Devices may install it (with the approved grants at most).
pub const ALLOWED: &str = "allowed";
/// Every device in its audience installs and enables it.
pub const FORCE_INSTALLED: &str = "force_installed";
/// Installed copies are disabled and cannot be enabled: the kill switch.
pub const BLOCKED: &str = "blocked";
/// Uninstalled from devices (their data exported first).
pub const REMOVED: &str = "removed";
/// Every mode, in the order an admin would read them.
pub const MODES: &[&str] = &[ALLOWED, FORCE_INSTALLED, BLOCKED, REMOVED];

/// Plugins from outside the catalog (installed on a device only) may run
/// for everyone.
pub const LOCAL_EVERYONE: &str = "everyone";
/// Plugins from outside the catalog run for admins only: the default.
pub const LOCAL_ADMINS: &str = "admins";
/// Only the catalog's plugins run, for everyone.
pub const LOCAL_NO_ONE: &str = "no_one";
/// Who may run plugins from outside the catalog, most open first.
pub const LOCAL_PLUGINS: &[&str] = &[LOCAL_EVERYONE, LOCAL_ADMINS, LOCAL_NO_ONE];

fn local_admins() -> String {
    LOCAL_ADMINS.to_string()
}

/// `PUT /v1/catalog/local-plugins`: an admin says who may run plugins
/// that are not in the catalog (one of [`LOCAL_PLUGINS`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LocalPluginsRequest {
    /// `everyone`, `admins` or `no_one`.
    pub who: String,
}

/// Who a plugin is for: everyone, or the users with one of these roles or
/// in one of these teams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Audience {
    /// Everyone in the tenant.
    #[serde(default)]
    pub everyone: bool,
    /// Roles (`agent`, `admin`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Teams.
    #[serde(default)]
    pub teams: Vec<String>,
}

impl Default for Audience {
    fn default() -> Self {
        Audience {
            everyone: true,
            roles: Vec::new(),
            teams: Vec::new(),
        }
    }
}

impl Audience {
    /// Whether a user with `role` in `team` is in it.
    pub fn includes(&self, role: &str, team: Option<&str>) -> bool {
        self.everyone
            || self.roles.iter().any(|r| r == role)
            || team.is_some_and(|t| self.teams.iter().any(|x| x == t))
    }
}

/// `PUT /v1/catalog/plugins/{id}`: an admin sets a plugin's policy. Fields
/// left out keep their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    /// One of [`MODES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Run exactly this published version (clears a minimum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Run the newest published version at or above this one (clears a pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// The permissions devices may grant it (no more; each one the plugin
    /// asks for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<String>>,
    /// Non-secret setting defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub settings: Option<BTreeMap<String, serde_json::Value>>,
    /// Who it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Audience>,
    /// Why (shown to people whose plugin stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A publisher the tenant trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Publisher {
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// Who it is.
    pub name: String,
}

/// One plugin of the catalog as it applies to the asking device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogEntry {
    /// Plugin id.
    pub plugin_id: String,
    /// Its name (of the version to run).
    pub name: String,
    /// One of [`MODES`].
    pub mode: String,
    /// The version devices run: the pinned one, else the newest published
    /// at or above the minimum.
    pub version: Option<String>,
    /// SHA-256 of that version's package, hex.
    pub sha256: Option<String>,
    /// The pin, if any.
    pub pinned_version: Option<String>,
    /// The minimum, if any.
    pub min_version: Option<String>,
    /// Every published version, oldest first.
    pub versions: Vec<String>,
    /// The permissions devices may grant it.
    pub grants: Vec<String>,
    /// Non-secret setting defaults.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: BTreeMap<String, serde_json::Value>,
    /// Who it is for.
    pub audience: Audience,
    /// Whether the asking device's user is in the audience.
    pub applies: bool,
    /// Why, when an admin said.
    pub reason: Option<String>,
    /// The role templates the version devices run (else the newest)
    /// suggests.
    #[serde(default)]
    pub role_templates: Vec<RoleTemplate>,
    /// The permissions that version asks for (what may be approved).
    #[serde(default)]
    pub asks: Vec<String>,
    /// Its non-secret settings (what may be given a default).
    #[serde(default)]
    pub setting_fields: Vec<SettingField>,
}

/// A role template a plugin's manifest suggests: the permissions a role
/// would need. Shown to admins beside the approved grants; never applied
/// by itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleTemplate {
    /// The role's name, as the plugin's author wrote it.
    pub name: String,
    /// The permissions it would need.
    pub permissions: Vec<String>,
}

/// One non-secret setting of a plugin's settings form, for the defaults an
/// admin gives every device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingField {
    /// The key scripts read it by.
    pub key: String,
    /// Its label.
    pub label: String,
    /// `string`, `integer`, `number` or `boolean`.
    pub kind: String,
    /// Allowed values (empty: any).
    #[serde(default)]
    pub choices: Vec<String>,
}

/// `GET /v1/catalog?since=REVISION`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogResponse {
    /// The catalog's revision: it moves with every change.
    pub revision: i64,
    /// True when `since` is the revision: nothing else is sent.
    pub unchanged: bool,
    /// The publishers the tenant trusts.
    pub publishers: Vec<Publisher>,
    /// The plugins with a policy.
    pub plugins: Vec<CatalogEntry>,
    /// Who may run plugins from outside the catalog (one of
    /// [`LOCAL_PLUGINS`]; `admins` from servers that do not say).
    #[serde(default = "local_admins")]
    pub local_plugins: String,
}

/// The answer to a publish.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishResponse {
    /// Plugin id.
    pub plugin_id: String,
    /// Version published.
    pub version: String,
    /// SHA-256 of the package, hex.
    pub sha256: String,
    /// The permissions it asks for.
    pub permissions: Vec<String>,
    /// The catalog's revision after it.
    pub revision: i64,
}

/// `POST /v1/catalog/publishers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// Ed25519 public key, hex (a `.pub` file's content).
    pub public_key: String,
    /// Who it is.
    pub name: String,
}

/// One change to the catalog, as admins see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogAuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who (their email).
    pub actor: String,
    /// The plugin, if the change was about one.
    pub plugin_id: Option<String>,
    /// `published`, `policy_set`, `publisher_trusted`, `publisher_removed`.
    pub action: String,
    /// What changed.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}
