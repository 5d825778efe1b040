//! The Studio's code editor: the host API's metadata for completion, the
//! editor's checks, a plugin's files to edit, the test console (a dry run
//! of one function on a scratch copy), and saving code as a plugin.

use std::collections::BTreeMap;

use crm_plugins::{Limits, Manifest, Sandbox};
use crm_studio::editor;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::convert::tag;
use crate::dto::PluginDto;
use crate::{ApiError, ApiResult, App, ErrorCode};

/// A host function as the editor offers it.
#[derive(Clone, Debug, Serialize, TS)]
pub struct HostFnDto {
    /// `contacts`.
    pub module: String,
    /// `get`.
    pub name: String,
    /// `id: &str` …
    pub params: Vec<String>,
    /// What it returns.
    pub returns: Option<String>,
    /// Its documentation.
    pub doc: String,
    /// The permission it needs.
    pub permission: Option<String>,
}

/// The fields of a record scripts receive.
#[derive(Clone, Debug, Serialize, TS)]
pub struct RecordFieldsDto {
    /// `contact`, `policy` …
    pub kind: String,
    /// Its fields.
    pub fields: Vec<String>,
}

/// What completion and hover draw from: the engine's own metadata.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EditorReferenceDto {
    /// Every host function.
    pub functions: Vec<HostFnDto>,
    /// Every record shape.
    pub records: Vec<RecordFieldsDto>,
}

/// A fix the editor applies in one step.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EditorFixDto {
    /// What it does.
    pub title: String,
    /// `script` or `manifest`.
    pub file: String,
    /// That file's new text.
    pub text: String,
}

/// One problem the editor shows.
#[derive(Clone, Debug, Serialize, TS)]
pub struct EditorDiagnosticDto {
    /// `script` or `manifest`.
    pub file: String,
    /// `error` or `warning`.
    pub severity: String,
    /// 1-based line (script).
    pub line: Option<u32>,
    /// 1-based column (script).
    pub column: Option<u32>,
    /// Characters covered.
    pub length: u32,
    /// The manifest path.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The fix, when obvious.
    pub fix: Option<EditorFixDto>,
}

/// A plugin's files as the editor edits them.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginSourceDto {
    /// `manifest.json`.
    pub manifest: String,
    /// The entry script.
    pub script: String,
    /// Its tests (`tests/NAME.rhai`), to run from the test console.
    pub tests: Vec<PluginFileDto>,
}

/// One file of a plugin, as text.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
pub struct PluginFileDto {
    /// Its path in the plugin (`tests/basics.rhai`).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The line a script error names ("… (line 4, position 9)").
pub(crate) fn line_of(message: &str) -> Option<u32> {
    let at = message.rfind("line ")?;
    message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

impl App {
    /// The host API's metadata, for completion and hover.
    pub fn studio_reference(&self) -> ApiResult<EditorReferenceDto> {
        let r = crm_plugins::reference::host_api()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e))?;
        Ok(EditorReferenceDto {
            functions: r
                .modules
                .into_iter()
                .flat_map(|m| {
                    let module = m.name.clone();
                    m.functions.into_iter().map(move |f| HostFnDto {
                        module: module.clone(),
                        params: f
                            .params
                            .iter()
                            .map(|p| {
                                if p.ty.is_empty() {
                                    p.name.clone()
                                } else {
                                    format!("{}: {}", p.name, p.ty)
                                }
                            })
                            .collect(),
                        name: f.name,
                        returns: f.returns,
                        doc: f.doc,
                        permission: f.permission,
                    })
                })
                .collect(),
            records: r
                .records
                .into_iter()
                .map(|rec| RecordFieldsDto {
                    kind: rec.kind.to_string(),
                    fields: rec
                        .fields
                        .iter()
                        .map(|(name, _)| name.to_string())
                        .collect(),
                })
                .collect(),
        })
    }

    /// Check a script and its manifest together (the editor asks as
    /// someone types).
    pub fn studio_diagnose(
        &self,
        manifest: &str,
        script: &str,
    ) -> ApiResult<Vec<EditorDiagnosticDto>> {
        let sandbox = self.editor_sandbox();
        Ok(editor::diagnose(sandbox, manifest, script)
            .into_iter()
            .map(|d| EditorDiagnosticDto {
                file: tag(&d.file),
                severity: tag(&d.severity),
                line: d.line.map(|l| l as u32),
                column: d.column.map(|c| c as u32),
                length: d.length as u32,
                path: d.path,
                message: d.message,
                fix: d.fix.map(|f| EditorFixDto {
                    title: f.title,
                    file: tag(&f.file),
                    text: f.text,
                }),
            })
            .collect())
    }

    fn editor_sandbox(&self) -> &'static Sandbox {
        static SANDBOX: std::sync::OnceLock<Sandbox> = std::sync::OnceLock::new();
        SANDBOX.get_or_init(|| Sandbox::new(Limits::default()))
    }

    /// The files of an installed plugin, to edit; or a new plugin's, from
    /// the blank template (`id` empty).
    pub fn studio_source(&self, id: &str) -> ApiResult<PluginSourceDto> {
        let files: BTreeMap<String, Vec<u8>> = if id.is_empty() {
            crm_plugins::templates::files("blank", "local.my-plugin", "My plugin")
                .map_err(|e| ApiError::new(ErrorCode::Internal, e))?
        } else {
            let rec = self.read(|s| Ok(s.plugin(id)?))?;
            self.package_files(&rec)?
        };
        let text = |name: &str| -> ApiResult<String> {
            files
                .get(name)
                .and_then(|b| String::from_utf8(b.clone()).ok())
                .ok_or_else(|| ApiError::new(ErrorCode::Plugin, format!("{id}: {name} is missing")))
        };
        let manifest = text("manifest.json")?;
        let entry = Manifest::parse(&manifest)
            .map(|m| m.entry)
            .unwrap_or_else(|_| "main.rhai".into());
        let tests = files
            .iter()
            .filter(|(name, _)| is_test_file(name))
            .filter_map(|(name, b)| {
                Some(PluginFileDto {
                    name: name.clone(),
                    text: String::from_utf8(b.clone()).ok()?,
                })
            })
            .collect();
        Ok(PluginSourceDto {
            script: text(&entry)?,
            manifest,
            tests,
        })
    }

    /// Save code from the editor as a plugin of this profile (installed,
    /// or upgraded to a newer version when it exists): an admin's own code,
    /// unsigned; it starts disabled.
    pub fn studio_save_code(
        &self,
        manifest: &str,
        script: &str,
        tests: Vec<PluginFileDto>,
    ) -> ApiResult<PluginDto> {
        let m = parse_manifest(manifest)?;
        // Files of the installed plugin the editor does not show (a
        // README, data files) are kept; its wizard model is not: code
        // saved from the editor is a code plugin from then on.
        let mut files: BTreeMap<String, Vec<u8>> = match self.read(|s| Ok(s.plugin(&m.id).ok())) {
            Ok(Some(rec)) => self.package_files(&rec).unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        files.retain(|name, _| {
            !is_test_file(name)
                && name != crm_plugins::package::SIGNATURE_FILE
                && name != crm_studio::wizard::MODEL_FILE
        });
        let files = with_edits(files, &m, manifest, script, tests)?;
        let package = crm_plugins::package::write_zip(&files)
            .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))?;
        self.write(|s| Ok(crm_plugins::lifecycle::install_bytes(s, package, true)?))?;
        self.plugin(&m.id)
    }
}

/// `tests/NAME.rhai`.
pub(crate) fn is_test_file(name: &str) -> bool {
    name.strip_prefix("tests/")
        .is_some_and(|n| !n.contains('/') && n.ends_with(".rhai"))
}

/// The editor's manifest, or an error naming the first problem's field.
pub(crate) fn parse_manifest(manifest: &str) -> ApiResult<Manifest> {
    Manifest::parse(manifest).map_err(|errors| {
        let first = errors.first().map(|e| format!("{}: {}", e.path, e.reason));
        ApiError::invalid(
            "manifest",
            first.unwrap_or_else(|| "manifest.json is not valid".into()),
        )
    })
}

/// `files` with the editor's manifest, script and tests put in (a test file
/// must be `tests/NAME.rhai`).
pub(crate) fn with_edits(
    mut files: BTreeMap<String, Vec<u8>>,
    m: &Manifest,
    manifest: &str,
    script: &str,
    tests: Vec<PluginFileDto>,
) -> ApiResult<BTreeMap<String, Vec<u8>>> {
    files.insert("manifest.json".into(), manifest.as_bytes().to_vec());
    files.insert(m.entry.clone(), script.as_bytes().to_vec());
    for t in tests {
        if !is_test_file(&t.name) {
            return Err(ApiError::invalid(
                "tests",
                format!("{}: a test file is tests/NAME.rhai", t.name),
            ));
        }
        files.insert(t.name, t.text.into_bytes());
    }
    Ok(files)
}

/// Write a plugin's files (`path -> bytes`) under `dir`. Names come from a
/// package read (no `..`, no absolute paths) or from [`with_edits`], so
/// they stay inside it.
pub(crate) fn write_files(
    dir: &std::path::Path,
    files: &BTreeMap<String, Vec<u8>>,
) -> ApiResult<()> {
    let io = |e: std::io::Error| ApiError::new(ErrorCode::Io, format!("{}: {e}", dir.display()));
    for (name, bytes) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(path, bytes).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::line_of;

    #[test]
    fn the_line_of_a_script_error_is_read_from_its_message() {
        assert_eq!(
            line_of("runtime error: no luck (line 4, position 9)"),
            Some(4)
        );
        assert_eq!(line_of("runtime error: no luck"), None);
    }
}
