//! The `storage` and `settings` modules: the plugin's own key-value store
//! (under its quota) and its settings form, which belong to an installed
//! plugin rather than to the CRM's records.

use rhai::{Array, Dynamic, Engine, FuncRegistration, Module};

use super::{core_err, fail, need, store, to_dynamic, with_inv, HostResult};
use crate::sandbox::ErrorKind;

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

pub(super) fn register_storage(engine: &mut Engine) {
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
