//! The code editor's test console: run one action or hook of the script
//! being edited (saved or not) on a chosen record, as a dry run on a
//! scratch copy of the profile by default (nothing kept, nothing sent) or,
//! asked for explicitly, for real; and run the plugin's own
//! `tests/*.rhai`, each on a throwaway profile.

use std::sync::{Arc, Mutex};

use crm_plugins::{Context, Limits, Manifest, Rehearsal, Sandbox};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::studio_code::{line_of, parse_manifest, with_edits, write_files, PluginFileDto};
use crate::{ApiError, ApiResult, App, ErrorCode};

/// What the console is asked to run.
#[derive(Clone, Debug, Default, Deserialize, TS)]
pub struct ConsoleRunArgs {
    /// `manifest.json` as edited.
    pub manifest: String,
    /// The entry script as edited.
    pub script: String,
    /// An action's id, or
    pub action: Option<String>,
    /// a hook's event (`contact.created`), run as if it had just happened.
    pub event: Option<String>,
    /// The record it runs on (a record action; a hook's record).
    pub record: Option<String>,
    /// Run on the profile itself, with real requests, instead of a copy.
    pub for_real: bool,
}

/// What a test-console run did.
#[derive(Clone, Debug, Serialize, TS)]
pub struct ConsoleResultDto {
    /// Whether it ran to the end.
    pub ok: bool,
    /// Whether it ran for real (else on a copy, nothing kept or sent).
    pub for_real: bool,
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
    /// Requests it would have sent (a dry run).
    pub requests: Vec<String>,
    /// Records it wrote.
    pub writes: u32,
    /// The error, in words.
    pub error: Option<String>,
    /// The script line the error points at.
    pub error_line: Option<u32>,
}

/// One of the plugin's own tests.
#[derive(Clone, Debug, Serialize, TS)]
pub struct PluginTestDto {
    /// `tests/FILE.rhai::test_name`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed.
    pub failure: Option<String>,
    /// The line of the test file or script the failure points at.
    pub line: Option<u32>,
}

impl App {
    /// Run one action or hook of the script being edited (see the module).
    pub fn studio_console(&self, args: ConsoleRunArgs) -> ApiResult<ConsoleResultDto> {
        let m = parse_manifest(&args.manifest)?;
        let record = args
            .record
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        let (function, call_args) = match (&args.action, &args.event) {
            (Some(action), _) => {
                let a = m.actions.iter().find(|a| &a.id == action).ok_or_else(|| {
                    ApiError::invalid("action", format!("the manifest has no action {action:?}"))
                })?;
                let needs_record = matches!(
                    a.target,
                    crm_plugins::manifest::ActionTarget::Contact
                        | crm_plugins::manifest::ActionTarget::Policy
                );
                let call_args: Vec<rhai::Dynamic> = match (needs_record, record) {
                    (true, Some(r)) => vec![r.to_string().into()],
                    (true, None) => {
                        return Err(ApiError::invalid(
                            "record",
                            format!("{action} works on a record: choose one"),
                        ))
                    }
                    (false, _) => Vec::new(),
                };
                (a.function.clone(), call_args)
            }
            (None, Some(event)) => {
                let h = m.hooks.iter().find(|h| &h.event == event).ok_or_else(|| {
                    ApiError::invalid("event", format!("the manifest has no hook on {event:?}"))
                })?;
                let row = record
                    .and_then(|r| uuid::Uuid::parse_str(r).ok())
                    .ok_or_else(|| {
                        ApiError::invalid("record", format!("choose the record {event} is about"))
                    })?;
                let user = self.read(|s| Ok(s.identity().user_id.clone()))?;
                let ev = crm_plugins::dry_run::synthetic_event(
                    event,
                    crm_plugins::dry_run::event_table(event),
                    row,
                    &user,
                );
                let arg = crm_plugins::contract::to_script(&ev)
                    .map_err(|e| ApiError::new(ErrorCode::Plugin, format!("{event}: {e}")))?;
                (h.function.clone(), vec![arg])
            }
            (None, None) => {
                return Err(ApiError::invalid(
                    "action",
                    "choose an action or a hook to run",
                ))
            }
        };
        let s = self.session()?;
        let (store, limits, mut services) = {
            let live = crate::lock_store(&s)?;
            if args.for_real {
                // Code nobody reviewed, with the permissions it names: an
                // admin's to run, as installing it is; and never what the
                // agency's catalog stops.
                live.require_admin("run plugin code for real from the Studio")?;
                if let Some(why) = live.catalog_block(&m.id)? {
                    return Err(ApiError::new(ErrorCode::Plugin, why));
                }
            }
            let limits =
                Limits::for_profile(&live).map_err(|e| ApiError::new(ErrorCode::Plugin, e))?;
            let services = crm_plugins::runtime::Runtime::services_for(&live);
            let store = if args.for_real {
                s.rt.store().clone()
            } else {
                Arc::new(Mutex::new(live.scratch_copy()?))
            };
            (store, limits, services)
        };
        if !args.for_real {
            services.rehearsal = Some(Rehearsal::default());
        }
        let settings = self
            .read(|st| Ok(crm_plugins::runtime::effective_settings(st, &m).unwrap_or_default()))
            .unwrap_or_default();
        let ctx = Context {
            grants: m.permissions.iter().cloned().collect(),
            store: Some(store),
            plugin_id: Some(m.id.clone()),
            settings,
            services,
        };
        let sandbox = Sandbox::new(limits);
        let started = std::time::Instant::now();
        let result = sandbox.call(&args.script, &function, call_args, ctx);
        if args.for_real {
            // Other plugins react to what it wrote, as after any run.
            self.run_hooks(&s, &mut |_, _| true);
        }
        Ok(match result {
            Ok(out) => ConsoleResultDto {
                ok: true,
                for_real: args.for_real,
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
                writes: out.writes as u32,
                error: None,
                error_line: None,
            },
            Err(e) => ConsoleResultDto {
                ok: false,
                for_real: args.for_real,
                value: String::new(),
                output: Vec::new(),
                logs: Vec::new(),
                operations: 0,
                elapsed_ms: started.elapsed().as_millis().min(u32::MAX as u128) as u32,
                requests: Vec::new(),
                writes: 0,
                error_line: line_of(&e.message),
                error: Some(e.to_string()),
            },
        })
    }

    /// Run the plugin's own tests (`tests/*.rhai`, each `test_*` function
    /// on a throwaway profile with the plugin as edited installed), as
    /// `crm plugin test` does.
    pub fn studio_run_tests(
        &self,
        manifest: &str,
        script: &str,
        tests: Vec<PluginFileDto>,
    ) -> ApiResult<Vec<PluginTestDto>> {
        let m: Manifest = parse_manifest(manifest)?;
        let files = with_edits(Default::default(), &m, manifest, script, tests)?;
        // The test runner installs a folder: a private temporary one,
        // removed when dropped (plugin code, never records).
        let tmp = tempfile::tempdir().map_err(|e| {
            ApiError::new(
                ErrorCode::Io,
                format!("cannot make a temporary folder: {e}"),
            )
        })?;
        write_files(&tmp.path().join("plugin"), &files)?;
        let outcomes =
            crm_plugins::testing::run_plugin_tests(&tmp.path().join("plugin")).map_err(|e| {
                ApiError::invalid("tests", e.replace(&tmp.path().display().to_string(), ""))
            })?;
        Ok(outcomes
            .into_iter()
            .map(|o| PluginTestDto {
                line: o.failure.as_deref().and_then(line_of),
                passed: o.failure.is_none(),
                failure: o.failure,
                name: o.name,
            })
            .collect())
    }
}
