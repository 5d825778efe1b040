//! The host API: the only door a script has. Every function checks the
//! invocation's grants first (deny by default) and bounds its own work,
//! because Rhai cannot interrupt a host call once it has started.

use rhai::{Dynamic, Engine, EvalAltResult, Module, Position, INT};

use crate::sandbox::{ErrorKind, ScriptError, CURRENT};

type HostResult<T> = Result<T, Box<EvalAltResult>>;

fn fail(kind: ErrorKind, msg: String) -> Box<EvalAltResult> {
    CURRENT.with(|c| {
        if let Some(inv) = c.borrow_mut().as_mut() {
            inv.denied = Some(ScriptError::new(kind, msg.clone()));
        }
    });
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// Check a permission and hand the store to `f`.
fn with_store<T>(
    perm: &str,
    f: impl FnOnce(&crm_core::Store, &mut usize, usize) -> HostResult<T>,
) -> HostResult<T> {
    let (store, budget) = CURRENT
        .with(|c| {
            let c = c.borrow();
            let Some(inv) = c.as_ref() else {
                return Err(("no invocation".to_string(), ErrorKind::Internal));
            };
            if !inv.ctx.grants.contains(perm) {
                return Err((
                    format!("this script needs the permission {perm}, which was not granted"),
                    ErrorKind::Permission,
                ));
            }
            let Some(store) = inv.ctx.store.clone() else {
                return Err((
                    "no profile is open for this script".to_string(),
                    ErrorKind::Runtime,
                ));
            };
            Ok((
                store,
                inv.limits.max_rows_read.saturating_sub(inv.rows_read),
            ))
        })
        .map_err(|(m, k)| fail(k, m))?;
    let guard = store
        .lock()
        .map_err(|_| fail(ErrorKind::Internal, "the store is unavailable".into()))?;
    let mut used = 0usize;
    let out = f(&guard, &mut used, budget);
    CURRENT.with(|c| {
        if let Some(inv) = c.borrow_mut().as_mut() {
            inv.rows_read += used;
        }
    });
    out
}

fn to_dynamic<T: serde::Serialize>(v: &T) -> HostResult<Dynamic> {
    rhai::serde::to_dynamic(v)
}

fn core_err(e: crm_core::CoreError) -> Box<EvalAltResult> {
    fail(ErrorKind::Runtime, e.to_string())
}

/// Register the host modules on an engine.
pub fn register(engine: &mut Engine) {
    let mut contacts = Module::new();
    contacts.set_native_fn("count", || -> HostResult<INT> {
        with_store("contacts:read", |s, _, _| {
            s.count_contacts().map_err(core_err)
        })
    });
    contacts.set_native_fn("list", |search: &str, limit: INT| -> HostResult<Dynamic> {
        with_store("contacts:read", |s, used, budget| {
            let want = (limit.max(0) as usize).min(budget);
            if want == 0 && limit > 0 {
                return Err(fail(
                    ErrorKind::Limit,
                    "this invocation has read as many records as it may".into(),
                ));
            }
            let list = s
                .list_contacts(&crm_core::ContactQuery {
                    search: (!search.is_empty()).then(|| search.to_string()),
                    limit: Some(want),
                    ..Default::default()
                })
                .map_err(core_err)?;
            *used += list.len();
            to_dynamic(&list)
        })
    });
    contacts.set_native_fn("get", |id: &str| -> HostResult<Dynamic> {
        with_store("contacts:read", |s, used, budget| {
            if budget == 0 {
                return Err(fail(
                    ErrorKind::Limit,
                    "this invocation has read as many records as it may".into(),
                ));
            }
            let id = crm_core::parse_id("contact", id).map_err(core_err)?;
            let c = s.contact(id).map_err(core_err)?;
            *used += 1;
            to_dynamic(&c)
        })
    });
    engine.register_static_module("contacts", contacts.into());
}
