//! The code editor's checks: a script and its manifest, checked together
//! as someone types. Syntax comes from the sandbox's own engine; the rest
//! from the host API's metadata (which permission each function needs) and
//! the manifest (which functions it names): never a hand-kept list, so a new
//! host function is checked with no change here.
//!
//! Each diagnostic says where (a script line and column, or a manifest
//! path) and, where the remedy is obvious, carries a fix: the whole new
//! text of the file it changes, for the editor to apply in one step.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crm_plugins::Sandbox;
use serde::Serialize;
use serde_json::Value;

/// Which file a diagnostic is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum File {
    /// `main.rhai`.
    Script,
    /// `manifest.json`.
    Manifest,
}

/// How bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// It will not run.
    Error,
    /// It runs, but this part will fail or is likely wrong.
    Warning,
}

/// A one-step remedy: the new text of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What it does ("Add the permission net:https://example.com").
    pub title: String,
    /// The file it changes.
    pub file: File,
    /// That file's new text.
    pub text: String,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file.
    pub file: File,
    /// How bad.
    pub severity: Severity,
    /// 1-based line in the script (`None` for the manifest, or unknown).
    pub line: Option<usize>,
    /// 1-based column in the script.
    pub column: Option<usize>,
    /// How many characters it covers from the column (0: a point).
    pub length: usize,
    /// The manifest path (`hooks[0].function`), for manifest problems.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// The remedy, when obvious.
    pub fix: Option<Fix>,
}

/// Which permission each host function needs, from the engine's metadata.
fn permissions() -> &'static BTreeMap<String, Option<String>> {
    static MAP: OnceLock<BTreeMap<String, Option<String>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut out = BTreeMap::new();
        if let Ok(r) = crm_plugins::reference::host_api() {
            for m in r.modules {
                for f in m.functions {
                    out.insert(format!("{}::{}", m.name, f.name), f.permission);
                }
            }
        }
        out
    })
}

/// A call of a namespaced function found in the script.
struct Call {
    path: String,
    line: usize,
    column: usize,
    /// The first argument, when it is a plain string literal.
    first_literal: Option<String>,
}

/// A position in the script being scanned.
struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Cursor {
    fn at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn bump(&mut self) {
        if let Some(c) = self.at(0) {
            self.i += 1;
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
    }
}

/// Find `module::function(` calls outside comments and strings.
fn calls(script: &str) -> Vec<Call> {
    let mut cur = Cursor {
        chars: script.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    while let Some(c) = cur.at(0) {
        let next = cur.at(1);
        if c == '/' && next == Some('/') {
            while cur.at(0).is_some_and(|c| c != '\n') {
                cur.bump();
            }
        } else if c == '/' && next == Some('*') {
            cur.bump();
            cur.bump();
            while cur.at(0).is_some() && !(cur.at(0) == Some('*') && cur.at(1) == Some('/')) {
                cur.bump();
            }
            cur.bump();
            cur.bump();
        } else if c == '"' || c == '`' || c == '\'' {
            cur.bump();
            while cur.at(0).is_some_and(|x| x != c) {
                if cur.at(0) == Some('\\') && c != '`' {
                    cur.bump();
                }
                cur.bump();
            }
            cur.bump();
        } else if c.is_alphabetic() || c == '_' {
            let (start, line, column) = (cur.i, cur.line, cur.col);
            while cur
                .at(0)
                .is_some_and(|x| x.is_alphanumeric() || x == '_' || x == ':')
            {
                cur.bump();
            }
            let word: String = cur.chars[start..cur.i].iter().collect();
            let mut j = cur.i;
            while cur.chars.get(j) == Some(&' ') {
                j += 1;
            }
            if word.contains("::") && cur.chars.get(j) == Some(&'(') {
                let mut k = j + 1;
                while cur.chars.get(k).is_some_and(|x| x.is_whitespace()) {
                    k += 1;
                }
                let first_literal = (cur.chars.get(k) == Some(&'"')).then(|| {
                    cur.chars[k + 1..]
                        .iter()
                        .take_while(|c| **c != '"' && **c != '\\')
                        .collect()
                });
                out.push(Call {
                    path: word,
                    line,
                    column,
                    first_literal,
                });
            }
        } else {
            cur.bump();
        }
    }
    out
}

/// The manifest with `permission` added, pretty-printed.
fn with_permission(manifest: &Value, permission: &str) -> Option<String> {
    let mut m = manifest.clone();
    let list = m.get_mut("permissions")?.as_array_mut()?;
    list.push(Value::from(permission));
    serde_json::to_string_pretty(&m).ok().map(|t| t + "\n")
}

/// The function names a manifest names, with their manifest paths and the
/// parameters each is called with.
fn named_functions(manifest: &Value) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for (i, h) in list(&manifest["hooks"]).iter().enumerate() {
        if let Some(f) = h["function"].as_str() {
            out.push((format!("hooks[{i}].function"), f.to_string(), 1));
        }
    }
    for (i, a) in list(&manifest["actions"]).iter().enumerate() {
        if let Some(f) = a["function"].as_str() {
            let on_record = matches!(a["target"].as_str(), Some("contact" | "policy"));
            out.push((
                format!("actions[{i}].function"),
                f.to_string(),
                on_record as usize,
            ));
        }
    }
    for (i, s) in list(&manifest["schedules"]).iter().enumerate() {
        if let Some(f) = s["function"].as_str() {
            out.push((format!("schedules[{i}].function"), f.to_string(), 0));
        }
    }
    for section in ["widgets", "record_panels", "menu_pages"] {
        for (i, w) in list(&manifest["ui"][section]).iter().enumerate() {
            if let Some(f) = w["function"].as_str() {
                let params = (section == "record_panels") as usize;
                out.push((format!("ui.{section}[{i}].function"), f.to_string(), params));
            }
        }
    }
    out
}

/// Check a script and its manifest together (see the module docs).
pub fn diagnose(sandbox: &Sandbox, manifest_text: &str, script: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let manifest: Option<Value> = match serde_json::from_str(manifest_text) {
        Ok(v) => Some(v),
        Err(e) => {
            out.push(Diagnostic {
                file: File::Manifest,
                severity: Severity::Error,
                line: Some(e.line()),
                column: Some(e.column()),
                length: 0,
                path: None,
                message: format!("manifest.json is not valid JSON: {e}"),
                fix: None,
            });
            None
        }
    };
    if manifest.is_some() {
        if let Err(errors) = crm_plugins::Manifest::parse(manifest_text) {
            for e in errors {
                out.push(Diagnostic {
                    file: File::Manifest,
                    severity: Severity::Error,
                    line: None,
                    column: None,
                    length: 0,
                    path: Some(e.path.clone()),
                    message: format!("{}: {}", e.path, e.reason),
                    fix: None,
                });
            }
        }
    }
    let functions = match sandbox.outline(script) {
        Ok(f) => Some(f),
        Err(e) => {
            out.push(Diagnostic {
                file: File::Script,
                severity: Severity::Error,
                line: e.line,
                column: e.column,
                length: 1,
                path: None,
                message: e.message,
                fix: None,
            });
            None
        }
    };
    let Some(manifest) = manifest else {
        return out;
    };
    let granted: Vec<String> = manifest["permissions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    // Host functions whose permission the manifest does not ask for.
    let needs = permissions();
    for call in calls(script) {
        let Some(Some(permission)) = needs.get(&call.path) else {
            continue;
        };
        let (missing, fix_permission) = if permission.starts_with("net:") {
            let origin = call
                .first_literal
                .as_deref()
                .and_then(crate::wizard::generate::origin_of);
            let declared = match &origin {
                Some(o) => granted.contains(o),
                None => granted.iter().any(|g| g.starts_with("net:")),
            };
            (!declared, origin)
        } else {
            (!granted.contains(permission), Some(permission.clone()))
        };
        if !missing {
            continue;
        }
        let shown = fix_permission
            .clone()
            .unwrap_or_else(|| "net:https://<the host>".into());
        out.push(Diagnostic {
            file: File::Script,
            severity: Severity::Error,
            line: Some(call.line),
            column: Some(call.column),
            length: call.path.chars().count(),
            path: None,
            message: format!(
                "{} needs the permission {shown}, which manifest.json does not ask for: it will fail when it runs",
                call.path
            ),
            fix: fix_permission.and_then(|p| {
                with_permission(&manifest, &p).map(|text| Fix {
                    title: format!("Ask for {p} in manifest.json"),
                    file: File::Manifest,
                    text,
                })
            }),
        });
    }
    // Functions the manifest names that the script does not define.
    if let Some(functions) = functions {
        for (path, name, params) in named_functions(&manifest) {
            if functions.iter().any(|f| f.name == name) {
                continue;
            }
            let args = match params {
                0 => String::new(),
                _ if path.starts_with("hooks") => "event".into(),
                _ => "id".into(),
            };
            let mut text = script.to_string();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!("\nfn {name}({args}) {{\n}}\n"));
            out.push(Diagnostic {
                file: File::Manifest,
                severity: Severity::Error,
                line: None,
                column: None,
                length: 0,
                path: Some(path.clone()),
                message: format!("{path} names {name}, which main.rhai does not define"),
                fix: Some(Fix {
                    title: format!("Add fn {name}({args}) to main.rhai"),
                    file: File::Script,
                    text,
                }),
            });
        }
    }
    out
}
