//! The `contacts` module: reading, creating and changing contacts, and
//! `update_many`'s background write of custom fields (with the `scan` that
//! reads beside it), kept apart because it is the largest host group.

use std::collections::HashSet;

use rhai::{Array, Dynamic, Engine, FuncRegistration, Map, Module, INT};
use uuid::Uuid;

use super::{
    as_plugin, changes_of, core_err, fail, field_text, fields_to_array, id_of, limit_of, may_write,
    need, read, read_all, read_list, record, store, with_inv, write, CustomBatch, HostResult,
    Pending,
};
use crate::sandbox::ErrorKind;

/// Batches at least this long are written in the background; a shorter
/// one (a hook's single update) is not worth a thread.
const BACKGROUND_MIN: usize = 32;

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

pub(super) fn register_contacts(engine: &mut Engine) {
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
            read_all(
                "contacts:read",
                "the contacts with that phone",
                |s, budget| s.contacts_with_phone(phone, budget),
            )
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
