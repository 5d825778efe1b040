//! The no-code wizard: a model of trigger, conditions and actions
//! ([`model`]), what the wizard offers ([`catalog`]), its checks
//! ([`validate`]) and the plugin it becomes ([`generate`]).
//!
//! A wizard-made plugin is an ordinary plugin folder (`manifest.json`,
//! `main.rhai`) with its model beside them in `wizard.json`; reopening it
//! reopens the wizard. [`build`] refuses a model with problems, and checks
//! its own output: the manifest parses and the script compiles in the
//! sandbox's engine (a generator bug is an error here, not a broken plugin).

pub mod catalog;
pub mod generate;
pub mod model;
pub mod validate;

use std::path::Path;

pub use catalog::catalog;
pub use generate::{summary, Generated};
pub use model::{ActionSpec, Automation, Condition, Made, Match, Op, Trigger};
pub use validate::{problems, Problem};

/// The model file in a wizard-made plugin's folder.
pub const MODEL_FILE: &str = "wizard.json";

/// Why a model could not become a plugin.
#[derive(Debug, thiserror::Error)]
pub enum WizardError {
    /// The JSON is not a model.
    #[error("{field}: {message}")]
    Shape {
        /// Where.
        field: String,
        /// What.
        message: String,
    },
    /// The model has problems.
    #[error("{}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        message: String,
    },
    /// The generated plugin did not check out (a bug in the generator).
    #[error("the generated plugin is not valid ({0}); please report this")]
    Generated(String),
}

/// Read a model from JSON, naming the field at fault.
pub fn parse(text: &str) -> Result<Automation, WizardError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        WizardError::Shape {
            field: if path == "." { "$".into() } else { path },
            message: e.inner().to_string(),
        }
    })
}

/// The plugin id a model gets: its own, or `studio.` and its name.
pub fn id_of(m: &Automation) -> String {
    if let Some(id) = &m.id {
        return id.clone();
    }
    crm_plugins::templates::id_from_name(&m.name).replacen("local.", "studio.", 1)
}

/// Check a model and generate its plugin (version 1.0.0).
pub fn build(m: &Automation) -> Result<Generated, WizardError> {
    build_as(m, "1.0.0")
}

/// [`build`] at `version` (a changed automation is saved as a newer
/// version of the same plugin).
pub fn build_as(m: &Automation, version: &str) -> Result<Generated, WizardError> {
    let problems = problems(m);
    if !problems.is_empty() {
        return Err(WizardError::Invalid(problems));
    }
    let id = id_of(m);
    let g = generate::generate(m, &id, version);
    if let Err(errs) = crm_plugins::Manifest::parse(&g.manifest) {
        let text: Vec<String> = errs.iter().map(|e| format!("{e:?}")).collect();
        // An id the person gave is theirs to fix; anything else is ours.
        if m.id.is_some()
            && text
                .iter()
                .any(|t| t.contains("\"id\"") || t.contains("id:"))
        {
            return Err(WizardError::Invalid(vec![Problem {
                field: "id".into(),
                message: text.join("; "),
            }]));
        }
        return Err(WizardError::Generated(text.join("; ")));
    }
    let sandbox = crm_plugins::Sandbox::new(crm_plugins::Limits::default());
    if let Err(e) = sandbox.compile(&g.script) {
        return Err(WizardError::Generated(e.to_string()));
    }
    Ok(g)
}

/// The model of a plugin the wizard made, from the plugin's files: only
/// when its script and manifest are exactly the files the wizard wrote
/// from the `wizard.json` beside them, by the digests it keeps there (a
/// plugin edited by hand, or one merely carrying a `wizard.json`, is a code
/// plugin). A model without digests (saved before they were kept) counts
/// when the files are what the generator makes of it now.
pub fn made_by_wizard(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Option<Automation> {
    let model = parse(std::str::from_utf8(files.get(MODEL_FILE)?).ok()?).ok()?;
    if files.len() != 3 {
        return None;
    }
    if let Some(made) = &model.made {
        let same = model::digest(files.get("main.rhai")?) == made.script
            && model::digest(files.get("manifest.json")?) == made.manifest;
        return same.then_some(model);
    }
    let manifest: serde_json::Value = serde_json::from_slice(files.get("manifest.json")?).ok()?;
    let version = manifest["version"].as_str()?;
    let g = build_as(&model, version).ok()?;
    let generated: serde_json::Value = serde_json::from_str(&g.manifest).ok()?;
    let same = files.get("main.rhai").map(Vec::as_slice) == Some(g.script.as_bytes())
        && generated == manifest
        && files.len() == 3;
    same.then_some(model)
}

/// Write a generated plugin into folder `dir` (made if missing). An
/// existing wizard-made plugin there is replaced; any other non-empty
/// folder is refused.
pub fn write_folder(g: &Generated, dir: &Path) -> Result<(), WizardError> {
    let io = |p: &Path, e: std::io::Error| WizardError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    if dir.exists() && !dir.join(MODEL_FILE).exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .next()
            .is_none();
        if !empty {
            return Err(WizardError::Io {
                path: dir.display().to_string(),
                message: "the folder holds something that is not a wizard-made plugin; choose an empty or new folder".into(),
            });
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, text) in [
        ("manifest.json", &g.manifest),
        ("main.rhai", &g.script),
        (MODEL_FILE, &g.wizard),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// The model of a wizard-made plugin's folder (`None`: not wizard-made).
pub fn read_folder(dir: &Path) -> Result<Option<Automation>, WizardError> {
    let path = dir.join(MODEL_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map(Some).map_err(|e| match e {
            WizardError::Shape { field, message } => WizardError::Shape {
                field: format!("{}: {field}", path.display()),
                message,
            },
            other => other,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(WizardError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}
