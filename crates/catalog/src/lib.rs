//! The tenant's plugin catalog on a device. *Boundary:* this crate pulls
//! the catalog (`crm-sync-client`) and applies it through the plugin
//! lifecycle (`crm-plugins`) and the store (`crm-core`); nothing below it
//! knows it exists, except the runtime's kill switch, which reads the
//! pulled policies the store keeps (`Store::catalog_block`).
//!
//! [`pull`] records the policies first, in one transaction: from that
//! moment a blocked or removed plugin cannot run, before anything else is
//! done (and if applying the rest fails, the block still holds). Then, for
//! the plugins whose audience includes this device's user, it applies each
//! mode: `force_installed` plugins are installed (the package fetched,
//! checked against the catalog's digest and verified against the tenant's
//! trusted keys) and enabled with the approved grants, an update asking
//! for more than the approved grants waits for an admin; `blocked` ones
//! are disabled; `removed` ones have their data kept in the encrypted
//! profile, then are uninstalled. `allowed` ones are left to people.

#![deny(missing_docs)]

mod report;

pub use report::{plugin_report, report};

use crm_core::catalog_state::LocalPolicy;
use crm_core::Store;
use crm_plugins::{lifecycle, runtime};
use crm_protocol::catalog::{CatalogEntry, ALLOWED, BLOCKED, FORCE_INSTALLED, REMOVED};
use crm_sync_client::{Connection, SyncError};
use sha2::Digest;

/// Why the catalog could not be pulled.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The server.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The local store.
    #[error(transparent)]
    Core(#[from] crm_core::CoreError),
    /// Not done, and why.
    #[error("{0}")]
    Refused(String),
}

/// What one pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The catalog had not changed since the last pull.
    pub unchanged: bool,
    /// Its revision.
    pub revision: i64,
    /// Installed or updated, with their version.
    pub installed: Vec<String>,
    /// Enabled.
    pub enabled: Vec<String>,
    /// Stopped by the kill switch.
    pub blocked: Vec<String>,
    /// Uninstalled (their data kept in the profile).
    pub removed: Vec<String>,
    /// Waiting for an admin, with why.
    pub waiting: Vec<(String, String)>,
    /// Could not be applied, with why (tried again at the next pull).
    pub failed: Vec<(String, String)>,
}

/// What the tenant's catalog says of an installed plugin, in words, once
/// this device has pulled one: who put it there, or that it is stopped, or
/// that the catalog does not list it (a local-only plugin). The app's
/// plugin cards and `crm plugin list` show it.
pub fn standing(store: &Store, id: &str) -> Result<Option<String>, crm_core::CoreError> {
    if store.catalog_revision()?.is_none() {
        return Ok(None);
    }
    Ok(Some(match store.catalog_policy(id)? {
        None if store.catalog_block(id)?.is_some() => {
            "Stopped: not in your agency's catalog, and your agency runs only its catalog's plugins here"
                .into()
        }
        None => "Not in your agency's catalog: installed on this device only".into(),
        Some(p) => match (p.mode.as_str(), p.reason) {
            (FORCE_INSTALLED, _) => "Installed by your agency for everyone it is for".into(),
            (ALLOWED, _) => "Allowed by your agency".into(),
            (_, Some(r)) => format!("Stopped by your agency: {r}"),
            _ => "Stopped by your agency".into(),
        },
    }))
}

fn local(e: &CatalogEntry) -> LocalPolicy {
    LocalPolicy {
        plugin_id: e.plugin_id.clone(),
        mode: e.mode.clone(),
        version: e.version.clone(),
        pinned: e.pinned_version.is_some(),
        sha256: e.sha256.clone(),
        grants: e.grants.clone(),
        settings: e.settings.clone().into_iter().collect(),
        applies: e.applies,
        reason: e.reason.clone(),
    }
}

/// Pull the catalog and apply it (see the module).
pub fn pull(store: &mut Store, conn: &Connection, token: &str) -> Result<Applied, CatalogError> {
    let since = store.catalog_revision()?;
    let cat = conn.catalog(token, since)?;
    let mut out = Applied {
        unchanged: cat.unchanged,
        revision: cat.revision,
        ..Default::default()
    };
    if cat.unchanged {
        // Nothing new; a plugin that failed to apply last time is tried
        // again from what is kept.
        retry(store, conn, token, &mut out)?;
        return Ok(out);
    }
    let policies: Vec<LocalPolicy> = cat.plugins.iter().map(local).collect();
    let publishers: Vec<(String, String)> = cat
        .publishers
        .iter()
        .map(|p| (p.public_key.clone(), p.name.clone()))
        .collect();
    store.set_catalog(cat.revision, &policies, &publishers, &cat.local_plugins)?;
    for p in &policies {
        apply(store, conn, token, p, &mut out)?;
    }
    Ok(out)
}

/// Apply what is kept again (after an unchanged answer): whatever is not
/// yet as the catalog says (a force-installed plugin missing, at another
/// version or off; a blocked one on; a removed one still there), so a
/// failure is tried again at every sync.
fn retry(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    out: &mut Applied,
) -> Result<(), CatalogError> {
    for p in store.catalog_policies()? {
        let rec = store.plugin(&p.plugin_id).ok();
        let behind = match p.mode.as_str() {
            FORCE_INSTALLED if p.applies => rec
                .as_ref()
                .is_none_or(|r| Some(&r.version) != p.version.as_ref() || !r.enabled),
            BLOCKED => rec.as_ref().is_some_and(|r| r.enabled),
            REMOVED => rec.is_some(),
            _ => false,
        };
        if behind {
            apply(store, conn, token, &p, out)?;
        }
    }
    Ok(())
}

fn apply(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    p: &LocalPolicy,
    out: &mut Applied,
) -> Result<(), CatalogError> {
    let id = p.plugin_id.as_str();
    let installed = store.plugin(id).ok();
    match p.mode.as_str() {
        BLOCKED => {
            if let Some(mut rec) = installed.filter(|r| r.enabled) {
                rec.enabled = false;
                rec.disabled_reason = Some(
                    store
                        .catalog_block(id)?
                        .unwrap_or_else(|| format!("{id} is blocked")),
                );
                store.with_catalog_authority(|s| s.put_plugin(&rec, "blocked_by_catalog"))?;
                out.blocked.push(id.to_string());
            }
        }
        REMOVED => {
            if let Some(rec) = installed {
                let done = keep_and_uninstall(store, &rec);
                match done {
                    Ok(()) => out.removed.push(id.to_string()),
                    Err(e) => out.failed.push((id.to_string(), e)),
                }
            }
        }
        FORCE_INSTALLED if p.applies => {
            if let Err(e) = force(store, conn, token, p, installed, out) {
                tracing::warn!(plugin = id, "catalog: {e}");
                out.failed.push((id.to_string(), e));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Install a plugin the catalog allows this device's user (`allowed` or
/// `force_installed`, in its audience) at the catalog's version: fetched,
/// checked against the catalog's digest and verified against the tenant's
/// keys. It starts off; enabling it grants at most what the catalog
/// approves. Anyone may, not only an admin: the admin allowed it.
pub fn install_allowed(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    id: &str,
) -> Result<crm_plugins::Manifest, CatalogError> {
    let refused = |why: String| CatalogError::Refused(why);
    let Some(p) = store.catalog_policy(id)? else {
        return Err(refused(format!(
            "{id} is not in your agency's catalog (crm catalog list shows what is)"
        )));
    };
    if !p.applies || !matches!(p.mode.as_str(), ALLOWED | FORCE_INSTALLED) {
        return Err(refused(match p.mode.as_str() {
            ALLOWED | FORCE_INSTALLED => {
                format!("your agency's catalog offers {id} to others, not to you")
            }
            _ => store
                .catalog_block(id)?
                .unwrap_or_else(|| format!("your agency's catalog stops {id}")),
        }));
    }
    let Some(version) = p.version.as_deref() else {
        return Err(refused(format!(
            "the catalog names no version of {id} to install"
        )));
    };
    let bytes = conn.catalog_package(token, id, version)?;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    if p.sha256.as_deref() != Some(sha.as_str()) {
        return Err(refused(format!(
            "the package of {id} {version} does not match the catalog's digest; not installed"
        )));
    }
    lifecycle::install_bytes(store, bytes, false).map_err(|e| refused(e.to_string()))
}

/// Keep an installed plugin's data in the encrypted profile (as
/// `uninstall --export` would write it), then uninstall it; not at all when
/// the data cannot be kept.
fn keep_and_uninstall(store: &mut Store, rec: &crm_core::PluginRecord) -> Result<(), String> {
    let id = rec.id.as_str();
    store.with_catalog_authority(|s| {
        // Its secrets stay secrets: by its manifest, or (a manifest this
        // build cannot read) by what was stored as one.
        let secrets = match crm_plugins::Manifest::parse(&rec.manifest) {
            Ok(m) => runtime::secret_keys_of(s, id, &m).map_err(|e| e.to_string())?,
            Err(_) => s.plugin_secret_keys(id).map_err(|e| e.to_string())?,
        };
        let data = s
            .plugin_data_export(id, &secrets)
            .map_err(|e| format!("its data could not be kept, so it stays installed: {e}"))?;
        s.keep_plugin_export(id, &data)
            .map_err(|e| format!("its data could not be kept, so it stays installed: {e}"))?;
        lifecycle::uninstall(s, id).map_err(|e| e.to_string())
    })
}

/// Install (or update to) the catalog's version and enable it with the
/// approved grants.
fn force(
    store: &mut Store,
    conn: &Connection,
    token: &str,
    p: &LocalPolicy,
    installed: Option<crm_core::PluginRecord>,
    out: &mut Applied,
) -> Result<(), String> {
    let id = p.plugin_id.as_str();
    let Some(version) = p.version.as_deref() else {
        return Err(format!("the catalog names no version of {id} to run"));
    };
    let current = installed
        .as_ref()
        .and_then(|r| semver::Version::parse(&r.version).ok());
    let wanted = semver::Version::parse(version).map_err(|e| format!("{version}: {e}"))?;
    let installed_sha = installed
        .as_ref()
        .map(|r| hex::encode(sha2::Sha256::digest(&r.package)));
    let same = current.as_ref() == Some(&wanted) && installed_sha == p.sha256;
    // A newer copy than the catalog's newest stays, unless pinned below it.
    let newer_kept = current.as_ref().is_some_and(|c| *c > wanted) && !p.pinned;
    if !same && !newer_kept {
        let bytes = conn
            .catalog_package(token, id, version)
            .map_err(|e| e.to_string())?;
        let sha = hex::encode(sha2::Sha256::digest(&bytes));
        if p.sha256.as_deref() != Some(sha.as_str()) {
            return Err(format!(
                "the package of {id} {version} does not match the catalog's digest; not installed"
            ));
        }
        // Read (and verify) it before touching what is installed: a
        // version asking for more than the approved grants is not
        // installed at all, so the running one goes on.
        let keys: Vec<_> = store
            .trusted_publishers()
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|(k, _)| crm_plugins::package::parse_public_key(k).ok())
            .collect();
        let pkg = crm_plugins::package::read_package(&bytes, &keys, false)
            .map_err(|e| format!("{id} {version}: {e}"))?;
        let beyond: Vec<&str> = pkg
            .manifest
            .permissions
            .iter()
            .filter(|x| !p.grants.contains(x))
            .map(String::as_str)
            .collect();
        if !beyond.is_empty() {
            out.waiting.push((
                id.to_string(),
                format!(
                    "{id} {version} asks for {} beyond what the catalog approves; it waits for an admin",
                    beyond.join(", ")
                ),
            ));
            return Ok(());
        }
        // Going down to a pin, or replacing a copy with other contents at
        // the same version: the installed one goes first, its data kept.
        if let Some(rec) = installed
            .as_ref()
            .filter(|_| current.as_ref() >= Some(&wanted))
        {
            keep_and_uninstall(store, rec)?;
        }
        store
            .with_catalog_authority(|s| lifecycle::install_bytes(s, bytes, false))
            .map_err(|e| e.to_string())?;
        out.installed.push(format!("{id} {version}"));
    }
    let rec = store.plugin(id).map_err(|e| e.to_string())?;
    let m = crm_plugins::Manifest::parse(&rec.manifest)
        .map_err(|_| format!("{id}: damaged manifest"))?;
    let beyond: Vec<&String> = m
        .permissions
        .iter()
        .filter(|x| !p.grants.contains(x))
        .collect();
    if !beyond.is_empty() {
        let why = format!(
            "{id} {} asks for {} beyond what the catalog approves; it waits for an admin",
            rec.version,
            beyond
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        out.waiting.push((id.to_string(), why));
        return Ok(());
    }
    if !rec.enabled || rec.grants != m.permissions {
        store
            .with_catalog_authority(|s| lifecycle::enable(s, id, Some(m.permissions.clone())))
            .map_err(|e| e.to_string())?;
        out.enabled.push(id.to_string());
    }
    Ok(())
}
