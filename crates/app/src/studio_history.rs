//! A plugin's run history in the Studio: its runs of the last 90 days
//! (`crm_core::plugin_state::RUNS_KEPT_DAYS`), newest first, each with what
//! started it, the record it ran on, what it changed and any error in
//! words with its line. What a run changed is not copied anywhere: it is
//! the plugin's own entries in the audit trail during the run.

use serde::Serialize;
use ts_rs::TS;
use uuid::Uuid;

use crate::studio::{change_dto, DryChangeDto};
use crate::{ApiResult, App};

/// Changes shown per run; the rest are counted.
const CHANGES_SHOWN: usize = 20;

/// One run of a plugin.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginRunDto {
    /// When it started (RFC 3339).
    pub at: String,
    /// What started it, in words ("When a contact is created").
    pub started_by: String,
    /// The record it ran on, if one.
    pub record: Option<String>,
    /// How people know that record (a contact's name, a policy number).
    pub record_name: Option<String>,
    /// Whether it ran to the end.
    pub ok: bool,
    /// How long it took.
    pub duration_ms: f64,
    /// What it changed or made (the first few).
    pub changes: Vec<DryChangeDto>,
    /// Changes past those shown.
    pub more_changes: u32,
    /// What went wrong, in words.
    pub error: Option<String>,
    /// The script line the error points at.
    pub error_line: Option<u32>,
}

/// An error kind in words, for people who did not write the plugin.
fn kind_words(kind: &str) -> &'static str {
    match kind {
        "syntax" => "Its script does not read as Rhai",
        "limit" => "It went past one of its limits and was stopped",
        "timeout" => "It ran too long and was stopped",
        "memory" => "It used too much memory and was stopped",
        "permission" => "It tried something it is not allowed to do",
        "panic" | "internal" => "The app could not run it",
        _ => "It failed",
    }
}

impl App {
    /// Plugin `id`'s newest `limit` runs.
    pub fn plugin_runs(&self, id: &str, limit: u32) -> ApiResult<Vec<PluginRunDto>> {
        self.read(|s| {
            let rec = s.plugin(id)?;
            let m = crm_plugins::Manifest::parse(&rec.manifest).ok();
            let runs = s.plugin_runs(id, limit.min(1_000) as usize)?;
            let mut out = Vec::with_capacity(runs.len());
            for run in runs {
                let (kind, what) = run.trigger.split_once(':').unwrap_or(("", &run.trigger));
                let started_by = match kind {
                    "hook" => crate::plugins::hook_words(what),
                    "action" => {
                        let label = m
                            .as_ref()
                            .and_then(|m| m.actions.iter().find(|a| a.id == what))
                            .map_or(what, |a| a.label.as_str());
                        format!("Someone pressed “{label}”")
                    }
                    "schedule" => m
                        .as_ref()
                        .and_then(|m| m.schedules.iter().find(|x| x.id == what))
                        .map_or_else(
                            || "Its schedule".to_string(),
                            |x| crate::plugins::schedule_words(&x.cron),
                        ),
                    "ui" => format!("Showing its “{what}” panel"),
                    _ => run.trigger.clone(),
                };
                let (table, record) = match run.record.as_deref().and_then(|r| r.split_once(':')) {
                    Some((t, r)) => (t, Some(r.to_string())),
                    None => ("", None),
                };
                let record_name = record
                    .as_deref()
                    .and_then(|r| Uuid::parse_str(r).ok())
                    .and_then(|rid| match table {
                        "contacts" => s.contact(rid).ok().map(|c| c.display_name),
                        "policies" => s.policy(rid).ok().map(|p| p.policy_number),
                        "tasks" => s.task(rid).ok().map(|t| t.title),
                        _ => None,
                    });
                let mut changes = match run.audit_span {
                    Some((from, to)) if to > from => s.changes_between(from, to, Some(id))?,
                    _ => Vec::new(),
                };
                let more = changes.len().saturating_sub(CHANGES_SHOWN);
                changes.truncate(CHANGES_SHOWN);
                let error = (!run.ok).then(|| {
                    format!(
                        "{}: {}",
                        kind_words(run.error_kind.as_deref().unwrap_or("")),
                        run.message.as_deref().unwrap_or("no reason was given")
                    )
                });
                out.push(PluginRunDto {
                    error_line: run.message.as_deref().and_then(crate::studio_code::line_of),
                    at: run.at,
                    started_by,
                    record,
                    record_name,
                    ok: run.ok,
                    duration_ms: run.duration_us as f64 / 1000.0,
                    changes: changes.into_iter().map(change_dto).collect(),
                    more_changes: more as u32,
                    error,
                });
            }
            Ok(out)
        })
    }
}
