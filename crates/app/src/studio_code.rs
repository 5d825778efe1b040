//! The Studio's code editor: the host API's metadata for completion, the
//! editor's checks, a plugin's files to edit, the test console (a dry run
//! of one function on a scratch copy), and saving code as a plugin.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crm_plugins::{Context, Limits, Manifest, Rehearsal, Sandbox, Services};
use crm_studio::editor;
use serde::Serialize;
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
}

/// What a test-console run did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ConsoleResultDto {
    /// Whether it ran to the end.
    pub ok: bool,
    /// Its value, as JSON text.
    pub value: String,
    /// Printed lines.
    pub output: Vec<String>,
    /// Logged lines, `level: text`.
    pub logs: Vec<String>,
    /// Operations used.
    pub operations: u64,
    /// Milliseconds.
    pub elapsed_ms: u32,
    /// Requests it would have sent.
    pub requests: Vec<String>,
    /// The error, in words.
    pub error: Option<String>,
    /// The script line the error points at.
    pub error_line: Option<u32>,
}

/// The line a script error names ("… (line 4, position 9)").
fn line_of(message: &str) -> Option<u32> {
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
        Ok(PluginSourceDto {
            script: text(&entry)?,
            manifest,
        })
    }

    /// Run one function of the script being edited, as the manifest's
    /// action `action` would (on `record` for a record action), on a
    /// scratch copy of the profile with requests recorded: nothing is kept,
    /// nothing sent. The script need not be saved.
    pub fn studio_console(
        &self,
        manifest: &str,
        script: &str,
        action: &str,
        record: Option<String>,
    ) -> ApiResult<ConsoleResultDto> {
        let m = Manifest::parse(manifest).map_err(|errors| {
            let first = errors.first().map(|e| format!("{}: {}", e.path, e.reason));
            ApiError::invalid(
                "manifest",
                first.unwrap_or_else(|| "manifest.json is not valid".into()),
            )
        })?;
        let a = m.actions.iter().find(|a| a.id == action).ok_or_else(|| {
            ApiError::invalid("action", format!("the manifest has no action {action:?}"))
        })?;
        let needs_record = matches!(
            a.target,
            crm_plugins::manifest::ActionTarget::Contact
                | crm_plugins::manifest::ActionTarget::Policy
        );
        let args: Vec<rhai::Dynamic> = match (needs_record, record) {
            (true, Some(r)) if !r.trim().is_empty() => vec![r.trim().to_string().into()],
            (true, _) => {
                return Err(ApiError::invalid(
                    "record",
                    format!("{action} works on a record: choose one"),
                ))
            }
            (false, _) => Vec::new(),
        };
        let s = self.session()?;
        let (copy, limits) = {
            let store = crate::lock_store(&s)?;
            let limits =
                Limits::for_profile(&store).map_err(|e| ApiError::new(ErrorCode::Plugin, e))?;
            (store.scratch_copy()?, limits)
        };
        let mut settings = serde_json::Map::new();
        for st in &m.settings {
            if let Some(d) = &st.default {
                settings.insert(st.key.clone(), d.clone());
            }
        }
        let ctx = Context {
            grants: m.permissions.iter().cloned().collect(),
            store: Some(Arc::new(Mutex::new(copy))),
            plugin_id: Some(m.id.clone()),
            settings,
            services: Services {
                rehearsal: Some(Rehearsal::default()),
                ..Default::default()
            },
        };
        let sandbox = Sandbox::new(limits);
        let started = std::time::Instant::now();
        Ok(match sandbox.call(script, &a.function, args, ctx) {
            Ok(out) => ConsoleResultDto {
                ok: true,
                value: out.value.to_string(),
                output: out.output,
                logs: out
                    .logs
                    .into_iter()
                    .map(|l| format!("{}: {}", l.level, l.message))
                    .collect(),
                operations: out.operations,
                elapsed_ms: out.elapsed.as_millis().min(u32::MAX as u128) as u32,
                requests: out
                    .requests
                    .into_iter()
                    .map(|q| format!("{} {}", q.method, q.url))
                    .collect(),
                error: None,
                error_line: None,
            },
            Err(e) => ConsoleResultDto {
                ok: false,
                value: String::new(),
                output: Vec::new(),
                logs: Vec::new(),
                operations: 0,
                elapsed_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
                requests: Vec::new(),
                error_line: line_of(&e.message),
                error: Some(e.to_string()),
            },
        })
    }

    /// Save code from the editor as a plugin of this profile (installed,
    /// or upgraded to a newer version when it exists): an admin's own code,
    /// unsigned; it starts disabled.
    pub fn studio_save_code(&self, manifest: &str, script: &str) -> ApiResult<PluginDto> {
        let m = Manifest::parse(manifest).map_err(|errors| {
            let first = errors.first().map(|e| format!("{}: {}", e.path, e.reason));
            ApiError::invalid(
                "manifest",
                first.unwrap_or_else(|| "manifest.json is not valid".into()),
            )
        })?;
        let tmp = tempfile::tempdir().map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("cannot make a temporary folder: {e}"),
            )
        })?;
        let dir = tmp.path().join("plugin");
        let io = |e: std::io::Error| ApiError::new(ErrorCode::Io, e.to_string());
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("manifest.json"), manifest).map_err(io)?;
        std::fs::write(dir.join(&m.entry), script).map_err(io)?;
        self.write(|s| Ok(crm_plugins::lifecycle::install(s, &dir, true)?))?;
        self.plugin(&m.id)
    }
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
