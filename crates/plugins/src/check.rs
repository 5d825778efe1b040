//! Checking a plugin folder before it is packed or installed.

use std::path::Path;

use crate::manifest::{Manifest, ManifestError, MAX_MANIFEST_BYTES};
use crate::sandbox::Sandbox;

/// What `crm plugin check` found: the manifest, or every problem with where.
pub fn check_dir(dir: &Path, sandbox: &Sandbox) -> Result<Manifest, Vec<String>> {
    let mpath = dir.join("manifest.json");
    let meta =
        std::fs::symlink_metadata(&mpath).map_err(|e| vec![format!("{}: {e}", mpath.display())])?;
    if !meta.is_file() {
        return Err(vec![format!("{}: must be a regular file", mpath.display())]);
    }
    if meta.len() as usize > MAX_MANIFEST_BYTES {
        return Err(vec![format!(
            "{}: larger than {MAX_MANIFEST_BYTES} bytes",
            mpath.display()
        )]);
    }
    let text =
        std::fs::read_to_string(&mpath).map_err(|e| vec![format!("{}: {e}", mpath.display())])?;
    let m = Manifest::parse(&text).map_err(|errs| {
        errs.iter()
            .map(|ManifestError { path, reason }| format!("{} {path}: {reason}", mpath.display()))
            .collect::<Vec<_>>()
    })?;
    let entry = dir.join(&m.entry);
    let is_file = std::fs::symlink_metadata(&entry)
        .map(|m| m.is_file())
        .unwrap_or(false);
    if !is_file {
        return Err(vec![format!(
            "{}: the entry script is missing (or not a regular file)",
            entry.display()
        )]);
    }
    let source =
        std::fs::read_to_string(&entry).map_err(|e| vec![format!("{}: {e}", entry.display())])?;
    let ast = sandbox
        .compile(&source)
        .map_err(|e| vec![format!("{}: {e}", entry.display())])?;
    let defined: Vec<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    let mut missing = Vec::new();
    let mut need = |path: String, f: &str| {
        if !defined.iter().any(|d| d == f) {
            missing.push(format!(
                "{} {path}: function {f:?} is not defined in {}",
                mpath.display(),
                m.entry
            ));
        }
    };
    for (i, h) in m.hooks.iter().enumerate() {
        need(format!("hooks[{i}].function"), &h.function);
    }
    for (i, a) in m.actions.iter().enumerate() {
        need(format!("actions[{i}].function"), &a.function);
    }
    for (i, s) in m.schedules.iter().enumerate() {
        need(format!("schedules[{i}].function"), &s.function);
    }
    for (section, items) in [
        ("widgets", &m.ui.widgets),
        ("record_panels", &m.ui.record_panels),
        ("menu_pages", &m.ui.menu_pages),
    ] {
        for (i, u) in items.iter().enumerate() {
            need(format!("ui.{section}[{i}].function"), &u.function);
        }
    }
    if missing.is_empty() {
        Ok(m)
    } else {
        Err(missing)
    }
}
