//! The Studio screen: the wizard's catalog and checks, saving a wizard-made
//! automation as a plugin, dry runs with progress and cancel, and enabling
//! with "also apply to the records that match now".
//!
//! The wizard's logic lives in `crm-studio` and dry runs in
//! `crm_plugins::dry_run`; this file only shapes them for the window.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crm_plugins::dry_run::{self, DryRunOptions, DryTarget, Records};
use crm_plugins::manifest::describe_permission;
use crm_plugins::{lifecycle, Manifest};
use crm_studio::wizard;
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

use crate::convert::tag;
use crate::dto::{PermissionDto, PluginDto};
use crate::history::words;
use crate::{ApiError, ApiResult, App, ErrorCode};

/// A trigger the wizard offers.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioTriggerDto {
    /// The model's `kind`.
    pub kind: String,
    /// What its card says.
    pub label: String,
    /// The record it gives the conditions: `contact`, `policy`, `arrears`, `task`.
    pub subject: String,
    /// What it asks beside (`stage`, `days`, `every`, `at`, `on`, `label`).
    pub params: Vec<String>,
}

/// A field conditions and actions may name.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioFieldDto {
    /// Its name in the model (`source`, `contact.stage`, `custom.score`).
    pub name: String,
    /// Its label.
    pub label: String,
    /// `text`, `number`, `money`, `date`, `list` or `choice`.
    pub kind: String,
    /// Its choices, for a choice.
    pub choices: Vec<String>,
    /// Whether an action may set it.
    pub settable: bool,
}

/// The fields of one kind of record.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioSubjectDto {
    /// `contact`, `policy`, `arrears` or `task`.
    pub subject: String,
    /// Its fields (and, for the others, its contact's as `contact.…`).
    pub fields: Vec<StudioFieldDto>,
}

/// An operator, with its words.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioOpDto {
    /// The model's `op`.
    pub op: String,
    /// How it reads.
    pub words: String,
}

/// The operators a kind of field offers.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioKindOpsDto {
    /// The kind.
    pub kind: String,
    /// Its operators, first the default.
    pub ops: Vec<StudioOpDto>,
}

/// A choice with its label.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioChoiceDto {
    /// The value.
    pub value: String,
    /// How it reads.
    pub label: String,
}

/// Everything the wizard screen draws from.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioCatalogDto {
    /// Triggers.
    pub triggers: Vec<StudioTriggerDto>,
    /// Fields per record kind.
    pub subjects: Vec<StudioSubjectDto>,
    /// Operators per field kind.
    pub ops: Vec<StudioKindOpsDto>,
    /// Schedule choices.
    pub every: Vec<StudioChoiceDto>,
    /// Actions.
    pub actions: Vec<StudioChoiceDto>,
    /// Contact stages.
    pub stages: Vec<String>,
}

/// A problem with a model, naming its field.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioProblemDto {
    /// Where (`conditions[1].value`).
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// A model checked as it is built.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioPreviewDto {
    /// The plugin id it becomes.
    pub id: String,
    /// The automation in a sentence.
    pub summary: String,
    /// The permissions it will ask for, in words.
    pub permissions: Vec<PermissionDto>,
    /// What must be fixed first (empty: it can be saved).
    pub problems: Vec<StudioProblemDto>,
}

/// One field a dry run would change.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DryFieldDto {
    /// The field.
    pub field: String,
    /// How people call it.
    pub label: String,
    /// Before, as text ("" for a new record).
    pub before: String,
    /// After, as text.
    pub after: String,
}

/// One record a dry run would change or make.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DryChangeDto {
    /// `contact`, `task`, `timeline entry`, …
    pub what: String,
    /// `created` or `updated` (or `deleted`).
    pub action: String,
    /// Its fields.
    pub fields: Vec<DryFieldDto>,
}

/// A request a dry run would have sent.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DryRequestDto {
    /// `POST`, `GET` or `AI`.
    pub method: String,
    /// Where.
    pub url: String,
    /// What.
    pub body: Option<String>,
}

/// One record's dry-run result.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DryRecordDto {
    /// The record (`None`: a run not about one record).
    pub record: Option<String>,
    /// How people know it (a contact's name).
    pub name: Option<String>,
    /// `changed`, `skipped`, `unchanged` or `failed`.
    pub outcome: String,
    /// What would change or be made.
    pub changes: Vec<DryChangeDto>,
    /// Requests that would be sent.
    pub requests: Vec<DryRequestDto>,
    /// Messages that would be shown.
    pub notifications: Vec<String>,
    /// Why it was skipped, or what failed.
    pub reason: Option<String>,
}

/// What a dry run found.
#[derive(Clone, Debug, Serialize, TS)]
pub struct DryRunDto {
    /// The plugin.
    pub plugin_id: String,
    /// What was run, in words.
    pub trigger: String,
    /// The kind of record gone through (`contacts`; `None`: one run).
    pub table: Option<String>,
    /// Records run.
    pub considered: u32,
    /// Records that would change.
    pub would_change: u32,
    /// Records skipped with a reason.
    pub skipped: u32,
    /// Records nothing would happen to.
    pub unchanged: u32,
    /// Records whose run failed.
    pub failed: u32,
    /// Per record, changed and failed first.
    pub results: Vec<DryRecordDto>,
    /// Results were left out past the first thousand.
    pub truncated: bool,
    /// Cancelled before the end.
    pub cancelled: bool,
    /// How long it took, ms.
    pub elapsed_ms: u32,
}

/// Progress of a dry run or of applying to existing records.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioProgressDto {
    /// Records done.
    pub done: u32,
    /// Records in all.
    pub total: u32,
}

/// What enabling from the Studio did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct StudioEnabledDto {
    /// The plugin now.
    pub plugin: PluginDto,
    /// Records it was applied to now (0: only from now on).
    pub applied: u32,
    /// Runs on existing records that failed.
    pub failed: u32,
}

/// Cancels the running dry run or apply.
#[derive(Default)]
pub struct StudioJobs {
    cancel: Arc<AtomicBool>,
}

fn field_dto(prefix: &str, f: &wizard::catalog::Field) -> StudioFieldDto {
    StudioFieldDto {
        name: format!("{prefix}{}", f.name),
        label: f.label.to_string(),
        kind: tag(&f.kind),
        choices: f.choices.iter().map(|c| c.to_string()).collect(),
        settable: f.settable,
    }
}

pub(crate) fn parse_model(model: &str) -> ApiResult<wizard::Automation> {
    wizard::parse(model).map_err(|e| match e {
        wizard::WizardError::Shape { field, message } => ApiError::invalid(&field, message),
        other => ApiError::invalid("model", other.to_string()),
    })
}

pub(crate) fn wizard_error(e: wizard::WizardError) -> ApiError {
    match e {
        wizard::WizardError::Invalid(problems) => match problems.first() {
            Some(p) => ApiError::invalid(&p.field, format!("{}: {}", p.field, p.message)),
            None => ApiError::invalid("model", "the automation is not complete"),
        },
        wizard::WizardError::Shape { field, message } => ApiError::invalid(&field, message),
        other => ApiError::new(ErrorCode::Internal, other.to_string()),
    }
}

/// What a dry run of plugin `m` goes through: its first hook's event over
/// every record, else its "Run now", else its first button on every record.
fn target_of(m: &Manifest) -> ApiResult<DryTarget> {
    if let Some(h) = m.hooks.first() {
        return Ok(DryTarget::Event {
            event: h.event.clone(),
            records: Records::All,
        });
    }
    let action = m
        .actions
        .iter()
        .find(|a| a.id == "run_now")
        .or_else(|| m.actions.first())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Plugin,
                format!("{} has nothing to try: no hook and no button", m.id),
            )
        })?;
    Ok(DryTarget::Action {
        action: action.id.clone(),
        records: Records::All,
    })
}

impl App {
    /// What the wizard offers, custom fields of installed plugins included.
    pub fn studio_catalog(&self) -> ApiResult<StudioCatalogDto> {
        use wizard::catalog::{self, Subject};
        let c = catalog::catalog();
        let custom: Vec<StudioFieldDto> = self
            .read(|s| Ok(s.custom_field_defs()?))?
            .into_iter()
            .filter(|f| f.entity == "contact")
            .map(|f| {
                let label = serde_json::from_str::<Value>(&f.definition)
                    .ok()
                    .and_then(|d| d["label"].as_str().map(String::from))
                    .unwrap_or_else(|| f.name.clone());
                StudioFieldDto {
                    name: format!("custom.{}", f.name),
                    label,
                    kind: "text".into(),
                    choices: Vec::new(),
                    settable: true,
                }
            })
            .collect();
        let subjects = [
            Subject::Contact,
            Subject::Policy,
            Subject::Arrears,
            Subject::Task,
        ]
        .into_iter()
        .map(|subject| {
            let mut fields: Vec<StudioFieldDto> =
                subject.fields().iter().map(|f| field_dto("", f)).collect();
            if subject == Subject::Contact {
                fields.extend(custom.iter().cloned());
            } else {
                fields.extend(catalog::CONTACT.iter().map(|f| {
                    let mut d = field_dto("contact.", f);
                    d.label = format!("Contact's {}", f.label.to_lowercase());
                    d
                }));
            }
            StudioSubjectDto {
                subject: tag(&subject),
                fields,
            }
        })
        .collect();
        Ok(StudioCatalogDto {
            triggers: c
                .triggers
                .iter()
                .map(|t| StudioTriggerDto {
                    kind: t.kind.into(),
                    label: t.label.into(),
                    subject: tag(&t.subject),
                    params: t.params.iter().map(|p| p.to_string()).collect(),
                })
                .collect(),
            subjects,
            ops: c
                .ops
                .into_iter()
                .map(|(kind, ops)| StudioKindOpsDto {
                    kind: tag(&kind),
                    ops: ops
                        .into_iter()
                        .map(|(op, words)| StudioOpDto {
                            op: tag(&op),
                            words: words.into(),
                        })
                        .collect(),
                })
                .collect(),
            every: c
                .every
                .iter()
                .map(|(v, l)| StudioChoiceDto {
                    value: v.to_string(),
                    label: l.to_string(),
                })
                .collect(),
            actions: c
                .actions
                .iter()
                .map(|a| StudioChoiceDto {
                    value: a.kind.into(),
                    label: a.label.into(),
                })
                .collect(),
            stages: catalog::STAGES.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The values a contact text field holds most often (up to 12), so a
    /// condition's value can be picked rather than typed.
    pub fn studio_field_values(&self, field: &str) -> ApiResult<Vec<String>> {
        const SCAN: usize = 5_000;
        let key = field.strip_prefix("contact.").unwrap_or(field);
        let rows = self.read(|s| Ok(s.scan_contact_fields(None, SCAN)?))?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for row in rows {
            for (name, v) in row {
                let hit = match key.strip_prefix("custom.") {
                    Some(c) => name == "custom" && v.get(c).is_some(),
                    None => name == key,
                };
                if !hit {
                    continue;
                }
                let v = match key.strip_prefix("custom.") {
                    Some(c) => v.get(c).cloned().unwrap_or(Value::Null),
                    None => v,
                };
                let values = match v {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                for x in values {
                    if let Some(t) = words(&x).filter(|t| !t.trim().is_empty()) {
                        *counts.entry(t).or_default() += 1;
                    }
                }
            }
        }
        let mut list: Vec<(String, usize)> = counts.into_iter().collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(list.into_iter().take(12).map(|(v, _)| v).collect())
    }

    /// Check a model as it is built: its sentence, the permissions it
    /// will ask for, and what must be fixed.
    pub fn studio_preview(&self, model: &str) -> ApiResult<StudioPreviewDto> {
        let m = parse_model(model)?;
        let problems: Vec<StudioProblemDto> = wizard::problems(&m)
            .into_iter()
            .map(|p| StudioProblemDto {
                field: p.field,
                message: p.message,
            })
            .collect();
        let permissions = match wizard::build(&m) {
            Ok(g) => g
                .permissions
                .iter()
                .map(|p| PermissionDto {
                    permission: p.clone(),
                    description: describe_permission(p),
                    granted: false,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        Ok(StudioPreviewDto {
            id: wizard::id_of(&m),
            summary: wizard::summary(&m),
            permissions,
            problems,
        })
    }

    /// Save a wizard model as a plugin in this profile: installed, or, when
    /// `replace` (the wizard was editing it) and the automation exists, upgraded (a wizard-made plugin is the app's
    /// own generated code, so it needs no developer mode). It starts
    /// disabled; an upgrade keeps its grants unless it asks for more.
    pub fn studio_save(&self, model: &str, replace: bool) -> ApiResult<PluginDto> {
        let m = parse_model(model)?;
        let id = wizard::id_of(&m);
        let version = match self.read(|s| Ok(s.plugin(&id).ok()))? {
            None => "1.0.0".to_string(),
            Some(_) if !replace => {
                return Err(ApiError::invalid(
                    "name",
                    format!("an automation called “{}” exists already; give this one another name, or open that one to change it", m.name),
                ))
            }
            Some(rec) => {
                let files = self.package_files(&rec)?;
                if wizard::made_by_wizard(&files).is_none() {
                    return Err(ApiError::invalid(
                        "name",
                        format!("a plugin {id} that the wizard did not make is installed; give the automation another name"),
                    ));
                }
                let v = semver_next(&rec.version);
                v.ok_or_else(|| {
                    ApiError::new(ErrorCode::Plugin, format!("{id} has an unreadable version"))
                })?
            }
        };
        let g = wizard::build_as(&m, &version).map_err(wizard_error)?;
        let tmp = tempfile::tempdir().map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("cannot make a temporary folder: {e}"),
            )
        })?;
        let dir = tmp.path().join("automation");
        wizard::write_folder(&g, &dir).map_err(wizard_error)?;
        self.write(|s| Ok(lifecycle::install(s, &dir, true)?))?;
        self.plugin(&g.id)
    }

    /// The wizard model of a wizard-made plugin, to reopen the wizard
    /// (`None`: a code plugin).
    pub fn studio_model(&self, id: &str) -> ApiResult<Option<String>> {
        let rec = self.read(|s| Ok(s.plugin(id)?))?;
        let files = self.package_files(&rec)?;
        Ok(wizard::made_by_wizard(&files).and_then(|m| serde_json::to_string(&m).ok()))
    }

    /// Dry-run plugin `id` over every record its trigger would match (see
    /// `crm_plugins::dry_run`): nothing is changed, nothing sent.
    pub fn studio_dry_run(
        &self,
        id: &str,
        progress: &mut dyn FnMut(StudioProgressDto),
    ) -> ApiResult<DryRunDto> {
        let s = self.session()?;
        let (copy, m, limits) = {
            let store = crate::lock_store(&s)?;
            let rec = store.plugin(id)?;
            let m = Manifest::parse(&rec.manifest).map_err(|_| {
                ApiError::new(
                    ErrorCode::Plugin,
                    format!("the stored manifest of {id} is damaged"),
                )
            })?;
            let limits = crm_plugins::Limits::for_profile(&store)
                .map_err(|e| ApiError::new(ErrorCode::Plugin, e))?;
            (store.scratch_copy()?, m, limits)
        };
        let target = target_of(&m)?;
        self.studio.cancel.store(false, Ordering::SeqCst);
        let cancel = self.studio.cancel.clone();
        let report = dry_run::dry_run_on(
            copy,
            Arc::new(crm_plugins::Sandbox::new(limits)),
            id,
            &target,
            DryRunOptions::default(),
            &mut |done, total| {
                if done % 50 == 0 || done == total {
                    progress(StudioProgressDto {
                        done: done as u32,
                        total: total as u32,
                    });
                }
                !cancel.load(Ordering::SeqCst)
            },
        )
        .map_err(|e| ApiError::new(ErrorCode::Plugin, e.to_string()))?;
        let names: BTreeMap<String, String> = if report.table.as_deref() == Some("contacts") {
            self.read(|st| {
                let mut out = BTreeMap::new();
                for r in &report.results {
                    if let Some(id) = r
                        .record
                        .as_deref()
                        .and_then(|i| uuid::Uuid::parse_str(i).ok())
                    {
                        if let Ok(c) = st.contact(id) {
                            out.insert(id.to_string(), c.display_name);
                        }
                    }
                }
                Ok(out)
            })?
        } else {
            BTreeMap::new()
        };
        Ok(DryRunDto {
            plugin_id: report.plugin_id,
            trigger: match &target {
                DryTarget::Event { event, .. } => as_if(event),
                DryTarget::Action { action, .. } => format!("its \"{action}\" action"),
            },
            table: report.table,
            considered: report.considered as u32,
            would_change: report.would_change as u32,
            skipped: report.skipped as u32,
            unchanged: report.unchanged as u32,
            failed: report.failed as u32,
            results: report
                .results
                .into_iter()
                .map(|r| DryRecordDto {
                    name: r.record.as_ref().and_then(|i| names.get(i).cloned()),
                    record: r.record,
                    outcome: tag(&r.outcome),
                    changes: r.changes.into_iter().map(change_dto).collect(),
                    requests: r
                        .requests
                        .into_iter()
                        .map(|q| DryRequestDto {
                            method: q.method,
                            url: q.url,
                            body: q.body,
                        })
                        .collect(),
                    notifications: r.notifications.into_iter().map(|n| n.message).collect(),
                    reason: r.reason,
                })
                .collect(),
            truncated: report.truncated,
            cancelled: report.cancelled,
            elapsed_ms: report.elapsed_ms.min(u32::MAX as u64) as u32,
        })
    }

    /// Stop the running dry run or apply; whether one was asked to stop.
    pub fn studio_cancel(&self) -> bool {
        self.studio.cancel.store(true, Ordering::SeqCst);
        true
    }

    /// Enable from the Studio with these grants; with `apply_existing`,
    /// also run its hook now for every record of the kind (for real: what
    /// the dry run showed). Records the conditions skip are left alone.
    pub fn studio_enable(
        &self,
        id: &str,
        grants: Vec<String>,
        apply_existing: bool,
        progress: &mut dyn FnMut(StudioProgressDto),
    ) -> ApiResult<StudioEnabledDto> {
        self.write(|s| Ok(lifecycle::enable(s, id, Some(grants))?))?;
        let mut applied = 0;
        let mut failed = 0;
        if apply_existing {
            let s = self.session()?;
            let (event, table, ids, user) = {
                let store = crate::lock_store(&s)?;
                let m = Manifest::parse(&store.plugin(id)?.manifest).map_err(|_| {
                    ApiError::new(
                        ErrorCode::Plugin,
                        format!("the stored manifest of {id} is damaged"),
                    )
                })?;
                let Some(event) = m.hooks.first().map(|h| h.event.clone()) else {
                    return Err(ApiError::new(
                        ErrorCode::Plugin,
                        format!("{id} reacts to no change, so there is nothing to apply now; it was enabled"),
                    ));
                };
                let table = dry_run::event_table(&event).ok_or_else(|| {
                    ApiError::new(ErrorCode::Plugin, format!("{event} is not about records"))
                })?;
                let ids = store.live_ids(table, usize::MAX)?;
                (event, table, ids, store.identity().user_id.clone())
            };
            self.studio.cancel.store(false, Ordering::SeqCst);
            let total = ids.len();
            for (done, row) in ids.into_iter().enumerate() {
                if self.studio.cancel.load(Ordering::SeqCst) {
                    break;
                }
                if done % 50 == 0 {
                    progress(StudioProgressDto {
                        done: done as u32,
                        total: total as u32,
                    });
                }
                let e = dry_run::synthetic_event(&event, Some(table), row, &user);
                for r in s.rt.run_hooks(id, &e)? {
                    match &r.result {
                        Ok(out) if out.value.get("skipped").is_none() => applied += 1,
                        Ok(_) => {}
                        Err(_) => failed += 1,
                    }
                    self.notice_reports(std::slice::from_ref(&r));
                }
            }
            progress(StudioProgressDto {
                done: total as u32,
                total: total as u32,
            });
            self.run_hooks(&s, &mut |_, _| true);
        }
        Ok(StudioEnabledDto {
            plugin: self.plugin(id)?,
            applied,
            failed,
        })
    }

    /// An installed plugin's files (verified as the runtime verifies them).
    pub(crate) fn package_files(
        &self,
        rec: &crm_core::PluginRecord,
    ) -> ApiResult<BTreeMap<String, Vec<u8>>> {
        let trusted = self.read(|s| Ok(s.trusted_publishers()?))?;
        let keys: Vec<_> = trusted
            .iter()
            .filter_map(|(k, _)| crm_plugins::package::parse_public_key(k).ok())
            .collect();
        let pkg = crm_plugins::package::read_package(&rec.package, &keys, rec.signer.is_none())
            .map_err(|e| ApiError::new(ErrorCode::Plugin, format!("{}: {e}", rec.id)))?;
        Ok(pkg.files)
    }
}

/// One record a run changed or made, its fields in words.
pub(crate) fn change_dto(c: crm_core::RowChange) -> DryChangeDto {
    DryChangeDto {
        what: dry_run::noun(&c.table).to_string(),
        fields: c
            .changes
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "id" | "deleted"))
            .map(|(k, v)| {
                let (before, after) = if c.action == "created" {
                    (String::new(), words(v).unwrap_or_default())
                } else {
                    (
                        words(v.get(0).unwrap_or(&Value::Null)).unwrap_or_default(),
                        words(v.get(1).unwrap_or(&Value::Null)).unwrap_or_default(),
                    )
                };
                DryFieldDto {
                    label: crate::history::label(k),
                    field: k.clone(),
                    before,
                    after,
                }
            })
            .collect(),
        action: c.action,
    }
}

/// "as if each contact had just been created".
fn as_if(event: &str) -> String {
    let (thing, what) = event.split_once('.').unwrap_or((event, ""));
    let what = match what {
        "created" => "been created",
        "updated" => "been changed",
        "imported" => "been imported",
        "deleted" => "been deleted",
        other => other,
    };
    format!("as if each {thing} had just {what}")
}

/// The next patch version (`1.0.3` → `1.0.4`).
fn semver_next(v: &str) -> Option<String> {
    let mut parts: Vec<u64> = v
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    if parts.len() != 3 {
        return None;
    }
    parts[2] += 1;
    Some(format!("{}.{}.{}", parts[0], parts[1], parts[2]))
}
