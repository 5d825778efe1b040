//! Install → enable → disable → uninstall, and running a plugin's actions.
//!
//! Packages are verified against the tenant's trusted publishers (unsigned
//! folders only in developer mode), dependencies must already be installed
//! at a matching version, grants can only be a subset of what the manifest
//! asks for, and every step is audited by the store.

use std::path::Path;

use crm_core::{PluginRecord, Store};
use sha2::Digest;

use crate::manifest::Manifest;
use crate::package::{self, PackageError};
use crate::sandbox::ScriptError;

/// Lifecycle failures.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The package was refused.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crm_core::CoreError),
    /// A rule of the lifecycle.
    #[error("{0}")]
    Refused(String),
    /// A folder (an unsigned plugin) was to be installed without developer
    /// mode.
    #[error("{} is a folder, an unsigned plugin: installing one needs developer mode; otherwise pack and sign it", .0.display())]
    UnsignedFolder(std::path::PathBuf),
    /// An action that works on a record was run without one.
    #[error("action {0} works on a record: name the record it should run on")]
    NeedsRecord(String),
    /// The script failed.
    #[error(transparent)]
    Script(#[from] ScriptError),
}

type Result<T> = std::result::Result<T, LifecycleError>;

fn refused(msg: impl Into<String>) -> LifecycleError {
    LifecycleError::Refused(msg.into())
}

/// Install from a package file, or from a folder when `dev_mode` is on.
pub fn install(store: &mut Store, source: &Path, dev_mode: bool) -> Result<Manifest> {
    let (bytes, allow_unsigned) = if source.is_dir() {
        if !dev_mode {
            return Err(LifecycleError::UnsignedFolder(source.to_path_buf()));
        }
        (package::pack_unsigned(source)?, true)
    } else {
        let bytes =
            std::fs::read(source).map_err(|e| refused(format!("{}: {e}", source.display())))?;
        (bytes, dev_mode)
    };
    install_bytes(store, bytes, allow_unsigned)
}

/// Install (or upgrade to) a package given as bytes, verified against the
/// tenant's trusted keys (unsigned only when `allow_unsigned`). It starts
/// disabled; an upgrade keeps what it still asks for.
pub fn install_bytes(store: &mut Store, bytes: Vec<u8>, allow_unsigned: bool) -> Result<Manifest> {
    let pkg = package::read_package(&bytes, &trusted_keys(store)?, allow_unsigned)?;
    let m = pkg.manifest;
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    store.require_plugin_install(&m.id, &sha, pkg.signer.is_some())?;
    let version = semver::Version::parse(&m.version).map_err(|e| refused(e.to_string()))?;
    for (dep, req) in &m.dependencies {
        let req = semver::VersionReq::parse(req).map_err(|e| refused(e.to_string()))?;
        match store.plugin(dep) {
            Ok(d) if semver::Version::parse(&d.version).is_ok_and(|v| req.matches(&v)) => {}
            Ok(d) => {
                return Err(refused(format!(
                    "needs {dep} {req}, but {} is installed",
                    d.version
                )))
            }
            Err(_) => {
                return Err(refused(format!(
                    "needs plugin {dep} {req}; install it first"
                )))
            }
        }
    }
    if let Some(path) = dependency_cycle(store, &m)? {
        return Err(refused(format!(
            "dependency cycle: {}; plugins cannot depend on each other in a circle",
            path.join(" → ")
        )));
    }
    let (enabled, grants, action) = match store.plugin(&m.id) {
        Err(_) => (false, Vec::new(), "installed"),
        Ok(old) => {
            // Same publisher only: another publisher (or an unsigned build)
            // must not take over a plugin with its grants, data and secrets.
            if old.signer != pkg.signer {
                let who = |s: &Option<String>| match s {
                    Some(k) => format!("signed by {}…", &k[..k.len().min(16)]),
                    None => "unsigned (developer mode)".to_string(),
                };
                return Err(refused(format!(
                    "{} {} is installed {}; this package is {}. A plugin can only be upgraded by its own publisher: uninstall the installed one first",
                    m.id,
                    old.version,
                    who(&old.signer),
                    who(&pkg.signer)
                )));
            }
            let old_v = semver::Version::parse(&old.version).map_err(|e| refused(e.to_string()))?;
            if version <= old_v {
                return Err(refused(format!(
                    "{} {} is installed; {} is not newer (uninstall first to downgrade)",
                    m.id, old.version, m.version
                )));
            }
            // Values the outgoing version stored as secrets stay secrets,
            // whatever this version declares.
            if let Ok(om) = manifest_of(&old) {
                store.remember_plugin_secrets(&m.id, &crate::runtime::secret_keys(&om))?;
            }
            // An upgrade keeps grants still asked for; asking for more
            // disables it until an admin reviews and enables again.
            let asks_more = m.permissions.iter().any(|p| !old.grants.contains(p));
            let grants: Vec<String> = old
                .grants
                .into_iter()
                .filter(|g| m.permissions.contains(g))
                .collect();
            (old.enabled && !asks_more, grants, "upgraded")
        }
    };
    let manifest_text = serde_json::to_string(&m).map_err(|e| refused(e.to_string()))?;
    store.put_plugin(
        &PluginRecord {
            id: m.id.clone(),
            version: m.version.clone(),
            manifest: manifest_text,
            package: bytes,
            signer: pkg.signer,
            enabled,
            grants,
            disabled_reason: None,
        },
        action,
    )?;
    Ok(m)
}

/// A path `m.id → … → m.id` through the dependencies of the installed
/// plugins (with `m` in place of any installed version of itself), if any.
fn dependency_cycle(store: &Store, m: &Manifest) -> Result<Option<Vec<String>>> {
    let mut deps: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for p in store.plugins()? {
        if p.id != m.id {
            if let Ok(pm) = manifest_of(&p) {
                deps.insert(p.id.clone(), pm.dependencies.keys().cloned().collect());
            }
        }
    }
    deps.insert(m.id.clone(), m.dependencies.keys().cloned().collect());
    // Depth-first from the new plugin, looking for a way back to it.
    fn walk(
        deps: &std::collections::BTreeMap<String, Vec<String>>,
        target: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut std::collections::BTreeSet<String>,
    ) -> bool {
        for next in deps.get(at).into_iter().flatten() {
            path.push(next.clone());
            if next == target {
                return true;
            }
            if seen.insert(next.clone()) && walk(deps, target, next, path, seen) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![m.id.clone()];
    let mut seen = std::collections::BTreeSet::new();
    Ok(walk(&deps, &m.id, &m.id, &mut path, &mut seen).then_some(path))
}

/// The tenant's trusted publisher keys, parsed.
pub(crate) fn trusted_keys(store: &Store) -> Result<Vec<ed25519_dalek::VerifyingKey>> {
    store
        .trusted_publishers()?
        .iter()
        .map(|(k, _)| package::parse_public_key(k).map_err(LifecycleError::from))
        .collect()
}

pub(crate) fn manifest_of(rec: &PluginRecord) -> Result<Manifest> {
    Manifest::parse(&rec.manifest)
        .map_err(|e| refused(format!("stored manifest of {} is damaged: {e:?}", rec.id)))
}

/// Enable with these grants (`None`: everything the manifest asks for).
pub fn enable(store: &mut Store, id: &str, grants: Option<Vec<String>>) -> Result<Vec<String>> {
    if let Some(why) = store.catalog_block(id)? {
        return Err(refused(format!("{why}; it cannot be enabled")));
    }
    let mut rec = store.plugin(id)?;
    let m = manifest_of(&rec)?;
    let grants = grants.unwrap_or_else(|| m.permissions.clone());
    for g in &grants {
        if !m.permissions.contains(g) {
            return Err(refused(format!(
                "{id} did not ask for {g}; its manifest asks for: {}",
                m.permissions.join(", ")
            )));
        }
    }
    // The tenant's catalog approved these grants and no more.
    if let Some(p) = store.catalog_policy(id)? {
        if let Some(g) = grants.iter().find(|g| !p.grants.contains(g)) {
            return Err(refused(format!(
                "your agency's catalog does not approve {g} for {id}; it approves: {}",
                if p.grants.is_empty() {
                    "nothing".to_string()
                } else {
                    p.grants.join(", ")
                }
            )));
        }
    }
    let settings = crate::runtime::effective_settings(store, &m)?;
    let missing: Vec<&str> = m
        .settings
        .iter()
        .filter(|s| s.required && !settings.contains_key(&s.key))
        .map(|s| s.key.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(refused(format!(
            "{id} needs its settings filled in first: {} (crm plugin configure {id} KEY=VALUE)",
            missing.join(", ")
        )));
    }
    apply_custom_fields(store, &m)?;
    rec.enabled = true;
    rec.grants = grants.clone();
    rec.disabled_reason = None;
    store.put_plugin(&rec, "enabled")?;
    Ok(grants)
}

/// Apply the custom fields a manifest declares, idempotently: each
/// definition is recorded with a SHA-256 checksum of its canonical JSON, so
/// enabling again changes nothing, and a changed definition is an update.
/// A field another plugin defines is refused.
pub fn apply_custom_fields(
    store: &mut Store,
    m: &Manifest,
) -> Result<Vec<(String, crm_core::FieldApplied)>> {
    let mut out = Vec::new();
    for f in &m.custom_fields {
        let def = serde_json::to_string(f).map_err(|e| refused(e.to_string()))?;
        let sum = hex::encode(sha2::Sha256::digest(def.as_bytes()));
        let applied = store.apply_custom_field(&m.id, &f.entity, &f.name, &def, &sum)?;
        out.push((format!("{}.{}", f.entity, f.name), applied));
    }
    Ok(out)
}

/// Disable at once (data and grants are kept).
pub fn disable(store: &mut Store, id: &str) -> Result<()> {
    let mut rec = store.plugin(id)?;
    rec.enabled = false;
    store.put_plugin(&rec, "disabled")?;
    Ok(())
}

/// Uninstall; refused while another installed plugin depends on it.
pub fn uninstall(store: &mut Store, id: &str) -> Result<()> {
    store.plugin(id)?;
    for other in store.plugins()? {
        if other.id != id && manifest_of(&other)?.dependencies.contains_key(id) {
            return Err(refused(format!(
                "{} depends on {id}; uninstall it first",
                other.id
            )));
        }
    }
    store.remove_plugin(id)?;
    Ok(())
}
