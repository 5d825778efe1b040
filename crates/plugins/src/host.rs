//! The host API: the only door a script has. Every function checks the
//! invocation's grants first (deny by default) and bounds its own work,
//! because Rhai cannot interrupt a host call once it has started: reads are
//! capped per invocation, writes are capped and go through the core's one
//! write path (validated, audited, synced) in the plugin's name, network
//! calls have timeouts and size caps.
//!
//! Each function is registered with its parameter names and a doc comment:
//! `docs/host-api.md` is generated from that metadata (see
//! [`crate::reference`]), so the reference cannot drift from the code.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crm_core::{Actor, CustomChanges, Store};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FuncRegistration, Map, Module, Position, INT};
use uuid::Uuid;

use crate::sandbox::{
    ErrorKind, Invocation, LogLine, Notification, ScriptError, CAPPED, CURRENT, DENIED,
};

pub(crate) type HostResult<T> = Result<T, Box<EvalAltResult>>;

/// Register `f` as `name` in module `m`, with parameter info (the last
/// string is the return type) and a doc comment for the reference.
macro_rules! func {
    ($m:expr, $name:literal, [$($p:literal),*], $doc:literal, $f:expr) => {
        FuncRegistration::new($name)
            .with_volatility(true)
            .with_params_info([$($p),*])
            .with_comments([concat!("/// ", $doc)])
            .set_into_module(&mut $m, $f);
    };
}

/// Fail the call with `kind`; the kind survives to the caller.
pub(crate) fn fail(kind: ErrorKind, msg: impl Into<String>) -> Box<EvalAltResult> {
    let msg = msg.into();
    DENIED.with(|d| *d.borrow_mut() = Some(ScriptError::new(kind, msg.clone())));
    if kind == ErrorKind::Limit {
        CAPPED.with(|c| *c.borrow_mut() = Some(ScriptError::new(kind, msg.clone())));
    }
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// Run `f` on the current invocation's state.
pub(crate) fn with_inv<T>(f: impl FnOnce(&mut Invocation) -> HostResult<T>) -> HostResult<T> {
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        match c.as_mut() {
            Some(inv) => f(inv),
            None => Err(fail(ErrorKind::Internal, "no invocation")),
        }
    })
}

/// Refuse unless `perm` was granted.
pub(crate) fn need(perm: &str) -> HostResult<()> {
    with_inv(|inv| {
        if inv.ctx.grants.contains(perm) {
            Ok(())
        } else {
            Err(fail(
                ErrorKind::Permission,
                format!("this script needs the permission {perm}, which was not granted"),
            ))
        }
    })
}

/// A batch of custom-field updates being written on a thread of its own
/// while the script goes on (see `update_many`). The batch comes back with
/// the outcome, so it is freed on the worker that counted it.
pub(crate) struct Pending {
    handle: std::thread::JoinHandle<(Result<(), String>, CustomBatch)>,
    ids: HashSet<Uuid>,
}

type CustomBatch = Vec<(Uuid, CustomChanges)>;

/// Batches at least this long are written in the background; a shorter
/// one (a hook's single update) is not worth a thread.
const BACKGROUND_MIN: usize = 32;

/// Wait for a background write; its failure, if it failed.
pub(crate) fn finish(p: Pending) -> Result<(), ScriptError> {
    match p.handle.join() {
        // The batch is dropped here, on the worker.
        Ok((res, _batch)) => res.map_err(|msg| {
            ScriptError::new(
                ErrorKind::Runtime,
                format!("contacts::update_many (written after the call returned): {msg}; nothing of that batch was written"),
            )
        }),
        Err(_) => Err(ScriptError::new(
            ErrorKind::Panic,
            "contacts::update_many: the write panicked; nothing of that batch was written",
        )),
    }
}

/// Wait for the invocation's background write, if any: every host call
/// that reads or writes the store, or reaches out (network, AI), comes
/// after the writes before it. A failed write fails this call.
pub(crate) fn settle() -> HostResult<()> {
    let pending = with_inv(|inv| Ok(inv.pending.take()))?;
    match pending.map(finish) {
        Some(Err(e)) => Err(fail(e.kind, e.message)),
        _ => Ok(()),
    }
}

fn store() -> HostResult<Arc<Mutex<Store>>> {
    settle()?;
    with_inv(|inv| {
        inv.ctx
            .store
            .clone()
            .ok_or_else(|| fail(ErrorKind::Runtime, "no profile is open for this script"))
    })
}

/// Read through the store with `perm`; `f` returns the value and how many
/// records it read, which count against the invocation's read cap. `f`
/// gets the rows still allowed.
fn read<T>(perm: &str, f: impl FnOnce(&Store, usize) -> HostResult<(T, usize)>) -> HostResult<T> {
    need(perm)?;
    let budget = with_inv(|inv| Ok(inv.limits.max_rows_read.saturating_sub(inv.rows_read)))?;
    if budget == 0 {
        return Err(fail(
            ErrorKind::Limit,
            "this invocation has read as many records as it may",
        ));
    }
    let store = store()?;
    let guard = store
        .lock()
        .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
    let (v, used) = f(&guard, budget)?;
    with_inv(|inv| {
        // Every call costs at least one row: empty answers are not free,
        // so a script cannot query without end.
        inv.rows_read += used.max(1);
        Ok(())
    })?;
    Ok(v)
}

/// [`read`] for a list: at most the rows still allowed are kept, and they
/// are what the call costs.
fn read_list<T: crate::contract::ScriptRecord>(
    perm: &str,
    f: impl FnOnce(&Store, usize) -> crm_core::Result<Vec<T>>,
) -> HostResult<Dynamic> {
    read(perm, |s, budget| {
        let mut list = f(s, budget).map_err(core_err)?;
        list.truncate(budget);
        let n = list.len();
        let items = list
            .iter()
            .map(record)
            .collect::<HostResult<rhai::Array>>()?;
        Ok((Dynamic::from_array(items), n))
    })
}

/// Write `n` records through the store with `perm`, in the plugin's name.
/// Refused before anything is written when it would pass the write cap.
fn write<T>(perm: &str, n: usize, f: impl FnOnce(&mut Store) -> HostResult<T>) -> HostResult<T> {
    need(perm)?;
    let plugin = may_write(n)?;
    let store = store()?;
    let mut guard = store
        .lock()
        .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
    let out = as_plugin(&mut guard, plugin, f)?;
    with_inv(|inv| {
        inv.writes += n;
        Ok(())
    })?;
    Ok(out)
}

/// Run `f` on the store in `plugin`'s name, for the local user.
fn as_plugin<T>(store: &mut Store, plugin: String, f: impl FnOnce(&mut Store) -> T) -> T {
    let actor = Actor::Plugin {
        plugin,
        user: store.identity().user_id.clone(),
    };
    store.with_actor(actor, f)
}

/// Refuse `n` more writes past the invocation's cap; else the plugin the
/// writes are made for.
fn may_write(n: usize) -> HostResult<String> {
    with_inv(|inv| {
        if inv.writes + n > inv.limits.max_writes {
            return Err(fail(
                ErrorKind::Limit,
                format!(
                    "write cap: this invocation may write at most {} records ({} so far, {n} more asked)",
                    inv.limits.max_writes, inv.writes
                ),
            ));
        }
        Ok(inv
            .ctx
            .plugin_id
            .clone()
            .unwrap_or_else(|| "script".to_string()))
    })
}

/// `update_many` of custom fields only, written on a thread of its own
/// while the script goes on (`None`: not possible here, write it in the
/// call). Everything the write could refuse is checked first, on a reader
/// connection, so a refusal is this call's error as before; what is left
/// to fail is outside the script (the disk, a contact deleted meanwhile)
/// and fails the next host call that touches the store or reaches out, or
/// else the invocation. The batch is one transaction as before.
fn update_custom_in_background(batch: &mut CustomBatch) -> HostResult<Option<INT>> {
    need("contacts:write")?;
    let n = batch.len();
    let plugin = may_write(n)?;
    let store = store()?;
    let opened = with_inv(|inv| Ok(inv.reader.is_some()))?;
    if !opened {
        let reader = store
            .lock()
            .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?
            .open_reader();
        match reader {
            Ok(r) => with_inv(|inv| {
                inv.reader = Some(r);
                Ok(())
            })?,
            Err(_) => return Ok(None),
        }
    }
    with_inv(|inv| match &inv.reader {
        Some(r) => r.check_contacts_custom(batch).map_err(core_err),
        None => Err(fail(ErrorKind::Internal, "no reader connection")),
    })?;
    let ids: HashSet<Uuid> = batch.iter().map(|(id, _)| *id).collect();
    let work = std::mem::take(batch);
    let handle = std::thread::Builder::new()
        .name("plugin-write".into())
        .spawn(move || {
            let res = match store.lock() {
                Ok(mut g) => as_plugin(&mut g, plugin, |s| s.set_contacts_custom(&work))
                    .map_err(|e| e.to_string()),
                Err(_) => Err("the store is unavailable".to_string()),
            };
            (res, work)
        });
    let handle = match handle {
        Ok(h) => h,
        // No thread to be had: the batch is gone with the closure, so
        // say so rather than pretend it was written.
        Err(e) => {
            return Err(fail(
                ErrorKind::Internal,
                format!(
                    "contacts::update_many: could not start the write ({e}); nothing was written"
                ),
            ))
        }
    };
    with_inv(|inv| {
        inv.writes += n;
        inv.pending = Some(Pending { handle, ids });
        Ok(())
    })?;
    Ok(Some(n as INT))
}

/// `contacts::scan` while a background write runs: on the reader
/// connection, which sees every committed change; a page holding a contact
/// the write is changing waits for the write instead (`None`: read the
/// ordinary way).
fn scan_beside_pending(after: Option<Uuid>, limit: INT) -> HostResult<Option<Dynamic>> {
    need("contacts:read")?;
    with_inv(|inv| {
        let (Some(p), Some(r)) = (&inv.pending, &inv.reader) else {
            return Ok(None);
        };
        let budget = inv.limits.max_rows_read.saturating_sub(inv.rows_read);
        if budget == 0 {
            return Ok(None);
        }
        let page = r
            .scan_contact_fields(after, limit_of(limit, budget))
            .map_err(core_err)?;
        let touched = page.iter().any(|fields| {
            fields
                .iter()
                .find(|(k, _)| *k == "id")
                .and_then(|(_, v)| v.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
                .is_some_and(|id| p.ids.contains(&id))
        });
        if touched {
            return Ok(None);
        }
        inv.rows_read += page.len().max(1);
        Ok(Some(fields_to_array(page)))
    })
}

/// A record as the script contract shapes it (see [`crate::contract`]).
fn record<T: crate::contract::ScriptRecord>(r: &T) -> HostResult<Dynamic> {
    crate::contract::to_script(r).map_err(|e| fail(ErrorKind::Internal, e.to_string()))
}

fn to_dynamic<T: serde::Serialize>(v: &T) -> HostResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

/// A JSON value as a script value: what [`to_dynamic`] makes of it, made
/// directly instead of through serde (a record's serialised form, e.g.
/// [`Store::scan_contact_fields`], becomes the same map a script gets
/// from serialising the record).
pub(crate) fn json_to_dynamic(v: serde_json::Value) -> Dynamic {
    use serde_json::Value;
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => n.as_f64().map(Dynamic::from_float).unwrap_or(Dynamic::UNIT),
        },
        Value::String(s) => Dynamic::from(s),
        Value::Array(a) => Dynamic::from_array(a.into_iter().map(json_to_dynamic).collect()),
        Value::Object(m) => Dynamic::from_map(
            m.into_iter()
                .map(|(k, v)| (k.into(), json_to_dynamic(v)))
                .collect(),
        ),
    }
}

/// Contacts as lists of named fields ([`Store::scan_contact_fields`]) as a
/// script array of maps: the contract's contact shape, as `contacts::get`
/// gives it.
fn fields_to_array(rows: Vec<Vec<(&'static str, serde_json::Value)>>) -> Dynamic {
    Dynamic::from_array(
        rows.into_iter()
            .map(|fields| crate::contract::fields_to_script(&crate::contract::CONTACT, fields))
            .collect(),
    )
}

fn core_err(e: crm_core::CoreError) -> Box<EvalAltResult> {
    fail(ErrorKind::Runtime, e.to_string())
}

fn id_of(kind: &'static str, raw: &str) -> HostResult<uuid::Uuid> {
    crm_core::parse_id(kind, raw).map_err(core_err)
}

/// A script value as the text the core's field setters take.
pub(crate) fn field_text(v: &Dynamic) -> String {
    if v.is_unit() {
        String::new()
    } else if let Some(a) = v.read_lock::<Array>() {
        a.iter().map(field_text).collect::<Vec<_>>().join(";")
    } else {
        v.to_string()
    }
}

fn changes_of(fields: &Map) -> Vec<(String, String)> {
    fields
        .iter()
        .filter(|(k, _)| k.as_str() != "id")
        .map(|(k, v)| (k.to_string(), field_text(v)))
        .collect()
}

fn limit_of(limit: INT, budget: usize) -> usize {
    (limit.max(0) as usize).min(budget)
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn register_contacts(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "count",
        ["i64"],
        "Number of live contacts. Needs contacts:read.",
        || {
            read("contacts:read", |s, _| {
                Ok((s.count_contacts().map_err(core_err)?, 0))
            })
        }
    );
    func!(
        m,
        "list",
        ["search: &str", "limit: i64", "Array"],
        "Contacts whose name, company, email or phone contains `search` (\"\" for all), sorted by name, at most `limit`. Needs contacts:read.",
        |search: &str, limit: INT| -> HostResult<Dynamic> {
            read_list("contacts:read", |s, budget| s.list_contacts(&crm_core::ContactQuery {
                search: (!search.is_empty()).then(|| search.to_string()),
                limit: Some(limit_of(limit, budget)),
                ..Default::default()
            }))
        }
    );
    func!(
        m,
        "page",
        ["offset: i64", "limit: i64", "Array"],
        "All contacts by name, `limit` of them starting at `offset` (for walking every contact). Needs contacts:read.",
        |offset: INT, limit: INT| -> HostResult<Dynamic> {
            read_list("contacts:read", |s, budget| s.list_contacts(&crm_core::ContactQuery {
                limit: Some(limit_of(limit, budget)),
                offset: offset.max(0) as usize,
                ..Default::default()
            }))
        }
    );
    func!(
        m,
        "scan",
        ["after_id: &str", "limit: i64", "Array"],
        "Every contact in creation order, `limit` at a time after the contact `after_id` (\"\" to start): the way to walk a whole book, as fast at the end as at the start. Needs contacts:read.",
        |after: &str, limit: INT| -> HostResult<Dynamic> {
            let after = if after.is_empty() {
                None
            } else {
                Some(id_of("contact", after)?)
            };
            if let Some(page) = scan_beside_pending(after, limit)? {
                return Ok(page);
            }
            read("contacts:read", |s, budget| {
                let page = s
                    .scan_contact_fields(after, limit_of(limit, budget))
                    .map_err(core_err)?;
                let n = page.len();
                Ok((fields_to_array(page), n))
            })
        }
    );
    func!(
        m,
        "query",
        ["filters: Map", "Array"],
        "Contacts by name matching filters: `stage`, `owner`, `tag`, `search`, with `limit` (default 100) and `offset`. Needs contacts:read.",
        |f: Map| -> HostResult<Dynamic> {
            let text = |k: &str| {
                f.get(k)
                    .map(field_text)
                    .filter(|s| !s.trim().is_empty())
            };
            let stage = match text("stage") {
                None => None,
                Some(s) => Some(crm_core::Stage::parse(&s).ok_or_else(|| {
                    fail(
                        ErrorKind::Runtime,
                        format!("contacts::query: unknown stage {s:?}; use prospect, client or lapsed"),
                    )
                })?),
            };
            let limit = f.get("limit").and_then(|v| v.as_int().ok()).unwrap_or(100);
            let offset = f.get("offset").and_then(|v| v.as_int().ok()).unwrap_or(0);
            read_list("contacts:read", |s, budget| s.list_contacts(&crm_core::ContactQuery {
                search: text("search"),
                stage,
                owner: text("owner"),
                tag: text("tag"),
                limit: Some(limit_of(limit, budget)),
                offset: offset.max(0) as usize,
            }))
        }
    );
    func!(
        m,
        "get",
        ["id: &str", "Map"],
        "One contact by id; an error if there is none. Needs contacts:read.",
        |id: &str| -> HostResult<Dynamic> {
            read("contacts:read", |s, _| {
                let c = s.contact(id_of("contact", id)?).map_err(core_err)?;
                Ok((record(&c)?, 1))
            })
        }
    );
    func!(
        m,
        "find_by_phone",
        ["phone: &str", "Array"],
        "Contacts with this phone number (any common format). Needs contacts:read.",
        |phone: &str| -> HostResult<Dynamic> {
            read_list("contacts:read", |s, _| s.contacts_with_phone(phone))
        }
    );
    func!(
        m,
        "create",
        ["fields: Map", "Map"],
        "Create a contact from fields (`first_name`, `last_name`, `email`, `phone`, `stage`, `tags`, `custom.NAME`…); returns it. Validated like any contact. Needs contacts:write.",
        |fields: Map| -> HostResult<Dynamic> {
            write("contacts:write", 1, |s| {
                let mut d = crm_core::ContactDraft::default();
                for (k, v) in changes_of(&fields) {
                    d.set(&k, &v)
                        .map_err(|e| fail(ErrorKind::Runtime, e.to_string()))?;
                }
                let c = s.create_contact(&d).map_err(core_err)?;
                record(&c)
            })
        }
    );
    func!(
        m,
        "update",
        ["id: &str", "fields: Map", "Map"],
        "Change fields of a contact (`custom.NAME` for custom fields; `()` clears); returns it. Needs contacts:write.",
        |id: &str, fields: Map| -> HostResult<Dynamic> {
            let id = id_of("contact", id)?;
            write("contacts:write", 1, |s| {
                let c = s
                    .update_contact(id, &changes_of(&fields))
                    .map_err(core_err)?;
                record(&c)
            })
        }
    );
    func!(
        m,
        "update_many",
        ["changes: Array", "i64"],
        "Apply many updates in one transaction: each item a map with `id` and the fields to change. All are written or (on the first invalid one) none. Returns how many. A batch of 32 or more that sets only `custom.NAME` fields is checked here and written while the script goes on; every later call sees it. Needs contacts:write.",
        |changes: Array| -> HostResult<INT> {
            let mut batch = Vec::with_capacity(changes.len());
            for (i, item) in changes.iter().enumerate() {
                let Some(map) = item.read_lock::<Map>() else {
                    return Err(fail(
                        ErrorKind::Runtime,
                        format!("update_many: item {i} is not a map"),
                    ));
                };
                let id = map
                    .get("id")
                    .map(|v| v.to_string())
                    .ok_or_else(|| fail(ErrorKind::Runtime, format!("update_many: item {i} has no id")))?;
                batch.push((id_of("contact", &id)?, changes_of(&map)));
            }
            let n = batch.len();
            // Only custom fields: the fast path (nothing else re-validated).
            let custom_only = batch
                .iter()
                .all(|(_, ch)| ch.iter().all(|(k, _)| k.starts_with("custom.")));
            if custom_only {
                let mut batch: CustomBatch = batch
                    .into_iter()
                    .map(|(id, ch)| {
                        let ch = ch
                            .into_iter()
                            .map(|(k, v)| {
                                let name = k["custom.".len()..].to_string();
                                (name, (!v.is_empty()).then_some(v))
                            })
                            .collect();
                        (id, ch)
                    })
                    .collect();
                if n >= BACKGROUND_MIN {
                    if let Some(n) = update_custom_in_background(&mut batch)? {
                        return Ok(n);
                    }
                }
                return write("contacts:write", n, |s| {
                    s.set_contacts_custom(&batch).map_err(core_err)?;
                    Ok(n as INT)
                });
            }
            write("contacts:write", n, |s| {
                s.update_contacts(&batch).map_err(core_err)?;
                Ok(n as INT)
            })
        }
    );
    func!(
        m,
        "delete",
        ["id: &str", "()"],
        "Delete a contact (a tombstone: synced, audited). Needs contacts:write.",
        |id: &str| -> HostResult<()> {
            let id = id_of("contact", id)?;
            write("contacts:write", 1, |s| {
                s.delete_contact(id).map_err(core_err)
            })
        }
    );
    engine.register_static_module("contacts", m.into());
}

fn register_policies(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "list",
        ["contact_id: &str", "Array"],
        "Policies of a contact, or all policies for \"\". Needs policies:read.",
        |contact: &str| -> HostResult<Dynamic> {
            let contact = if contact.is_empty() {
                None
            } else {
                Some(id_of("contact", contact)?)
            };
            read_list("policies:read", |s, _| s.list_policies(contact))
        }
    );
    func!(
        m,
        "get",
        ["id: &str", "Map"],
        "One policy by id. Needs policies:read.",
        |id: &str| -> HostResult<Dynamic> {
            read("policies:read", |s, _| {
                let p = s.policy(id_of("policy", id)?).map_err(core_err)?;
                Ok((record(&p)?, 1))
            })
        }
    );
    func!(
        m,
        "renewals_due",
        ["days: i64", "Array"],
        "Active policies expiring within `days` days from today. Needs policies:read.",
        |days: INT| -> HostResult<Dynamic> {
            read_list("policies:read", |s, _| {
                s.renewals_due(today(), days.clamp(0, 3660) as u32)
            })
        }
    );
    engine.register_static_module("policies", m.into());

    let mut m = Module::new();
    func!(
        m,
        "of_policy",
        ["policy_id: &str", "Array"],
        "A policy's premium schedule and payments. Needs payments:read.",
        |policy: &str| -> HostResult<Dynamic> {
            let policy = id_of("policy", policy)?;
            read_list("payments:read", |s, _| s.payments_of(policy))
        }
    );
    func!(
        m,
        "arrears",
        ["Array"],
        "Policies with unpaid instalments past due today, with the amount and days overdue. Needs payments:read.",
        || -> HostResult<Dynamic> {
            read_list("payments:read", |s, _| s.arrears(today()))
        }
    );
    engine.register_static_module("payments", m.into());
}

fn register_tasks(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "list",
        ["filter: &str", "Array"],
        "Tasks: \"open\", \"due_today\", \"overdue\" or \"all\". Needs tasks:read.",
        |filter: &str| -> HostResult<Dynamic> {
            let f = match filter {
                "open" => crm_core::TaskFilter::Open,
                "due_today" => crm_core::TaskFilter::DueToday,
                "overdue" => crm_core::TaskFilter::Overdue,
                "all" => crm_core::TaskFilter::All,
                other => {
                    return Err(fail(
                        ErrorKind::Runtime,
                        format!("tasks::list: unknown filter {other:?}; use open, due_today, overdue or all"),
                    ))
                }
            };
            read_list("tasks:read", |s, _| s.list_tasks(f, today()))
        }
    );
    func!(
        m,
        "create",
        ["fields: Map", "Map"],
        "Create a task: `title` (required), `due` (a date), `contact_id`, `assignee`, `notes`. Needs tasks:write.",
        |fields: Map| -> HostResult<Dynamic> {
            let text = |k: &str| {
                fields
                    .get(k)
                    .map(field_text)
                    .filter(|s| !s.trim().is_empty())
            };
            let contact_id = match text("contact_id") {
                Some(c) => Some(id_of("contact", &c)?),
                None => None,
            };
            let draft = crm_core::TaskDraft {
                title: text("title").unwrap_or_default(),
                due: text("due"),
                contact_id,
                assignee: text("assignee"),
                notes: text("notes"),
            };
            write("tasks:write", 1, |s| {
                let t = s.create_task(&draft).map_err(core_err)?;
                record(&t)
            })
        }
    );
    func!(
        m,
        "complete",
        ["id: &str", "Map"],
        "Mark a task done. Needs tasks:write.",
        |id: &str| -> HostResult<Dynamic> {
            let id = id_of("task", id)?;
            write("tasks:write", 1, |s| {
                let t = s
                    .set_task_status(id, crm_core::TaskStatus::Done)
                    .map_err(core_err)?;
                record(&t)
            })
        }
    );
    engine.register_static_module("tasks", m.into());

    let mut m = Module::new();
    func!(
        m,
        "timeline",
        ["contact_id: &str", "Array"],
        "A contact's activity timeline, newest first. Needs activities:read.",
        |contact: &str| -> HostResult<Dynamic> {
            let contact = id_of("contact", contact)?;
            read_list("activities:read", |s, _| s.timeline(contact))
        }
    );
    func!(
        m,
        "log",
        ["contact_id: &str", "kind: &str", "body: &str", "Map"],
        "Add a timeline entry: kind \"note\", \"call\", \"email\" or \"meeting\". Needs activities:write.",
        |contact: &str, kind: &str, body: &str| -> HostResult<Dynamic> {
            let contact = id_of("contact", contact)?;
            let kind = crm_core::ActivityKind::parse(kind).ok_or_else(|| {
                fail(
                    ErrorKind::Runtime,
                    format!("activities::log: unknown kind {kind:?}; use note, call, email or meeting"),
                )
            })?;
            write("activities:write", 1, |s| {
                let a = s.log_activity(contact, kind, body).map_err(core_err)?;
                record(&a)
            })
        }
    );
    engine.register_static_module("activities", m.into());
}

/// Largest key in plugin storage, bytes.
const MAX_STORAGE_KEY: usize = 256;

fn plugin_id() -> HostResult<String> {
    with_inv(|inv| {
        inv.ctx.plugin_id.clone().ok_or_else(|| {
            fail(
                ErrorKind::Runtime,
                "storage belongs to an installed plugin; a one-off script has none",
            )
        })
    })
}

fn register_storage(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "get",
        ["key: &str", "Dynamic"],
        "A value the plugin stored, or () if none. Needs storage.",
        |key: &str| -> HostResult<Dynamic> {
            need("storage")?;
            let plugin = plugin_id()?;
            let store = store()?;
            let s = store
                .lock()
                .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
            match s.plugin_storage_get(&plugin, key).map_err(core_err)? {
                None => Ok(Dynamic::UNIT),
                Some(text) => {
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| fail(ErrorKind::Internal, e.to_string()))?;
                    to_dynamic(&v)
                }
            }
        }
    );
    func!(
        m,
        "set",
        ["key: &str", "value: Dynamic", "()"],
        "Store a value (any string, number, bool, array or map) under a key; refused past the plugin's storage quota. Needs storage.",
        |key: &str, value: Dynamic| -> HostResult<()> {
            need("storage")?;
            if key.is_empty() || key.len() > MAX_STORAGE_KEY {
                return Err(fail(
                    ErrorKind::Runtime,
                    format!("storage keys are 1 to {MAX_STORAGE_KEY} bytes"),
                ));
            }
            let plugin = plugin_id()?;
            let quota = with_inv(|inv| Ok(inv.limits.storage_quota))?;
            let json: serde_json::Value = rhai::serde::from_dynamic(&value)?;
            let text = json.to_string();
            if text.len() > quota {
                return Err(fail(
                    ErrorKind::Limit,
                    format!("storage quota: a {} byte value is over the {quota} byte quota", text.len()),
                ));
            }
            let store = store()?;
            let mut s = store
                .lock()
                .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
            s.plugin_storage_set(&plugin, key, Some(&text), quota as i64)
                .map_err(|e| fail(ErrorKind::Limit, format!("storage {e}")))
        }
    );
    func!(
        m,
        "remove",
        ["key: &str", "()"],
        "Remove a stored value. Needs storage.",
        |key: &str| -> HostResult<()> {
            need("storage")?;
            let plugin = plugin_id()?;
            let store = store()?;
            let mut s = store
                .lock()
                .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
            s.plugin_storage_set(&plugin, key, None, i64::MAX)
                .map_err(core_err)
        }
    );
    func!(
        m,
        "keys",
        ["Array"],
        "The keys the plugin has stored, sorted. Needs storage.",
        || -> HostResult<Array> {
            need("storage")?;
            let plugin = plugin_id()?;
            let store = store()?;
            let s = store
                .lock()
                .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
            Ok(s.plugin_storage_list(&plugin)
                .map_err(core_err)?
                .into_iter()
                .map(|(k, _)| Dynamic::from(k))
                .collect())
        }
    );
    engine.register_static_module("storage", m.into());

    let mut m = Module::new();
    func!(
        m,
        "get",
        ["key: &str", "Dynamic"],
        "One of the plugin's own settings (as the admin filled in the settings form, or its default); () if unset.",
        |key: &str| -> HostResult<Dynamic> {
            let v = with_inv(|inv| Ok(inv.ctx.settings.get(key).cloned()))?;
            match v {
                None => Ok(Dynamic::UNIT),
                Some(v) => to_dynamic(&v),
            }
        }
    );
    engine.register_static_module("settings", m.into());
}

/// Log lines and notifications kept per invocation.
const MAX_MESSAGES: usize = 200;

fn push_log(level: &str, msg: &str) -> HostResult<()> {
    with_inv(|inv| {
        if inv.logs.len() < MAX_MESSAGES {
            inv.logs.push(LogLine {
                level: level.to_string(),
                message: crate::text::message(msg),
            });
        }
        Ok(())
    })
}

fn register_ui_log(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "info",
        ["message: &str", "()"],
        "Log a line (tagged with the plugin and tenant; capped).",
        |msg: &str| push_log("info", msg)
    );
    func!(
        m,
        "warn",
        ["message: &str", "()"],
        "Log a warning.",
        |msg: &str| push_log("warn", msg)
    );
    func!(
        m,
        "error",
        ["message: &str", "()"],
        "Log an error (the run still succeeds unless the script throws).",
        |msg: &str| push_log("error", msg)
    );
    engine.register_static_module("log", m.into());

    let mut m = Module::new();
    func!(
        m,
        "notify",
        ["level: &str", "message: &str", "()"],
        "Show the user a message: level \"info\", \"success\", \"warning\" or \"error\". Plain text, never HTML. Needs ui:notify.",
        |level: &str, msg: &str| -> HostResult<()> {
            need("ui:notify")?;
            if !matches!(level, "info" | "success" | "warning" | "error") {
                return Err(fail(
                    ErrorKind::Runtime,
                    format!("ui::notify: unknown level {level:?}; use info, success, warning or error"),
                ));
            }
            with_inv(|inv| {
                if inv.notifications.len() < MAX_MESSAGES {
                    inv.notifications.push(Notification {
                        level: level.to_string(),
                        message: crate::text::message(msg),
                    });
                }
                Ok(())
            })
        }
    );
    engine.register_static_module("ui", m.into());
}

fn date_arg(what: &str, s: &str) -> HostResult<chrono::NaiveDate> {
    crm_core::normalize::date(s)
        .map_err(|r| fail(ErrorKind::Runtime, format!("dates::{what}: {s:?}: {r}")))
}

fn register_dates(engine: &mut Engine) {
    let mut m = Module::new();
    func!(
        m,
        "today",
        ["String"],
        "Today's date (local), \"YYYY-MM-DD\".",
        || today().to_string()
    );
    func!(
        m,
        "now",
        ["String"],
        "The current time, RFC 3339 in UTC.",
        || { chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true) }
    );
    func!(
        m,
        "parse",
        ["text: &str", "String"],
        "A date in any common form (2024-03-31, 31/03/2024, 31.03.2024) as \"YYYY-MM-DD\"; an error if it is not one.",
        |s: &str| -> HostResult<String> { Ok(date_arg("parse", s)?.to_string()) }
    );
    func!(
        m,
        "add_days",
        ["date: &str", "days: i64", "String"],
        "The date `days` days after `date` (negative: before).",
        |s: &str, days: INT| -> HostResult<String> {
            let d = date_arg("add_days", s)?;
            d.checked_add_signed(chrono::Duration::days(days.clamp(-1_000_000, 1_000_000)))
                .map(|d| d.to_string())
                .ok_or_else(|| fail(ErrorKind::Runtime, "dates::add_days: out of range"))
        }
    );
    func!(
        m,
        "add_months",
        ["date: &str", "months: i64", "String"],
        "The date `months` months after `date`, clamped to the month's end.",
        |s: &str, months: INT| -> HostResult<String> {
            let d = date_arg("add_months", s)?;
            let n = months.clamp(-12_000, 12_000);
            let r = if n >= 0 {
                d.checked_add_months(chrono::Months::new(n as u32))
            } else {
                d.checked_sub_months(chrono::Months::new((-n) as u32))
            };
            r.map(|d| d.to_string())
                .ok_or_else(|| fail(ErrorKind::Runtime, "dates::add_months: out of range"))
        }
    );
    func!(
        m,
        "days_between",
        ["from: &str", "to: &str", "i64"],
        "Whole days from `from` to `to` (negative when `to` is earlier).",
        |a: &str, b: &str| -> HostResult<INT> {
            Ok((date_arg("days_between", b)? - date_arg("days_between", a)?).num_days())
        }
    );
    func!(
        m,
        "weekday",
        ["date: &str", "String"],
        "The day of the week: \"Mon\" … \"Sun\".",
        |s: &str| -> HostResult<String> {
            use chrono::Datelike;
            Ok(date_arg("weekday", s)?.weekday().to_string())
        }
    );
    engine.register_static_module("dates", m.into());
}

/// Register the host modules on an engine.
pub fn register(engine: &mut Engine) {
    register_contacts(engine);
    register_policies(engine);
    register_tasks(engine);
    register_storage(engine);
    register_ui_log(engine);
    register_dates(engine);
    crate::net::register(engine);
    crate::ai::register(engine);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A contact's serialised form, turned straight into a script value,
    /// is the value a script got from serialising the contact: every
    /// kind of field (unset options, lists empty and full, custom fields,
    /// dates, enums), whatever the contact holds.
    #[test]
    fn a_scanned_contact_is_the_same_script_value_as_the_serialised_contact() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = Store::open_path(&dir.path().join("t.db"), None, true).expect("store");
        let mut full = crm_core::ContactDraft::default();
        for (k, v) in [
            ("first_name", "Zoë"),
            ("last_name", "Ngũgĩ"),
            ("company_name", "Acme \"Ltd\""),
            ("job_title", "Director"),
            ("stage", "client"),
            ("owner", "agent7"),
            ("tags", "Hot, VIP"),
            ("email", "zoe@example.com; z@example.org"),
            ("phone", "07911 123456"),
            ("address_line1", "1 High St"),
            ("postcode", "LS1 1AB"),
            ("source", "Referral"),
            ("external_id", "HS-1"),
            ("date_of_birth", "1980-02-29"),
            ("custom.lead_score", "42"),
            ("custom.note", "=1+2 🎉"),
        ] {
            full.set(k, v).expect("set");
        }
        let mut bare = crm_core::ContactDraft::default();
        bare.set("kind", "company").expect("kind");
        bare.set("company_name", "Bare Co").expect("name");
        for d in [&full, &bare] {
            s.create_contact(d).expect("create");
        }
        let contacts = s.scan_contacts(None, 10).expect("scan");
        let values = fields_to_array(s.scan_contact_fields(None, 10).expect("values"))
            .into_array()
            .expect("an array");
        assert_eq!(contacts.len(), 2);
        assert_eq!(values.len(), 2);
        for (c, new) in contacts.iter().zip(values) {
            let old = record(c).expect("contract");
            let as_json = |d: &Dynamic| -> serde_json::Value {
                rhai::serde::from_dynamic(d).expect("back to JSON")
            };
            assert_eq!(as_json(&new), as_json(&old), "contact {}", c.id);
            // The same types too (a unit is not an empty string, a list
            // is an array).
            let (o, n) = (old.cast::<Map>(), new.cast::<Map>());
            assert_eq!(o.len(), n.len());
            for (k, ov) in &o {
                assert_eq!(ov.type_name(), n[k].type_name(), "field {k}");
            }
        }
    }
}
