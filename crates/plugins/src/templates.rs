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
        let bytes = if rel == Path::new("manifest.json") {
            let mut v: serde_json::Value =
                serde_json::from_slice(f.contents()).map_err(|e| e.to_string())?;
            v["id"] = id.into();
            v["name"] = name.into();
            v["version"] = "0.1.0".into();
            let mut text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
            text.push('\n');
            text.into_bytes()
        } else {
            f.contents().to_vec()
        };
        std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    for sub in d.dirs() {
        write_dir(sub, root, dest, id, name)?;
    }
    Ok(())
}
