//! `manifest.json`: what a plugin is, asks for and adds.
//!
//! Parsing is two passes. Serde (through `serde_path_to_error`) checks shape
//! and types and names the JSON path of the first mismatch; then
//! [`Manifest::validate`] checks meaning (versions, permission grammar, known
//! hooks, cron expressions, references between sections) and reports every
//! problem with its path. The published JSON Schema is generated from these
//! types (`schemas/plugin-manifest.schema.json`), so it cannot drift.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The host-API version this build provides.
pub const API_VERSION: semver::Version = semver::Version::new(1, 3, 0);
/// Largest manifest accepted, bytes.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// Events a plugin may subscribe to.
pub const HOOKS: &[&str] = &[
    "contact.created",
    "contact.updated",
    "contact.imported",
    "contact.deleted",
    "policy.created",
    "policy.updated",
    "policy.deleted",
    "policy.renewal_due",
    "payment.created",
    "payment.updated",
    "payment.deleted",
    "task.created",
    "task.updated",
    "task.deleted",
    "activity.created",
    "training.expiring",
    "document.review_due",
    "acknowledgement.due",
    "acknowledgement.overdue",
];

/// The hook events that are compliance reminders (host API 1.3): fired
/// with a `reminder` record when `crm compliance remind` or the app makes
/// the reminder, not with a change to a record.
pub const REMINDER_HOOKS: &[&str] = &[
    "training.expiring",
    "document.review_due",
    "acknowledgement.due",
    "acknowledgement.overdue",
];

/// Kinds of UI contribution the host draws.
pub const UI_KINDS: &[&str] = &["stat", "table", "list", "chart", "form"];

/// Record types a plugin may add custom fields to.
pub const CUSTOM_FIELD_ENTITIES: &[&str] = &["contact", "policy"];

/// A string that is one of `values`, in the published schema (so editors,
/// the Studio's manifest form among them, offer exactly these).
fn one_of(values: &[&str]) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": values })
}

fn hook_event_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(HOOKS)
}

fn ui_kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(UI_KINDS)
}

fn entity_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(CUSTOM_FIELD_ENTITIES)
}

/// Record-level permission namespaces (`NS:read`, `NS:write`).
pub const DATA_NAMESPACES: &[&str] = &[
    "contacts",
    "policies",
    "payments",
    "tasks",
    "activities",
    "staff",
    "training",
];
/// Permissions without a read/write split.
pub const SIMPLE_PERMISSIONS: &[&str] = &["storage", "ai:use", "ui:notify", "documents:read"];

/// A plugin's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id, lowercase: letters, digits, '.', '-' (e.g. `acme.lead-scoring`).
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// The plugin's version (semver, e.g. `1.2.0`).
    pub version: String,
    /// The host-API version it was written for (semver requirement, e.g. `^1`).
    pub api_version: String,
    /// Who wrote it.
    pub author: String,
    /// What it does, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// Permissions it asks for; an admin grants them at enable time.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Events it listens to, each with the function to call.
    #[serde(default)]
    pub hooks: Vec<Hook>,
    /// Buttons on a record or a list.
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Timed runs.
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// Settings form (a small JSON-Schema-like description).
    #[serde(default)]
    pub settings: Vec<Setting>,
    /// Widgets, record panels and menu pages (data the host renders).
    #[serde(default)]
    pub ui: Ui,
    /// Custom fields the plugin adds.
    #[serde(default)]
    pub custom_fields: Vec<CustomField>,
    /// Roles it suggests, with the permissions each would need.
    #[serde(default)]
    pub role_templates: Vec<RoleTemplate>,
    /// Other plugins it needs: id → semver requirement.
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    /// The script that defines its functions (default `main.rhai`).
    #[serde(default = "default_entry")]
    pub entry: String,
}

fn default_entry() -> String {
    "main.rhai".into()
}

/// An event subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// The event, e.g. `contact.created`.
    #[schemars(schema_with = "hook_event_schema")]
    pub event: String,
    /// Script function called with the event.
    pub function: String,
}

/// Where an action's button appears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionTarget {
    /// On one contact.
    Contact,
    /// On one policy.
    Policy,
    /// On a list of contacts.
    ContactList,
    /// Not tied to a record.
    Global,
}

/// A button.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Id, unique in the plugin.
    pub id: String,
    /// Button label.
    pub label: String,
    /// Where it appears.
    pub target: ActionTarget,
    /// Script function to call.
    pub function: String,
}

/// A timed run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Id, unique in the plugin.
    pub id: String,
    /// Five-field cron expression (minute hour day month weekday).
    pub cron: String,
    /// Script function to call.
    pub function: String,
}

/// A setting's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SettingType {
    /// Text.
    String,
    /// Whole number.
    Integer,
    /// Number.
    Number,
    /// Yes/no.
    Boolean,
    /// A secret (stored encrypted, never shown again).
    Secret,
}

/// One setting on the plugin's settings form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// Key scripts read it by.
    pub key: String,
    /// Label on the form.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// Default value.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Must be filled in before enabling.
    #[serde(default)]
    pub required: bool,
    /// Allowed values (a drop-down).
    #[serde(default)]
    pub choices: Vec<String>,
}

impl Setting {
    /// Whether `value` (JSON) fits this setting as a default an agency
    /// sets for every device: of its type and among its choices. A secret
    /// never does: secrets are entered on each device.
    pub fn check_default(&self, value: &serde_json::Value) -> Result<(), String> {
        let key = &self.key;
        let fits = match self.kind {
            SettingType::Secret => {
                return Err(format!(
                    "{key} is a secret: secrets are entered on each device, not set for everyone"
                ))
            }
            SettingType::String => value.is_string(),
            SettingType::Integer => value.is_i64(),
            SettingType::Number => value.is_number(),
            SettingType::Boolean => value.is_boolean(),
        };
        if !fits {
            let want = match self.kind {
                SettingType::Integer => "a whole number",
                SettingType::Number => "a number",
                SettingType::Boolean => "true or false",
                _ => "text",
            };
            return Err(format!("{key}: {value} is not {want}"));
        }
        if !self.choices.is_empty()
            && !self
                .choices
                .iter()
                .any(|c| Some(c.as_str()) == value.as_str())
        {
            return Err(format!(
                "{key}: {value} is not one of its choices: {}",
                self.choices.join(", ")
            ));
        }
        Ok(())
    }
}

/// UI contributions: data the host renders, never HTML or JavaScript.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// Dashboard widgets.
    #[serde(default)]
    pub widgets: Vec<UiItem>,
    /// Panels on a record's page.
    #[serde(default)]
    pub record_panels: Vec<UiItem>,
    /// Pages in the menu.
    #[serde(default)]
    pub menu_pages: Vec<UiItem>,
}

/// One UI contribution, filled by a script function returning data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UiItem {
    /// Id, unique in the plugin.
    pub id: String,
    /// Title shown.
    pub title: String,
    /// Kind: stat, table, list, chart or form.
    #[schemars(schema_with = "ui_kind_schema")]
    pub kind: String,
    /// Script function returning the data.
    pub function: String,
}

/// A custom field the plugin adds to a record type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomField {
    /// The record type (`contact`, `policy`).
    #[schemars(schema_with = "entity_schema")]
    pub entity: String,
    /// Field name (lowercase, digits, '_').
    pub name: String,
    /// Label shown.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: SettingType,
}

/// A suggested role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleTemplate {
    /// Role name.
    pub name: String,
    /// Permissions the role needs.
    pub permissions: Vec<String>,
}

/// A problem in a manifest: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ManifestError {
    /// JSON path, e.g. `permissions[2]` (`$` for the whole document).
    pub path: String,
    /// What is wrong and what to do.
    pub reason: String,
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> ManifestError {
    ManifestError {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Check a permission's grammar; `None` when it is well-formed.
pub fn check_permission(p: &str) -> Option<String> {
    if SIMPLE_PERMISSIONS.contains(&p) {
        return None;
    }
    if let Some(origin) = p.strip_prefix("net:") {
        return check_origin(origin);
    }
    if let Some((ns, access)) = p.split_once(':') {
        if DATA_NAMESPACES.contains(&ns) && matches!(access, "read" | "write") {
            return None;
        }
    }
    Some(format!(
        "unknown permission {p:?}; use NS:read or NS:write (NS one of {}), {}, or net:https://host",
        DATA_NAMESPACES.join(", "),
        SIMPLE_PERMISSIONS.join(", ")
    ))
}

fn check_origin(origin: &str) -> Option<String> {
    let Some(rest) = origin.strip_prefix("https://") else {
        return Some(format!(
            "network permission {origin:?} must be an https:// origin"
        ));
    };
    let host = rest.split(':').next().unwrap_or("");
    let port_ok = match rest.split_once(':') {
        None => true,
        Some((_, port)) => port.parse::<u16>().is_ok(),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !host_ok || !port_ok || rest.contains(['/', '?', '#', '@', '*']) {
        return Some(format!(
            "network permission {origin:?} must be an origin only (https://host or https://host:port, no path, wildcard or credentials)"
        ));
    }
    None
}

fn ident_ok(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(&c))
}

/// Every string (and key) in `v` holding a character that could drive a
/// terminal or reorder text, by JSON path; `lines_ok` lets line breaks and
/// tabs through (descriptions).
fn control_chars(v: &serde_json::Value, path: &str, lines_ok: bool, out: &mut Vec<ManifestError>) {
    let bad = |s: &str| {
        s.chars().find(|&c| {
            (c.is_control() && !(lines_ok && matches!(c, '\n' | '\t' | '\r')))
                || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
    };
    match v {
        serde_json::Value::String(s) => {
            if let Some(c) = bad(s) {
                out.push(err(
                    path,
                    format!("contains the control character U+{:04X}; remove it (manifest text is shown to users)", c as u32),
                ));
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                control_chars(x, &format!("{path}[{i}]"), lines_ok, out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let here = format!("{path}.{k}");
                if let Some(c) = bad(k) {
                    out.push(err(
                        &here,
                        format!("the key contains the control character U+{:04X}", c as u32),
                    ));
                }
                control_chars(x, &here, k == "description", out);
            }
        }
        _ => {}
    }
}

impl Manifest {
    /// Parse and validate manifest text. Returns every problem found.
    pub fn parse(text: &str) -> Result<Manifest, Vec<ManifestError>> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(vec![err(
                "$",
                format!(
                    "manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                    text.len()
                ),
            )]);
        }
        // Manifest text is shown on terminals and in the app: no control
        // characters (line breaks only in descriptions), no bidirectional
        // controls. Checked on the raw JSON so every string is covered.
        if let Ok(raw) = serde_json::from_str::<serde_json::Value>(text) {
            let mut problems = Vec::new();
            control_chars(&raw, "$", false, &mut problems);
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let m: Manifest = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_string() } else { path };
            vec![err(path, e.into_inner().to_string())]
        })?;
        // Nothing may follow the object: trailing text was read by no check
        // (and made the raw parse above fail, skipping the character check).
        de.end().map_err(|e| {
            vec![err(
                "$",
                format!("{e}: nothing may follow the manifest's closing brace"),
            )]
        })?;
        let problems = m.validate();
        if problems.is_empty() {
            Ok(m)
        } else {
            Err(problems)
        }
    }

    /// Check meaning: every problem, each with its JSON path.
    pub fn validate(&self) -> Vec<ManifestError> {
        let mut out = Vec::new();
        if !ident_ok(&self.id, &['.', '-']) {
            out.push(err("id", format!("{:?} is not a plugin id: lowercase letters, digits, '.' and '-', starting with a letter, at most 64", self.id)));
        }
        if self.name.trim().is_empty() || self.name.len() > 100 {
            out.push(err("name", "must be 1 to 100 characters"));
        }
        if self.author.trim().is_empty() {
            out.push(err("author", "must not be empty"));
        }
        if let Err(e) = semver::Version::parse(&self.version) {
            out.push(err(
                "version",
                format!(
                    "{:?} is not a semantic version (e.g. 1.0.0): {e}",
                    self.version
                ),
            ));
        }
        match semver::VersionReq::parse(&self.api_version) {
            Err(e) => out.push(err("api_version", format!("{:?} is not a version requirement (e.g. ^1): {e}", self.api_version))),
            Ok(req) if !req.matches(&API_VERSION) => out.push(err(
                "api_version",
                format!("requires host API {req}, but this CRM provides {API_VERSION}; update the app or the plugin"),
            )),
            Ok(_) => {}
        }
        let mut seen = BTreeSet::new();
        for (i, p) in self.permissions.iter().enumerate() {
            if let Some(r) = check_permission(p) {
                out.push(err(format!("permissions[{i}]"), r));
            }
            if !seen.insert(p) {
                out.push(err(
                    format!("permissions[{i}]"),
                    format!("{p:?} is listed twice"),
                ));
            }
        }
        for (i, h) in self.hooks.iter().enumerate() {
            if !HOOKS.contains(&h.event.as_str()) {
                out.push(err(
                    format!("hooks[{i}].event"),
                    format!(
                        "unknown event {:?}; known events: {}",
                        h.event,
                        HOOKS.join(", ")
                    ),
                ));
            }
            check_fn(&mut out, format!("hooks[{i}].function"), &h.function);
        }
        let mut ids = BTreeSet::new();
        for (i, a) in self.actions.iter().enumerate() {
            check_id(&mut out, &mut ids, format!("actions[{i}].id"), &a.id);
            check_fn(&mut out, format!("actions[{i}].function"), &a.function);
            if a.label.trim().is_empty() {
                out.push(err(format!("actions[{i}].label"), "must not be empty"));
            }
        }
        for (i, s) in self.schedules.iter().enumerate() {
            check_id(&mut out, &mut ids, format!("schedules[{i}].id"), &s.id);
            check_fn(&mut out, format!("schedules[{i}].function"), &s.function);
            if s.cron.split_whitespace().count() != 5 {
                out.push(err(
                    format!("schedules[{i}].cron"),
                    format!(
                        "{:?} must have five fields: minute hour day month weekday",
                        s.cron
                    ),
                ));
            } else if let Err(e) = s.cron.parse::<croner::Cron>() {
                out.push(err(
                    format!("schedules[{i}].cron"),
                    format!("{:?} is not a cron expression: {e}", s.cron),
                ));
            }
        }
        for (i, s) in self.settings.iter().enumerate() {
            if !ident_ok(&s.key, &['_']) {
                out.push(err(
                    format!("settings[{i}].key"),
                    format!("{:?}: use lowercase letters, digits and '_'", s.key),
                ));
            }
            if let Some(d) = &s.default {
                let ok = match s.kind {
                    SettingType::String | SettingType::Secret => d.is_string(),
                    SettingType::Integer => d.is_i64(),
                    SettingType::Number => d.is_number(),
                    SettingType::Boolean => d.is_boolean(),
                };
                if !ok {
                    out.push(err(
                        format!("settings[{i}].default"),
                        format!("{d} does not match the setting's type"),
                    ));
                }
                if s.kind == SettingType::Secret {
                    out.push(err(
                        format!("settings[{i}].default"),
                        "a secret setting cannot have a default (it would ship in the package)",
                    ));
                }
            }
        }
        for (section, items) in [
            ("widgets", &self.ui.widgets),
            ("record_panels", &self.ui.record_panels),
            ("menu_pages", &self.ui.menu_pages),
        ] {
            for (i, u) in items.iter().enumerate() {
                check_id(&mut out, &mut ids, format!("ui.{section}[{i}].id"), &u.id);
                check_fn(&mut out, format!("ui.{section}[{i}].function"), &u.function);
                if !UI_KINDS.contains(&u.kind.as_str()) {
                    out.push(err(
                        format!("ui.{section}[{i}].kind"),
                        format!("{:?} is not stat, table, list, chart or form", u.kind),
                    ));
                }
            }
        }
        for (i, f) in self.custom_fields.iter().enumerate() {
            if !CUSTOM_FIELD_ENTITIES.contains(&f.entity.as_str()) {
                out.push(err(
                    format!("custom_fields[{i}].entity"),
                    format!("{:?} is not contact or policy", f.entity),
                ));
            }
            if !ident_ok(&f.name, &['_']) {
                out.push(err(
                    format!("custom_fields[{i}].name"),
                    format!("{:?}: use lowercase letters, digits and '_'", f.name),
                ));
            }
        }
        for (i, r) in self.role_templates.iter().enumerate() {
            for (j, p) in r.permissions.iter().enumerate() {
                if let Some(reason) = check_permission(p) {
                    out.push(err(format!("role_templates[{i}].permissions[{j}]"), reason));
                }
            }
        }
        for (dep, req) in &self.dependencies {
            if dep == &self.id {
                out.push(err(
                    format!("dependencies.{dep}"),
                    "a plugin cannot depend on itself",
                ));
            }
            if let Err(e) = semver::VersionReq::parse(req) {
                out.push(err(
                    format!("dependencies.{dep}"),
                    format!("{req:?} is not a version requirement: {e}"),
                ));
            }
        }
        if !self.entry.ends_with(".rhai")
            || self.entry.contains(['/', '\\'])
            || self.entry.starts_with('.')
        {
            out.push(err(
                "entry",
                format!(
                    "{:?} must be a .rhai file in the plugin's own folder",
                    self.entry
                ),
            ));
        }
        out
    }

    /// The JSON Schema of manifests, as published in `schemas/`.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or(serde_json::Value::Null)
    }
}

fn check_fn(out: &mut Vec<ManifestError>, path: String, f: &str) {
    let ok = !f.is_empty()
        && f.len() <= 64
        && f.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        out.push(err(path, format!("{f:?} is not a script function name")));
    }
}

fn check_id(out: &mut Vec<ManifestError>, ids: &mut BTreeSet<String>, path: String, id: &str) {
    if !ident_ok(id, &['_', '-']) {
        out.push(err(
            path,
            format!("{id:?}: use lowercase letters, digits, '_' and '-'"),
        ));
    } else if !ids.insert(id.to_string()) {
        out.push(err(
            path,
            format!("id {id:?} is used twice in this manifest"),
        ));
    }
}

/// What a permission allows, in plain words for the admin who grants it
/// (the app shows these before enabling a plugin).
pub fn describe_permission(p: &str) -> String {
    if let Some(origin) = p.strip_prefix("net:") {
        return format!("Send data to and receive data from {origin}");
    }
    let (ns, level) = p.split_once(':').unwrap_or((p, ""));
    let what = match ns {
        "contacts" => "contacts",
        "policies" => "insurance policies",
        "payments" => "premium payments and arrears",
        "tasks" => "tasks",
        "activities" => "contact timelines (notes, calls)",
        _ => "",
    };
    match (ns, level, what) {
        (_, "read", w) if !w.is_empty() => format!("See your {w}"),
        (_, "write", w) if !w.is_empty() => format!("Create, change and delete {w}"),
        ("storage", _, _) => "Keep its own data in your profile (within a quota)".into(),
        ("ai", "use", _) => {
            "Send record details to your configured AI service and read its answers".into()
        }
        ("ui", "notify", _) => "Show you notifications".into(),
        ("documents", "read", _) => {
            "Search and read the documents you can see (policies, SOPs, guides)".into()
        }
        ("staff", "read", _) => "See the staff records you may see (your own; your people's if \
            you manage anyone; everyone's if you are an admin): recruitment checks without \
            certificate or document numbers, supervisions, policies and who has read them"
            .into(),
        ("staff", "write", _) => {
            "Record recruitment checks and supervisions for the staff you may change".into()
        }
        ("training", "read", _) => {
            "See the courses, and the training records and matrix of the staff you may see".into()
        }
        ("training", "write", _) => "Record training for the staff you may change".into(),
        _ => format!("{p} (unknown permission)"),
    }
}
