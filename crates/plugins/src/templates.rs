//! The plugin templates in `scripts-templates/`, built into the binary, so
//! `crm plugin new` (and the app's wizard) work without the source tree.

use std::path::Path;

use include_dir::{include_dir, Dir};

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../scripts-templates");

/// Template names with their one-line descriptions (from their manifests).
pub fn list() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = TEMPLATES
        .dirs()
        .filter_map(|d| {
            let name = d.path().file_name()?.to_string_lossy().into_owned();
            let manifest = d.get_file(d.path().join("manifest.json"))?;
            let v: serde_json::Value = serde_json::from_slice(manifest.contents()).ok()?;
            Some((name, v["description"].as_str().unwrap_or("").to_string()))
        })
        .collect();
    out.sort();
    out
}

/// A plugin id made from a folder name: lowercase letters, digits and '-',
/// starting with a letter.
pub fn id_from_name(name: &str) -> String {
    let mut id: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let id = id.trim_matches('-').to_string();
    let id = if id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id
    } else {
        format!("p-{id}")
    };
    format!("local.{}", &id[..id.len().min(50)])
}

/// Template `template`'s manifest as it ships (its own name and id).
pub fn shipped_manifest(template: &str) -> Option<String> {
    let dir = TEMPLATES.get_dir(template)?;
    let f = dir.get_file(dir.path().join("manifest.json"))?;
    String::from_utf8(f.contents().to_vec()).ok()
}

/// Template `template`'s files as `create` writes them for plugin `id`
/// named `name` (paths relative to the plugin's folder).
pub fn files(
    template: &str,
    id: &str,
    name: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, String> {
    let dir = TEMPLATES
        .get_dir(template)
        .ok_or_else(|| format!("no template {template:?}"))?;
    let mut out = std::collections::BTreeMap::new();
    collect(dir, dir.path(), id, name, &mut out)?;
    Ok(out)
}

fn collect(
    d: &Dir<'_>,
    root: &Path,
    id: &str,
    name: &str,
    out: &mut std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    for f in d.files() {
        let rel = f.path().strip_prefix(root).map_err(|e| e.to_string())?;
        out.insert(
            rel.to_string_lossy().replace('\\', "/"),
            rendered(rel, f.contents(), id, name)?,
        );
    }
    for sub in d.dirs() {
        collect(sub, root, id, name, out)?;
    }
    Ok(())
}

/// A template file's bytes for plugin `id` named `name`: the manifest gets
/// them (and version 0.1.0); other files are as shipped.
fn rendered(rel: &Path, contents: &[u8], id: &str, name: &str) -> Result<Vec<u8>, String> {
    if rel != Path::new("manifest.json") {
        return Ok(contents.to_vec());
    }
    let mut v: serde_json::Value = serde_json::from_slice(contents).map_err(|e| e.to_string())?;
    v["id"] = id.into();
    v["name"] = name.into();
    v["version"] = "0.1.0".into();
    let mut text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text.into_bytes())
}

/// Whether an installed plugin's files are exactly a built-in template as
/// the app installs it (`local.<template>`): code that ships with the app,
/// not code someone else vouches for (or nobody does).
pub fn is_builtin(
    id: &str,
    name: &str,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> bool {
    let Some(template) = id.strip_prefix("local.") else {
        return false;
    };
    files_match(template, id, name, files)
}

fn files_match(
    template: &str,
    id: &str,
    name: &str,
    installed: &std::collections::BTreeMap<String, Vec<u8>>,
) -> bool {
    let Ok(shipped) = files(template, id, name) else {
        return false;
    };
    shipped.len() == installed.len()
        && shipped.iter().all(|(path, bytes)| {
            installed.get(path).is_some_and(|b| {
                if path == "manifest.json" {
                    // Compared as JSON: packing may re-serialise it.
                    serde_json::from_slice::<serde_json::Value>(b).ok()
                        == serde_json::from_slice::<serde_json::Value>(bytes).ok()
                } else {
                    b == bytes
                }
            })
        })
}

/// Write template `template` into a new folder `dest`, with the manifest's
/// id and name set from the folder's name.
pub fn create(template: &str, dest: &Path) -> Result<String, String> {
    let dir = TEMPLATES.get_dir(template).ok_or_else(|| {
        let names: Vec<String> = list().into_iter().map(|(n, _)| n).collect();
        format!(
            "no template {template:?}; the templates: {}",
            names.join(", ")
        )
    })?;
    if dest.exists()
        && std::fs::read_dir(dest)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(format!(
            "{} already exists and is not empty; choose a new folder",
            dest.display()
        ));
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plugin".into());
    let id = id_from_name(&name);
    write_dir(dir, dir.path(), dest, &id, &name)?;
    Ok(id)
}

fn write_dir(d: &Dir<'_>, root: &Path, dest: &Path, id: &str, name: &str) -> Result<(), String> {
    for f in d.files() {
        let rel = f.path().strip_prefix(root).map_err(|e| e.to_string())?;
        let out = dest.join(rel);
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let bytes = rendered(rel, f.contents(), id, name)?;
        std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    for sub in d.dirs() {
        write_dir(sub, root, dest, id, name)?;
    }
    Ok(())
}
