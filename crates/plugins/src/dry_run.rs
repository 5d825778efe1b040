//! Dry runs: a plugin run against the profile's real records, with nothing
//! kept and nothing sent, so a person sees what it *would* do before it
//! does anything ("would change 37 of 412 contacts").
//!
//! How: the plugin runs on a scratch copy of the profile in memory
//! ([`crm_core::Store::scratch_copy`]), through the same runtime, host API
//! and write path as a real run, so what it reports is what would happen.
//! The profile itself is only read: after a dry run its records, audit
//! log, sync outbox and plugin storage are byte for byte what they were.
//! Outside effects are recorded instead of done ([`Rehearsal`]): no HTTP
//! request, no notification, no AI call unless the caller includes them.
//! A plugin not yet enabled is enabled on the copy with everything its
//! manifest asks for (what enabling it would grant).
//!
//! Each record's outcome comes from the copy's audit trail: the record's
//! own fields before → after, and the records the run made for it (tasks,
//! notes). A run that changes nothing and returns `#{skipped: "why"}` is
//! reported as skipped for that reason (the wizard's scripts do, naming the
//! condition that was false and the value they saw).
//!
//! Not simulated: other plugins' reactions to the plugin's writes (their
//! hooks do not run on the copy), as in Salesforce's rollback debug mode.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crm_core::store::Action;
use crm_core::{Actor, ChangeEvent, RowChange, Store, Table};
use serde::Serialize;
use uuid::Uuid;

use crate::lifecycle::{self, LifecycleError};
use crate::manifest::ActionTarget;
use crate::runtime::{RunReport, Runtime};
use crate::sandbox::{LogLine, Notification, RecordedRequest, Rehearsal, Sandbox};

/// Per-record results kept in a report; counts cover every record.
pub const DETAIL_CAP: usize = 1_000;

/// Which records a dry run goes through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Records {
    /// Every live record of the kind.
    All,
    /// The first N (oldest first).
    First(usize),
    /// These ids.
    Ids(Vec<String>),
}

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DryTarget {
    /// One of the plugin's actions, on each record (once for a global action).
    Action {
        /// The action's id.
        action: String,
        /// The records (ignored by a global action).
        records: Records,
    },
    /// The plugin's hooks on `event`, as if it had just happened to each record.
    Event {
        /// e.g. `contact.created`.
        event: String,
        /// The records.
        records: Records,
    },
}

/// Options of a dry run.
#[derive(Clone, Copy, Debug, Default)]
pub struct DryRunOptions {
    /// Ask the configured AI for real (else its questions are recorded).
    pub include_ai: bool,
}

/// What happened to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Something would change or be sent.
    Changed,
    /// The plugin passed it over, saying why.
    Skipped,
    /// Nothing would change, and no reason was given.
    Unchanged,
    /// The run failed.
    Failed,
}

/// One record's result.
#[derive(Clone, Debug, Serialize)]
pub struct RecordResult {
    /// The record (`None`: a global action).
    pub record: Option<String>,
    /// Its outcome.
    pub outcome: Outcome,
    /// The record's own change and the records made for it.
    pub changes: Vec<RowChange>,
    /// Requests that would have been sent.
    pub requests: Vec<RecordedRequest>,
    /// Messages that would have been shown.
    pub notifications: Vec<Notification>,
    /// Why it was skipped, or the error that stopped the run.
    pub reason: Option<String>,
}

/// What a dry run found.
#[derive(Clone, Debug, Serialize)]
pub struct DryRunReport {
    /// The plugin.
    pub plugin_id: String,
    /// `action:ID` or `hook:EVENT`.
    pub trigger: String,
    /// The kind of record gone through (`contacts`, …; `None`: global).
    pub table: Option<String>,
    /// How many records of that kind the profile holds.
    pub total: usize,
    /// How many were run.
    pub considered: usize,
    /// Records something would happen to.
    pub would_change: usize,
    /// Records skipped with a reason.
    pub skipped: usize,
    /// Records nothing would happen to.
    pub unchanged: usize,
    /// Records whose run failed.
    pub failed: usize,
    /// Per-record results, changed and failed first, at most [`DETAIL_CAP`].
    pub results: Vec<RecordResult>,
    /// True when results were left out past the cap.
    pub truncated: bool,
    /// Log lines of the runs, the first [`DETAIL_CAP`].
    pub logs: Vec<LogLine>,
    /// Printed lines of the runs, the first [`DETAIL_CAP`].
    pub output: Vec<String>,
    /// True when the caller cancelled before the end.
    pub cancelled: bool,
    /// Wall-clock time, milliseconds.
    pub elapsed_ms: u64,
}

fn refused(msg: impl Into<String>) -> LifecycleError {
    LifecycleError::Refused(msg.into())
}

/// A table's record in words (`activities` → "timeline entry").
pub fn noun(table: &str) -> &str {
    match table {
        "contacts" => "contact",
        "policies" => "policy",
        "payments" => "payment",
        "tasks" => "task",
        "activities" => "timeline entry",
        other => other,
    }
}

/// The table an event is about (`contact.created` → contacts).
pub fn event_table(event: &str) -> Option<Table> {
    match event.split('.').next()? {
        "contact" => Some(Table::Contacts),
        "policy" => Some(Table::Policies),
        "payment" => Some(Table::Payments),
        "task" => Some(Table::Tasks),
        "activity" => Some(Table::Activities),
        _ => None,
    }
}

/// Dry-run plugin `id` on `store`'s records (see the module docs).
/// `progress(done, total)` is called as records are run; returning `false`
/// stops early (the report says so).
pub fn dry_run(
    store: &Store,
    sandbox: Arc<Sandbox>,
    id: &str,
    target: &DryTarget,
    opts: DryRunOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<DryRunReport, LifecycleError> {
    dry_run_on(store.scratch_copy()?, sandbox, id, target, opts, progress)
}

/// [`dry_run`] on a scratch copy made already (so the profile's store is
/// held only while copying). Anything but a scratch copy is refused: a dry
/// run never writes to a profile.
pub fn dry_run_on(
    mut copy: Store,
    sandbox: Arc<Sandbox>,
    id: &str,
    target: &DryTarget,
    opts: DryRunOptions,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<DryRunReport, LifecycleError> {
    if !copy.is_scratch() {
        return Err(refused(
            "a dry run runs on a scratch copy of the profile, never on the profile",
        ));
    }
    let started = Instant::now();
    let rec = copy.plugin(id)?;
    let m = lifecycle::manifest_of(&rec)?;
    if !rec.enabled {
        lifecycle::enable(&mut copy, id, None)?;
    }
    let user = copy.identity().user_id.clone();
    // What to run, per record.
    let (trigger, table, records) = match target {
        DryTarget::Action { action, records } => {
            let a = m.actions.iter().find(|a| &a.id == action).ok_or_else(|| {
                let known: Vec<&str> = m.actions.iter().map(|a| a.id.as_str()).collect();
                refused(format!(
                    "{id} has no action {action:?}; its actions: {}",
                    known.join(", ")
                ))
            })?;
            let table = match a.target {
                ActionTarget::Contact => Some(Table::Contacts),
                ActionTarget::Policy => Some(Table::Policies),
                ActionTarget::ContactList | ActionTarget::Global => None,
            };
            (format!("action:{action}"), table, records)
        }
        DryTarget::Event { event, records } => {
            if !m.hooks.iter().any(|h| &h.event == event) {
                let known: Vec<&str> = m.hooks.iter().map(|h| h.event.as_str()).collect();
                return Err(refused(format!(
                    "{id} does not listen to {event:?}; its events: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            let table = event_table(event)
                .ok_or_else(|| refused(format!("{event:?} is not about a kind of record")))?;
            (format!("hook:{event}"), Some(table), records)
        }
    };
    let (total, ids): (usize, Vec<Option<Uuid>>) = match table {
        None => (0, vec![None]),
        Some(t) => {
            let total = copy.count_live(t)?;
            let ids = match records {
                Records::All => copy.live_ids(t, usize::MAX)?,
                Records::First(n) => copy.live_ids(t, *n)?,
                Records::Ids(list) => list
                    .iter()
                    .map(|raw| crm_core::parse_id(t.name(), raw))
                    .collect::<crm_core::Result<Vec<_>>>()?,
            };
            (total, ids.into_iter().map(Some).collect())
        }
    };
    let runtime = {
        let mut rt = Runtime::with_sandbox(Arc::new(Mutex::new(copy)), sandbox)?;
        // A dry run never disables what it tries.
        rt.breaker_threshold = 0;
        rt.rehearsal = Some(Rehearsal {
            include_ai: opts.include_ai,
        });
        rt
    };
    let mut report = DryRunReport {
        plugin_id: id.to_string(),
        trigger,
        table: table.map(|t| t.name().to_string()),
        total,
        considered: 0,
        would_change: 0,
        skipped: 0,
        unchanged: 0,
        failed: 0,
        results: Vec::new(),
        truncated: false,
        logs: Vec::new(),
        output: Vec::new(),
        cancelled: false,
        elapsed_ms: 0,
    };
    let mut quiet = Vec::new();
    for (done, row) in ids.iter().enumerate() {
        if !progress(done, ids.len()) {
            report.cancelled = true;
            break;
        }
        let mark = lock(&runtime)?.audit_mark()?;
        let runs: Result<Vec<RunReport>, LifecycleError> = match (target, row) {
            (DryTarget::Action { action, .. }, r) => runtime
                .run_action(id, action, r.map(|u| u.to_string()).as_deref())
                .map(|r| vec![r]),
            (DryTarget::Event { event, .. }, Some(r)) => {
                let e = synthetic_event(event, table, *r, &user);
                runtime.run_hooks(id, &e)
            }
            (DryTarget::Event { .. }, None) => Ok(Vec::new()),
        };
        let changes = lock(&runtime)?.changes_since(mark)?;
        let result = judge(*row, runs, changes, &mut report);
        report.considered += 1;
        match result.outcome {
            Outcome::Changed => report.would_change += 1,
            Outcome::Skipped => report.skipped += 1,
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Failed => report.failed += 1,
        }
        // Changed and failed records first: they are what a person checks.
        match result.outcome {
            Outcome::Changed | Outcome::Failed if report.results.len() < DETAIL_CAP => {
                report.results.push(result)
            }
            Outcome::Changed | Outcome::Failed => report.truncated = true,
            _ if quiet.len() < DETAIL_CAP => quiet.push(result),
            _ => report.truncated = true,
        }
    }
    let room = DETAIL_CAP.saturating_sub(report.results.len());
    if quiet.len() > room {
        report.truncated = true;
    }
    report.results.extend(quiet.into_iter().take(room));
    if !report.cancelled {
        progress(ids.len(), ids.len());
    }
    report.elapsed_ms = started.elapsed().as_millis().min(u64::MAX as u128) as u64;
    Ok(report)
}

fn lock(rt: &Runtime) -> Result<std::sync::MutexGuard<'_, Store>, LifecycleError> {
    rt.store()
        .lock()
        .map_err(|_| refused("the scratch copy is unavailable"))
}

/// The event a record would raise, as the core would announce it (what a
/// dry run, or applying an automation to existing records, hands a hook).
pub fn synthetic_event(name: &str, table: Option<Table>, row: Uuid, user: &str) -> ChangeEvent {
    let table = table.unwrap_or(Table::Contacts);
    let action = match name.rsplit('.').next() {
        Some("created" | "imported") => Action::Created,
        Some("deleted") => Action::Deleted,
        _ => Action::Updated,
    };
    ChangeEvent {
        name: name.to_string(),
        table,
        row_id: row,
        action,
        actor: Actor::User {
            user: user.to_string(),
        },
        fields: table.fields().iter().map(|f| f.to_string()).collect(),
    }
}

/// One record's outcome from its runs and what they wrote.
fn judge(
    row: Option<Uuid>,
    runs: Result<Vec<RunReport>, LifecycleError>,
    changes: Vec<RowChange>,
    report: &mut DryRunReport,
) -> RecordResult {
    let mut result = RecordResult {
        record: row.map(|u| u.to_string()),
        outcome: Outcome::Unchanged,
        changes,
        requests: Vec::new(),
        notifications: Vec::new(),
        reason: None,
    };
    // The run's own bookkeeping (plugin storage, run history) is not a
    // change to the person's records.
    const RECORDS: [Table; 5] = [
        Table::Contacts,
        Table::Policies,
        Table::Payments,
        Table::Tasks,
        Table::Activities,
    ];
    result
        .changes
        .retain(|c| RECORDS.iter().any(|t| t.name() == c.table));
    let mut skipped = None;
    match runs {
        Err(e) => {
            result.outcome = Outcome::Failed;
            result.reason = Some(e.to_string());
            return result;
        }
        Ok(runs) => {
            for r in runs {
                match r.result {
                    Err(e) => {
                        result.outcome = Outcome::Failed;
                        result.reason = Some(e.to_string());
                    }
                    Ok(out) => {
                        if let Some(why) = out.value.get("skipped").and_then(|v| v.as_str()) {
                            skipped = Some(why.to_string());
                        }
                        result.requests.extend(out.requests);
                        result.notifications.extend(out.notifications);
                        let room = DETAIL_CAP.saturating_sub(report.logs.len());
                        report.logs.extend(out.logs.into_iter().take(room));
                        let room = DETAIL_CAP.saturating_sub(report.output.len());
                        report.output.extend(out.output.into_iter().take(room));
                    }
                }
            }
        }
    }
    if result.outcome == Outcome::Failed {
        return result;
    }
    if !result.changes.is_empty() || !result.requests.is_empty() || !result.notifications.is_empty()
    {
        result.outcome = Outcome::Changed;
    } else if let Some(why) = skipped {
        result.outcome = Outcome::Skipped;
        result.reason = Some(why);
    }
    result
}
