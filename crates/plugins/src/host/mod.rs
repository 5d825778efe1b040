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
//!
//! This file holds what every group shares (grants, the store, the read
//! and write caps, conversions); each registered group is a file of its own.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crm_core::{Actor, CustomChanges, Store};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position, INT};
use uuid::Uuid;

use crate::sandbox::{ErrorKind, Invocation, ScriptError, CAPPED, CURRENT, DENIED};

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

mod compliance;
mod contacts;
mod dates;
mod documents;
mod policies;
mod staff;
mod storage;
mod tasks;
mod training;
mod ui_log;

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
    let budget = read_budget(perm)?;
    let store = store()?;
    let guard = store
        .lock()
        .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
    let (v, used) = f(&guard, budget)?;
    count_read(used)?;
    Ok(v)
}

/// [`read`] as the user the plugin acts for (`Actor::Plugin { plugin,
/// user }`), for feature crates that decide what the acting user may see
/// (`crm_compliance::Access`): a plugin sees no more than its user would.
/// `f` gets the store mutably (a feature may install its tables first).
fn read_as_user<T>(
    perm: &str,
    f: impl FnOnce(&mut Store, usize) -> HostResult<(T, usize)>,
) -> HostResult<T> {
    let budget = read_budget(perm)?;
    let plugin = plugin_name()?;
    let store = store()?;
    let mut guard = store
        .lock()
        .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable"))?;
    let (v, used) = as_plugin(&mut guard, plugin, |s| f(s, budget))?;
    count_read(used)?;
    Ok(v)
}

/// Refuse without `perm` or once the read cap is reached; else the rows
/// this invocation may still read.
fn read_budget(perm: &str) -> HostResult<usize> {
    need(perm)?;
    let budget = with_inv(|inv| Ok(inv.limits.max_rows_read.saturating_sub(inv.rows_read)))?;
    if budget == 0 {
        return Err(fail(
            ErrorKind::Limit,
            "this invocation has read as many records as it may",
        ));
    }
    Ok(budget)
}

/// Count `used` rows read against the cap.
fn count_read(used: usize) -> HostResult<()> {
    with_inv(|inv| {
        // Every call costs at least one row: empty answers are not free,
        // so a script cannot query without end.
        inv.rows_read += used.max(1);
        Ok(())
    })
}

/// A whole list (not one the script sized) that must fit in `budget`
/// rows: longer is a cap error naming it, never a part passed off as the
/// whole.
fn within<T>(what: &str, list: Vec<T>, budget: usize) -> HostResult<Vec<T>> {
    fits(what, list.len(), budget)?;
    Ok(list)
}

/// Refuse an answer of `n` rows past `budget` (see [`within`]).
fn fits(what: &str, n: usize, budget: usize) -> HostResult<()> {
    if n > budget {
        return Err(fail(
            ErrorKind::Limit,
            format!(
                "read cap: {what} has more than the {budget} records this invocation may \
                 still read; ask for less, or an admin raises the plugin limit max_rows_read"
            ),
        ));
    }
    Ok(())
}

/// [`read`] for a list the script sized (its own limit, passed down with
/// the rows still allowed): the rows are what the call costs.
fn read_list<T: crate::contract::ScriptRecord>(
    perm: &str,
    f: impl FnOnce(&Store, usize) -> crm_core::Result<Vec<T>>,
) -> HostResult<Dynamic> {
    read(perm, |s, budget| {
        let mut list = f(s, budget).map_err(core_err)?;
        list.truncate(budget);
        records(&list)
    })
}

/// Records as the script's array, and how many rows they cost.
fn records<T: crate::contract::ScriptRecord>(list: &[T]) -> HostResult<(Dynamic, usize)> {
    let items = list
        .iter()
        .map(record)
        .collect::<HostResult<rhai::Array>>()?;
    Ok((Dynamic::from_array(items), list.len()))
}

/// A whole list (not one the script sized): the core is asked for at most
/// the rows this invocation may still read, and a list longer than that
/// is a cap error naming it, never a part passed off as the whole.
fn read_all<T: crate::contract::ScriptRecord>(
    perm: &str,
    what: &str,
    f: impl FnOnce(&Store, usize) -> crm_core::Result<crm_core::Listed<T>>,
) -> HostResult<Dynamic> {
    read(perm, |s, budget| {
        let listed = f(s, budget).map_err(core_err)?;
        if listed.more {
            return Err(fail(
                ErrorKind::Limit,
                format!(
                    "read cap: {what} has more than the {budget} records this invocation may \
                     still read; ask for less, or an admin raises the plugin limit max_rows_read"
                ),
            ));
        }
        records(&listed.rows)
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
        Ok(())
    })?;
    plugin_name()
}

/// The plugin this invocation runs (`script` for a bare script).
fn plugin_name() -> HostResult<String> {
    with_inv(|inv| {
        Ok(inv
            .ctx
            .plugin_id
            .clone()
            .unwrap_or_else(|| "script".to_string()))
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

/// A compliance refusal or failure, as the script's error (`module`: the
/// host module, e.g. `staff`).
fn compliance_err(module: &str, e: crm_compliance::ComplianceError) -> Box<EvalAltResult> {
    fail(ErrorKind::Runtime, format!("{module}: {e}"))
}

/// A script map as JSON (e.g. a checklist item's fields).
fn map_json(m: Map) -> HostResult<serde_json::Map<String, serde_json::Value>> {
    match rhai::serde::from_dynamic::<serde_json::Value>(&Dynamic::from_map(m))? {
        serde_json::Value::Object(o) => Ok(o),
        _ => Err(fail(ErrorKind::Runtime, "expected a map")),
    }
}

/// Text of `k` in a script map: () and blank text are none.
fn map_text(m: &Map, k: &str) -> Option<String> {
    m.get(k).map(field_text).filter(|s| !s.trim().is_empty())
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
/// Register the host modules on an engine.
pub fn register(engine: &mut Engine) {
    contacts::register_contacts(engine);
    policies::register_policies(engine);
    tasks::register_tasks(engine);
    documents::register_documents(engine);
    staff::register_staff(engine);
    training::register_training(engine);
    compliance::register_compliance(engine);
    storage::register_storage(engine);
    ui_log::register_ui_log(engine);
    dates::register_dates(engine);
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
