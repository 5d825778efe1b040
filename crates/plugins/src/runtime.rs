//! The plugin runtime over one profile: hooks dispatched from the core's
//! after-commit events, actions, cron schedules, health and the circuit
//! breaker.
//!
//! - **Hooks.** The core calls listeners inside `commit` while the store is
//!   borrowed, so the listener only queues the event; [`Runtime::dispatch_pending`]
//!   runs the subscribed, enabled plugins afterwards (the app from a
//!   background thread, the CLI before it exits). A plugin never sees events
//!   its own writes caused, and chains through other plugins stop after
//!   [`MAX_CHAIN`] rounds, so two plugins cannot ping-pong forever.
//! - **Schedules.** [`Runtime::run_due`] runs each schedule whose next cron
//!   time (after its last run) has passed. Missed-run policy: however many
//!   times a schedule was missed while the app was closed, it runs **once**
//!   on catching up, never in a burst. A schedule seen for the first time
//!   starts counting from then (it does not run at once).
//! - **Health.** Every invocation is recorded (trigger, duration,
//!   operations, outcome). After [`Runtime::breaker_threshold`] failures in a
//!   row the plugin is disabled, with the reason recorded and audited.
//!   Log lines are emitted through `tracing`, tagged with plugin and tenant.

use std::collections::BTreeSet;
use std::sync::{mpsc, Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use crm_core::{ChangeEvent, PluginRun, Store};
use rhai::Dynamic;
use serde::Serialize;

use crate::ai::AiConfig;
use crate::lifecycle::{self, LifecycleError};
use crate::manifest::{ActionTarget, Manifest, SettingType};
use crate::package;
use crate::sandbox::{Context, Limits, RunOutput, Sandbox, ScriptError, Services};

/// Rounds of plugin-caused events dispatched before a chain is cut.
pub const MAX_CHAIN: usize = 3;
/// Hook runs one round of plugin-caused events may start; past it the
/// round is cut (a plugin writing 10,000 records must not set off 10,000
/// runs of every other subscriber, and so on).
pub const MAX_CASCADE_RUNS: usize = 1_000;
/// Failures in a row that disable a plugin.
pub const DEFAULT_BREAKER: usize = 5;
/// Profile setting holding extra trusted roots (PEM) for plugins' `http`.
pub const CA_SETTING: &str = "plugins.extra_ca_pem";
/// Profile setting that lets `http` reach private networks.
pub const ALLOW_PRIVATE_SETTING: &str = "plugins.allow_private_network";

/// One invocation's outcome.
#[derive(Debug)]
pub struct RunReport {
    /// The plugin.
    pub plugin_id: String,
    /// `hook:EVENT`, `action:ID` or `schedule:ID`.
    pub trigger: String,
    /// What happened.
    pub result: Result<RunOutput, ScriptError>,
    /// Set when this failure tripped the circuit breaker.
    pub disabled: Option<String>,
}

impl RunReport {
    /// The script's output, or its failure as a lifecycle error.
    pub fn into_output(self) -> Result<RunOutput, LifecycleError> {
        self.result.map_err(LifecycleError::Script)
    }
}

/// When a schedule runs next.
#[derive(Clone, Debug, Serialize)]
pub struct NextRun {
    /// The plugin.
    pub plugin_id: String,
    /// Its schedule.
    pub schedule_id: String,
    /// The next cron time after its last run (`None`: never).
    pub next: Option<DateTime<Utc>>,
}

/// A plugin's health figures.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// Plugin id.
    pub plugin_id: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Why the system disabled it, if it did.
    pub disabled_reason: Option<String>,
    /// Runs in the recorded history.
    pub runs: usize,
    /// Failed runs among them.
    pub errors: usize,
    /// Median duration, milliseconds.
    pub p50_ms: f64,
    /// 95th percentile duration, milliseconds.
    pub p95_ms: f64,
    /// Mean operations per run.
    pub mean_operations: f64,
    /// Most recent failure: kind and message.
    pub last_error: Option<String>,
}

/// An entry script and the digest of what was verified to get it.
type Verified = ([u8; 32], Arc<str>);

struct Prepared {
    source: Arc<str>,
    grants: BTreeSet<String>,
    settings: serde_json::Map<String, serde_json::Value>,
}

/// The runtime for one open profile.
pub struct Runtime {
    store: Arc<Mutex<Store>>,
    sandbox: Arc<Sandbox>,
    events: Mutex<mpsc::Receiver<ChangeEvent>>,
    sender: Mutex<mpsc::Sender<ChangeEvent>>,
    /// Verified entry scripts by plugin, with the digest of what was
    /// verified (package bytes + trusted keys).
    verified: Mutex<std::collections::HashMap<String, Verified>>,
    /// Failures in a row that disable a plugin (0: never).
    pub breaker_threshold: usize,
    /// Set for a dry run: every run records its requests instead of
    /// sending them (see [`crate::dry_run`]).
    pub rehearsal: Option<crate::sandbox::Rehearsal>,
}

fn lock(store: &Mutex<Store>) -> Result<std::sync::MutexGuard<'_, Store>, LifecycleError> {
    store
        .lock()
        .map_err(|_| LifecycleError::Refused("the store is unavailable".into()))
}

impl Runtime {
    /// A runtime over `store`, listening to its committed changes.
    pub fn new(store: Arc<Mutex<Store>>, limits: Limits) -> Result<Runtime, LifecycleError> {
        Self::with_sandbox(store, Arc::new(Sandbox::new(limits)))
    }

    /// A runtime whose scripts run in `sandbox` (e.g. one with test helpers).
    pub fn with_sandbox(
        store: Arc<Mutex<Store>>,
        sandbox: Arc<Sandbox>,
    ) -> Result<Runtime, LifecycleError> {
        let (tx, rx) = mpsc::channel();
        let listener_tx = Mutex::new(tx.clone());
        lock(&store)?.subscribe(Arc::new(move |e: &ChangeEvent| {
            if let Ok(tx) = listener_tx.lock() {
                let _ = tx.send(e.clone());
            }
        }));
        Ok(Runtime {
            store,
            sandbox,
            events: Mutex::new(rx),
            sender: Mutex::new(tx),
            verified: Mutex::new(Default::default()),
            breaker_threshold: DEFAULT_BREAKER,
            rehearsal: None,
        })
    }

    /// Queue events that happened elsewhere (e.g. in an earlier store
    /// handle) for [`Runtime::dispatch_pending`].
    pub fn enqueue(&self, events: impl IntoIterator<Item = ChangeEvent>) {
        if let Ok(tx) = self.sender.lock() {
            for e in events {
                let _ = tx.send(e);
            }
        }
    }

    /// The context a plugin's invocation gets: its grants, settings, the
    /// store and the configured services. Fails when it is disabled or its
    /// package no longer verifies.
    pub fn context_for(&self, id: &str) -> Result<(Context, String), LifecycleError> {
        let s = lock(&self.store)?;
        let p = self.prepare(&s, id)?;
        let ctx = Context {
            grants: p.grants,
            store: Some(self.store.clone()),
            plugin_id: Some(id.to_string()),
            settings: p.settings,
            services: Services {
                rehearsal: self.rehearsal,
                ..Self::services_for(&s)
            },
        };
        Ok((ctx, p.source.to_string()))
    }

    /// The store this runtime serves.
    pub fn store(&self) -> &Arc<Mutex<Store>> {
        &self.store
    }

    /// The sandbox scripts run in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Load an enabled plugin: verify its package against the tenant's
    /// trusted keys again (withdrawn trust stops it at once), fill in its
    /// settings' defaults.
    fn prepare(&self, s: &Store, id: &str) -> Result<Prepared, LifecycleError> {
        // The kill switch: a plugin the tenant's catalog blocks or removed
        // never runs, whatever its own record says (it may predate the
        // pull that blocked it).
        if let Some(why) = s.catalog_block(id)? {
            return Err(LifecycleError::Refused(why));
        }
        let rec = s.plugin(id)?;
        if !rec.enabled {
            return Err(LifecycleError::Refused(format!(
                "{id} is disabled; enable it first"
            )));
        }
        let manifest = lifecycle::manifest_of(&rec)?;
        // The package is verified against the trusted keys in force now;
        // the outcome is remembered for exactly these package bytes and
        // these keys, so withdrawing trust (or a changed package) is seen
        // at the next run while thousands of hook runs verify once.
        let trusted_hex = s.trusted_publishers()?;
        let key = {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            h.update(&rec.package);
            for (k, _) in &trusted_hex {
                h.update(k.as_bytes());
            }
            h.update([rec.signer.is_none() as u8]);
            h.update(manifest.entry.as_bytes());
            <[u8; 32]>::from(h.finalize())
        };
        let cached = self.verified.lock().ok().and_then(|c| {
            c.get(id)
                .filter(|(k, _)| *k == key)
                .map(|(_, src)| src.clone())
        });
        let source = match cached {
            Some(src) => src,
            None => {
                let trusted = lifecycle::trusted_keys(s)?;
                let pkg = package::read_package(&rec.package, &trusted, rec.signer.is_none())?;
                let source = pkg.files.get(&manifest.entry).ok_or_else(|| {
                    LifecycleError::Refused(format!(
                        "{id}: {} is missing from the package",
                        manifest.entry
                    ))
                })?;
                let source: Arc<str> = String::from_utf8(source.clone())
                    .map_err(|_| {
                        LifecycleError::Refused(format!("{id}: {} is not UTF-8", manifest.entry))
                    })?
                    .into();
                if let Ok(mut c) = self.verified.lock() {
                    c.insert(id.to_string(), (key, source.clone()));
                }
                source
            }
        };
        let settings = effective_settings(s, &manifest)?;
        Ok(Prepared {
            source,
            grants: rec.grants.into_iter().collect(),
            settings,
        })
    }

    /// The outside services a plugin of this profile may reach, as its
    /// settings say (network policy, AI endpoint, extra roots).
    pub fn services_for(s: &Store) -> Services {
        Services {
            allow_private_network: s
                .setting(ALLOW_PRIVATE_SETTING)
                .ok()
                .flatten()
                .is_some_and(|v| v == "true"),
            ai: AiConfig::from_store(s).ok().flatten(),
            extra_root_pem: s.setting(CA_SETTING).ok().flatten(),
            rehearsal: None,
        }
    }

    /// Run `function` of plugin `id` with `args`; record it, and trip the
    /// breaker on repeated failure.
    fn invoke(
        &self,
        id: &str,
        trigger: String,
        function: &str,
        args: Vec<Dynamic>,
        record: Option<String>,
    ) -> Result<RunReport, LifecycleError> {
        let (tenant, audit_from) = {
            let s = lock(&self.store)?;
            (s.identity().tenant_id, s.audit_mark()?)
        };
        let (ctx, source) = self.context_for(id)?;
        let started = Utc::now();
        let t0 = std::time::Instant::now();
        let result = self.sandbox.call(&source, function, args, ctx);
        let elapsed = t0.elapsed();
        match &result {
            Ok(out) => {
                for l in &out.logs {
                    match l.level.as_str() {
                        "error" => tracing::error!(plugin = id, tenant = %tenant, "{}", l.message),
                        "warn" => tracing::warn!(plugin = id, tenant = %tenant, "{}", l.message),
                        _ => tracing::info!(plugin = id, tenant = %tenant, "{}", l.message),
                    }
                }
            }
            Err(e) => {
                tracing::warn!(plugin = id, tenant = %tenant, trigger = %trigger, kind = e.kind.as_str(), "plugin run failed")
            }
        }
        let run = PluginRun {
            plugin_id: id.to_string(),
            trigger: trigger.clone(),
            function: function.to_string(),
            at: started.to_rfc3339_opts(SecondsFormat::Millis, true),
            duration_us: elapsed.as_micros().min(i64::MAX as u128) as i64,
            operations: result.as_ref().map(|o| o.operations as i64).unwrap_or(0),
            ok: result.is_ok(),
            error_kind: result.as_ref().err().map(|e| e.kind.as_str().to_string()),
            message: result.as_ref().err().map(|e| e.message.clone()),
            record,
            audit_span: None,
        };
        let mut disabled = None;
        {
            let mut s = lock(&self.store)?;
            let run = PluginRun {
                audit_span: Some((audit_from, s.audit_mark()?)),
                ..run
            };
            s.record_plugin_run(&run)?;
            if !run.ok && self.breaker_threshold > 0 {
                let recent = s.plugin_runs(id, self.breaker_threshold)?;
                if recent.len() >= self.breaker_threshold && recent.iter().all(|r| !r.ok) {
                    let reason = format!(
                        "circuit breaker: {} failures in a row; the last: {} error: {}",
                        self.breaker_threshold,
                        run.error_kind.as_deref().unwrap_or("?"),
                        run.message.as_deref().unwrap_or("")
                    );
                    let mut rec = s.plugin(id)?;
                    rec.enabled = false;
                    rec.disabled_reason = Some(reason.clone());
                    s.put_plugin(&rec, "disabled_by_breaker")?;
                    tracing::error!(plugin = id, tenant = %tenant, "{reason}");
                    disabled = Some(reason);
                }
            }
        }
        Ok(RunReport {
            plugin_id: id.to_string(),
            trigger,
            result,
            disabled,
        })
    }

    /// Run one of a plugin's actions (a button on a record or a list).
    pub fn run_action(
        &self,
        id: &str,
        action_id: &str,
        record: Option<&str>,
    ) -> Result<RunReport, LifecycleError> {
        let m = {
            let s = lock(&self.store)?;
            let rec = s.plugin(id)?;
            if !rec.enabled {
                let why = rec
                    .disabled_reason
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                return Err(LifecycleError::Refused(format!(
                    "{id} is disabled{why}; enable it first"
                )));
            }
            lifecycle::manifest_of(&rec)?
        };
        let action = m
            .actions
            .iter()
            .find(|a| a.id == action_id)
            .ok_or_else(|| {
                let known: Vec<&str> = m.actions.iter().map(|a| a.id.as_str()).collect();
                LifecycleError::Refused(format!(
                    "{id} has no action {action_id:?}; its actions: {}",
                    known.join(", ")
                ))
            })?;
        let (args, on): (Vec<Dynamic>, _) = match (action.target, record) {
            (ActionTarget::Contact, Some(r)) => (vec![r.into()], Some(format!("contacts:{r}"))),
            (ActionTarget::Policy, Some(r)) => (vec![r.into()], Some(format!("policies:{r}"))),
            (ActionTarget::Contact | ActionTarget::Policy, None) => {
                return Err(LifecycleError::NeedsRecord(action_id.to_string()))
            }
            (_, _) => (Vec::new(), None),
        };
        self.invoke(
            id,
            format!("action:{action_id}"),
            &action.function,
            args,
            on,
        )
    }

    /// Run plugin `id`'s hooks on `event` now, whether or not it is queued
    /// (a dry run of "every record the trigger would match").
    pub fn run_hooks(
        &self,
        id: &str,
        event: &ChangeEvent,
    ) -> Result<Vec<RunReport>, LifecycleError> {
        let m = {
            let s = lock(&self.store)?;
            lifecycle::manifest_of(&s.plugin(id)?)?
        };
        let arg = crate::contract::to_script(event)
            .map_err(|err| LifecycleError::Refused(format!("event {}: {err}", event.name)))?;
        let mut reports = Vec::new();
        for h in m.hooks.iter().filter(|h| h.event == event.name) {
            reports.push(self.invoke(
                id,
                format!("hook:{}", event.name),
                &h.function,
                vec![arg.clone()],
                Some(subject(event)),
            )?);
        }
        Ok(reports)
    }

    /// Events waiting to be dispatched.
    fn take_events(&self) -> Vec<ChangeEvent> {
        match self.events.lock() {
            Ok(rx) => rx.try_iter().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Dispatch queued events to subscribed, enabled plugins.
    pub fn dispatch_pending(&self) -> Result<Vec<RunReport>, LifecycleError> {
        self.dispatch_pending_with(&mut |_, _| true)
    }

    /// [`Runtime::dispatch_pending`] reporting `(done, total)` hook runs of
    /// the current round as it goes; returning `false` cancels (the events
    /// not yet dispatched are dropped, and said so in the log).
    pub fn dispatch_pending_with(
        &self,
        progress: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Vec<RunReport>, LifecycleError> {
        let mut reports = Vec::new();
        let mut round = 0;
        loop {
            let events = self.take_events();
            if events.is_empty() {
                break;
            }
            // Round 0 holds what people, imports and sync did; later rounds
            // only what plugins did in reaction.
            let events: Vec<ChangeEvent> = if round == 0 {
                events
            } else {
                events
                    .into_iter()
                    .filter(|e| matches!(e.actor, crm_core::Actor::Plugin { .. }))
                    .collect()
            };
            if round > MAX_CHAIN {
                if !events.is_empty() {
                    tracing::warn!(
                        dropped = events.len(),
                        "plugin event chain cut after {MAX_CHAIN} rounds"
                    );
                }
                break;
            }
            let subscribers: Vec<(String, Manifest)> = {
                let s = lock(&self.store)?;
                s.plugins()?
                    .into_iter()
                    .filter(|p| p.enabled)
                    .filter_map(|p| lifecycle::manifest_of(&p).ok().map(|m| (p.id, m)))
                    .collect()
            };
            let wants = |e: &ChangeEvent, id: &str| -> bool {
                !matches!(&e.actor, crm_core::Actor::Plugin { plugin, .. } if plugin == id)
            };
            let total: usize = events
                .iter()
                .map(|e| {
                    subscribers
                        .iter()
                        .filter(|(id, _)| wants(e, id))
                        .map(|(_, m)| m.hooks.iter().filter(|h| h.event == e.name).count())
                        .sum::<usize>()
                })
                .sum();
            if round > 0 && total > MAX_CASCADE_RUNS {
                tracing::warn!(
                    runs = total,
                    "plugin reactions cut: more than {MAX_CASCADE_RUNS} hook runs set off by plugins"
                );
                drop(self.take_events());
                break;
            }
            let mut done = 0;
            for e in &events {
                for (id, m) in &subscribers {
                    if !wants(e, id) {
                        continue;
                    }
                    for h in m.hooks.iter().filter(|h| h.event == e.name) {
                        if !progress(done, total) {
                            tracing::warn!(dropped = total - done, "plugin hooks cancelled");
                            // What is still queued is dropped too.
                            drop(self.take_events());
                            return Ok(reports);
                        }
                        done += 1;
                        let arg = crate::contract::to_script(e).map_err(|err| {
                            LifecycleError::Refused(format!("event {}: {err}", e.name))
                        })?;
                        let on = Some(subject(e));
                        match self.invoke(
                            id,
                            format!("hook:{}", e.name),
                            &h.function,
                            vec![arg],
                            on,
                        ) {
                            Ok(r) => reports.push(r),
                            // Disabled meanwhile (breaker, admin): skip it.
                            Err(LifecycleError::Refused(_)) => {}
                            Err(other) => return Err(other),
                        }
                    }
                }
            }
            round += 1;
        }
        Ok(reports)
    }

    /// Fire the compliance reminders just made (what
    /// `crm_compliance::reminders::run` returned) at the plugins hooked to
    /// them: each reminder is the event its `kind` names
    /// (`training.expiring`, `document.review_due`, `acknowledgement.due`,
    /// `acknowledgement.overdue`), and each enabled plugin with a hook on
    /// it runs once per reminder, with the reminder as a `reminder` record
    /// (see [`crate::contract::compliance::REMINDER`]), acting for the
    /// profile's user like any hook. The front ends call this after their
    /// reminder run (`crm compliance remind`, the app). What the hooks write
    /// is announced like any other change: queued for
    /// [`Runtime::dispatch_pending`]. A plugin disabled or blocked meanwhile
    /// is skipped; a failing run is reported (and counts towards the
    /// breaker), never an error of the whole.
    pub fn dispatch_reminders(
        &self,
        reminders: &[crm_compliance::reminders::Reminder],
    ) -> Result<Vec<RunReport>, LifecycleError> {
        let hooked: Vec<(String, Manifest)> = {
            let s = lock(&self.store)?;
            s.plugins()?
                .into_iter()
                .filter(|p| p.enabled)
                .filter_map(|p| lifecycle::manifest_of(&p).ok().map(|m| (p.id, m)))
                .filter(|(_, m)| {
                    m.hooks
                        .iter()
                        .any(|h| crate::manifest::REMINDER_HOOKS.contains(&h.event.as_str()))
                })
                .collect()
        };
        let mut reports = Vec::new();
        if hooked.is_empty() {
            return Ok(reports);
        }
        for r in reminders {
            // Only the reminder events: a `kind` this build does not know
            // is no hook's business.
            if !crate::manifest::REMINDER_HOOKS.contains(&r.kind) {
                continue;
            }
            let arg = crate::contract::to_script(r)
                .map_err(|err| LifecycleError::Refused(format!("event {}: {err}", r.kind)))?;
            for (id, m) in &hooked {
                for h in m.hooks.iter().filter(|h| h.event == r.kind) {
                    match self.invoke(
                        id,
                        format!("hook:{}", r.kind),
                        &h.function,
                        vec![arg.clone()],
                        Some(format!("tasks:{}", r.task_id)),
                    ) {
                        Ok(rep) => reports.push(rep),
                        // Disabled meanwhile (breaker, admin, catalog): skip it.
                        Err(LifecycleError::Refused(_)) => {}
                        Err(other) => return Err(other),
                    }
                }
            }
        }
        Ok(reports)
    }

    /// Run every schedule that is due at `now` (see the module docs for
    /// the missed-run policy).
    pub fn run_due(&self, now: DateTime<Utc>) -> Result<Vec<RunReport>, LifecycleError> {
        let due: Vec<(String, String, String)> = {
            let mut s = lock(&self.store)?;
            let mut due = Vec::new();
            for p in s.plugins()? {
                if !p.enabled {
                    continue;
                }
                let Ok(m) = lifecycle::manifest_of(&p) else {
                    continue;
                };
                for sch in &m.schedules {
                    let Ok(cron) = sch.cron.parse::<croner::Cron>() else {
                        continue;
                    };
                    let now_text = now.to_rfc3339_opts(SecondsFormat::Secs, true);
                    let last = s.schedule_last_run(&p.id, &sch.id)?;
                    let Some(last) = last
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc))
                    else {
                        s.set_schedule_last_run(&p.id, &sch.id, &now_text)?;
                        continue;
                    };
                    match cron.find_next_occurrence(&last, false) {
                        Ok(next) if next <= now => {
                            s.set_schedule_last_run(&p.id, &sch.id, &now_text)?;
                            due.push((p.id.clone(), sch.id.clone(), sch.function.clone()));
                        }
                        _ => {}
                    }
                }
            }
            due
        };
        let mut reports = Vec::new();
        for (id, sch, function) in due {
            match self.invoke(&id, format!("schedule:{sch}"), &function, Vec::new(), None) {
                Ok(r) => reports.push(r),
                Err(LifecycleError::Refused(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(reports)
    }

    /// When each enabled plugin's schedules run next.
    pub fn next_runs(&self, now: DateTime<Utc>) -> Result<Vec<NextRun>, LifecycleError> {
        let s = lock(&self.store)?;
        let mut out = Vec::new();
        for p in s.plugins()?.into_iter().filter(|p| p.enabled) {
            let Ok(m) = lifecycle::manifest_of(&p) else {
                continue;
            };
            for sch in &m.schedules {
                let from = s
                    .schedule_last_run(&p.id, &sch.id)?
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(now);
                let next = sch
                    .cron
                    .parse::<croner::Cron>()
                    .ok()
                    .and_then(|c| c.find_next_occurrence(&from, false).ok());
                out.push(NextRun {
                    plugin_id: p.id.clone(),
                    schedule_id: sch.id.clone(),
                    next,
                });
            }
        }
        Ok(out)
    }

    /// The UI contributions of enabled plugins: (plugin, section, item),
    /// section being `widgets`, `record_panels` or `menu_pages`.
    pub fn ui_items(
        &self,
    ) -> Result<Vec<(String, &'static str, crate::manifest::UiItem)>, LifecycleError> {
        let s = lock(&self.store)?;
        let mut out = Vec::new();
        for p in s.plugins()?.into_iter().filter(|p| p.enabled) {
            let Ok(m) = lifecycle::manifest_of(&p) else {
                continue;
            };
            if s.catalog_block(&p.id)?.is_some() {
                continue;
            }
            for (section, items) in [
                ("widgets", m.ui.widgets),
                ("record_panels", m.ui.record_panels),
                ("menu_pages", m.ui.menu_pages),
            ] {
                for item in items {
                    out.push((p.id.clone(), section, item));
                }
            }
        }
        Ok(out)
    }

    /// Fill one UI contribution: run its function (with the record id for a
    /// record panel) and return the data the host renders. The value must
    /// be a map; plugin UI is data, never markup the app would run.
    pub fn render_ui(
        &self,
        id: &str,
        item_id: &str,
        record: Option<&str>,
    ) -> Result<serde_json::Value, LifecycleError> {
        let (section, item) = self
            .ui_items()?
            .into_iter()
            .find(|(p, _, i)| p == id && i.id == item_id)
            .map(|(_, sec, i)| (sec, i))
            .ok_or_else(|| {
                LifecycleError::Refused(format!("{id} has no enabled UI item {item_id:?}"))
            })?;
        let args = match (section, record) {
            ("record_panels", Some(r)) => vec![Dynamic::from(r.to_string())],
            ("record_panels", None) => {
                return Err(LifecycleError::Refused(format!(
                    "{item_id} is a record panel: give the record"
                )))
            }
            _ => Vec::new(),
        };
        let out = self
            .invoke(id, format!("ui:{item_id}"), &item.function, args, None)?
            .into_output()?;
        if !out.value.is_object() {
            return Err(LifecycleError::Refused(format!(
                "{id}: {} returned {}, not a map like #{{kind: \"{}\", …}}",
                item.function, out.value, item.kind
            )));
        }
        let mut v = out.value;
        v["kind"] = serde_json::Value::from(item.kind.clone());
        v["title"] = serde_json::Value::from(item.title.clone());
        Ok(v)
    }

    /// A plugin's health figures from its recorded runs.
    pub fn health(&self, id: &str) -> Result<Health, LifecycleError> {
        let s = lock(&self.store)?;
        let rec = s.plugin(id)?;
        let runs = s.plugin_runs(id, HEALTH_WINDOW)?;
        let mut durations: Vec<i64> = runs.iter().map(|r| r.duration_us).collect();
        durations.sort_unstable();
        let pct = |p: f64| -> f64 {
            if durations.is_empty() {
                return 0.0;
            }
            let i = ((durations.len() as f64 - 1.0) * p).round() as usize;
            durations[i.min(durations.len() - 1)] as f64 / 1000.0
        };
        let errors = runs.iter().filter(|r| !r.ok).count();
        let mean_operations = if runs.is_empty() {
            0.0
        } else {
            runs.iter().map(|r| r.operations as f64).sum::<f64>() / runs.len() as f64
        };
        Ok(Health {
            plugin_id: id.to_string(),
            enabled: rec.enabled,
            disabled_reason: rec.disabled_reason,
            runs: runs.len(),
            errors,
            p50_ms: pct(0.5),
            p95_ms: pct(0.95),
            mean_operations,
            last_error: runs.iter().find(|r| !r.ok).map(|r| {
                format!(
                    "{} error: {}",
                    r.error_kind.as_deref().unwrap_or("?"),
                    r.message.as_deref().unwrap_or("")
                )
            }),
        })
    }
}

/// Runs a plugin's health figures are computed over (its newest).
pub const HEALTH_WINDOW: usize = 500;

/// The record an event is about, as a run's history names it (`table:id`).
fn subject(e: &ChangeEvent) -> String {
    format!("{}:{}", e.table.name(), e.row_id)
}

/// Validate settings values against a manifest's settings form: every key
/// known, every value of its type and among its choices, required ones set.
/// Returns the values to store, or every problem with the key it is about.
pub fn validate_settings(
    m: &Manifest,
    values: &[(String, String)],
    current: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<String>> {
    let mut out = current.clone();
    let mut problems = Vec::new();
    for (k, raw) in values {
        let Some(def) = m.settings.iter().find(|s| &s.key == k) else {
            let known: Vec<&str> = m.settings.iter().map(|s| s.key.as_str()).collect();
            problems.push(format!(
                "{k}: {} has no such setting; its settings: {}",
                m.id,
                known.join(", ")
            ));
            continue;
        };
        let v = match def.kind {
            SettingType::String | SettingType::Secret => Some(serde_json::Value::from(raw.clone())),
            SettingType::Integer => raw.trim().parse::<i64>().ok().map(Into::into),
            SettingType::Number => raw
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(serde_json::Value::Number),
            SettingType::Boolean => match raw.trim().to_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Some(true.into()),
                "false" | "no" | "0" | "off" => Some(false.into()),
                _ => None,
            },
        };
        let Some(v) = v else {
            let want = match def.kind {
                SettingType::Integer => "a whole number",
                SettingType::Number => "a number",
                SettingType::Boolean => "true or false",
                SettingType::String | SettingType::Secret => "text",
            };
            problems.push(format!("{k}: {raw:?} is not {want}"));
            continue;
        };
        if !def.choices.is_empty() && !def.choices.iter().any(|c| Some(c.as_str()) == v.as_str()) {
            let shown = if def.kind == SettingType::Secret {
                "the value".to_string()
            } else {
                format!("{raw:?}")
            };
            problems.push(format!(
                "{k}: {shown} is not one of: {}",
                def.choices.join(", ")
            ));
            continue;
        }
        out.insert(k.clone(), v);
    }
    for def in m.settings.iter().filter(|s| s.required) {
        if !out.contains_key(&def.key) && def.default.is_none() {
            problems.push(format!("{}: is required ({})", def.key, def.label));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The keys of a manifest's secret settings.
pub fn secret_keys(m: &Manifest) -> Vec<String> {
    m.settings
        .iter()
        .filter(|s| s.kind == SettingType::Secret)
        .map(|s| s.key.clone())
        .collect()
}

/// The keys of plugin `id`'s settings to treat as secrets: the manifest's,
/// and every key whose value was stored as a secret (a value stored as a
/// secret stays one when a later version retypes the setting).
pub fn secret_keys_of(
    store: &Store,
    id: &str,
    m: &Manifest,
) -> Result<Vec<String>, LifecycleError> {
    let mut keys = secret_keys(m);
    for k in store.plugin_secret_keys(id)? {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    Ok(keys)
}

/// The settings plugin `m` runs with: the values entered on this device,
/// else the agency's defaults ([`agency_defaults`]), else the manifest's.
pub fn effective_settings(
    s: &Store,
    m: &Manifest,
) -> Result<serde_json::Map<String, serde_json::Value>, crm_core::CoreError> {
    let mut settings = s.plugin_settings(&m.id)?;
    for (k, v) in agency_defaults(s, m)? {
        settings.entry(k).or_insert(v);
    }
    for st in &m.settings {
        if let (false, Some(d)) = (settings.contains_key(&st.key), &st.default) {
            settings.insert(st.key.clone(), d.clone());
        }
    }
    Ok(settings)
}

/// What a settings form starts from: the values entered on this device
/// over the agency's defaults (so a required setting the agency fills in
/// need not be entered again). Give it to [`validate_settings`], and what
/// comes back to [`settings_to_store`].
pub fn settings_base(
    s: &Store,
    m: &Manifest,
) -> Result<serde_json::Map<String, serde_json::Value>, crm_core::CoreError> {
    let mut base = agency_defaults(s, m)?;
    base.extend(s.plugin_settings(&m.id)?);
    Ok(base)
}

/// What to store of settings a person saved (`new`, validated) when the
/// form showed the agency's defaults: a default saved unchanged is not
/// stored, so it stays the agency's and follows its changes.
pub fn settings_to_store(
    s: &Store,
    m: &Manifest,
    new: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, crm_core::CoreError> {
    let current = s.plugin_settings(&m.id)?;
    let agency = agency_defaults(s, m)?;
    Ok(new
        .into_iter()
        .filter(|(k, v)| current.contains_key(k) || agency.get(k) != Some(v))
        .collect())
}

/// The setting defaults the agency's catalog sets for plugin `m` (a value
/// entered on the device wins over them; they win over the manifest's
/// defaults). Only settings the manifest has, of their type; never a
/// secret, which is entered on each device.
pub fn agency_defaults(
    s: &Store,
    m: &Manifest,
) -> Result<serde_json::Map<String, serde_json::Value>, crm_core::CoreError> {
    let Some(p) = s.catalog_policy(&m.id)? else {
        return Ok(serde_json::Map::new());
    };
    Ok(p.settings
        .into_iter()
        .filter(|(k, v)| {
            m.settings
                .iter()
                .any(|d| &d.key == k && d.check_default(v).is_ok())
        })
        .collect())
}
