//! The Rhai sandbox: an engine with nothing but chosen packages and the host
//! API, bounded in operations, depth, sizes, wall-clock time and memory.
//!
//! One [`Sandbox`] (engine + AST cache) is shared by every invocation. What
//! differs per invocation (the deadline, memory ceiling, grants, the store,
//! captured output) lives in a thread-local [`Invocation`] on the worker
//! thread that runs the script, so the engine itself stays immutable.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage, BasicMapPackage,
    BasicMathPackage, BasicStringPackage, BitFieldPackage, LogicPackage, MoreStringPackage,
    Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, AST};
use sha2::Digest;

mod callbacks;

use crate::alloc;
use crate::host;
use crate::pool::{Overran, Pool};

/// Limits for one invocation. All configurable; the defaults are safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Script operations.
    pub max_operations: u64,
    /// Function call depth.
    pub max_call_levels: usize,
    /// Expression nesting (statements, functions).
    pub max_expr_depth: usize,
    /// Longest string, bytes.
    pub max_string_size: usize,
    /// Longest array or blob.
    pub max_array_size: usize,
    /// Largest object map.
    pub max_map_size: usize,
    /// Variables in scope.
    pub max_variables: usize,
    /// Functions a script may define.
    pub max_functions: usize,
    /// Wall-clock deadline.
    pub timeout: Duration,
    /// Memory the invocation may hold, bytes.
    pub max_memory: usize,
    /// Script source, bytes (checked before parsing).
    pub max_source: usize,
    /// Printed output kept, bytes.
    pub max_output: usize,
    /// Records one invocation may read through the host API.
    pub max_rows_read: usize,
    /// Records one invocation may write (create, update, delete).
    pub max_writes: usize,
    /// Bytes a plugin's private storage may hold.
    pub storage_quota: usize,
    /// HTTP and AI requests one invocation may make.
    pub max_requests: usize,
    /// Longest a single HTTP or AI request may take (also cut to the
    /// invocation's deadline).
    pub request_timeout: Duration,
    /// Largest HTTP or AI response body, bytes.
    pub max_response: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 5_000_000,
            max_call_levels: 48,
            max_expr_depth: 64,
            max_string_size: 1 << 20,
            max_array_size: 100_000,
            max_map_size: 10_000,
            max_variables: 1_000,
            max_functions: 200,
            timeout: Duration::from_secs(5),
            max_memory: 64 << 20,
            max_source: 256 << 10,
            max_output: 64 << 10,
            max_rows_read: 10_000,
            max_writes: 10_000,
            storage_quota: 1 << 20,
            max_requests: 20,
            request_timeout: Duration::from_secs(10),
            max_response: 1 << 20,
        }
    }
}

/// The highest memory ceiling a profile may set: every worker's stack is
/// sized from it (see [`STACK_PER_MEMORY_BYTE`]).
pub const MAX_MEMORY_LIMIT: usize = 512 << 20;

/// Profile settings that override a limit for this tenant:
/// `plugins.limit.NAME` with NAME one of these (values are whole numbers;
/// times in milliseconds, sizes in bytes).
pub const LIMIT_SETTINGS: &[&str] = &[
    "timeout_ms",
    "max_operations",
    "max_memory",
    "max_rows_read",
    "max_writes",
    "storage_quota",
    "max_requests",
    "request_timeout_ms",
    "max_response",
];

impl Limits {
    /// The defaults with this profile's overrides applied. An override that
    /// is not a positive whole number is an error naming it.
    pub fn for_profile(store: &crm_core::Store) -> Result<Limits, String> {
        let mut l = Limits::default();
        for name in LIMIT_SETTINGS {
            let key = format!("plugins.limit.{name}");
            let Some(raw) = store.setting(&key).map_err(|e| e.to_string())? else {
                continue;
            };
            let v: u64 =
                raw.trim().parse().ok().filter(|v| *v > 0).ok_or_else(|| {
                    format!("setting {key} = {raw:?} is not a positive whole number")
                })?;
            l.set(name, v)?;
        }
        Ok(l)
    }

    /// Set one limit by its settings name.
    pub fn set(&mut self, name: &str, v: u64) -> Result<(), String> {
        let us = v as usize;
        match name {
            "timeout_ms" => self.timeout = Duration::from_millis(v),
            "max_operations" => self.max_operations = v,
            "max_memory" if us > MAX_MEMORY_LIMIT => {
                return Err(format!(
                    "max_memory {v} is over {MAX_MEMORY_LIMIT} bytes ({} MiB), the most a plugin may be given",
                    MAX_MEMORY_LIMIT >> 20
                ))
            }
            "max_memory" => self.max_memory = us,
            "max_rows_read" => self.max_rows_read = us,
            "max_writes" => self.max_writes = us,
            "storage_quota" => self.storage_quota = us,
            "max_requests" => self.max_requests = us,
            "request_timeout_ms" => self.request_timeout = Duration::from_millis(v),
            "max_response" => self.max_response = us,
            other => {
                return Err(format!(
                    "unknown plugin limit {other:?}; the limits: {}",
                    LIMIT_SETTINGS.join(", ")
                ))
            }
        }
        Ok(())
    }
}

/// What kind of failure stopped a script (the CLI prints it first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The script does not parse, or uses something switched off.
    Syntax,
    /// An operation, depth, size or count limit.
    Limit,
    /// The wall-clock deadline.
    Timeout,
    /// The memory ceiling.
    Memory,
    /// A host call without the permission it needs.
    Permission,
    /// The script failed (thrown error, unknown function, type error…).
    Runtime,
    /// A host function panicked (a bug on our side; the app goes on).
    Panic,
    /// The sandbox could not run at all.
    Internal,
}

impl ErrorKind {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Limit => "limit",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::Permission => "permission",
            ErrorKind::Runtime => "runtime",
            ErrorKind::Panic => "panic",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A script failure: its kind and what happened, with the line where known.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} error: {message}", kind.as_str())]
pub struct ScriptError {
    /// The kind.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl ScriptError {
    /// The message is neutralised and capped here, once: it is shown on
    /// terminals and in the app and kept with the plugin's run history.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ScriptError {
            kind,
            message: crate::text::message(&message.into()),
        }
    }
}

/// The outcome of a successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput {
    /// The script's value as JSON.
    pub value: serde_json::Value,
    /// Printed lines (capped).
    pub output: Vec<String>,
    /// True when output was cut at the cap.
    pub output_truncated: bool,
    /// Operations used.
    pub operations: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Records written.
    pub writes: usize,
    /// Notifications for the user (`ui::notify`).
    pub notifications: Vec<Notification>,
    /// Log lines (`log::info` …), tagged with the plugin and tenant by the caller.
    pub logs: Vec<LogLine>,
    /// Requests a rehearsal recorded instead of sending ([`Services::rehearsal`]).
    pub requests: Vec<RecordedRequest>,
}

/// A request a rehearsed run would have sent.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, or `AI` for a question to the language model.
    pub method: String,
    /// The URL (its query left out: tokens often live there), or for the
    /// AI the function asked (`ai::classify`).
    pub url: String,
    /// What would have been sent: the JSON body, or the AI prompt.
    pub body: Option<String>,
}

/// A run that records its outside effects instead of doing them (a dry
/// run): no request is sent, no notification shown, and the AI is asked
/// only when `include_ai` is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rehearsal {
    /// Ask the configured AI for real (the user ticked "include AI calls").
    pub include_ai: bool,
}

/// A message a plugin shows the user (the host renders it; never HTML).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Notification {
    /// `info`, `success`, `warning` or `error`.
    pub level: String,
    /// The text.
    pub message: String,
}

/// A line a plugin logged.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LogLine {
    /// `info`, `warn` or `error`.
    pub level: String,
    /// The text (capped).
    pub message: String,
}

/// What the host API may touch in one invocation.
#[derive(Clone, Default)]
pub struct Context {
    /// Granted permissions (`contacts:read`, …). Deny by default.
    pub grants: BTreeSet<String>,
    /// The store, if the invocation may use one.
    pub store: Option<Arc<Mutex<crm_core::Store>>>,
    /// The plugin this runs for: its storage, its settings, the actor of
    /// its writes. `None` for a one-off script (`crm script run`), which
    /// then has no storage.
    pub plugin_id: Option<String>,
    /// The plugin's settings values, defaults filled in.
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Network policy and the AI endpoint.
    pub services: Services,
}

/// Outside services a script may reach, as the user configured them.
#[derive(Clone, Debug, Default)]
pub struct Services {
    /// Let `http` reach loopback, private and link-local addresses (an
    /// admin's choice, e.g. for an on-premises system). Off by default.
    pub allow_private_network: bool,
    /// The OpenAI-compatible endpoint for `ai`, if configured.
    pub ai: Option<crate::ai::AiConfig>,
    /// Extra trusted root certificates (PEM) for `http`: the tenant's own
    /// certificate authority, for on-premises systems. The public roots
    /// stay trusted as well.
    pub extra_root_pem: Option<String>,
    /// Set for a dry run: requests are recorded, never sent
    /// ([`RunOutput::requests`]).
    pub rehearsal: Option<Rehearsal>,
}

/// Per-invocation state, on the worker thread.
pub(crate) struct Invocation {
    pub deadline: Instant,
    pub memory_base: i64,
    pub max_memory: i64,
    pub max_output: usize,
    pub output: Vec<String>,
    pub output_bytes: usize,
    pub truncated: bool,
    pub operations: u64,
    pub ctx: Context,
    pub limits: Limits,
    pub rows_read: usize,
    pub writes: usize,
    pub requests: usize,
    pub notifications: Vec<Notification>,
    pub logs: Vec<LogLine>,
    pub recorded: Vec<RecordedRequest>,
    /// A batch of updates being written while the script goes on (see
    /// [`crate::host`]'s `update_many`); settled before the invocation ends.
    pub pending: Option<crate::host::Pending>,
    /// A read-only connection for reads beside a pending write, opened on
    /// the first background write.
    pub reader: Option<crm_core::Store>,
    /// Why the script was stopped (operations, deadline, memory, a cap),
    /// once it was. Sticky: every later operation stops again, and the
    /// invocation fails whatever caught the first stop (a sort comparator
    /// that swallows errors, a host callback).
    pub stopped: Option<&'static str>,
}

thread_local! {
    pub(crate) static CURRENT: RefCell<Option<Invocation>> = const { RefCell::new(None) };
    /// Set by a host function that refused a call, so the error keeps its
    /// kind. Apart from [`CURRENT`] so a refusal can be recorded while the
    /// invocation state is borrowed.
    pub(crate) static DENIED: RefCell<Option<ScriptError>> = const { RefCell::new(None) };
    /// Set when a host function refused a call for a cap (writes, reads,
    /// requests, storage quota): the script is then terminated at its next
    /// operation, so `try`/`catch` cannot swallow the cap and keep going.
    pub(crate) static CAPPED: RefCell<Option<ScriptError>> = const { RefCell::new(None) };
}

const STOP_OPERATIONS: &str = "\u{0}operations";
const STOP_TIMEOUT: &str = "\u{0}timeout";
const STOP_MEMORY: &str = "\u{0}memory";
const STOP_CAPPED: &str = "\u{0}capped";

/// Most compiled scripts kept in a sandbox's cache.
pub const MAX_CACHED_SCRIPTS: usize = 256;

/// Stack a worker thread gets for every byte of the memory ceiling.
///
/// Rhai bounds how deep evaluation goes (call levels, expression depth),
/// not how deep a value nests: closures capturing closures, curried
/// function pointers and arrays of arrays nest as deep as memory allows,
/// and dropping, cloning or comparing such a value recurses once per
/// level, on the worker's stack, where no error can be caught (a stack
/// overflow aborts the process). Every level costs heap that the memory
/// ceiling counts, so the deepest value a script can build is bounded by
/// it; the worker's stack is sized from the ceiling so that even that
/// value fits. The stack is address space reserved, not memory used: only
/// the pages a deep value actually touches become resident.
/// `tests/deep_values.rs` builds the deepest values of each kind that the
/// limits allow and checks they are dropped, cloned and compared.
pub const STACK_PER_MEMORY_BYTE: usize = 8;

/// Least stack a worker gets.
const MIN_STACK: usize = 64 << 20;

/// The stack a worker needs under `limits` (see [`STACK_PER_MEMORY_BYTE`]).
pub fn worker_stack(limits: &Limits) -> usize {
    limits
        .max_memory
        .saturating_mul(STACK_PER_MEMORY_BYTE)
        .max(MIN_STACK)
}

/// The shared engine and its compiled-script cache.
pub struct Sandbox {
    engine: Arc<Engine>,
    limits: Limits,
    cache: Mutex<HashMap<[u8; 32], Arc<AST>>>,
    pool: Pool,
}

impl Sandbox {
    /// A sandbox with these limits and the standard host API.
    pub fn new(limits: Limits) -> Self {
        Self::with_host(limits, |_| {})
    }

    /// A sandbox whose engine also gets `extra` host functions (each must
    /// bound its own work: Rhai cannot interrupt a host call).
    pub fn with_host(limits: Limits, extra: impl FnOnce(&mut Engine)) -> Self {
        let mut engine = Engine::new_raw();
        // Chosen packages only: no LanguageCorePackage (it has `sleep`), no
        // time, no debugging. No module resolver is set, so `import` finds
        // nothing.
        for pkg in [
            ArithmeticPackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicStringPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
            BasicIteratorPackage::new().as_shared_module(),
            BasicFnPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
            BitFieldPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
        ] {
            engine.register_global_module(pkg);
        }
        engine.disable_symbol("eval");
        // Operations are counted in `on_progress` (Rhai's own limit is off),
        // so that running out of them is as sticky as the deadline.
        engine
            .set_max_operations(0)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_variables(limits.max_variables)
            .set_max_functions(limits.max_functions)
            .set_max_modules(0);
        engine.on_progress(|ops| {
            CURRENT.with(|c| {
                let mut c = c.borrow_mut();
                let inv = c.as_mut()?;
                inv.operations = ops;
                if let Some(token) = inv.stopped {
                    return Some(Dynamic::from(token));
                }
                let token = stop_reason(inv, ops)?;
                inv.stopped = Some(token);
                Some(Dynamic::from(token))
            })
        });
        callbacks::register(&mut engine);
        engine.on_print(capture);
        engine.on_debug(|s, _, _| capture(s));
        host::register(&mut engine);
        extra(&mut engine);
        Sandbox {
            engine: Arc::new(engine),
            pool: Pool::new(worker_stack(&limits)),
            limits,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The engine (for metadata: the host-API reference).
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compile (or take from the cache) a script.
    pub fn compile(&self, source: &str) -> Result<Arc<AST>, ScriptError> {
        if source.len() > self.limits.max_source {
            return Err(ScriptError::new(
                ErrorKind::Limit,
                format!(
                    "script is {} bytes; the limit is {}",
                    source.len(),
                    self.limits.max_source
                ),
            ));
        }
        // Keyed by SHA-256, not a 64-bit hash: a plugin author must not be
        // able to craft a script that collides with another plugin's and so
        // be handed (or hand over) that plugin's compiled code.
        let key: [u8; 32] = sha2::Sha256::digest(source.as_bytes()).into();
        if let Some(ast) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(ast.clone());
        }
        let ast = self.engine.compile(source).map_err(|e| {
            let kind = match e.err_type() {
                rhai::ParseErrorType::ExprTooDeep | rhai::ParseErrorType::LiteralTooLarge(..) => {
                    ErrorKind::Limit
                }
                _ => ErrorKind::Syntax,
            };
            ScriptError::new(kind, e.to_string())
        })?;
        let ast = Arc::new(ast);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded: when full, start over (scripts recompile on next use).
        if cache.len() >= MAX_CACHED_SCRIPTS {
            cache.clear();
        }
        cache.insert(key, ast.clone());
        Ok(ast)
    }

    /// Run a script on a worker thread with `ctx`. Never panics, never runs
    /// much past the deadline: if the worker has not answered a second after
    /// it, the run is reported as a timeout and the worker is abandoned.
    pub fn run(&self, source: &str, ctx: Context) -> Result<RunOutput, ScriptError> {
        self.invoke(source, None, ctx)
    }

    /// Call one function a script defines (a hook, action or schedule) with
    /// `args`, under the same limits and guards as [`Sandbox::run`].
    pub fn call(
        &self,
        source: &str,
        function: &str,
        args: Vec<Dynamic>,
        ctx: Context,
    ) -> Result<RunOutput, ScriptError> {
        self.invoke(source, Some((function.to_string(), args)), ctx)
    }

    fn invoke(
        &self,
        source: &str,
        call: Option<(String, Vec<Dynamic>)>,
        ctx: Context,
    ) -> Result<RunOutput, ScriptError> {
        if !alloc::counting_active() {
            return Err(ScriptError::new(
                ErrorKind::Internal,
                "the memory ceiling cannot be enforced: the counting allocator is not installed",
            ));
        }
        let ast = self.compile(source)?;
        let engine = self.engine.clone();
        let limits = self.limits.clone();
        let start = Instant::now();
        let deadline = start + limits.timeout;
        let wait = self.limits.timeout + Duration::from_secs(1);
        let outcome = self.pool.run(wait, move || {
            run_on_this_thread(&engine, &ast, call, ctx, &limits, deadline)
        });
        match outcome {
            Err(e) => Err(ScriptError::new(
                ErrorKind::Internal,
                format!("cannot start a worker: {e}"),
            )),
            Ok(Ok(r)) => r.map(|mut out| {
                out.elapsed = start.elapsed();
                out
            }),
            Ok(Err(Overran)) => Err(ScriptError::new(
                ErrorKind::Timeout,
                format!(
                    "no answer within {} ms (a host call overran)",
                    self.limits.timeout.as_millis()
                ),
            )),
        }
    }
}

/// Whether the script must stop now, and why.
fn stop_reason(inv: &mut Invocation, ops: u64) -> Option<&'static str> {
    if ops > inv.limits.max_operations {
        return Some(STOP_OPERATIONS);
    }
    // Reading the clock costs more than most operations: every 32nd is a
    // few microseconds apart, well inside any deadline.
    if ops.is_multiple_of(32) && Instant::now() >= inv.deadline {
        return Some(STOP_TIMEOUT);
    }
    let now = alloc::thread_net_bytes();
    // Frees of memory another thread allocated (caller's arguments, HTTP
    // buffers) lower the count: the base follows it down, so they never
    // become extra headroom.
    if now < inv.memory_base {
        inv.memory_base = now;
    }
    if now - inv.memory_base > inv.max_memory {
        return Some(STOP_MEMORY);
    }
    if CAPPED.with(|c| c.borrow().is_some()) {
        return Some(STOP_CAPPED);
    }
    None
}

/// Keep what a script prints: one line per line of text, each neutralised
/// (no terminal control reaches a screen), within the output cap.
fn capture(s: &str) {
    for line in s.split('\n') {
        capture_line(&crate::text::neutralise(
            line.strip_suffix('\r').unwrap_or(line),
        ));
    }
}

fn capture_line(s: &str) {
    CURRENT.with(|c| {
        if let Some(inv) = c.borrow_mut().as_mut() {
            if inv.truncated {
                return;
            }
            if inv.output_bytes + s.len() > inv.max_output {
                inv.truncated = true;
                return;
            }
            inv.output_bytes += s.len();
            inv.output.push(s.to_string());
        }
    })
}

fn run_on_this_thread(
    engine: &Engine,
    ast: &AST,
    call: Option<(String, Vec<Dynamic>)>,
    ctx: Context,
    limits: &Limits,
    deadline: Instant,
) -> Result<RunOutput, ScriptError> {
    // Workers are reused: nothing of an earlier invocation may leak in.
    DENIED.with(|d| *d.borrow_mut() = None);
    CAPPED.with(|d| *d.borrow_mut() = None);
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Invocation {
            deadline,
            memory_base: alloc::thread_net_bytes(),
            max_memory: limits.max_memory as i64,
            max_output: limits.max_output,
            output: Vec::new(),
            output_bytes: 0,
            truncated: false,
            operations: 0,
            ctx,
            limits: limits.clone(),
            rows_read: 0,
            writes: 0,
            requests: 0,
            notifications: Vec::new(),
            logs: Vec::new(),
            recorded: Vec::new(),
            pending: None,
            reader: None,
            stopped: None,
        })
    });
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| match call {
        None => engine.eval_ast::<Dynamic>(ast),
        Some((name, args)) => {
            let mut scope = rhai::Scope::new();
            engine.call_fn::<Dynamic>(&mut scope, ast, &name, args)
        }
    }));
    // A write still running in the background belongs to this invocation:
    // it ends only once the write has (and fails if the write did).
    let pending = CURRENT.with(|c| c.borrow_mut().as_mut().and_then(|i| i.pending.take()));
    let late = pending.and_then(|p| crate::host::finish(p).err());
    let inv = CURRENT.with(|c| c.borrow_mut().take());
    let Some(inv) = inv else {
        return Err(ScriptError::new(
            ErrorKind::Internal,
            "invocation state lost",
        ));
    };
    // A stop is final whatever caught it on the way out (a comparator
    // that swallowed it, a callback): the invocation fails.
    let result = match (result, inv.stopped) {
        (Ok(_), Some(token)) => Ok(Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from(token),
            rhai::Position::NONE,
        )))),
        (r, _) => r,
    };
    match result {
        Err(_) => Err(ScriptError::new(
            ErrorKind::Panic,
            "a host function panicked; the script was stopped",
        )),
        // A host refusal keeps its kind only if it is what stopped the
        // script: one the script caught, followed by another error, is not.
        Ok(Err(e)) if terminated_by(&e).as_deref() == Some(STOP_CAPPED) => Err(CAPPED
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| ScriptError::new(ErrorKind::Limit, "a cap was reached"))),
        Ok(Err(e)) => Err(match DENIED.with(|d| d.borrow_mut().take()) {
            Some(d) if e.to_string().contains(&d.message) => d,
            _ => classify(&e, limits),
        }),
        Ok(Ok(value)) => {
            if let Some(e) = late {
                return Err(e);
            }
            let value = rhai::serde::from_dynamic::<serde_json::Value>(&value).map_err(|e| {
                ScriptError::new(
                    ErrorKind::Runtime,
                    format!("the script's value cannot be shown as JSON: {e}"),
                )
            })?;
            // The value leaves the worker's large stack: whoever prints or
            // drops it (the app's threads have small stacks) recurses once
            // per level. Refused here, and dropped here, when too deep.
            let depth = json_depth(&value);
            if depth > MAX_VALUE_DEPTH {
                return Err(ScriptError::new(
                    ErrorKind::Limit,
                    format!(
                        "the script's value nests {depth} levels deep; at most {MAX_VALUE_DEPTH} may leave the sandbox"
                    ),
                ));
            }
            Ok(RunOutput {
                value,
                output: inv.output,
                output_truncated: inv.truncated,
                operations: inv.operations,
                elapsed: Duration::ZERO,
                writes: inv.writes,
                notifications: inv.notifications,
                logs: inv.logs,
                requests: inv.recorded,
            })
        }
    }
}

/// Deepest nesting of arrays and objects a script's value may have to
/// leave the sandbox (JSON parsers stop at 128; `serde_json` does).
pub const MAX_VALUE_DEPTH: usize = 128;

/// How deep `v` nests, measured without recursion (it may be very deep).
fn json_depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            serde_json::Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    deepest
}

/// The token a script was terminated with, through function-call layers.
fn terminated_by(e: &EvalAltResult) -> Option<String> {
    match e {
        EvalAltResult::ErrorTerminated(token, _) => token.clone().into_string().ok(),
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => terminated_by(inner),
        _ => None,
    }
}

fn classify(e: &EvalAltResult, limits: &Limits) -> ScriptError {
    use EvalAltResult as E;
    let msg = e.to_string();
    let kind = match e {
        E::ErrorTerminated(token, _) => match token.clone().into_string().as_deref() {
            Ok(STOP_TIMEOUT) => {
                return ScriptError::new(
                    ErrorKind::Timeout,
                    format!("stopped after {} ms", limits.timeout.as_millis()),
                )
            }
            Ok(STOP_MEMORY) => {
                return ScriptError::new(
                    ErrorKind::Memory,
                    format!("stopped: used more than {} MiB", limits.max_memory >> 20),
                )
            }
            Ok(STOP_OPERATIONS) => {
                return ScriptError::new(
                    ErrorKind::Limit,
                    format!(
                        "too many operations: stopped after {} (the limit)",
                        limits.max_operations
                    ),
                )
            }
            _ => ErrorKind::Runtime,
        },
        E::ErrorTooManyOperations(..)
        | E::ErrorStackOverflow(..)
        | E::ErrorDataTooLarge(..)
        | E::ErrorTooManyVariables(..)
        | E::ErrorTooManyModules(..) => ErrorKind::Limit,
        E::ErrorParsing(..) => ErrorKind::Syntax,
        E::ErrorInFunctionCall(_, _, inner, _) | E::ErrorInModule(_, inner, _) => {
            return classify(inner, limits)
        }
        _ => ErrorKind::Runtime,
    };
    ScriptError::new(kind, msg)
}
